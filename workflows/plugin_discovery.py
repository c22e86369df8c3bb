"""Finding Steward's extensions: entry points and plugin modules, for every kind alike.

Playbooks are found by ``workflows.plugins``; actuators, checks and source kinds by
``activities.plugins``. Both use this module, which imports only the standard library and
imports plugin code dynamically, by name: the import rules name it as the one shared helper
every layer may import (``tests/import_rules.py``, ``SHARED_HELPERS``).

Two ways in, both for the shipped extensions and everybody else's:

- an entry point in the group of the kind (``steward.playbooks``, ``steward.actuators``,
  ``steward.checks``, ``steward.sources``), named after the item, whose value is the item;
- a module named in ``STEWARD_PLUGIN_MODULES``, for code that is not packaged, listing its
  items in the attribute of the kind (``STEWARD_PLAYBOOKS``, ``STEWARD_ACTUATORS``,
  ``STEWARD_CHECKS``, ``STEWARD_SOURCES``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any


class PluginError(Exception):
    """An extension cannot be loaded; the message names the plugin and the error, on one line."""


@dataclass(frozen=True)
class PluginItem:
    """One loaded extension, as ``steward plugins`` lists it.

    Attributes:
        kind: ``playbook``, ``actuator``, ``check`` or ``source``.
        name: The name it is used by (workflow type, actuator, check or source kind).
        origin: ``entry point <group>:<name> from <distribution> <version>`` or
            ``module <name>``.
        version: The version of the distribution (or module) that provides it, ``-`` if none.
    """

    kind: str
    name: str
    origin: str
    version: str


@dataclass(frozen=True)
class Found:
    """An object declared by a plugin, before it is checked and named.

    Attributes:
        declared_as: The entry point's name; None for an item listed by a module.
        obj: The declared object.
        origin: Where it was declared (see :attr:`PluginItem.origin`).
        version: See :attr:`PluginItem.version`.
    """

    declared_as: str | None
    obj: Any
    origin: str
    version: str


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _module_version(module: ModuleType) -> str:
    """``__version__`` of the module or its top package, else its distribution's, else ``-``."""
    top = module.__name__.split(".", 1)[0]
    for owner in (module, sys.modules.get(top)):
        declared = getattr(owner, "__version__", None)
        if isinstance(declared, str):
            return declared
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "-"


def import_plugin_module(name: str) -> ModuleType:
    """Import a module named in ``STEWARD_PLUGIN_MODULES``.

    Raises:
        PluginError: Naming the module and the error it raised.
    """
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a plugin may fail in any way: report which one, and how
        raise PluginError(f"plugin module {name} failed to import: {_one_line(exc)}") from exc


def discover(*, group: str, attribute: str, modules: Sequence[str]) -> list[Found]:
    """Return what the entry points of ``group`` and the ``attribute`` of ``modules`` declare.

    Args:
        group: The entry-point group, e.g. ``steward.actuators``.
        attribute: The module attribute listing items, e.g. ``STEWARD_ACTUATORS``.
        modules: Importable module names (``STEWARD_PLUGIN_MODULES``).

    Raises:
        PluginError: An entry point or module failed to import, or the attribute is not a list.
    """
    found: list[Found] = []
    for point in metadata.entry_points(group=group):
        dist = point.dist
        version = dist.version if dist is not None else "-"
        source = f"{dist.name} {version}" if dist is not None else "an unknown distribution"
        origin = f"entry point {group}:{point.name} from {source}"
        try:
            obj = point.load()
        except Exception as exc:  # a plugin may fail in any way: report which one, and how
            raise PluginError(f"plugin {origin} failed to import: {_one_line(exc)}") from exc
        found.append(Found(point.name, obj, origin, version))
    for name in modules:
        module = import_plugin_module(name)
        items = getattr(module, attribute, ())
        if not isinstance(items, list | tuple):
            raise PluginError(f"plugin module {name}: {attribute} must be a list")
        version = _module_version(module)
        found += [Found(None, obj, f"module {name}", version) for obj in items]
    return found


def collect(
    kind: str, found: Sequence[Found], *, name_of: Callable[[Found], str]
) -> tuple[dict[str, Any], list[PluginItem]]:
    """Name every found object and refuse clashes.

    Args:
        kind: ``playbook``, ``actuator``, ``check`` or ``source`` (for messages).
        found: What :func:`discover` returned.
        name_of: Checks one object and returns its name; raises :class:`PluginError`.

    Returns:
        The objects by name, and one :class:`PluginItem` for each.

    Raises:
        PluginError: Two plugins declare the same name, or an entry point is not named after
            its item.
    """
    by_name: dict[str, Any] = {}
    items: dict[str, PluginItem] = {}
    for each in found:
        name = name_of(each)
        if each.declared_as is not None and each.declared_as != name:
            raise PluginError(
                f"plugin {each.origin} declares the {kind} {name!r}: name the entry point {name!r}"
            )
        if name in by_name:
            if by_name[name] is each.obj:
                continue  # the same object declared twice (entry point and module) is no clash
            raise PluginError(
                f"{kind} {name!r} is declared twice: by {items[name].origin} and by {each.origin}"
            )
        by_name[name] = each.obj
        items[name] = PluginItem(kind, name, each.origin, each.version)
    return by_name, list(items.values())


def load(
    kind: str,
    *,
    group: str,
    attribute: str,
    modules: Sequence[str],
    name_of: Callable[[Found], str],
) -> tuple[dict[str, Any], list[PluginItem]]:
    """Discover one kind's items (:func:`discover`) and name them, refusing clashes.

    Raises:
        PluginError: As :func:`discover` and :func:`collect`.
    """
    found = discover(group=group, attribute=attribute, modules=modules)
    return collect(kind, found, name_of=name_of)


def replace_contents(target: dict[str, Any], new: dict[str, Any]) -> None:
    """Make ``target`` hold exactly ``new``, in place (other modules hold ``target``)."""
    target.clear()
    target.update(new)
