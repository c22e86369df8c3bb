"""The ledger store on SQLite and PostgreSQL: idempotent appends, two chains, tamper evidence."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from activities.policy.bundle import bundle_sha256 as policy_bundle_sha256
from api.cli.main import app as cli
from api.core.settings import Settings
from api.ledger.chain import check_global_chain, check_incident_chain
from api.ledger.keys import (
    LedgerSigner,
    LedgerVerifier,
    create_ledger_key,
    ledger_verifier,
    parse_public_key,
    public_key_text,
)
from api.ledger.store import EntryDraft, all_entries, append, entry_dict, incident_entries
from api.services.audit.pack import bundle_sha256


@pytest.fixture
def signer() -> LedgerSigner:
    return LedgerSigner(Ed25519PrivateKey.generate())


def draft(incident: str, key: str, step: int | None = 1, **payload: object) -> EntryDraft:
    return EntryDraft(incident, f"{incident}:{key}", key.split(":")[-1], step, dict(payload))


def rows(engine: Engine) -> list[dict[str, object]]:
    return [entry_dict(r) for r in all_entries(engine)]


def test_a_repeated_append_finds_the_first_entry(db_engine: Engine, signer: LedgerSigner) -> None:
    first = append(db_engine, signer, draft("inc-a", "1:apply", replicas=8))
    again = append(db_engine, signer, draft("inc-a", "1:apply", replicas=8))
    append(db_engine, signer, draft("inc-b", "1:apply"))
    append(db_engine, signer, draft("inc-a", "2:verification"))

    assert again.id == first.id
    entries = rows(db_engine)
    assert [(e["incident_id"], e["seq"], e["global_seq"]) for e in entries] == [
        ("inc-a", 1, 1),
        ("inc-b", 1, 2),
        ("inc-a", 2, 3),
    ]
    verifier = LedgerVerifier([signer.public_key])
    assert check_global_chain(entries, verifier) is None
    chain = [entry_dict(r) for r in incident_entries(db_engine, "inc-a")]
    assert chain[1]["prev_hash"] == chain[0]["entry_hash"]
    assert check_incident_chain(chain, verifier) is None


def test_concurrent_writers_keep_one_global_chain(db_engine: Engine, signer: LedgerSigner) -> None:
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        start.wait()
        try:
            for n in range(8):
                # Every worker writes every key twice: retries racing each other.
                append(db_engine, signer, draft(f"inc-{worker % 3}", f"{n}:k{worker}", n))
                append(db_engine, signer, draft(f"inc-{worker % 3}", f"{n}:k{worker}", n))
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    entries = rows(db_engine)
    assert len(entries) == 48
    assert check_global_chain(entries, LedgerVerifier([signer.public_key])) is None


def test_one_flipped_byte_breaks_exactly_that_entry(
    db_engine: Engine, signer: LedgerSigner
) -> None:
    for n in range(1, 6):
        append(db_engine, signer, draft("inc-t", f"{n}:apply", n, replicas=n))
    target = incident_entries(db_engine, "inc-t")[2]
    with db_engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_entry SET payload = :p WHERE id = :id"),
            {"p": target.payload.replace('"replicas":3', '"replicas":4'), "id": target.id},
        )
    verifier = LedgerVerifier([signer.public_key])

    problem = check_global_chain(rows(db_engine), verifier)
    assert problem is not None and problem.entry["entry_key"] == "inc-t:3:apply"
    assert "entry hash does not match" in problem.describe()
    incident = [entry_dict(r) for r in incident_entries(db_engine, "inc-t")]
    problem = check_incident_chain(incident, verifier)
    assert problem is not None and problem.entry["seq"] == 3


def test_an_entry_signed_by_another_key_is_untrusted(
    db_engine: Engine, signer: LedgerSigner
) -> None:
    append(db_engine, signer, draft("inc-k", "1:apply"))
    append(db_engine, LedgerSigner(Ed25519PrivateKey.generate()), draft("inc-k", "2:apply", 2))

    problem = check_global_chain(rows(db_engine), LedgerVerifier([signer.public_key]))

    assert problem is not None and problem.entry["seq"] == 2
    assert "untrusted key" in problem.reason


def test_a_missing_entry_breaks_the_links(db_engine: Engine, signer: LedgerSigner) -> None:
    for n in range(1, 4):
        append(db_engine, signer, draft("inc-m", f"{n}:apply", n))
    with db_engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_entry WHERE seq = 2"))

    problem = check_global_chain(rows(db_engine), LedgerVerifier([signer.public_key]))

    assert problem is not None and problem.entry["seq"] == 3
    assert "expected 2" in problem.reason


def test_keys_ledger_creates_rotates_and_keeps_old_keys_trusted(
    settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "ledger"])
    assert created.exit_code == 0, created.output
    public = created.stdout.strip().splitlines()[-1]
    first = create_ledger_key(settings)[0]
    assert public == public_key_text(first.public_key)
    assert (settings.home / "ledger.key").stat().st_mode & 0o077 == 0
    assert runner.invoke(cli, ["keys", "ledger"]).stdout.strip() == public  # idempotent

    rotated = runner.invoke(cli, ["keys", "ledger", "--rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.strip() != public
    verifier = ledger_verifier(settings)
    assert first.key_id in verifier.key_ids and len(verifier.key_ids) == 2
    (tmp_path / "key.pub").write_text(public)
    assert public_key_text(parse_public_key(str(tmp_path / "key.pub"))) == public


def test_pack_bundle_hash_is_the_policy_bundle_hash() -> None:
    contents = {"a/b.rego": b"package a.b\n", "data.json": b"{}", "z.rego": b""}
    assert bundle_sha256(contents) == policy_bundle_sha256(contents)
