"""Loading every extension at once, and checking the playbooks against what they call.

The worker calls :func:`load_plugins` when it starts and ``steward up`` before it starts
anything, so a broken plugin, a name clash or a playbook that calls an unknown actuator stops
them with one line instead of failing an incident later. ``steward plugins`` lists the result.
"""

from __future__ import annotations

from activities.actuators.registry import ACTUATORS, CHECKS
from activities.plugins import load_extensions
from api.core.settings import Settings, get_settings
from workflows.playbook import Playbook
from workflows.playbook_calls import unknown_calls
from workflows.plugin_discovery import PluginError, PluginItem
from workflows.plugins import PLAYBOOK_ITEMS, PLAYBOOKS, loaded_with
from workflows.registry import load_workflows

__all__ = ["PluginError", "PluginItem", "load_plugins", "playbooks"]


def load_plugins(settings: Settings) -> list[PluginItem]:
    """Find every playbook, actuator, check and source kind anew and check the playbooks.

    Returns:
        Everything loaded: playbooks, then actuators, checks and source kinds.

    Raises:
        PluginError: A plugin fails to import or clashes with another (the message names
            both), or a playbook calls an actuator or check that is not registered (the
            message names each such call).
    """
    extensions = load_extensions(settings.plugin_modules)
    load_workflows(settings.plugin_modules)
    problems = unknown_calls(PLAYBOOKS, actuators=ACTUATORS, checks=CHECKS)
    if problems:
        raise PluginError("; ".join(problems))
    return [*PLAYBOOK_ITEMS, *extensions]


def playbooks() -> dict[str, type[Playbook]]:
    """The registered playbooks by name, loaded with the settings on first use.

    Raises:
        PluginError: A playbook plugin cannot be loaded.
    """
    if loaded_with() is None:
        load_workflows(get_settings().plugin_modules)
    return PLAYBOOKS
