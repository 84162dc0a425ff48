"""Signed checkpoints of the audit log's head (contract §5.2), kept outside the database.

A checkpoint says "event N of the log had hash H", signed with an Ed25519 key the database never
sees. `certgov server verify-audit --checkpoint FILE --checkpoint-key PUBLIC_KEY` then proves the
log still holds event N with hash H, and since each hash covers the one before, that nothing up
to N changed: deleting the newest events and moving the head back, or rewriting the chain with
the audit key, is caught, which the audit key alone cannot catch. A checkpoint carries no key:
it is checked with the public key the verifier trusts.

    {"checkpoint": {"event_id": 912, "hash": "<hex>", "occurred_at": "...", "signed_at": "..."},
     "signature": "<base64 Ed25519 signature of the checkpoint's canonical JSON>"}
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certgov.server.audit import canonical_json
from certgov.server.files import create_private, refuse_open_file

FIELDS = ("event_id", "hash", "occurred_at", "signed_at")


class CheckpointError(ValueError):
    """A checkpoint or a checkpoint key that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose signature verified, and the file it came from."""

    event_id: int
    hash: str
    occurred_at: str
    signed_at: str
    file: str

    @property
    def origin(self) -> str:
        return f"checkpoint {self.file} (signed {self.signed_at})"


def public_key_file(signing_key_file: Path) -> Path:
    return signing_key_file.with_name(f"{signing_key_file.name}.pub")


def signing_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path`, made (0600, its public key beside it) when it is missing."""
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if create_private(path, pem):
            public = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            public_key_file(path).write_bytes(public)
            return key
    refuse_open_file(path, "the signing key", "the key that signs audit checkpoints")
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot read the signing key {path}: {exc}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise CheckpointError(f"the signing key {path} is not an Ed25519 private key")
    return loaded


def public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key (PEM) that checkpoints are checked with."""
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read the checkpoint key {path}: {exc}") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise CheckpointError(f"the checkpoint key {path} is not an Ed25519 public key")
    return loaded


def sign(head: dict[str, Any], key: Ed25519PrivateKey, signed_at: str) -> dict[str, Any]:
    """The signed checkpoint of `head`, the log's last event."""
    body = {
        "event_id": head["id"],
        "hash": head["hash"],
        "occurred_at": head["occurred_at"],
        "signed_at": signed_at,
    }
    signature = base64.b64encode(key.sign(canonical_json(body))).decode()
    return {"checkpoint": body, "signature": signature}


def read(path: Path, key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in `path`, its signature checked with `key`; CheckpointError otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        body, signature = document["checkpoint"], base64.b64decode(document["signature"])
        fields = {name: body[name] for name in FIELDS}
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read: {exc}") from None
    if set(body) != set(FIELDS) or not isinstance(fields["event_id"], int):
        raise CheckpointError(f"checkpoint {path} is not a checkpoint of certgov server")
    try:
        key.verify(signature, canonical_json(body))
    except InvalidSignature:
        raise CheckpointError(
            f"checkpoint {path}: its signature does not verify with the checkpoint key"
        ) from None
    return Checkpoint(**fields, file=str(path))
