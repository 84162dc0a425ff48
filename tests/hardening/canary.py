"""Finding secrets where they must not be: every client secret and session token seen on the
wire, in the forms a leak could take (raw, base64 at each alignment, URL-encoded, JSON-escaped)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def forms(secret: str) -> set[bytes]:
    """The byte strings that would betray `secret`."""
    raw = secret.encode()
    found = {
        raw,
        urllib.parse.quote(secret, safe="").encode(),
        urllib.parse.quote_plus(secret).encode(),
        json.dumps(secret)[1:-1].encode(),
    }
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            # Inside a longer base64 text the secret starts at any of three byte alignments;
            # the characters that depend only on the secret's bytes are the stable middle.
            text = encode(b"\0" * shift + raw)
            found.add(text[4 if shift else 0 : -4])
    return {f for f in found if len(f) >= 16}


@dataclass
class Harvest:
    """Every client secret and session token the process received over HTTP."""

    secrets: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: Any) -> None:
        if isinstance(body, dict):
            for key, value in body.items():
                if key == "client_secret" and isinstance(value, str):
                    with self._lock:
                        self.secrets.add(value)
                elif key == "token" and isinstance(value, str):
                    with self._lock:
                        self.tokens.add(value)
                else:
                    self.take(value)
        elif isinstance(body, list):
            for item in body:
                self.take(item)


@contextmanager
def harvesting() -> Iterator[Harvest]:
    """Wrap httpx.Client.send in this process so that no secret or token goes unseen."""
    harvest = Harvest()
    original = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = original(self, request, **kwargs)
        response.read()
        if response.headers.get("content-type", "").startswith("application/json"):
            with suppress(ValueError):
                harvest.take(response.json())
        return response

    httpx.Client.send = send  # type: ignore[method-assign]
    try:
        yield harvest
    finally:
        httpx.Client.send = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class Hit:
    where: str
    kind: str
    form: int


def scan(blobs: Iterable[tuple[str, bytes]], secrets: dict[str, str]) -> list[Hit]:
    """Each (place, bytes) searched for each named secret in each of its forms."""
    patterns = [(name, i, f) for name, s in secrets.items() for i, f in enumerate(forms(s))]
    hits = []
    for where, data in blobs:
        for name, index, form in patterns:
            if form in data:
                hits.append(Hit(where, name.split(":")[0], index))
    return hits


def files_under(root: Path, skip: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    skipped = [s.resolve() for s in skip]
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(path.resolve().is_relative_to(s) for s in skipped):
            yield str(path.relative_to(root)), path.read_bytes()
