"""The project's import rules, as data and one function: which module may import which.

``tests/test_import_rules.py`` applies them to every import in the product packages. The layers,
lowest first:

- contract modules (``types``/``*_types`` modules and ``activities.names``): the types and names
  that cross the Temporal boundary. Every layer may import them; they import only the standard
  library, ``temporalio`` and each other.
- shared helpers (``SHARED_HELPERS``): standard-library-only code that both ``workflows`` and
  ``activities`` need (finding extensions). Every layer may import them; they import only the
  standard library.
- ``api`` floors: ``core`` < ``models`` (and ``migrations``) < ``ledger`` < ``schemas`` <
  ``services`` < ``http`` < ``slack`` < ``routes`` and ``cli`` < ``main``. A floor imports its
  own floor and those below it, never one above.
- ``activities``: every side effect. Imports ``api.core``, ``api.models`` and ``api.ledger``
  (persistence), never a higher floor, and never ``workflows`` beyond contract modules.
- ``workflows``: deterministic orchestration. Imports ``workflows`` and contract modules only.
- ``api.services`` and ``api.cli`` may call the plain library modules of ``activities``
  (detectors, policy bundle checks), never a module that defines an activity.
- ``workers``: process entry points; may import everything, and nothing imports them.
- ``bench``: may import the product and ``workers``, never ``tests``.
- ``steward`` (the public test kit, ``steward.testing``): builds a worker as ``workers`` does,
  so it may import the product and ``workers``, never ``tests``; the product never imports it.
- packs (``packs/<name>/steward_<name>``, shipped extensions with their own ``pyproject.toml``):
  built only on the public extension API (``PACK_PUBLIC_API``) and contract modules.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRODUCT_PACKAGES = ("api", "activities", "workflows", "workers", "bench", "steward")
# Packs' packages (``steward_<name>``) are first party too: see is_first_party().
FIRST_PARTY = (*PRODUCT_PACKAGES, "tests")
# What a pack may use of Steward: the extension API that docs/playbooks.md documents.
PACK_PUBLIC_API = (
    "activities.actuators.diff",
    "activities.actuators.registry",
    "activities.sources.base",
    "workflows.playbook",
    "workflows.playbook_params",
    "workflows.types",
)

API_FLOORS: dict[str, int] = {
    "api.core": 0,
    "api.models": 1,
    "api.migrations": 1,
    "api.ledger": 2,
    "api.schemas": 3,
    "api.services": 4,
    "api.http": 5,
    "api.slack": 6,
    "api.routes": 7,
    "api.cli": 7,
    "api.main": 8,
}
# Floors that may start workflows and call activities' library modules.
WORKFLOW_USERS = ("api.services", "api.http", "api.slack", "api.routes", "api.cli", "api.main")
ACTIVITY_LIBRARY_USERS = ("api.services", "api.cli")
ACTIVITIES_MAY_USE = ("api.core", "api.models", "api.ledger")
CONTRACT_THIRD_PARTY = ("temporalio",)
SHARED_HELPERS = frozenset({"workflows.plugin_discovery"})


@dataclass(frozen=True)
class ImportEdge:
    """One import: ``importer`` imports ``imported`` (a dotted module or package name)."""

    importer: str
    imported: str
    line: int


def within(module: str, package: str) -> bool:
    """Return whether ``module`` is ``package`` or inside it."""
    return module == package or module.startswith(package + ".")


def is_contract(module: str) -> bool:
    """Return whether ``module`` is a contract module every layer may import."""
    last = module.rsplit(".", 1)[-1]
    return last == "types" or last.endswith("_types") or module == "activities.names"


def api_floor(module: str) -> tuple[str, int] | None:
    """Return the ``api`` floor of ``module`` and its height, or None outside the floors."""
    for floor, height in API_FLOORS.items():
        if within(module, floor):
            return floor, height
    return None


def is_first_party(module: str) -> bool:
    """Return whether ``module`` belongs to this repository (a pack's package included)."""
    top = module.split(".", 1)[0]
    return top in FIRST_PARTY or top.startswith("steward_")


def forbidden(edge: ImportEdge, *, activity_modules: frozenset[str]) -> str | None:
    """Return why ``edge`` breaks the rules, or None when it is allowed.

    Args:
        edge: The import.
        activity_modules: Modules that define an activity (``@activity.defn``).
    """
    src, dst = edge.importer, edge.imported
    if src.startswith("steward_"):
        return _pack_rule(src, dst)
    if src in SHARED_HELPERS:
        top = dst.split(".", 1)[0]
        if is_first_party(dst) or top not in sys.stdlib_module_names:
            return "a shared helper imports only the standard library"
        return None
    if dst in SHARED_HELPERS:
        return None
    if is_contract(src):
        top = dst.split(".", 1)[0]
        if is_first_party(dst) and not is_contract(dst):
            return "a contract module imports only other contract modules"
        third_party = not is_first_party(dst) and top not in sys.stdlib_module_names
        if third_party and top not in CONTRACT_THIRD_PARTY:
            return f"a contract module imports only the standard library, not {top}"
        return None
    if not is_first_party(dst) or is_contract(dst):
        return None
    if within(src, "steward"):
        return "the test kit imports the product, never tests" if within(dst, "tests") else None
    if within(dst, "steward"):
        return "the product never imports the test kit (steward.testing)"
    if within(dst, "workers") and not within(src, "workers") and not within(src, "bench"):
        return "nothing imports workers (process entry points)"
    if within(src, "workers"):
        return None
    if within(src, "bench"):
        return "bench imports the product, never tests" if within(dst, "tests") else None
    if within(src, "workflows"):
        if within(dst, "workflows"):
            return None
        return "workflows import workflows and contract modules only"
    if within(src, "activities"):
        if within(dst, "activities") or any(within(dst, p) for p in ACTIVITIES_MAY_USE):
            return None
        return "activities import api.core, api.models, api.ledger and contract modules only"
    return _api_rule(src, dst, activity_modules)


def _pack_rule(src: str, dst: str) -> str | None:
    pack = src.split(".", 1)[0]
    if not is_first_party(dst) or is_contract(dst) or within(dst, pack):
        return None
    if any(within(dst, api) for api in PACK_PUBLIC_API):
        return None
    return f"a pack is built only on the public extension API, not {dst}"


def _api_rule(src: str, dst: str, activity_modules: frozenset[str]) -> str | None:
    source = api_floor(src)
    if source is None:
        return f"{src} sits on no floor of api/"
    source_floor, source_height = source
    if within(dst, "workflows"):
        if source_floor in WORKFLOW_USERS:
            return None
        return f"{source_floor} may not import workflows (from api.services up only)"
    if within(dst, "activities"):
        if source_floor not in ACTIVITY_LIBRARY_USERS:
            return f"{source_floor} may not import activities (api.services and api.cli may)"
        if dst in activity_modules:
            return "a module that defines activities is the worker's, never the API's"
        return None
    target = api_floor(dst)
    if target is None:
        return None if dst == "api" else f"{dst} sits on no floor of api/"
    target_floor, target_height = target
    if target_height > source_height:
        return f"back-up arrow: {source_floor} (floor {source_height}) -> {target_floor}"
    front_door = API_FLOORS["api.routes"]
    if target_height == source_height == front_door and target_floor != source_floor:
        return f"{source_floor} and {target_floor} are separate front doors"
    return None


def module_name(path: Path) -> str:
    """Return the dotted module name of a file under the repository (or of a pack's package)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[0] == "packs":
        parts = parts[2:]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[ImportEdge]:
    """Every first-party and third-party import in ``path``, as absolute module names."""
    importer = module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    edges: list[ImportEdge] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            edges += [ImportEdge(importer, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "__future__":
                continue
            for alias in node.names:
                # ``from api.services import monitors`` imports the module api.services.monitors.
                candidate = f"{base}.{alias.name}"
                named_module = (REPO / Path(*candidate.split("."))).with_suffix(".py").exists()
                named_package = (REPO / Path(*candidate.split("."))).is_dir()
                edges.append(
                    ImportEdge(
                        importer, candidate if named_module or named_package else base, node.lineno
                    )
                )
    return edges


def defines_activity(path: Path) -> bool:
    """Return whether the module at ``path`` decorates something with ``activity.defn``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "defn"
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "activity"
                ):
                    return True
    return False


def product_files() -> list[Path]:
    """Every Python file of the product packages and of the packs' packages (not tests)."""
    roots = [REPO / package for package in PRODUCT_PACKAGES]
    roots += [path for path in REPO.glob("packs/*/steward_*") if path.is_dir()]
    return sorted(
        path for root in roots for path in root.rglob("*.py") if "versions" not in path.parts
    )
