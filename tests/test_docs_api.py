"""docs/api.md lists every route of the app, with the permission the app enforces.

The API reference is a static page; this test keeps it honest. It builds the app (no Temporal,
no database) and compares its OpenAPI operations with the route rows of the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.core.settings import get_settings
from api.main import create_app

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
# A route row: | `METHOD /path` | what | `permission` |
ROUTE_ROW = re.compile(
    r"^\| `(?P<method>GET|POST|PUT|PATCH|DELETE) (?P<path>/[^`\s]*)` \|.*\| `(?P<perm>[^`]+)` \|$"
)


@pytest.fixture
def app_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Every operation of the app's OpenAPI schema, ``"METHOD /path"`` -> its permission."""
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        schema = create_app().openapi()
    finally:
        get_settings.cache_clear()
    yield {
        f"{method.upper()} {path}": operation["x-steward-permission"]
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def documented_routes() -> dict[str, str]:
    """The route rows of docs/api.md, ``"METHOD /path"`` -> the permission they name."""
    rows: dict[str, str] = {}
    for line in API_PAGE.read_text().splitlines():
        match = ROUTE_ROW.match(line.strip())
        if match:
            key = f"{match['method']} {match['path']}"
            assert key not in rows, f"docs/api.md lists {key} twice"
            rows[key] = match["perm"]
    return rows


def test_every_app_route_is_documented(app_routes: dict[str, str]) -> None:
    missing = sorted(set(app_routes) - set(documented_routes()))
    assert not missing, f"routes missing from docs/api.md: {missing}"


def test_every_documented_route_exists(app_routes: dict[str, str]) -> None:
    stale = sorted(set(documented_routes()) - set(app_routes))
    assert not stale, f"docs/api.md lists routes the app does not have: {stale}"


def test_documented_permissions_match_the_app(app_routes: dict[str, str]) -> None:
    documented = documented_routes()
    wrong = {
        route: (documented[route], permission)
        for route, permission in app_routes.items()
        if route in documented and documented[route] != permission
    }
    assert not wrong, f"docs/api.md permission vs the app's: {wrong}"


def test_the_page_lists_routes_at_all() -> None:
    # A change to the table format must not make every check above pass vacuously.
    assert len(documented_routes()) >= 40
