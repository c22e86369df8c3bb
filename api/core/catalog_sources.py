"""The catalog a process uses: the ``STEWARD_CATALOG`` file, or ``STEWARD_TARGETS``, plus demo.

``STEWARD_TARGETS`` (a JSON map of service -> admin URL) is what the catalog replaces. It keeps
working for one release: each entry becomes an ``http`` service, and the process logs one
deprecation warning. When both are set the file wins and the warning says the variable is
ignored. Either way the built-in ``demo`` service (the demo target) is added unless the catalog
or the variable defines ``demo`` itself.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from pydantic import ValidationError

from api.core.catalog import Catalog, CatalogError, DemoTarget, Service, load_catalog

__all__ = ["DEPRECATED", "IGNORED", "effective_catalog"]

log = logging.getLogger("steward.catalog")

DEPRECATED = (
    "STEWARD_TARGETS is deprecated and will be removed in the next release; move these "
    "services to a catalog file (STEWARD_CATALOG)"
)
IGNORED = (
    "STEWARD_TARGETS is deprecated and ignored: STEWARD_CATALOG is set and its file wins; "
    "remove STEWARD_TARGETS"
)
DEMO = "demo"

_lock = threading.Lock()
_warned = False
# Built catalogs by what they were built from: actuators ask for one on every call.
_built: dict[object, tuple[Catalog | None, Catalog]] = {}


def _warn_once(message: str) -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    log.warning(message)


def _from_targets(targets: dict[str, str]) -> Catalog:
    document = {
        "services": {
            name: {"target": {"kind": "http", "url": url}} for name, url in targets.items()
        }
    }
    try:
        catalog = Catalog.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"] if p != "http"]
        raise CatalogError(f"invalid STEWARD_TARGETS: {'.'.join(loc)}: {first['msg']}") from None
    return catalog.with_origin(source="STEWARD_TARGETS", undeclared=frozenset(targets))


def _with_demo(catalog: Catalog, undeclared: frozenset[str]) -> Catalog:
    services = dict(catalog.services)
    if DEMO not in services:
        services[DEMO] = Service(target=DemoTarget(kind="demo"))
        undeclared |= {DEMO}
    copy = catalog.model_copy(update={"services": services})
    return copy.with_origin(source=catalog.source, undeclared=undeclared)


def effective_catalog(*, catalog_path: Path | None, targets: dict[str, str]) -> Catalog:
    """The catalog for these settings (see the module docstring).

    Args:
        catalog_path: ``STEWARD_CATALOG``, when set.
        targets: ``STEWARD_TARGETS``.

    Raises:
        CatalogError: The file cannot be read or does not validate, or a ``STEWARD_TARGETS``
            URL is not an http(s) URL; the message names the file (or variable), the service
            and the field.
    """
    if catalog_path is not None:
        if targets:
            _warn_once(IGNORED)
        # load_catalog reads the file again only when it changed; the key follows that.
        base = load_catalog(catalog_path)
        key: object = ("file", str(catalog_path))
        undeclared: frozenset[str] = frozenset()
    else:
        if targets:
            _warn_once(DEPRECATED)
        key = ("targets", tuple(sorted(targets.items())))
        base = None
        undeclared = frozenset(targets)
    with _lock:
        cached = _built.get(key)
    # A file's entry holds only while load_catalog returns the same object (file unchanged).
    if cached is not None and cached[0] is base:
        return cached[1]
    catalog = _with_demo(base if base is not None else _from_targets(targets), undeclared)
    with _lock:
        _built[key] = (base, catalog)
    return catalog
