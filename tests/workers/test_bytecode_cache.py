"""Workers cache their workflow modules' bytecode: the sandbox re-imports them every run."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from workers.worker import cache_workflow_bytecode

MODULE = """
from temporalio import workflow


@workflow.defn(name="bytecode_probe")
class Probe:
    @workflow.run
    async def run(self) -> str:
        return "ok"
"""


def test_a_workflow_module_gets_its_bytecode_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "bytecode_probe_module.py"
    source.write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # as PYTHONDONTWRITEBYTECODE=1
    module = importlib.import_module("bytecode_probe_module")
    try:
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert not cached.exists()
        cache_workflow_bytecode([module.Probe])
        assert cached.exists()
    finally:
        sys.modules.pop("bytecode_probe_module", None)
