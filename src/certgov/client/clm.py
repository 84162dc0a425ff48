"""ClmClient: one httpx.Client per run, one session per run, paged reads, bounded retries.

Session practice (docs/api.md §3): log in lazily on the first call and once per run, reuse the
token from every thread, log in again once when a call answers SESSION_EXPIRED or
INVALID_SESSION, and revoke the token when the run ends (`close()`, also on error and Ctrl-C).
The retry rules are in certgov.client.retry; the error wording in certgov.client.error_map.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from certgov.apiurl import api_root
from certgov.client.credentials import Credentials
from certgov.client.error_map import CallContext, error_for, parse_envelope
from certgov.client.results import ListItem, ObjectResult, SecretResult, SessionInfo
from certgov.client.retry import (
    NOT_SENT_ERRORS,
    RetryPolicy,
    is_idempotent,
    parse_retry_after,
)
from certgov.client.routes import route_for
from certgov.errors import (
    ApiError,
    AuthenticationError,
    CertgovError,
    ConnectionFailedError,
    UsageError,
)
from certgov.version import __version__

_log = logging.getLogger(__name__)

LOGIN = "/service-account/auth"
VERIFY = "/service-account/auth/verify"
REVOKE = "/service-account/auth/revoke"
POLICIES = "/service/policies"
SERVICE_ACCOUNTS = "/service/service-accounts"
AUDIT_EVENTS = "/service/audit-events"
CERTIFICATES = "/service/certificates"
PER_PAGE = 100

# Answers after which a fresh login makes the same call succeed.
_RENEWABLE = ("SESSION_EXPIRED", "INVALID_SESSION")
# Revoking happens on the way out, often after Ctrl-C: try briefly, never for minutes.
_REVOKE_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0, max_elapsed=5.0)


class ClmClient:
    """The CLM API over one thread-safe httpx.Client; use it as a context manager.

    `transport` is for tests (httpx.MockTransport); `parallelism` bounds the requests in flight
    across all threads; `sleep` and `clock` are injectable so that retries can be tested without
    waiting. `request_count` counts every HTTP request sent, retries and logins included.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        parallelism: int = 8,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if parallelism < 1:
            raise UsageError(f"parallelism must be at least 1, not {parallelism}")
        self.server = base_url.strip().rstrip("/")
        self.credentials = credentials
        self.parallelism = parallelism
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=api_root(base_url),
            transport=transport,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=parallelism, max_keepalive_connections=parallelism),
            headers={"Accept": "application/json", "User-Agent": f"certgov/{__version__}"},
        )
        self._slots = threading.BoundedSemaphore(parallelism)
        self._count_lock = threading.Lock()
        self._session_lock = threading.Lock()
        self._token: str | None = None
        self._login_error: AuthenticationError | None = None
        self._session: SessionInfo | None = None
        self._closed = False
        self.request_count = 0
        self.login_count = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> ClmClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Revoke the session token, if any, then close the connections; safe to call twice."""
        if self._closed:
            return
        try:
            if self._token is not None:
                try:
                    self.revoke()
                except CertgovError as exc:
                    # Closing must not hide the error that ended the run; the token dies in 24 h.
                    _log.warning("could not revoke the session token: %s", exc.message)
        finally:
            self._closed = True
            self._http.close()

    @property
    def session(self) -> SessionInfo | None:
        """The session of the last login or verify; None before the first call."""
        return self._session

    # -- sessions -------------------------------------------------------------------------------

    def logged_in(self) -> SessionInfo:
        """The current session, logging in first when there is none (no other request)."""
        self._current_token()
        if self._session is None:  # pragma: no cover - a login always records its session
            return self.verify()
        return self._session

    def verify(self) -> SessionInfo:
        """`GET /service-account/auth/verify`: the session as the server sees it now."""
        response = self._call("GET", VERIFY, what="verifying the session")
        info = self._session_info(self._body(response, "verifying the session"))
        self._session = info
        return info

    def ensure_session(self, min_remaining: timedelta) -> SessionInfo:
        """Log in again when less than `min_remaining` of the session is left.

        Long jobs call this before their first write. The replaced token is revoked. When even a
        fresh session is shorter (the account expires sooner), the fresh one is returned as is.
        """
        info = self.verify()
        if timedelta(seconds=info.expires_in) >= min_remaining:
            return info
        with self._session_lock:
            old = self._token
            self._login()
            fresh = self._session
        if old is not None:
            try:
                self._revoke_token(old)
            except CertgovError as exc:
                # The old token is only tidied away; the fresh session is what the job needs.
                _log.warning("could not revoke the replaced session token: %s", exc.message)
        return fresh or info

    def revoke(self) -> None:
        """`POST /service-account/auth/revoke` with the current token, then forget it."""
        with self._session_lock:
            token, self._token = self._token, None
        if token is not None:
            self._revoke_token(token)

    def _revoke_token(self, token: str) -> None:
        response, _ = self._send(
            "POST",
            REVOKE,
            token=token,
            what="revoking the session",
            retryable=True,
            policy=_REVOKE_RETRY,
        )
        envelope = parse_envelope(response)
        if response.is_success or (envelope is not None and envelope.code in _RENEWABLE):
            return  # a token the server no longer knows is as revoked as it gets
        raise error_for(response, self._context("POST", REVOKE, "revoking the session"))

    def _current_token(self) -> str:
        with self._session_lock:
            if self._closed:
                raise UsageError("the CLM client is closed")
            if self._token is not None:
                return self._token
            if self._login_error is not None:
                # A refused login is not tried again by the next thread: every failed login
                # counts toward the account's lockout and alerts someone.
                raise self._login_error
            try:
                return self._login()
            except AuthenticationError as exc:
                self._login_error = exc
                raise

    def _renewed_token(self, stale: str) -> str:
        with self._session_lock:
            # Another thread may have logged in again already: one re-login serves them all.
            if self._token is None or self._token == stale:
                return self._login()
            return self._token

    def _login(self) -> str:
        """Log in and return the new token; the caller holds `_session_lock`."""
        what = "logging in"
        self.login_count += 1
        response, _ = self._send(
            "POST", LOGIN, token=None, json=self.credentials.login_body(), what=what, retryable=True
        )
        if not response.is_success:
            raise error_for(response, self._context("POST", LOGIN, what, login=True))
        body = self._body(response, what)
        session = body.get("session")
        token = session.get("token") if isinstance(session, dict) else None
        if not isinstance(token, str) or not token:
            raise self._bad_answer(response, what)
        info = self._session_info(body)
        self._token = token
        self._session = info
        _log.debug("logged in as %s (%s)", info.account_name, ", ".join(info.scopes))
        return token

    def _session_info(self, body: Mapping[str, Any]) -> SessionInfo:
        account = body.get("service_account")
        session = body.get("session")
        try:
            if not isinstance(account, dict) or not isinstance(session, dict):
                raise TypeError("service_account and session must be objects")
            expires_at = datetime.fromisoformat(str(session["expires_at"]))
            return SessionInfo(
                account_uuid=str(account.get("uuid") or self.credentials.uuid),
                account_name=str(account.get("name") or ""),
                scopes=tuple(str(s) for s in account.get("scopes") or ()),
                expires_at=expires_at,
                expires_in=int(session["expires_in"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ApiError(
                "the server's session answer lacks service_account, session.expires_at or "
                "session.expires_in",
                status=200,
                code="BAD_ANSWER",
            ) from None

    # -- the request pipeline -------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """One authenticated call: lazy login, retries, one re-login, typed error on failure."""
        headers: dict[str, str] = {}
        if if_match is not None:
            headers["If-Match"] = if_match
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        retryable = is_idempotent(method, path, idempotency_key=idempotency_key)
        token = self._current_token()
        response, ambiguous = self._send(
            method,
            path,
            token=token,
            params=params,
            json=json,
            headers=headers,
            what=what,
            retryable=retryable,
        )
        envelope = parse_envelope(response) if response.status_code == 401 else None
        if envelope is not None and envelope.code in _RENEWABLE:
            # The server refused the token before doing anything: even a create is safe to resend.
            _log.debug("session refused (%s); logging in again", envelope.code)
            token = self._renewed_token(token)
            response, again = self._send(
                method,
                path,
                token=token,
                params=params,
                json=json,
                headers=headers,
                what=what,
                retryable=retryable,
            )
            ambiguous = ambiguous or again
        if response.is_success:
            return response
        raise error_for(
            response, self._context(method, path, what, if_match=if_match, ambiguous=ambiguous)
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        what: str,
        retryable: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
    ) -> tuple[httpx.Response, bool]:
        """Send with retries; returns the answer and whether an earlier attempt may have landed."""
        policy = policy or self._retry
        request_headers = dict(headers or {})
        if token is not None:
            request_headers["Authorization"] = f"Bearer {token}"
        start = self._clock()
        attempt = 0
        ambiguous = False
        while True:
            attempt += 1
            try:
                with self._slots:
                    self._count()
                    response = self._http.request(
                        method, path, params=params, json=json, headers=request_headers
                    )
            except httpx.TransportError as exc:
                sent = not isinstance(exc, NOT_SENT_ERRORS)
                delay = policy.backoff(attempt)
                if (
                    (retryable or not sent)
                    and not isinstance(exc, httpx.UnsupportedProtocol)
                    and policy.allows(attempt, self._clock() - start, delay)
                ):
                    _log.debug("%s %s: %s; retrying in %.2fs", method, path, exc, delay)
                    ambiguous = ambiguous or sent
                    self._sleep(delay)
                    continue
                raise self._unreachable(exc, what, sent=sent, retryable=retryable) from exc
            _log.debug("%s %s -> %d", method, path, response.status_code)
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = retry_after if retry_after is not None else policy.backoff(attempt)
                if delay <= policy.max_retry_after and policy.allows(
                    attempt, self._clock() - start, delay
                ):
                    self._sleep(delay)
                    continue
            return response, ambiguous

    def _count(self) -> None:
        with self._count_lock:
            self.request_count += 1

    def _unreachable(
        self, exc: httpx.TransportError, what: str, *, sent: bool, retryable: bool
    ) -> ConnectionFailedError:
        reason = str(exc) or type(exc).__name__
        if sent and not retryable:
            return ConnectionFailedError(
                f"{what}: the answer was lost ({reason}), so it may or may not have taken effect "
                f"on the server at {self.server}"
            )
        return ConnectionFailedError(f"cannot reach the CLM API at {self.server}: {reason}")

    def _context(
        self,
        method: str,
        path: str,
        what: str,
        *,
        login: bool = False,
        if_match: str | None = None,
        ambiguous: bool = False,
    ) -> CallContext:
        return CallContext(
            method=method,
            path=path,
            route=route_for(method, path),
            what=what,
            server=self.server,
            account=self.credentials.uuid,
            scopes=self._session.scopes if self._session else None,
            login=login,
            if_match=if_match,
            ambiguous=ambiguous,
        )

    def _body(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise self._bad_answer(response, what) from None
        if not isinstance(body, dict):
            raise self._bad_answer(response, what)
        return body

    def _bad_answer(self, response: httpx.Response, what: str) -> ApiError:
        return ApiError(
            f"{what}: the server at {self.server} sent an answer that is not the CLM API's "
            f"(status {response.status_code}, {response.headers.get('Content-Type', 'no type')})",
            status=response.status_code,
            code="BAD_ANSWER",
        )

    # -- collections ----------------------------------------------------------------------------

    def list_all(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[ListItem]:
        """Every item of a list endpoint (the first `limit` of them): page 1 first, then the
        other pages concurrently.

        Pages are fetched at per_page=100 and their items returned in the server's order.
        """
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        what = route_for("GET", path).operation
        items, total_pages = self._page(path, query, 1, what)
        if limit is not None:
            total_pages = min(total_pages, -(-limit // PER_PAGE))
        rest = range(2, total_pages + 1)
        if not rest:
            return items[:limit]
        pool = ThreadPoolExecutor(
            max_workers=min(self.parallelism, len(rest)), thread_name_prefix="certgov-page"
        )
        try:
            for page_items, _ in pool.map(lambda n: self._page(path, query, n, what), rest):
                items.extend(page_items)
        finally:
            # On an error, pages not yet started are not worth fetching.
            pool.shutdown(wait=True, cancel_futures=True)
        return items[:limit]

    def _page(
        self, path: str, query: Mapping[str, str], page: int, what: str
    ) -> tuple[list[ListItem], int]:
        params = {**query, "page": str(page), "per_page": str(PER_PAGE)}
        response = self._call("GET", path, params=params, what=what)
        body = self._body(response, what)
        data, meta = body.get("data"), body.get("meta")
        total_pages = meta.get("total_pages", 1) if isinstance(meta, dict) else None
        if not isinstance(data, list) or not isinstance(total_pages, int):
            raise self._bad_answer(response, what)
        return [dict(item) for item in data if isinstance(item, dict)], total_pages

    def list_policies(self, *, enabled: bool | None = None) -> list[ListItem]:
        """Every policy (`enabled` filters), each with its `etag`."""
        return self.list_all(POLICIES, {"enabled": enabled})

    def list_service_accounts(self) -> list[ListItem]:
        """Every service account, each with its `etag` ([extension], scope admin)."""
        return self.list_all(SERVICE_ACCOUNTS)

    def audit_events(self, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Audit events, newest first, all pages (the newest `limit`); filters as in
        docs/api.md §5.2 (None = unset)."""
        return self.list_all(AUDIT_EVENTS, filters, limit=limit)

    def find_policy(self, name: str) -> ObjectResult | None:
        """The policy named `name`, from the list (used to resolve a create's 409)."""
        return _find(self.list_policies(), name)

    def find_service_account(self, name: str) -> ObjectResult | None:
        """The service account named `name`, from the list."""
        return _find(self.list_service_accounts(), name)

    # -- single objects -------------------------------------------------------------------------

    def _object(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[ObjectResult, dict[str, Any]]:
        response = self._call(
            method,
            path,
            what=what,
            json=json,
            params=params,
            if_match=if_match,
            idempotency_key=idempotency_key,
        )
        body = self._body(response, what)
        data = body.get("data")
        if data is None and method == "DELETE":
            data = {}
        if not isinstance(data, dict):
            raise self._bad_answer(response, what)
        data = dict(data)
        replayed = bool(body.get("replayed") or data.pop("replayed", False))
        result = ObjectResult(data, response.headers.get("ETag"), response.status_code, replayed)
        return result, body

    def _secret_object(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> SecretResult:
        result, body = self._object(
            method,
            path,
            what,
            json=json,
            params=params,
            if_match=if_match,
            idempotency_key=idempotency_key,
        )
        # The contract does not pin where `credentials` sits; never leave it inside the object.
        data = dict(result.data)
        issued = body.get("credentials") or data.pop("credentials", None)
        data.pop("credentials", None)
        credentials = None
        if isinstance(issued, dict) and issued.get("client_secret"):
            credentials = Credentials(
                uuid=str(data.get("uuid", "")),
                client_id=str(issued.get("client_id") or data.get("client_id") or ""),
                client_secret=str(issued["client_secret"]),
            )
        return SecretResult(data, result.etag, result.status, result.replayed, credentials)

    def get_policy(self, policy_id: int) -> ObjectResult:
        return self._object("GET", f"{POLICIES}/{policy_id}", f"reading policy {policy_id}")[0]

    def create_policy(
        self, body: Mapping[str, Any], idempotency_key: str | None = None
    ) -> ObjectResult:
        what = f"creating policy {body.get('name')!r}"
        return self._object("POST", POLICIES, what, json=body, idempotency_key=idempotency_key)[0]

    def replace_policy(
        self, policy_id: int, body: Mapping[str, Any], if_match: str | None = None
    ) -> ObjectResult:
        path, what = f"{POLICIES}/{policy_id}", f"changing policy {policy_id}"
        return self._object("PUT", path, what, json=body, if_match=if_match)[0]

    def enable_policy(self, policy_id: int, if_match: str | None = None) -> ObjectResult:
        path, what = f"{POLICIES}/{policy_id}/enable", f"enabling policy {policy_id}"
        return self._object("POST", path, what, if_match=if_match)[0]

    def disable_policy(self, policy_id: int, if_match: str | None = None) -> ObjectResult:
        path, what = f"{POLICIES}/{policy_id}/disable", f"disabling policy {policy_id}"
        return self._object("POST", path, what, if_match=if_match)[0]

    def delete_policy(self, policy_id: int, if_match: str | None = None) -> ObjectResult:
        path, what = f"{POLICIES}/{policy_id}", f"deleting policy {policy_id}"
        return self._object("DELETE", path, what, if_match=if_match)[0]

    def get_service_account(self, uuid: str) -> ObjectResult:
        what = f"reading service account {uuid}"
        return self._object("GET", f"{SERVICE_ACCOUNTS}/{uuid}", what)[0]

    def create_service_account(
        self, body: Mapping[str, Any], idempotency_key: str | None = None
    ) -> SecretResult:
        what = f"creating service account {body.get('name')!r}"
        return self._secret_object(
            "POST", SERVICE_ACCOUNTS, what, json=body, idempotency_key=idempotency_key
        )

    def replace_service_account(
        self, uuid: str, body: Mapping[str, Any], if_match: str | None = None
    ) -> ObjectResult:
        path, what = f"{SERVICE_ACCOUNTS}/{uuid}", f"changing service account {uuid}"
        return self._object("PUT", path, what, json=body, if_match=if_match)[0]

    def enable_service_account(self, uuid: str, if_match: str | None = None) -> ObjectResult:
        path, what = f"{SERVICE_ACCOUNTS}/{uuid}/enable", f"enabling service account {uuid}"
        return self._object("POST", path, what, if_match=if_match)[0]

    def disable_service_account(self, uuid: str, if_match: str | None = None) -> ObjectResult:
        path, what = f"{SERVICE_ACCOUNTS}/{uuid}/disable", f"disabling service account {uuid}"
        return self._object("POST", path, what, if_match=if_match)[0]

    def delete_service_account(self, uuid: str, if_match: str | None = None) -> ObjectResult:
        path, what = f"{SERVICE_ACCOUNTS}/{uuid}", f"deleting service account {uuid}"
        return self._object("DELETE", path, what, if_match=if_match)[0]

    def regenerate_secret(
        self, uuid: str, revoke_sessions: bool = False, if_match: str | None = None
    ) -> SecretResult:
        """A new secret for the account; never retried after a lost answer (it would mint two)."""
        path = f"{SERVICE_ACCOUNTS}/{uuid}/regenerate-secret"
        params = {"revoke_sessions": "true"} if revoke_sessions else None
        what = f"regenerating the secret of service account {uuid}"
        return self._secret_object("POST", path, what, params=params, if_match=if_match)

    # -- dry run and certificate requests -------------------------------------------------------

    def validate(
        self,
        request: Mapping[str, Any],
        policy: Mapping[str, Any] | None = None,
        policy_id: int | None = None,
    ) -> dict[str, Any]:
        """`POST /service/policies/validate`: the §4.3 result (result, allowed, violations ...)."""
        if policy is not None and policy_id is not None:
            raise UsageError("validate takes a policy or a policy_id, not both")
        body: dict[str, Any] = {"request": dict(request)}
        if policy is not None:
            body["policy"] = dict(policy)
            what = f"validating policy {policy.get('name')!r}"
        elif policy_id is not None:
            body["policy_id"] = policy_id
            what = f"validating policy {policy_id}"
        else:
            what = "validating a request against the enabled policies"
        return self._data(self._call("POST", f"{POLICIES}/validate", what=what, json=body), what)

    def request_certificate(
        self, body: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """`POST /service/certificates` ([extension]); a block raises PolicyViolationError."""
        what = f"requesting a certificate for {body.get('common_name')!r}"
        response = self._call(
            "POST", CERTIFICATES, what=what, json=body, idempotency_key=idempotency_key
        )
        return self._data(response, what)

    def _data(self, response: httpx.Response, what: str) -> dict[str, Any]:
        data = self._body(response, what).get("data")
        if not isinstance(data, dict):
            raise self._bad_answer(response, what)
        return data


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _find(items: Iterable[ListItem], name: str) -> ObjectResult | None:
    for item in items:
        if item.get("name") == name:
            return ObjectResult(dict(item), item.get("etag"))
    return None
