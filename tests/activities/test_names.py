"""One name per activity: every ``@activity.defn`` names a constant of ``activities.names``,
and the worker registers each name, and each legacy name, exactly once."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities import names
from activities.catalog import build_activities
from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings
from api.services.incidents import opener_for_findings

ACTIVITIES = Path(names.__file__).parent
SCHEME = re.compile(r"steward\.([a-z_]+)\.([a-z_]+)")


def name_constants() -> dict[str, str]:
    """Every public string constant of the names module, by constant."""
    return {
        key: value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)
    }


def defn_names(tree: ast.AST) -> list[ast.expr | None]:
    """The ``name=`` argument of every ``activity.defn`` decorator (None when it has none)."""
    found: list[ast.expr | None] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if ast.unparse(target) in ("activity.defn", "temporalio.activity.defn"):
                keyword = (
                    next((k for k in call.keywords if k.arg == "name"), None) if call else None
                )
                found.append(keyword.value if keyword else None)
    return found


def test_every_name_follows_the_scheme_and_has_one_legacy_name() -> None:
    constants = name_constants()
    areas = {p.name for p in ACTIVITIES.iterdir() if (p / "__init__.py").exists()}
    assert set(constants.values()) == set(names.LEGACY_NAMES) == names.ACTIVITY_NAMES
    for value in constants.values():
        match = SCHEME.fullmatch(value)
        assert match is not None, f"{value} is not steward.<area>.<verb>"
        assert match.group(1) in areas, f"{value}: no activities.{match.group(1)} package"
    legacy = list(names.LEGACY_NAMES.values())
    assert len(set(legacy)) == len(legacy), "two activities share a legacy name"
    assert not set(legacy) & names.ACTIVITY_NAMES


def test_every_activity_defn_uses_a_names_constant_once() -> None:
    constants = name_constants()
    used: Counter[str] = Counter()
    for path in sorted(ACTIVITIES.rglob("*.py")):
        for expr in defn_names(ast.parse(path.read_text(), str(path))):
            shown = ast.unparse(expr) if expr is not None else "no name"
            where = f"{path.relative_to(ACTIVITIES.parent)}: activity.defn({shown})"
            assert isinstance(expr, ast.Attribute), where
            assert ast.unparse(expr.value) == "names", where
            assert expr.attr in constants, where
            used[constants[expr.attr]] += 1
    assert used == Counter(names.ACTIVITY_NAMES), "each name is defined by exactly one activity"


@pytest.mark.asyncio(loop_scope="session")
async def test_the_worker_registers_each_name_and_each_legacy_name_once(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    async with httpx.AsyncClient() as http:
        client = temporal_env.client
        opener = opener_for_findings(client, engine, settings)
        built = build_activities(settings, engine, http, EmbeddedPolicyEngine(), client, opener)
    registered = Counter(activity._Definition.must_from_callable(fn).name for fn in built)
    expected = Counter([*names.ACTIVITY_NAMES, *names.LEGACY_NAMES.values()])
    assert registered == expected
