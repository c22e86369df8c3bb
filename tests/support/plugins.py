"""Throwaway plugin distributions: real packages with dist-info metadata on ``sys.path``.

``importlib.metadata`` finds a ``<name>-<version>.dist-info`` folder with ``METADATA`` and
``entry_points.txt`` on ``sys.path`` exactly as it finds an installed package, so a test can
build a plugin in ``tmp_path`` and Steward loads it through the same entry points as its own.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from activities.plugins import load_extensions
from workflows.registry import load_workflows

ACTIONS = '''
"""A tiny plugin: one actuator, one check, one source kind."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from activities.actuators.registry import (
    Actuator, ActuatorContext, Check, CheckResult, actuator, check,
)
from activities.sources.base import FetchWindow, SeriesPoints, SourceContext, SourceKind


class NoteParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    service: str = "demo"
    text: str = Field(min_length=1)
    times: int = Field(default=1, ge=1, le=3)


@actuator("extra.note", tier="info", params=NoteParams, irreversible=True)
class Note(Actuator[NoteParams]):
    """Notes a line (changes nothing)."""

    async def apply(self, ctx: ActuatorContext, p: NoteParams) -> dict[str, Any]:
        return {"noted": p.text * p.times, "key": ctx.idempotency_key}


class AlwaysParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = "demo"


@check("extra.always", params=AlwaysParams)
class Always(Check[AlwaysParams]):
    """Always passes."""

    async def run(self, ctx: ActuatorContext, p: AlwaysParams) -> CheckResult:
        return CheckResult(ok=True, observed={"always": True}, detail="always passes")


def _validate(config: Any, window_seconds: int) -> dict[str, Any]:
    return dict(config)


async def _fetch(
    context: SourceContext, config: Any, window: FetchWindow
) -> list[SeriesPoints]:
    return []


EXTRA = SourceKind("extra", _validate, _fetch)
'''

PLAYBOOK = '''
"""A plugin playbook: note a line, then verify."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="extra_note")
class ExtraNote(Playbook):
    """Note a line, then check."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("extra.note", {"text": "hello from a plugin"})
        await self.verify("extra.always", {}, within_seconds=5)
'''

TYPO_PLAYBOOK = '''
from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="extra_typo")
class ExtraTypo(Playbook):
    """Calls an actuator nobody registered."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("extra.note", {"text": "fine"})
        await self.act("extra.nope", {})
        await self.verify("extra.never", {})
'''

NO_UNDO = """
from typing import Any

from activities.actuators.registry import Actuator, actuator
from {package}.actions import NoteParams


@actuator("extra.sloppy", tier="warn", params=NoteParams)
class Sloppy(Actuator[NoteParams]):
    async def apply(self, ctx: Any, p: NoteParams) -> dict[str, Any]:
        return {{}}
"""

BROKEN = "import steward_no_such_module_anywhere  # noqa: F401\n"

DECLARED = '''
"""The same items, declared by module attributes for STEWARD_PLUGIN_MODULES."""

from {package}.actions import EXTRA, Always, Note
from {package}.playbook import ExtraNote

STEWARD_PLAYBOOKS = [ExtraNote]
STEWARD_ACTUATORS = [Note]
STEWARD_CHECKS = [Always]
STEWARD_SOURCES = [EXTRA]
'''

# The entry points of the good plugin, by group: each named after its item.
GOOD_ENTRY_POINTS = {
    "steward.playbooks": {"extra_note": "playbook:ExtraNote"},
    "steward.actuators": {"extra.note": "actions:Note"},
    "steward.checks": {"extra.always": "actions:Always"},
    "steward.sources": {"extra": "actions:EXTRA"},
}


@dataclass
class PluginWorld:
    """A folder on ``sys.path`` to build plugin packages and distributions in."""

    root: Path

    def package(self, version: str = "1.2.3") -> str:
        """Write a fresh package with every plugin module; return its (unique) name."""
        name = f"steward_extra_{uuid.uuid4().hex[:10]}"
        folder = self.root / name
        folder.mkdir()
        sources = {
            "__init__": f'__version__ = "{version}"\n',
            "actions": ACTIONS,
            "playbook": PLAYBOOK,
            "typo": TYPO_PLAYBOOK,
            "no_undo": NO_UNDO.format(package=name),
            "broken": BROKEN,
            "declared": DECLARED.format(package=name),
        }
        for module, text in sources.items():
            (folder / f"{module}.py").write_text(text)
        importlib.invalidate_caches()
        return name

    def distribution(
        self,
        package: str,
        entry_points: dict[str, dict[str, str]],
        *,
        version: str = "1.2.3",
    ) -> str:
        """Declare ``entry_points`` (values relative to ``package``) in a new distribution.

        Returns:
            The distribution's name.
        """
        dist = package.replace("_", "-")
        info = self.root / f"{package}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = []
        for group, points in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{name} = {package}.{value}" for name, value in points.items()]
            lines.append("")
        (info / "entry_points.txt").write_text("\n".join(lines))
        importlib.invalidate_caches()
        return dist


@pytest.fixture
def plugin_world(tmp_path: Path) -> Iterator[PluginWorld]:
    """A plugin folder on ``sys.path``; afterwards Steward's registries hold its own items again."""
    root = tmp_path / "plugins"
    root.mkdir()
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield PluginWorld(root)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("steward_extra_")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        load_extensions(())
        load_workflows(())
