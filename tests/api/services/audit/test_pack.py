"""Evidence packs: export (CLI and API), offline verification, corrupt and foreign packs."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from api.ledger.keys import ledger_signer, public_key_text
from api.services.audit.pack_verify import verify_pack
from tests.api.services.audit.helpers import cli, ledger
from tests.workflows.helpers import incident_input, start, wait_for_approval

pytestmark = pytest.mark.asyncio(loop_scope="session")


def rewrite(pack: Path, target: Path, name: str, data: bytes) -> None:
    """Copy ``pack`` to ``target`` with member ``name`` replaced by ``data``."""
    with zipfile.ZipFile(pack) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            copy.writestr(info.filename, data if info.filename == name else source.read(info))


async def test_pack_round_trip_and_every_kind_of_damage(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    demo.post("/admin/faults", json={"error_rate": 0.3}).raise_for_status()
    handle = await start(temporal_env.client, settings, "error_burst", incident_input("errors"))
    approval = await wait_for_approval(engine, handle.id)
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        decide = f"/api/v1/approvals/{approval.id}/decision"
        refused = await api.post(
            decide, json={"decision": "approve"}, headers={"X-API-Key": api_keys["auditor"]}
        )
        assert refused.status_code == 403
        approved = await api.post(
            decide,
            json={"decision": "approve", "comment": "restart is fine"},
            headers={"X-API-Key": api_keys["operator"]},
        )
        assert approved.status_code == 200, approved.text
        assert (await handle.result()).status == "resolved"
        served = await api.get(
            f"/api/v1/incidents/{handle.id}/evidence", headers={"X-API-Key": api_keys["auditor"]}
        )
        assert served.status_code == 200 and served.headers["content-type"] == "application/zip"
        card = await api.get(
            f"/api/v1/incidents/{handle.id}/card", headers={"X-API-Key": api_keys["auditor"]}
        )
    kinds = [e["kind"] for e in ledger(engine, handle.id)]
    assert "approval_refused" in kinds and kinds.count("vote") == 1

    public = public_key_text(ledger_signer(settings).public_key)
    pack = tmp_path / "pack.zip"
    exported = await cli("audit", "export", handle.id, "-o", str(pack))
    assert exported.exit_code == 0, exported.output
    verified = await cli("audit", "verify-pack", str(pack), "--public-key", public)
    assert verified.exit_code == 0, verified.output
    assert f"pack intact: incident {handle.id}, {len(kinds)} entries" in verified.stdout
    api_pack = tmp_path / "api.zip"
    api_pack.write_bytes(served.content)
    assert verify_pack(api_pack, ledger_signer(settings).public_key).ok

    with zipfile.ZipFile(pack) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        history = json.loads(archive.read("history.json"))
        detection = json.loads(archive.read("detection.json"))
        entries = json.loads(archive.read("ledger.json"))
    (sha,) = manifest["bundles"]
    decision = json.loads(next(e for e in entries if e["kind"] == "decision")["payload"])
    assert decision["decision"]["bundle_sha256"] == sha
    assert any(n.startswith(f"policies/{sha}/") and n.endswith(".rego") for n in names)
    assert history["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert detection["workflow_input"]["signal"] == "errors"

    # The decision card tells the same story.
    body = card.json()
    # The restart is decided again at dispatch, after its approval: a second decision.
    decided = [(d["step"], d["round"], d["outcome"]) for d in body["decisions"]]
    assert decided == [(1, 1, "approval_required"), (1, 2, "approval_required"), (2, 1, "allow")]
    assert all(d["bundle_sha256"] == sha and d["rules"] for d in body["decisions"])
    (restart,) = body["approvals"]
    assert restart["status"] == "approved" and restart["votes"][0]["principal"] == "operator-user"
    assert restart["refused"][0]["principal"] == "auditor-user"
    assert [c["actuator"] for c in body["changes"]] == ["demo.restart", "demo.purge_cache"]
    assert body["verification"][0]["status"] == "passed"
    assert body["undo"] == {"status": "not undone"} and body["ledger"]["intact"]
    text = await cli("audit", "card", handle.id)
    assert "approve by operator-user" in text.stdout and "refused auditor-user" in text.stdout

    # One flipped byte in the ledger: the file and the entry are named.
    raw = (await asyncio_read(pack, "ledger.json")).replace(b"purge_cache", b"purge_cachf", 1)
    corrupt = tmp_path / "corrupt.zip"
    rewrite(pack, corrupt, "ledger.json", raw)
    failed = await cli("audit", "verify-pack", str(corrupt), "--public-key", public)
    assert failed.exit_code == 1
    assert "ledger.json: sha256 does not match the manifest (altered)" in failed.stdout
    flipped = next(e for e in entries if "demo.purge_cache" in e["payload"])
    assert f"ledger.json: entry {handle.id}#{flipped['seq']} " in failed.stdout

    # A pack from another Steward, an extra file, a file that is not a zip.
    foreign_key = public_key_text(Ed25519PrivateKey.generate().public_key())
    foreign = await cli("audit", "verify-pack", str(pack), "--public-key", foreign_key)
    assert foreign.exit_code == 1
    assert "manifest.sig: signature does not verify" in foreign.stdout
    assert "untrusted key" in foreign.stdout
    extra = tmp_path / "extra.zip"
    rewrite(pack, extra, "history.json", (await asyncio_read(pack, "history.json")))
    with zipfile.ZipFile(extra, "a") as archive:
        archive.writestr("notes.txt", b"trust me")
    assert (
        "notes.txt: not listed in the manifest"
        in (await cli("audit", "verify-pack", str(extra), "--public-key", public)).stdout
    )
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    refused_junk = await cli("audit", "verify-pack", str(junk), "--public-key", public)
    assert refused_junk.exit_code == 1
    assert "junk.zip: not a readable zip archive" in refused_junk.stdout


async def asyncio_read(pack: Path, name: str) -> bytes:
    """Read one member of a pack."""
    with zipfile.ZipFile(io.BytesIO(pack.read_bytes())) as archive:
        return archive.read(name)
