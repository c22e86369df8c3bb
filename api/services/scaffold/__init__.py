"""``steward playbook new NAME``: scaffold a playbook package that passes its own tests.

The package holds a playbook, an actuator with snapshot, apply and undo, a check, tests on
``steward.testing``, the entry points that make Steward load them, and a README. It is
written to a temporary folder beside the target and renamed into place at the end, so an
error leaves nothing half-written.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import shutil
import tempfile
from pathlib import Path

from api.services.scaffold.templates import FILES

__all__ = ["NAME_PATTERN", "ScaffoldError", "class_name", "render", "scaffold_package"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,48}[a-z0-9]$")


class ScaffoldError(ValueError):
    """The name or the target folder cannot be used; the message says why."""


def class_name(name: str) -> str:
    """The playbook class for ``name``: ``cache_guard`` -> ``CacheGuard``."""
    return "".join(part.capitalize() for part in name.split("_") if part)


def check_name(name: str, taken: set[str]) -> None:
    """Refuse a name that is not a fresh Python package name and playbook name.

    Args:
        name: The proposed name.
        taken: Playbook names already installed.

    Raises:
        ScaffoldError: Naming what is wrong with it.
    """
    if not NAME_PATTERN.match(name) or "__" in name:
        raise ScaffoldError(
            f"invalid name {name!r}: use 3 to 50 lowercase letters, digits and single "
            "underscores, starting with a letter (it names the playbook and its package)"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"invalid name {name!r}: it is a Python keyword")
    if name in taken:
        raise ScaffoldError(f"a playbook named {name!r} is already installed")
    if importlib.util.find_spec(name) is not None:
        raise ScaffoldError(
            f"a Python module named {name!r} already exists here; the package would shadow it"
        )


def render(template: str, name: str) -> str:
    """Fill a template's placeholders for the package ``name``."""
    values = {
        "name": name,
        "dist": name.replace("_", "-"),
        "cls": class_name(name),
        "title": name.replace("_", " ").capitalize(),
    }
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


def scaffold_package(name: str, parent: Path, *, taken: set[str]) -> Path:
    """Write the package ``name`` into ``parent/<dist name>``.

    Args:
        name: The playbook's name (also its Python package).
        parent: The folder to create the package in.
        taken: Playbook names already installed.

    Returns:
        The package's folder.

    Raises:
        ScaffoldError: The name is invalid or taken, or the folder already exists.
    """
    check_name(name, taken)
    target = parent / name.replace("_", "-")
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another name or folder")
    if not parent.is_dir():
        raise ScaffoldError(f"{parent} is not a folder")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
    try:
        for path_template, template in FILES.items():
            path = staging / render(path_template, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(template, name))
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
