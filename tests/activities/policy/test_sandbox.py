"""Submitted policy runs in a sandbox process: memory and time limits, size limits first.

Real regopy in real child processes; the reproducer of issue 13 (a set of three million
numbers) must be stopped at the limit while this process's memory stays where it was.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from activities.ledger.simulation import evaluate
from activities.ledger.types import PolicyEvaluation
from activities.policy.bundle import bundle_sha256
from activities.policy.check import check_policy_sandboxed, sample_input
from activities.policy.engine import EmbeddedPolicyEngine, PolicyError, gate_input_to_dict
from activities.policy.limits import BundleLimits, BundleTooLargeError, check_bundle_size
from activities.policy.sandbox import PolicyLimitError, PolicySandbox, SandboxLimits
from activities.policy.what_if import WhatIfEngines
from api.core.settings import Settings, get_settings
from api.ledger.store import archive_bundle
from tests.activities.policy import POLICIES
from tests.activities.policy.hostile import (
    HUGE_ON_STEP_2,
    HUGE_SET,
    make_data_check_hostile,
    rss_mib,
)

GATE = "steward/gate/gate.rego"
MEMORY_ERROR = (
    "policy evaluation exceeded 256 MiB of memory and was stopped "
    "(STEWARD_POLICY_SANDBOX_MEMORY_MIB)"
)
# The memory limit must be what stops the reproducer, not the clock of a busy machine.
MEMORY_FIRST = Settings(policy_sandbox_memory_mib=256, policy_sandbox_seconds=50)
# RSS may move a little with allocator noise; the reproducer grew workers by gigabytes.
RSS_SLACK_MIB = 40


@pytest.fixture
def limits_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings read by get_settings(): memory first, and a database that is not the repo's."""
    monkeypatch.setenv("STEWARD_POLICY_SANDBOX_MEMORY_MIB", "256")
    monkeypatch.setenv("STEWARD_POLICY_SANDBOX_SECONDS", "50")
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_reproducer_is_stopped_at_the_memory_limit_and_this_process_does_not_grow() -> None:
    before = rss_mib()
    result = evaluate(PolicyEvaluation(policy_files={GATE: HUGE_SET}, gate_inputs=[]), MEMORY_FIRST)
    assert result.error == MEMORY_ERROR
    assert rss_mib() - before < RSS_SLACK_MIB
    # The same bundle compiled and evaluated here would have taken gigabytes.


def test_the_reproducer_is_stopped_at_the_time_limit() -> None:
    slow = Settings(policy_sandbox_memory_mib=8192, policy_sandbox_seconds=1)
    result = evaluate(PolicyEvaluation(policy_files={GATE: HUGE_SET}, gate_inputs=[]), slow)
    assert result.error == (
        "policy evaluation exceeded 1 s and was stopped (STEWARD_POLICY_SANDBOX_SECONDS)"
    )


def test_a_bundle_within_the_limits_decides_in_the_sandbox() -> None:
    gate_input = gate_input_to_dict(sample_input())
    files = {GATE: HUGE_ON_STEP_2}
    result = evaluate(PolicyEvaluation(policy_files=files, gate_inputs=[gate_input]), MEMORY_FIRST)
    assert result.error is None
    assert result.bundle_sha256 == bundle_sha256({GATE: HUGE_ON_STEP_2.encode()})
    (decision,) = result.decisions
    assert (decision["outcome"], decision["rules"]) == ("allow", ["allow"])


def test_an_oversize_bundle_is_refused_before_anything_compiles() -> None:
    tight = Settings(policy_bundle_max_bytes=len(HUGE_SET) - 1, policy_sandbox_seconds=50)
    # Compiled, this bundle would be stopped at the memory limit: the size limit came first.
    result = evaluate(PolicyEvaluation(policy_files={GATE: HUGE_SET}, gate_inputs=[]), tight)
    assert result.error == (
        f"the bundle is {len(HUGE_SET)} bytes, more than the limit of {len(HUGE_SET) - 1} "
        "bytes (STEWARD_POLICY_BUNDLE_MAX_BYTES)"
    )


