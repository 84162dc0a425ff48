"""Alerts to webhooks: signed JSON, Slack's shape, retries, and failures that only warn."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from certgov.gitops.notify import Message, notify, redacted, signature
from tests.gitops.webhook_fake import webhook

MESSAGE = Message("drift", {"pending": [], "exit_code": 0}, "certgov drift on x: 0 pending")
KEY = {"CERTGOV_NOTIFY_KEY": "k3y"}


def test_a_json_webhook_gets_the_document_signed_with_hmac_sha256() -> None:
    with webhook() as hook:
        assert notify([hook.url], MESSAGE, environ=KEY) == []
    (got,) = hook.received
    expected = "sha256=" + hmac.new(b"k3y", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Certgov-Signature"] == expected == signature("k3y", got.body)
    assert json.loads(got.body) == {
        "event": "drift",
        "certgov_version": "0.1.0",
        "pending": [],
        "exit_code": 0,
    }


def test_a_slack_webhook_gets_slacks_shape_unsigned() -> None:
    seen: list[httpx.Request] = []

    def slack(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    url = "https://hooks.slack.com/services/T0/B0/secretpath"
    warnings = notify([url], MESSAGE, environ={}, transport=httpx.MockTransport(slack))
    assert warnings == []
    (request,) = seen
    assert json.loads(request.content) == {"text": "certgov drift on x: 0 pending"}
    assert "X-Certgov-Signature" not in request.headers


def test_5xx_and_429_are_retried_until_taken() -> None:
    waits: list[float] = []
    with webhook() as hook:
        hook.answers.extend([503, 429])
        assert notify([hook.url], MESSAGE, environ=KEY, sleep=waits.append) == []
    assert len(hook.received) == 3
    assert len(waits) == 2


def test_a_failed_notification_is_a_warning_that_hides_the_url_path() -> None:
    with webhook() as hook:
        hook.answers.extend([404])
        warnings = notify([hook.url], MESSAGE, environ=KEY)
    host = hook.url.split("/")[2].split(":")[0]
    assert warnings == [f"the notification to http://{host}/… failed: HTTP 404"]
    assert redacted("https://hooks.slack.com/services/T0/B0/x") == "https://hooks.slack.com/…"


def test_an_unreachable_webhook_warns_after_its_retries() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    warnings = notify(
        ["https://alerts.example.com/hook"],
        MESSAGE,
        environ=KEY,
        transport=httpx.MockTransport(refuse),
        sleep=lambda s: None,
    )
    assert warnings == [
        "the notification to https://alerts.example.com/… failed: ConnectError: connection "
        "refused (after 4 attempts)"
    ]


def test_sending_unsigned_is_said() -> None:
    with webhook() as hook:
        assert notify([hook.url], MESSAGE, environ={}) == [
            "CERTGOV_NOTIFY_KEY is not set: notifications are sent unsigned"
        ]
    assert "X-Certgov-Signature" not in hook.received[0].headers
