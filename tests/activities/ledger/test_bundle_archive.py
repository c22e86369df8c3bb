"""A record names the bundle that decided; the ledger archives that bundle as the engine loaded it.

The sources come from the engine's memory: files changed (or gone) on disk after the engine
loaded them change nothing, and a record write reads no policy file.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from activities.ledger.writer import LedgerWriter
from activities.policy.bundle import read_contents
from activities.policy.engine import EmbeddedPolicyEngine
from activities.records.writer import RecordWriter
from activities.types import IncidentRecord, StepRecord
from api.core.db import make_engine
from api.ledger.keys import LedgerSigner
from api.ledger.store import bundle_sources
from tests.activities.policy import GATE_REGO, POLICIES

SIGNER = LedgerSigner(Ed25519PrivateKey.generate())
INCIDENT = "inc-archive"


@pytest.fixture
def archive_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    return root


def record_decision(writer: RecordWriter, step: int, bundle_sha256: str) -> None:
    """Record the incident and one gated step whose decision names ``bundle_sha256``."""
    writer.incident(
        IncidentRecord(
            id=INCIDENT,
            service="demo",
            signal="errors",
            severity="high",
            playbook="error_burst",
            mode="apply",
            status="running",
            opened_by="tester",
            window_start=datetime(2026, 12, 1, tzinfo=UTC).isoformat(),
        )
    )
    writer.step(
        StepRecord(
            incident_id=INCIDENT,
            step=step,
            kind="act",
            name="demo.scale",
            status="gated",
            params={"replicas": 4},
            tier="warn",
            decision={"outcome": "allow", "bundle_sha256": bundle_sha256},
        )
    )


def text_of(directory: Path) -> dict[str, str]:
    return {name: data.decode() for name, data in read_contents(directory).items()}


def test_the_archive_holds_the_loaded_sources_not_the_changed_files(
    archive_engine: Engine, policy_dir: Path
) -> None:
    policy = EmbeddedPolicyEngine(policy_dir)
    loaded = text_of(policy_dir)
    gate = policy_dir / GATE_REGO
    gate.write_text(gate.read_text() + "\n# edited after the engine loaded\n")
    assert text_of(policy_dir) != loaded
    writer = RecordWriter(archive_engine, LedgerWriter(archive_engine, SIGNER, policy.sources_of))
    record_decision(writer, 1, policy.bundle_sha256)
    assert bundle_sources(archive_engine, policy.bundle_sha256) == loaded


def test_a_record_write_reads_no_policy_file(archive_engine: Engine, policy_dir: Path) -> None:
    policy = EmbeddedPolicyEngine(policy_dir)
    loaded = text_of(policy_dir)
    shutil.rmtree(policy_dir)  # nothing left on disk to read
    writer = RecordWriter(archive_engine, LedgerWriter(archive_engine, SIGNER, policy.sources_of))
    record_decision(writer, 1, policy.bundle_sha256)
    assert bundle_sources(archive_engine, policy.bundle_sha256) == loaded


def test_a_decision_from_before_a_reload_archives_its_own_bundle(
    archive_engine: Engine, policy_dir: Path
) -> None:
    policy = EmbeddedPolicyEngine(policy_dir)
    first, first_sources = policy.bundle_sha256, text_of(policy_dir)
    gate = policy_dir / GATE_REGO
    gate.write_text(gate.read_text() + "\n# reloaded\n")
    second = policy.reload()
    assert second != first
    writer = RecordWriter(archive_engine, LedgerWriter(archive_engine, SIGNER, policy.sources_of))
    # Recorded after the reload, decided before it: the first bundle's sources, from memory.
    record_decision(writer, 1, first)
    record_decision(writer, 2, second)
    assert bundle_sources(archive_engine, first) == first_sources
    assert bundle_sources(archive_engine, second) == text_of(policy_dir)


def test_a_bundle_the_engine_never_loaded_is_not_archived(
    archive_engine: Engine, policy_dir: Path
) -> None:
    policy = EmbeddedPolicyEngine(policy_dir)
    writer = RecordWriter(archive_engine, LedgerWriter(archive_engine, SIGNER, policy.sources_of))
    record_decision(writer, 1, "0" * 64)
    assert bundle_sources(archive_engine, "0" * 64) is None
