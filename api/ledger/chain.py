"""The ledger's hash chains, as pure functions over entry dicts (no database, no server).

Every entry belongs to two SHA-256 chains: its incident's (``seq``, ``prev_hash``) and the
global one (``global_seq``, ``global_prev_hash``). Its hash covers every header field and the
SHA-256 of its payload text, so changing any stored byte breaks that entry's hash; its
Ed25519 signature covers the hash, so recomputing the hash after tampering does not help
without the private key. The same functions check the database and an offline pack.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.ledger.keys import LedgerVerifier

GENESIS = "0" * 64
FORMAT_VERSION = 1
HEADER_FIELDS = (
    "entry_key",
    "incident_id",
    "seq",
    "global_seq",
    "kind",
    "step",
    "at",
    "prev_hash",
    "global_prev_hash",
    "key_id",
)
ENTRY_FIELDS = (*HEADER_FIELDS, "payload", "entry_hash", "signature")


def canonical(value: Any) -> str:
    """Return canonical JSON: sorted keys, no spaces, ASCII only, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_text(text: str) -> str:
    """Return the hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """Return the hash an entry must carry, computed from its header and payload text."""
    header = {name: entry[name] for name in HEADER_FIELDS}
    header["payload_sha256"] = sha256_text(entry["payload"])
    header["v"] = FORMAT_VERSION
    return sha256_text(canonical(header))


@dataclass(frozen=True)
class ChainProblem:
    """The first entry that fails a check, and why."""

    entry: Mapping[str, Any]
    reason: str

    def describe(self) -> str:
        """One line naming the entry and the reason."""
        e = self.entry
        return (
            f"entry {e.get('incident_id')}#{e.get('seq')} (global #{e.get('global_seq')}, "
            f"{e.get('entry_key')}): {self.reason}"
        )


def entry_problem(entry: Mapping[str, Any], verifier: LedgerVerifier) -> str | None:
    """Return why one entry is not intact on its own (hash, signature, payload), or None."""
    missing = [name for name in ENTRY_FIELDS if name not in entry]
    if missing:
        return f"missing fields {', '.join(missing)}"
    try:
        computed = entry_hash(entry)
    except (TypeError, ValueError, KeyError) as exc:
        return f"header cannot be hashed: {exc}"
    if computed != entry["entry_hash"]:
        return "entry hash does not match its contents (the entry was altered)"
    problem = verifier.problem(str(entry["key_id"]), computed.encode(), str(entry["signature"]))
    if problem is not None:
        return problem
    try:
        json.loads(entry["payload"])
    except (TypeError, ValueError):
        return "payload is not JSON"
    return None


def check_incident_chain(
    entries: Iterable[Mapping[str, Any]], verifier: LedgerVerifier
) -> ChainProblem | None:
    """Check one incident's entries, ordered by ``seq``; return the first problem or None."""
    previous = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        problem = entry_problem(entry, verifier)
        if problem is None and entry["seq"] != expected_seq:
            problem = f"sequence number {entry['seq']}, expected {expected_seq} (entry missing?)"
        if problem is None and entry["prev_hash"] != previous:
            problem = "does not link to the previous entry of its incident"
        if problem is not None:
            return ChainProblem(entry, problem)
        previous = entry["entry_hash"]
    return None


def check_global_chain(
    entries: Iterable[Mapping[str, Any]], verifier: LedgerVerifier
) -> ChainProblem | None:
    """Check the whole ledger, ordered by ``global_seq``: both chains of every entry."""
    previous = GENESIS
    per_incident: dict[str, tuple[int, str]] = {}
    for expected, entry in enumerate(entries, start=1):
        problem = entry_problem(entry, verifier)
        last_seq, last_hash = per_incident.get(str(entry.get("incident_id")), (0, GENESIS))
        if problem is None and entry["global_seq"] != expected:
            problem = f"global sequence {entry['global_seq']}, expected {expected} (entry missing?)"
        elif problem is None and entry["global_prev_hash"] != previous:
            problem = "does not link to the previous entry of the global chain"
        elif problem is None and entry["seq"] != last_seq + 1:
            problem = f"sequence number {entry['seq']}, expected {last_seq + 1} (entry missing?)"
        elif problem is None and entry["prev_hash"] != last_hash:
            problem = "does not link to the previous entry of its incident"
        if problem is not None:
            return ChainProblem(entry, problem)
        previous = entry["entry_hash"]
        per_incident[str(entry["incident_id"])] = (entry["seq"], entry["entry_hash"])
    return None
