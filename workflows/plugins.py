"""The playbooks this process knows: found through entry points and plugin modules.

Every playbook, the shipped ones included, is declared the same way: an entry point in the
group ``steward.playbooks``, named after the playbook's workflow type, whose value is the
playbook class (``high_latency = "workflows.playbooks.high_latency:HighLatency"``), or a class
listed in ``STEWARD_PLAYBOOKS`` of a module named in ``STEWARD_PLUGIN_MODULES``. Plugin code is
imported by name (``workflows.plugin_discovery``), never statically from here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.plugin_discovery import Found, PluginError, PluginItem, load, replace_contents

PLAYBOOK_GROUP = "steward.playbooks"
PLAYBOOK_ATTRIBUTE = "STEWARD_PLAYBOOKS"

# Filled in place by load_playbooks(): importers keep a reference to these objects.
PLAYBOOKS: dict[str, type[Playbook]] = {}
PLAYBOOK_ITEMS: list[PluginItem] = []
_loaded: list[tuple[str, ...]] = []


def _playbook_name(found: Found) -> str:
    cls = found.obj
    if not (isinstance(cls, type) and issubclass(cls, Playbook)):
        raise PluginError(
            f"plugin {found.origin} is not a Playbook subclass: {cls!r}; "
            f"{PLAYBOOK_GROUP} entries name a playbook class"
        )
    definition = workflow._Definition.from_class(cls)
    if definition is None or definition.name is None:
        raise PluginError(
            f"plugin {found.origin}: {cls.__name__} needs @workflow.defn(name=...) to be a playbook"
        )
    return definition.name


def load_playbooks(
    modules: Sequence[str] = (), *, reserved: Collection[str] = ()
) -> dict[str, type[Playbook]]:
    """Find every playbook anew and make :data:`PLAYBOOKS` hold exactly them.

    Args:
        modules: ``STEWARD_PLUGIN_MODULES``.
        reserved: Workflow types Steward itself uses; a playbook may not take one.

    Raises:
        PluginError: A plugin fails to import, is not a named playbook, or clashes with
            another playbook or a reserved workflow type. :data:`PLAYBOOKS` is then unchanged.
    """
    playbooks, items = load(
        "playbook",
        group=PLAYBOOK_GROUP,
        attribute=PLAYBOOK_ATTRIBUTE,
        modules=modules,
        name_of=_playbook_name,
    )
    for item in items:
        if item.name in reserved:
            raise PluginError(
                f"playbook {item.name!r} from {item.origin} takes the name of a workflow "
                "Steward itself runs"
            )
    replace_contents(PLAYBOOKS, playbooks)
    PLAYBOOK_ITEMS[:] = items
    _loaded[:] = [tuple(modules)]
    return PLAYBOOKS


def loaded_with() -> tuple[str, ...] | None:
    """Return the modules of the last successful :func:`load_playbooks`, None before one."""
    return _loaded[0] if _loaded else None
