"""The platform's Ed25519 key that signs bank reports, and the signing itself.

Pure: no database, no settings object. The key is the 32-byte raw private key, base64 encoded,
from the `REPORT_SIGNING_KEY` setting; locally, when that is unset, it is generated once into
the data directory (`report-signing.key`, mode 0600) and reused afterwards, so reports stay
verifiable across restarts. Production (real WhatsApp) must set it: a key generated on one
server's disk would be lost with the disk, and with it every report's verification.

Ed25519 through `cryptography` (the PyCA package): small keys and signatures, deterministic
signatures, no parameters to get wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "report-signing.key"
RAW_KEY_BYTES = 32


class SigningKeyError(Exception):
    """The signing key is missing where it must be set, or unreadable: one clear line."""


def private_from_text(text: str) -> Ed25519PrivateKey:
    """A key from base64 of its 32 raw bytes (what `REPORT_SIGNING_KEY` holds)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError("REPORT_SIGNING_KEY is not base64") from exc
    if len(raw) != RAW_KEY_BYTES:
        raise SigningKeyError(
            f"REPORT_SIGNING_KEY must be base64 of {RAW_KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def private_to_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def load_key(configured: str | None, data_dir: Path, *, production: bool) -> Ed25519PrivateKey:
    """The key from the setting; else the one in `data_dir`, generated there on first use.

    `production` (WhatsApp is configured) refuses to generate one: it must be set."""
    if configured is not None and configured.strip():
        return private_from_text(configured)
    path = data_dir / KEY_FILE
    if path.exists():
        return private_from_text(path.read_text(encoding="ascii"))
    if production:
        raise SigningKeyError(
            "REPORT_SIGNING_KEY is not set: with WhatsApp configured, bank reports must be "
            "signed by a key kept off this machine's disk (README: 'Bank report: what it says')")
    key = Ed25519PrivateKey.generate()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start (never world-readable, even for a moment); O_EXCL so two
    # processes starting together cannot each write their own key: the loser reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return private_from_text(path.read_text(encoding="ascii"))
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(private_to_text(key) + "\n")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def verify(public_key: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def public_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """"3f2a-9c10-bb47-0e5d": the first 8 bytes of SHA-256 of the raw public key, in groups.

    Short enough to read over the phone, long enough that nobody makes a key to match it."""
    digest = hashlib.sha256(public_raw(public_key)).hexdigest()[:16]
    return "-".join(digest[i:i + 4] for i in range(0, 16, 4))


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_from_pem(text: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(text)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("not an Ed25519 public key")
    return key
