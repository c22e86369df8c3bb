"""``steward audit verify-pack``: check an evidence pack offline, with only a public key.

Every problem names the file it is in and, inside ``ledger.json``, the entry; a pack that is
not a zip, or not a pack at all, is a problem too, never a traceback.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.ledger.chain import check_incident_chain
from api.ledger.keys import LedgerVerifier, key_id
from api.services.audit.history import cross_check, history_facts
from api.services.audit.pack import (
    DETECTION,
    HISTORY,
    LEDGER,
    MANIFEST,
    PACK_FORMAT,
    POLICIES,
    SIGNATURE,
    bundle_sha256,
    decision_bundles,
    sha256_bytes,
)

# Larger members are refused unread: a pack is evidence, not a zip bomb.
MAX_MEMBER_BYTES = 256 * 1024 * 1024


@dataclass
class PackReport:
    """The outcome of verifying one pack."""

    pack: str
    incident_id: str | None = None
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.problems


def _read(pack: zipfile.ZipFile, report: PackReport) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for info in pack.infolist():
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            report.problems.append(f"{info.filename}: larger than {MAX_MEMBER_BYTES} bytes")
            continue
        try:
            files[info.filename] = pack.read(info)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            report.problems.append(f"{info.filename}: cannot be read ({exc})")
    return files


def _manifest(files: dict[str, bytes], key: Ed25519PublicKey, report: PackReport) -> dict[str, Any]:
    """Check the manifest's signature; return it (empty when unusable)."""
    if MANIFEST not in files:
        report.problems.append(f"{MANIFEST}: missing (not a Steward evidence pack)")
        return {}
    try:
        manifest = json.loads(files[MANIFEST])
    except ValueError as exc:
        report.problems.append(f"{MANIFEST}: not JSON ({exc})")
        return {}
    if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
        report.problems.append(f"{MANIFEST}: not a {PACK_FORMAT} manifest")
        return {}
    signature = files.get(SIGNATURE, b"").decode(errors="replace").strip()
    verifier = LedgerVerifier([key])
    problem = verifier.problem(key_id(key), files[MANIFEST], signature)
    if SIGNATURE not in files:
        report.problems.append(f"{SIGNATURE}: missing")
    elif problem is not None:
        report.problems.append(
            f"{SIGNATURE}: {problem} with the given public key (altered manifest, or a pack "
            f"signed by key {manifest.get('key_id')!r})"
        )
    report.incident_id = manifest.get("incident_id")
    return manifest


def _check_files(files: dict[str, bytes], manifest: dict[str, Any], report: PackReport) -> None:
    listed = manifest.get("files")
    listed = listed if isinstance(listed, dict) else {}
    for name in sorted(set(files) - {MANIFEST, SIGNATURE}):
        if name not in listed:
            report.problems.append(f"{name}: not listed in the manifest (foreign file)")
        elif sha256_bytes(files[name]) != listed[name]:
            report.problems.append(f"{name}: sha256 does not match the manifest (altered)")
    for name in sorted(set(listed) - set(files)):
        report.problems.append(f"{name}: listed in the manifest but missing from the pack")


def _check_ledger(
    files: dict[str, bytes], key: Ed25519PublicKey, report: PackReport
) -> list[dict[str, Any]]:
    try:
        entries = json.loads(files.get(LEDGER, b""))
    except ValueError as exc:
        report.problems.append(f"{LEDGER}: not JSON ({exc})")
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        report.problems.append(f"{LEDGER}: not a list of entries")
        return []
    report.entries = len(entries)
    problem = check_incident_chain(entries, LedgerVerifier([key]))
    if problem is not None:
        report.problems.append(f"{LEDGER}: {problem.describe()}")
    return entries


def _check_policies(
    files: dict[str, bytes], entries: list[dict[str, Any]], report: PackReport
) -> None:
    groups: dict[str, dict[str, bytes]] = {}
    for name, data in files.items():
        if name.startswith(POLICIES):
            sha, _, rel = name[len(POLICIES) :].partition("/")
            groups.setdefault(sha, {})[rel] = data
    for sha, contents in sorted(groups.items()):
        actual = bundle_sha256(contents)
        if actual != sha:
            report.problems.append(f"{POLICIES}{sha}/: the sources hash to {actual}, not {sha}")
    for sha in decision_bundles(entries):
        if sha not in groups:
            report.problems.append(
                f"{LEDGER}: a decision was made by policy bundle {sha}, whose sources are not "
                "in the pack"
            )


def _check_history(
    files: dict[str, bytes], entries: list[dict[str, Any]], report: PackReport
) -> None:
    try:
        facts = history_facts(json.loads(files.get(HISTORY, b"")))
    except ValueError as exc:
        report.problems.append(f"{HISTORY}: {exc}")
        return
    for problem in cross_check(facts, entries):
        where = LEDGER if problem.startswith("ledger entry") else HISTORY
        report.problems.append(f"{where}: {problem}")


def verify_pack(path: Path, key: Ed25519PublicKey) -> PackReport:
    """Verify the pack at ``path`` against the trusted public ``key``; nothing else is used."""
    report = PackReport(str(path))
    try:
        with zipfile.ZipFile(path) as pack:
            files = _read(pack, report)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"{path.name}: not a readable zip archive ({exc})")
        return report
    manifest = _manifest(files, key, report)
    if not manifest:
        return report
    _check_files(files, manifest, report)
    for required in (HISTORY, LEDGER, DETECTION):
        if required not in files:
            report.problems.append(f"{required}: missing from the pack")
    entries = _check_ledger(files, key, report)
    _check_policies(files, entries, report)
    _check_history(files, entries, report)
    return report
