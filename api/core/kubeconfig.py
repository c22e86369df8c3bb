"""The start-up check of a kubeconfig file: it exists, is YAML, and holds the named context.

Only the file's ``contexts[].name`` are read; credentials in it are never looked at or shown.
Steward's Kubernetes actuators connect with it later; this check makes a missing file or a
misspelt context stop start-up with one line instead of failing the first action.
"""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["DEFAULT_KUBECONFIG", "check_kubeconfig", "kubeconfig_path"]

# Where kubectl and the Kubernetes client look when nothing names a file.
DEFAULT_KUBECONFIG = Path("~/.kube/config")


def kubeconfig_path(configured: Path | None) -> Path:
    """The kubeconfig file a cluster uses: ``configured`` (``~`` expanded), else the default."""
    return (configured or DEFAULT_KUBECONFIG).expanduser()


def _context_names(document: object) -> list[str] | None:
    """The names in ``contexts[].name``, or None when the document has no such list."""
    if not isinstance(document, dict):
        return None
    contexts = document.get("contexts") or []
    if not isinstance(contexts, list):
        return None
    return [str(c["name"]) for c in contexts if isinstance(c, dict) and "name" in c]


def check_kubeconfig(configured: Path | None, context: str | None) -> str | None:
    """What is wrong with a cluster's kubeconfig, or None when it is usable.

    Args:
        configured: The cluster's ``kubeconfig`` (``~/.kube/config`` when None).
        context: The context it names, if any.

    Returns:
        One line naming the file (and the context), or None.
    """
    path = kubeconfig_path(configured)
    if not path.is_file():
        return f"kubeconfig file {path} not found"
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        return f"cannot read kubeconfig file {path}: {exc.strerror}"
    except yaml.YAMLError:
        return f"kubeconfig file {path} is not valid YAML"
    names = _context_names(document)
    if names is None:
        return f"kubeconfig file {path} is not a kubeconfig (no contexts list)"
    if context is not None and context not in names:
        known = ", ".join(sorted(names)) or "none"
        return f"context {context!r} is not in kubeconfig file {path} (its contexts: {known})"
    return None