@pytest.mark.parametrize(
    ("files", "setting"),
    [
        ({f"m{i}.rego": "package m" for i in range(4)}, "STEWARD_POLICY_BUNDLE_MAX_MODULES"),
        ({"big.rego": "#" * 101}, "STEWARD_POLICY_MODULE_MAX_BYTES"),
        ({"a.rego": "package a", "data.json": "{}" + " " * 60}, "STEWARD_POLICY_DATA_MAX_BYTES"),
        (
            {"a.rego": "#" * 90, "b.rego": "#" * 90, "c.rego": "#" * 90},
            "STEWARD_POLICY_BUNDLE_MAX_BYTES",
        ),
    ],
)
def test_each_size_limit_is_named(files: dict[str, str], setting: str) -> None:
    limits = BundleLimits(max_bytes=200, max_modules=3, max_module_bytes=100, max_data_bytes=50)
    with pytest.raises(BundleTooLargeError) as refused:
        check_bundle_size(files, limits)
    assert refused.value.setting == setting and setting in str(refused.value)


def test_a_sandbox_process_starts_again_after_a_breach() -> None:
    with PolicySandbox(SandboxLimits(memory_mib=256, seconds=600)) as sandbox:
        with pytest.raises(PolicyLimitError, match="exceeded 256 MiB"):
            sandbox.request({"op": "load", "files": {GATE: HUGE_SET}})
        assert not sandbox.running
        loaded = sandbox.request({"op": "load", "files": {GATE: HUGE_ON_STEP_2}})
        assert loaded["reads_applied_rows"] is True and sandbox.running
        with pytest.raises(PolicyError, match="gate.rego:1: Missing reference"):
            sandbox.request({"op": "load", "files": {GATE: "package"}})
        assert sandbox.running  # a compile error is an answer, not a breach


async def test_a_what_if_engine_denies_a_decision_over_the_limit_then_decides_again(
    db_engine: Engine, limits_env: None
) -> None:
    sha = bundle_sha256({GATE: HUGE_ON_STEP_2.encode()})
    archive_bundle(db_engine, sha, {GATE: HUGE_ON_STEP_2})
    engines = WhatIfEngines(db_engine)
    try:
        what_if = engines.get(sha)
        before = rss_mib()
        huge = await what_if.decide(dataclasses.replace(sample_input(), step=2))
        assert (huge.outcome, huge.rules, huge.reasons) == (
            "deny",
            ["evaluation_limit"],
            [MEMORY_ERROR],
        )
        assert rss_mib() - before < RSS_SLACK_MIB
        cheap = await what_if.decide(sample_input())  # a fresh sandbox loads the bundle again
        assert (cheap.outcome, cheap.bundle_sha256) == ("allow", sha)
    finally:
        engines.close()


async def test_an_archived_bundle_over_the_limit_is_refused_when_loaded(
    db_engine: Engine, limits_env: None
) -> None:
    sha = bundle_sha256({GATE: HUGE_SET.encode()})
    archive_bundle(db_engine, sha, {GATE: HUGE_SET})
    with pytest.raises(PolicyLimitError, match="exceeded 256 MiB"):
        WhatIfEngines(db_engine).get(sha)


def test_a_hostile_reload_is_refused_and_the_running_bundle_keeps_deciding(
    tmp_path: Path, limits_env: None
) -> None:
    policy_dir = tmp_path / "policies"
    shutil.copytree(POLICIES, policy_dir)
    running = EmbeddedPolicyEngine(policy_dir)
    sha = running.bundle_sha256
    make_data_check_hostile(policy_dir)
    before = rss_mib()
    with pytest.raises(PolicyLimitError, match="exceeded 256 MiB"):
        running.reload()
    assert rss_mib() - before < RSS_SLACK_MIB
    assert running.bundle_sha256 == sha
    assert running.evaluate(sample_input()).outcome == "allow"

    report = check_policy_sandboxed(policy_dir)  # what `policy reload` runs
    assert not report.ok and report.bundle_sha256 is None
    assert [str(p) for p in report.problems] == [
        "policy check exceeded 256 MiB of memory and was stopped "
        "(STEWARD_POLICY_SANDBOX_MEMORY_MIB) [sandbox]"
    ]
    assert rss_mib() - before < RSS_SLACK_MIB
