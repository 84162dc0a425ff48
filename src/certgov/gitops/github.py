"""A small GitHub REST client: one plan comment per pull request, one drift issue per folder.

Both are upserts keyed by a hidden marker (see `certgov.gitops.markers`): the comment or issue
whose body holds the marker is updated in place, so reruns never add another one.

The token comes from `GITHUB_TOKEN` and the API from `GITHUB_API_URL` (GitHub Enterprise sets
it to `https://HOST/api/v3`), as GitHub Actions provides both. The token goes into the
`Authorization` header and nowhere else: not into messages, not into `repr`, and never to a
host other than the API's (paging links are followed only below the API URL).

Retries: a call that never reached GitHub is sent again; GETs and PATCHes (which set whole
fields, so sending twice leaves the same state) are also retried after a lost answer and on 502,
503 and 504; a secondary rate limit whose `Retry-After` is short is waited for. A create that
failed ambiguously is not retried: the next run finds it by its marker and updates it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from certgov.client.retry import NOT_SENT_ERRORS, RetryPolicy, parse_retry_after
from certgov.errors import (
    ConnectionFailedError,
    GitHubAuthenticationError,
    GitHubError,
    GitHubNotFoundError,
    GitHubPermissionError,
    GitHubRateLimitedError,
    GitHubValidationError,
    UsageError,
)
from certgov.gitops.markers import with_marker
from certgov.version import __version__

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
# GitHub refuses comment and issue bodies longer than this many characters.
BODY_LIMIT = 65_536
DEFAULT_RETRY = RetryPolicy(max_attempts=3, base_delay=1.0, max_elapsed=90.0)

_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")
_IDEMPOTENT = frozenset({"GET", "PATCH"})
_RETRY_STATUSES = frozenset({502, 503, 504})
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class CommentResult:
    """The comment that now holds the body; `created` is False when an old one was updated."""

    id: int
    url: str
    created: bool


@dataclass(frozen=True)
class IssueResult:
    """The issue that holds (or held) the body; `created` is False when an old one was used."""

    number: int
    url: str
    created: bool


def repo_path(repo: str) -> str:
    """`repos/OWNER/NAME` for `OWNER/NAME`, refusing anything else before it reaches a URL."""
    name = repo.partition("/")[2]
    if not _REPO.match(repo) or name in (".", ".."):
        raise UsageError(f"the repository must be given as OWNER/NAME, not {repo!r}")
    return f"repos/{repo}"


def _positive(number: int, what: str) -> int:
    if number < 1:
        raise UsageError(f"{what} must be a positive number, not {number}")
    return number


def _check_size(body: str, what: str) -> None:
    if len(body) > BODY_LIMIT:
        raise UsageError(
            f"the {what} has {len(body):,} characters and GitHub allows {BODY_LIMIT:,}: "
            "render it with `--format markdown`, which keeps it under the limit"
        )


class GitHubClient:
    """The few GitHub REST calls certgov needs, over one `httpx.Client`; use it as a context."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        token = token.strip()
        if not token:
            raise UsageError(
                "no GitHub token: set GITHUB_TOKEN (in a workflow: ${{ github.token }})"
            )
        self.api_url = api_url.rstrip("/") or DEFAULT_API_URL
        self._base = httpx.URL(self.api_url + "/")
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=self._base,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "User-Agent": f"certgov/{__version__}",
                "X-GitHub-Api-Version": API_VERSION,
            },
            follow_redirects=False,
        )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> GitHubClient:
        """A client for `GITHUB_TOKEN` at `GITHUB_API_URL` (default `https://api.github.com`)."""
        env = os.environ if environ is None else environ
        return cls(
            env.get("GITHUB_TOKEN", ""),
            api_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self.api_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the upserts ----------------------------------------------------------------------------

    def upsert_comment(self, repo: str, pr_number: int, body: str, marker: str) -> CommentResult:
        """Update the pull request's comment that holds `marker`, or create it."""
        text = with_marker(body, marker)
        _check_size(text, "comment")
        comments = f"{repo_path(repo)}/issues/{_positive(pr_number, 'the pull request')}/comments"
        found = self._find(comments, {"per_page": PER_PAGE}, marker, skip_pull_requests=False)
        if found is not None:
            edit = f"{repo_path(repo)}/issues/comments/{_int(found, 'id', comments)}"
            data = self._object("PATCH", edit, {"body": text})
            return CommentResult(_int(data, "id", edit), _str(data, "html_url", edit), False)
        data = self._object("POST", comments, {"body": text})
        return CommentResult(_int(data, "id", comments), _str(data, "html_url", comments), True)

    def upsert_issue(
        self, repo: str, title: str, body: str, marker: str, labels: Sequence[str] = ()
    ) -> IssueResult:
        """Update the open issue that holds `marker` (title and body), or open one with `labels`.

        The labels of an existing issue are left as people set them.
        """
        if not title.strip():
            raise UsageError("an issue needs a title")
        text = with_marker(body, marker)
        _check_size(text, "issue body")
        found = self._find_open_issue(repo, marker)
        if found is not None:
            edit = f"{repo_path(repo)}/issues/{_int(found, 'number', 'issues')}"
            data = self._object("PATCH", edit, {"title": title, "body": text})
            return IssueResult(_int(data, "number", edit), _str(data, "html_url", edit), False)
        issues = f"{repo_path(repo)}/issues"
        payload: dict[str, Any] = {"title": title, "body": text}
        if labels:
            payload["labels"] = list(labels)
        data = self._object("POST", issues, payload)
        return IssueResult(_int(data, "number", issues), _str(data, "html_url", issues), True)

    def close_issue_if_open(self, repo: str, marker: str, comment: str) -> IssueResult | None:
        """Comment on and close the open issue that holds `marker`; None when there is none."""
        _check_size(comment, "comment")
        found = self._find_open_issue(repo, marker)
        if found is None:
            return None
        issue = f"{repo_path(repo)}/issues/{_int(found, 'number', 'issues')}"
        self._object("POST", f"{issue}/comments", {"body": comment})
        data = self._object("PATCH", issue, {"state": "closed", "state_reason": "completed"})
        return IssueResult(_int(data, "number", issue), _str(data, "html_url", issue), False)

    # -- listing --------------------------------------------------------------------------------

    def _find_open_issue(self, repo: str, marker: str) -> dict[str, Any] | None:
        params: dict[str, str | int] = {"state": "open", "per_page": PER_PAGE}
        return self._find(f"{repo_path(repo)}/issues", params, marker, skip_pull_requests=True)

    def _find(
        self,
        path: str,
        params: Mapping[str, str | int],
        marker: str,
        *,
        skip_pull_requests: bool,
    ) -> dict[str, Any] | None:
        """The first item whose body holds `marker`, in GitHub's order (comments oldest first,
        issues newest first)."""
        for item in self._paged(path, params):
            # The issues list holds pull requests too; they carry a `pull_request` key.
            if skip_pull_requests and "pull_request" in item:
                continue
            if marker in str(item.get("body") or ""):
                return item
        return None

    def _paged(self, path: str, params: Mapping[str, str | int]) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following the `Link: <...>; rel="next"` headers."""
        url: httpx.URL | str = path
        query: Mapping[str, str | int] | None = params
        seen: set[str] = set()
        while True:
            response = self._request("GET", url, params=query)
            page = _json(response)
            if not isinstance(page, list):
                raise GitHubError(
                    f"GitHub answered GET {response.request.url.path} with something other "
                    "than a list",
                    status=response.status_code,
                )
            yield from (item for item in page if isinstance(item, dict))
            following = response.links.get("next", {}).get("url")
            if not following:
                return
            next_url = self._below_api(following)
            if str(next_url) in seen:
                raise GitHubError(f"GitHub's paging links loop back to {next_url.path}", status=200)
            seen.add(str(next_url))
            url, query = next_url, None

    def _below_api(self, link: str) -> httpx.URL:
        """The paging link, refused unless it stays below the API URL (the token goes with it)."""
        url = self._base.join(link)
        if (url.scheme, url.host, url.port) != (
            self._base.scheme,
            self._base.host,
            self._base.port,
        ) or not url.path.startswith(self._base.path):
            raise GitHubError(
                f"GitHub's paging link leads away from {self.api_url}; not following it",
                status=200,
            )
        return url

    # -- one call -------------------------------------------------------------------------------

    def _object(self, method: str, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        response = self._request(method, path, json=payload)
        data = _json(response)
        if not isinstance(data, dict):
            raise GitHubError(
                f"GitHub answered {method} {response.request.url.path} with something other "
                "than an object",
                status=response.status_code,
            )
        return data

    def _request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        idempotent = method in _IDEMPOTENT
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            elapsed = time.monotonic() - started
            try:
                response = self._http.request(method, url, params=params, json=json)
            except httpx.TransportError as exc:
                delay = self._retry.backoff(attempt)
                retryable = idempotent or isinstance(exc, NOT_SENT_ERRORS)
                if retryable and self._retry.allows(attempt, elapsed, delay):
                    self._sleep(delay)
                    continue
                raise ConnectionFailedError(
                    f"cannot reach GitHub at {self.api_url}: {exc or type(exc).__name__}"
                ) from exc
            if response.is_success:
                return response
            wait = self._retry_delay(response, attempt, idempotent)
            if wait is not None and self._retry.allows(attempt, elapsed, wait):
                response.close()
                self._sleep(wait)
                continue
            raise self._error(response)

    def _retry_delay(
        self, response: httpx.Response, attempt: int, idempotent: bool
    ) -> float | None:
        """How long to wait before sending the call again, or None when it should not be."""
        if idempotent and response.status_code in _RETRY_STATUSES:
            return self._retry.backoff(attempt)
        if _is_rate_limited(response) and response.headers.get("x-ratelimit-remaining") != "0":
            # A secondary limit: GitHub says how long to back off; a primary one (remaining 0)
            # lasts until the hourly reset and is not waited for.
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is not None and wait <= self._retry.max_retry_after:
                return wait
        return None

    def _error(self, response: httpx.Response) -> GitHubError:
        """The typed error for a refused call; it names the call, never the token."""
        status = response.status_code
        call = f"{response.request.method} {response.request.url.path}"
        data = _json_or_none(response)
        said = _said(data)
        if status == 401:
            return GitHubAuthenticationError(
                f"GitHub refused the token on {call} (401{said}): "
                "set GITHUB_TOKEN to a valid, unexpired token",
                status=status,
            )
        if _is_rate_limited(response):
            return self._rate_limit_error(response, call, said)
        if status == 403:
            return GitHubPermissionError(
                f"GitHub refused {call} (403{said}): the token lacks a permission; a workflow "
                "job needs `permissions: pull-requests: write` to comment on a pull request "
                "and `issues: write` for the drift issue",
                status=status,
            )
        if status == 404:
            return GitHubNotFoundError(
                f"GitHub found nothing at {call} (404{said}): check the repository name and "
                "the pull request or issue number, and that the token may see the repository",
                status=status,
            )
        if status == 422:
            details = _validation_details(data)
            return GitHubValidationError(
                f"GitHub refused the body of {call} (422{said})"
                + (f": {details}" if details else ""),
                status=status,
            )
        return GitHubError(f"GitHub answered {call} with {status}{said}", status=status)

    def _rate_limit_error(self, response: httpx.Response, call: str, said: str) -> GitHubError:
        headers = response.headers
        if headers.get("x-ratelimit-remaining") == "0":
            reset = parse_retry_after(headers.get("x-ratelimit-reset"))
            if reset is not None:
                at = datetime.fromtimestamp(reset, UTC).isoformat(timespec="seconds")
                return GitHubRateLimitedError(
                    f"GitHub's API rate limit is used up ({call}); it resets at {at}",
                    status=response.status_code,
                    retry_after=max(reset - self._clock(), 0.0),
                )
            return GitHubRateLimitedError(
                f"GitHub's API rate limit is used up ({call})", status=response.status_code
            )
        wait = parse_retry_after(headers.get("retry-after"))
        when = f"; try again in {wait:.0f} seconds" if wait is not None else ""
        return GitHubRateLimitedError(
            f"GitHub's secondary rate limit stopped {call} ({response.status_code}{said}){when}",
            status=response.status_code,
            retry_after=wait,
        )


# The short name `certgov drift` imports.
GitHub = GitHubClient


def _is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    headers = response.headers
    if headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers:
        return True
    return "rate limit" in _said(_json_or_none(response)).lower()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise GitHubError(
            f"GitHub answered {response.request.method} {response.request.url.path} with "
            "something other than JSON",
            status=response.status_code,
        ) from exc


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _said(data: Any) -> str:
    """` <GitHub's message>`, shortened, or nothing."""
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str) or not message.strip():
        return ""
    message = " ".join(message.split())
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1] + "…"
    return f" {message}"


def _validation_details(data: Any) -> str:
    """GitHub's `errors` list as `body is too long; labels.name invalid`."""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors:
        if isinstance(error, str):
            parts.append(error)
        elif isinstance(error, dict):
            text = error.get("message")
            if not isinstance(text, str) or not text:
                where = ".".join(str(error[k]) for k in ("resource", "field") if error.get(k))
                text = " ".join(p for p in (where, str(error.get("code") or "")) if p)
            parts.append(text)
    return "; ".join(p for p in parts if p)


def _int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise GitHubError(f"GitHub's answer for {where} lacks a numeric {key!r}", status=200)
    return value


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise GitHubError(f"GitHub's answer for {where} lacks {key!r}", status=200)
    return value
