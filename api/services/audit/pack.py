"""Evidence packs: one incident's history, ledger, policy sources and detection, signed.

A pack is a zip::

    manifest.json        format, incident, key id, public key, sha256 of every other file
    manifest.sig         Ed25519 signature (base64) of manifest.json's bytes
    history.json         the workflow history, as ``temporal workflow show --output json``
    ledger.json          the incident's ledger entries, in chain order
    detection.json       what was detected and why: the incident, its start input, and every
                         piece of evidence (detector score and explanation, or the alert)
    policies/<sha256>/…  the sources of every policy bundle behind a decision

``api.services.audit.pack_verify`` checks one offline, with nothing but the public key.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from api.ledger.keys import LedgerSigner, public_key_text
from api.ledger.store import bundle_sources, entry_dict, incident_entries
from api.models import Incident
from api.services.audit.history import fetch_history, history_facts
from api.services.evidence import evidence_of

PACK_FORMAT = "steward-evidence-pack/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
HISTORY = "history.json"
LEDGER = "ledger.json"
DETECTION = "detection.json"
POLICIES = "policies/"


class PackError(LookupError):
    """The pack cannot be built (no such incident in the ledger)."""


def sha256_bytes(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def bundle_sha256(contents: dict[str, bytes]) -> str:
    """Return a policy bundle's hash: the algorithm of ``activities.policy.bundle``.

    Repeated here because packs are verified where only the API package is installed; a test
    holds the two equal.
    """
    digest = hashlib.sha256()
    for name in sorted(contents):
        data = contents[name]
        digest.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()


def decision_bundles(entries: list[dict[str, Any]]) -> list[str]:
    """Return the bundle hashes behind the decision entries, in order of first use."""
    found: list[str] = []
    for entry in entries:
        if entry.get("kind") != "decision":
            continue
        try:
            sha = json.loads(entry["payload"])["decision"]["bundle_sha256"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(sha, str) and sha and sha not in found:
            found.append(sha)
    return found


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def _detection(engine: Engine, incident_id: str, start_input: Any) -> dict[str, Any]:
    with Session(engine) as session:
        row = session.get(Incident, incident_id)
    incident = row.model_dump(mode="json") if row is not None else None
    evidence = evidence_of(engine, incident_id)
    # The detector's own explanation when a detector opened it, else the opener's summary.
    explanation: Any = evidence[0]["explanation"] if evidence else None
    if explanation is None and isinstance(start_input, dict):
        explanation = start_input.get("summary")
    return {
        "incident": incident,
        "workflow_input": start_input,
        "explanation": explanation,
        "evidence": evidence,
    }


async def build_pack(
    engine: Engine, signer: LedgerSigner, client: Client, incident_id: str
) -> tuple[bytes, list[str]]:
    """Build the evidence pack of ``incident_id``.

    Returns:
        The zip's bytes, and warnings (policy bundles whose sources were never archived).

    Raises:
        PackError: The ledger has no entries for the incident.
        HistoryUnavailableError: Temporal has no history for it.
    """
    entries = [entry_dict(r) for r in incident_entries(engine, incident_id)]
    if not entries:
        raise PackError(f"the ledger has no entries for incident {incident_id!r}")
    history = await fetch_history(client, incident_id)
    history_json = history.to_json().encode()
    facts = history_facts(json.loads(history_json))
    files: dict[str, bytes] = {
        HISTORY: history_json,
        LEDGER: _dump(entries),
        DETECTION: _dump(_detection(engine, incident_id, facts.start_input)),
    }
    warnings: list[str] = []
    bundles: dict[str, list[str]] = {}
    for sha in decision_bundles(entries):
        sources = bundle_sources(engine, sha)
        if sources is None:
            warnings.append(f"the sources of policy bundle {sha} were never archived")
            continue
        bundles[sha] = sorted(sources)
        for name, text in sources.items():
            files[f"{POLICIES}{sha}/{name}"] = text.encode()
    manifest = {
        "format": PACK_FORMAT,
        "incident_id": incident_id,
        "workflow_type": facts.workflow_type,
        "run_id": history.run_id,
        "created_at": datetime.now(UTC).isoformat(),
        "key_id": signer.key_id,
        "public_key": public_key_text(signer.public_key),
        "ledger_head": entries[-1]["entry_hash"],
        "entries": len(entries),
        "bundles": bundles,
        "files": {name: sha256_bytes(data) for name, data in sorted(files.items())},
    }
    manifest_bytes = _dump(manifest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:
        pack.writestr(MANIFEST, manifest_bytes)
        pack.writestr(SIGNATURE, signer.sign(manifest_bytes) + "\n")
        for name, data in sorted(files.items()):
            pack.writestr(name, data)
    return buffer.getvalue(), warnings
