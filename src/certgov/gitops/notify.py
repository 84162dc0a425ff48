"""Alerts: drift's and apply's results sent to webhooks (`--notify URL`, repeatable).

A Slack incoming webhook (`https://hooks.slack.com/...`) gets Slack's shape, `{"text": ...}`.
Any other URL gets the result document as JSON, signed when `CERTGOV_NOTIFY_KEY` is set:
`X-Certgov-Signature: sha256=<hex of HMAC-SHA256 over the raw body>`, which the receiver checks
with the same key (compare in constant time). Sends are retried with backoff on connection
errors, 429 and 5xx. A notification that still fails is a warning, never a failed command. The
bodies carry results only: no secret and no token ever reaches them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from certgov.client.retry import RetryPolicy
from certgov.version import __version__

KEY_VARIABLE = "CERTGOV_NOTIFY_KEY"
SIGNATURE_HEADER = "X-Certgov-Signature"
SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
RETRY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=4.0, max_elapsed=15.0)
_RETRIED = {429, 500, 502, 503, 504}


def signature(key: str, body: bytes) -> str:
    """The header value a receiver recomputes: `sha256=` and the hex HMAC of the raw body."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def redacted(url: str) -> str:
    """A webhook URL fit for a log line: its path is often the secret (Slack's is)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def is_slack(url: str) -> bool:
    return (urlsplit(url).hostname or "") in SLACK_HOSTS


@dataclass(frozen=True)
class Message:
    """What to send: the result document, and the one-line summary Slack shows."""

    event: str
    document: Mapping[str, Any]
    summary: str

    def body(self, url: str) -> bytes:
        if is_slack(url):
            return json.dumps({"text": self.summary}, ensure_ascii=False).encode()
        payload = {"event": self.event, "certgov_version": __version__, **self.document}
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


def notify(
    urls: Sequence[str],
    message: Message,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Send `message` to every URL; a warning per URL that did not take it (none: all did)."""
    if not urls:
        return []
    key = (os.environ if environ is None else environ).get(KEY_VARIABLE) or None
    warnings = []
    if key is None and not all(is_slack(u) for u in urls):
        warnings.append(f"{KEY_VARIABLE} is not set: notifications are sent unsigned")
    with httpx.Client(timeout=10.0, transport=transport, follow_redirects=False) as http:
        for url in urls:
            body = message.body(url)
            headers = {"Content-Type": "application/json", "User-Agent": f"certgov/{__version__}"}
            if key is not None and not is_slack(url):
                headers[SIGNATURE_HEADER] = signature(key, body)
            problem = _send(http, url, body, headers, sleep)
            if problem is not None:
                warnings.append(f"the notification to {redacted(url)} failed: {problem}")
    return warnings


def _send(
    http: httpx.Client,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    sleep: Callable[[float], None],
) -> str | None:
    """POST until it is taken or the retries run out; why it failed, or None."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            response = http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if response.is_success:
                return None
            problem = f"HTTP {response.status_code}"
            if response.status_code not in _RETRIED:
                return problem
        delay = RETRY.backoff(attempt)
        if not RETRY.allows(attempt, time.monotonic() - started, delay):
            return f"{problem} (after {attempt} attempts)"
        sleep(delay)
