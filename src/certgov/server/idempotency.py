"""Idempotency-Key on creating POSTs (contract §5.4).

The first answer to a (calling account, key) pair is stored with a digest of the request; a repeat
with the same request within the window replays it, whatever its status; the same key with another
request is 409. A successful answer is stored in the same transaction as the creation, so a crash
can never leave one without the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse

from certgov.server import errors, problems
from certgov.server.audit import canonical_json
from certgov.server.context import Server, iso
from certgov.server.store import StoredAnswer, Tx
from certgov.server.store.errors import StoreError

KEY_MAX = 255


@dataclass(frozen=True)
class Answer:
    """What a create produced: the live answer and the form a replay gets (e.g. no secret)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    replay_body: dict[str, Any] | None = None

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, self.status, self.headers)


def _stored(answer: Answer, digest: str) -> StoredAnswer:
    body = answer.replay_body if answer.replay_body is not None else answer.body
    return StoredAnswer(digest, answer.status, {"body": body, "headers": answer.headers})


def _replay(record: StoredAnswer, digest: str) -> Answer:
    if record.request_digest != digest:
        raise problems.conflict("this Idempotency-Key was used with a different request")
    headers = dict(record.response["headers"])
    headers["Idempotent-Replayed"] = "true"
    return Answer(record.status, record.response["body"], headers)


def run_idempotent(
    server: Server,
    account_uuid: str,
    key: str | None,
    request_identity: dict[str, Any],
    create: Callable[[Tx], Answer],
) -> Answer:
    """Run `create` in a transaction, or replay the answer stored under `key`."""
    if key is None:
        with server.store.transaction() as tx:
            return create(tx)
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise problems.validation_error(
            [problems.field_problem("Idempotency-Key", f"must be 1 to {KEY_MAX} printable chars")]
        )
    digest = hashlib.sha256(canonical_json(request_identity)).hexdigest()
    now = server.now()
    since = iso(now - server.settings.idempotency_ttl)
    try:
        with server.store.transaction() as tx:
            record = tx.idempotency.get(account_uuid, key, since)
            if record is not None:
                return _replay(record, digest)
            answer = create(tx)
            recorded = tx.idempotency.put(
                account_uuid, key, _stored(answer, digest), iso(now), since
            )
            if recorded:
                return answer
            # A concurrent request with the same key committed first: roll this one back.
            raise problems.conflict("this Idempotency-Key was used concurrently")
    except (problems.ApiProblem, StoreError) as exc:
        problem = errors.as_problem(exc)
        if problem.status >= 500:
            raise
        refused = Answer(problem.status, problem.body(), dict(problem.headers))
        with server.store.transaction() as tx:
            recorded = tx.idempotency.put(
                account_uuid, key, _stored(refused, digest), iso(now), since
            )
        if recorded:
            raise
        # The key was recorded by a concurrent request: answer as a repeat of that one.
        with server.store.transaction() as tx:
            record = tx.idempotency.get(account_uuid, key, since)
        if record is None:
            raise
        return _replay(record, digest)
