"""The Ed25519 keys of the evidence ledger: load, create, rotate, sign and verify.

The private key signs every ledger entry and every evidence pack's manifest. Auditors get the
public key (printed by ``steward keys ledger``) and verify packs with it, offline. A rotated key's
public half stays under ``home/ledger-public-keys/`` so entries it signed still verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from api.core.settings import Settings

PRIVATE_KEY_FILE = "ledger.key"
ARCHIVE_DIR = "ledger-public-keys"


class LedgerKeyError(ValueError):
    """A ledger key that cannot be read or parsed."""


def public_key_text(key: Ed25519PublicKey) -> str:
    """Return the base64 text of the raw 32-byte public key (what auditors are given)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """Return the short id that entries carry to name the key that signed them."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """Parse a PEM (PKCS#8) private key or the base64 of a raw 32-byte seed.

    Raises:
        LedgerKeyError: The text is neither.
    """
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise LedgerKeyError(f"not a PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise LedgerKeyError("the PEM key is not an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise LedgerKeyError("the ledger key is neither PEM nor base64") from exc
    if len(seed) != 32:
        raise LedgerKeyError(f"a raw Ed25519 seed has 32 bytes, not {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def parse_public_key(value: str) -> Ed25519PublicKey:
    """Parse a public key given as base64 text, PEM text, or a path to a file with either.

    Raises:
        LedgerKeyError: Naming what could not be parsed.
    """
    text = value.strip()
    path = Path(text)
    if len(text) < 4096 and "\n" not in text and path.is_file():
        text = path.read_text().strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError) as exc:
            raise LedgerKeyError(f"not a PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise LedgerKeyError("the PEM key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise LedgerKeyError("the public key is neither base64, PEM nor a readable file") from exc
    if len(raw) != 32:
        raise LedgerKeyError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class LedgerSigner:
    """Signs ledger entries and pack manifests with the ledger's private key."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half, for verification."""
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        """Short id of the key (see :func:`key_id`)."""
        return key_id(self.public_key)

    def sign(self, data: bytes) -> str:
        """Return the base64 Ed25519 signature of ``data``."""
        return base64.b64encode(self.private_key.sign(data)).decode()


class LedgerVerifier:
    """Checks signatures against a set of trusted public keys, by key id."""

    def __init__(self, keys: list[Ed25519PublicKey]) -> None:
        self._keys = {key_id(k): k for k in keys}

    @property
    def key_ids(self) -> list[str]:
        """Ids of the trusted keys."""
        return sorted(self._keys)

    def problem(self, signer_id: str, data: bytes, signature: str) -> str | None:
        """Return why ``signature`` is not a valid signature of ``data``, or None when it is."""
        key = self._keys.get(signer_id)
        if key is None:
            return f"signed by untrusted key {signer_id!r}"
        try:
            key.verify(base64.b64decode(signature, validate=True), data)
        except (InvalidSignature, binascii.Error, ValueError):
            return "signature does not verify"
        return None


def _key_path(settings: Settings) -> Path:
    return settings.home / PRIVATE_KEY_FILE


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create with owner-only permissions from the start: the key never exists world-readable.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(pem)


def create_ledger_key(settings: Settings, *, rotate: bool = False) -> tuple[LedgerSigner, bool]:
    """Create ``home/ledger.key`` unless it exists; with ``rotate``, replace it.

    A rotated key's public half is archived so the entries it signed keep verifying.

    Returns:
        The signer of the active key, and whether a new key was created.

    Raises:
        LedgerKeyError: ``STEWARD_LEDGER_KEY`` is set (the key lives outside ``home``), or the
            existing key file cannot be parsed.
    """
    if settings.ledger_key:
        if rotate:
            raise LedgerKeyError("STEWARD_LEDGER_KEY is set: rotate it where it is configured")
        return LedgerSigner(parse_private_key(settings.ledger_key)), False
    path = _key_path(settings)
    if path.exists() and not rotate:
        return LedgerSigner(parse_private_key(path.read_text())), False
    if path.exists():
        old = LedgerSigner(parse_private_key(path.read_text()))
        archive = settings.home / ARCHIVE_DIR
        archive.mkdir(parents=True, exist_ok=True)
        (archive / f"{old.key_id}.pub").write_text(public_key_text(old.public_key) + "\n")
    key = Ed25519PrivateKey.generate()
    _write_private(path, key)
    return LedgerSigner(key), True


def ledger_signer(settings: Settings) -> LedgerSigner:
    """Return the signer of the configured ledger key, creating the key file on first use."""
    return create_ledger_key(settings)[0]


def ledger_verifier(settings: Settings) -> LedgerVerifier:
    """Return a verifier trusting the active key and every archived (rotated) public key."""
    keys = [ledger_signer(settings).public_key]
    archive = settings.home / ARCHIVE_DIR
    if archive.is_dir():
        keys.extend(parse_public_key(p.read_text()) for p in sorted(archive.glob("*.pub")))
    return LedgerVerifier(keys)
