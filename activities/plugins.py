"""The actuators, checks and source kinds this process knows: from entry points and modules.

Every one, the shipped ones included, is declared the same way:

| kind | entry-point group | value | plugin-module attribute |
|---|---|---|---|
| actuator | ``steward.actuators`` | a class decorated with ``@actuator`` | ``STEWARD_ACTUATORS`` |
| check | ``steward.checks`` | a class decorated with ``@check`` | ``STEWARD_CHECKS`` |
| source | ``steward.sources`` | a ``SourceKind`` | ``STEWARD_SOURCES`` |

An entry point is named after its item (``"demo.scale" =
"activities.actuators.demo:Scale"``). The plugin modules are ``STEWARD_PLUGIN_MODULES``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from activities.actuators.registry import ACTUATORS, CHECKS, Actuator, Check, refuse_without_undo
from activities.sources.base import SourceKind
from activities.sources.registry import SOURCES
from api.core.settings import get_settings
from workflows.plugin_discovery import Found, PluginError, PluginItem, load, replace_contents

ACTUATOR_GROUP = "steward.actuators"
CHECK_GROUP = "steward.checks"
SOURCE_GROUP = "steward.sources"

# What the last successful load_extensions() registered, for ``steward plugins``.
EXTENSION_ITEMS: list[PluginItem] = []
_loaded: list[tuple[str, ...]] = []
_lock = threading.Lock()


def _declared_class(found: Found, base: type, decorator: str, group: str) -> Any:
    cls = found.obj
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(
            f"plugin {found.origin} is not a {base.__name__} class: {cls!r}; "
            f"{group} entries name a class decorated with @{decorator}"
        )
    if getattr(cls, "declared_by_decorator", None) is not cls:
        raise PluginError(
            f"plugin {found.origin}: {cls.__name__} is not decorated with @{decorator}"
        )
    return cls


def _actuator_name(found: Found) -> str:
    cls = _declared_class(found, Actuator, "actuator", ACTUATOR_GROUP)
    try:
        refuse_without_undo(cls, cls.name, cls.irreversible)
    except TypeError as exc:
        raise PluginError(f"plugin {found.origin}: {exc}") from exc
    return str(cls.name)


def _check_name(found: Found) -> str:
    return str(_declared_class(found, Check, "check", CHECK_GROUP).name)


def _source_name(found: Found) -> str:
    if not isinstance(found.obj, SourceKind):
        raise PluginError(
            f"plugin {found.origin} is not a SourceKind: {found.obj!r}; "
            f"{SOURCE_GROUP} entries name a SourceKind object"
        )
    return found.obj.name


def load_extensions(modules: Sequence[str] = ()) -> list[PluginItem]:
    """Find every actuator, check and source kind anew and register exactly them.

    Args:
        modules: ``STEWARD_PLUGIN_MODULES``.

    Returns:
        What was registered, actuators first.

    Raises:
        PluginError: A plugin fails to import, declares something that is not an actuator,
            check or source kind, or clashes with another. The registries are then unchanged.
    """
    with _lock:
        actuators, actuator_items = load(
            "actuator",
            group=ACTUATOR_GROUP,
            attribute="STEWARD_ACTUATORS",
            modules=modules,
            name_of=_actuator_name,
        )
        checks, check_items = load(
            "check",
            group=CHECK_GROUP,
            attribute="STEWARD_CHECKS",
            modules=modules,
            name_of=_check_name,
        )
        sources, source_items = load(
            "source",
            group=SOURCE_GROUP,
            attribute="STEWARD_SOURCES",
            modules=modules,
            name_of=_source_name,
        )
        replace_contents(ACTUATORS, {name: cls() for name, cls in actuators.items()})
        replace_contents(CHECKS, {name: cls() for name, cls in checks.items()})
        replace_contents(SOURCES, sources)
        EXTENSION_ITEMS[:] = [*actuator_items, *check_items, *source_items]
        _loaded[:] = [tuple(modules)]
        return list(EXTENSION_ITEMS)


def ensure_extensions() -> None:
    """Load the extensions with the settings' ``plugin_modules`` unless a load already ran.

    Raises:
        PluginError: A plugin cannot be loaded.
    """
    if not _loaded:
        load_extensions(get_settings().plugin_modules)
