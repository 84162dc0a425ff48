"""A fake of the few GitHub REST endpoints certgov calls, served over loopback.

This is a FAKE, not GitHub: a small threaded HTTP server implementing, as GitHub documents them,
issue comments (`GET/POST /repos/{o}/{r}/issues/{n}/comments`, `PATCH
/repos/{o}/{r}/issues/comments/{id}`) and issues (`GET/POST /repos/{o}/{r}/issues`, `PATCH
/repos/{o}/{r}/issues/{n}`), with `per_page` (at most 100) and `page` paging announced by `Link`
headers, the issues list holding pull requests (with a `pull_request` key) as GitHub's does,
and bearer-token checks (401 `Bad credentials`). It can sit below a path prefix, as GitHub
Enterprise's `/api/v3` does, and can be told to answer the next calls with canned errors.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.loopback import Answer, Call, serve

_COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
_COMMENT = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
_ISSUES = re.compile(r"^/repos/([^/]+/[^/]+)/issues$")
_ISSUE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)$")


@dataclass
class _Repo:
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # issues and pull requests
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # per issue number


class FakeGitHub:
    """State and behaviour of the fake; `url` (the API URL) once started."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.token = "ghs_" + uuid.uuid4().hex
        self.repos: dict[str, _Repo] = {}
        self.calls: list[Call] = []
        self.canned: list[Answer] = []
        self.lock = threading.Lock()
        self._next_id = 1000
        self.origin = ""

    @property
    def url(self) -> str:
        return self.origin + self.prefix

    # -- set-up helpers, as another user would act ----------------------------------------------

    def add_repo(self, name: str) -> None:
        self.repos[name] = _Repo()

    def _number(self, repo: _Repo) -> int:
        return max(repo.issues, default=0) + 1

    def add_pull_request(self, name: str) -> int:
        repo = self.repos[name]
        number = self._number(repo)
        repo.issues[number] = {
            **self._issue(name, number, f"PR {number}", "", ()),
            "pull_request": {"url": f"{self.url}/repos/{name}/pulls/{number}"},
        }
        return number

    def add_issue(self, name: str, title: str, body: str, state: str = "open") -> int:
        repo = self.repos[name]
        number = self._number(repo)
        repo.issues[number] = {**self._issue(name, number, title, body, ()), "state": state}
        return number

    def add_comment(self, name: str, number: int, body: str) -> int:
        return self._create_comment(name, number, body)["id"]

    def comments(self, name: str, number: int) -> list[dict[str, Any]]:
        return self.repos[name].comments.get(number, [])

    def issue(self, name: str, number: int) -> dict[str, Any]:
        return self.repos[name].issues[number]

    def answer_next(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next call with this, whatever it asks."""
        self.canned.append(Answer(status, body, headers or {}))

    def writes(self) -> list[tuple[str, str]]:
        """The calls that changed something, as (method, path)."""
        return [(c.method, c.path) for c in self.calls if c.method != "GET"]

    # -- the objects ----------------------------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _issue(self, name: str, number: int, title: str, body: str, labels: Any) -> dict[str, Any]:
        return {
            "id": self._id(),
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "labels": [{"name": label} for label in labels],
            "html_url": f"https://github.test/{name}/issues/{number}",
        }

    def _create_comment(self, name: str, number: int, body: str) -> dict[str, Any]:
        comment_id = self._id()
        comment = {
            "id": comment_id,
            "body": body,
            "html_url": f"https://github.test/{name}/issues/{number}#issuecomment-{comment_id}",
        }
        self.repos[name].comments.setdefault(number, []).append(comment)
        return comment

    # -- dispatch -------------------------------------------------------------------------------

    def handle(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.calls.append(call)
            if self.canned:
                canned = self.canned.pop(0)
                return canned.status, canned.body, canned.headers
            if call.authorization != f"Bearer {self.token}":
                return 401, {"message": "Bad credentials"}, {}
            if not call.path.startswith(self.prefix + "/"):
                return 404, {"message": "Not Found"}, {}
            return self._route(call, call.path[len(self.prefix) :])

    def _route(self, call: Call, path: str) -> tuple[int, Any, dict[str, str]]:
        for pattern, handler in (
            (_COMMENTS, self._comments),
            (_COMMENT, self._comment),
            (_ISSUES, self._issues),
            (_ISSUE, self._issue_call),
        ):
            match = pattern.match(path)
            if match:
                name = match.group(1)
                if name not in self.repos:
                    return 404, {"message": "Not Found"}, {}
                arg = int(match.group(2)) if match.lastindex == 2 else None
                return handler(call, path, name, arg)
        return 404, {"message": "Not Found"}, {}

    def _page(
        self, call: Call, path: str, items: list[dict[str, Any]]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(call.query.get("per_page", "30")), 100)
        page = int(call.query.get("page", "1"))
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        for rel, target in (("next", page + 1), ("last", last)):
            if rel == "next" and page >= last:
                continue
            query = urlencode({**call.query, "page": str(target)})
            links.append(f'<{self.origin}{call.path}?{query}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if page < last else {}
        return 200, items[(page - 1) * per_page : page * per_page], headers

    def _comments(
        self, call: Call, path: str, name: str, number: int | None
    ) -> tuple[int, Any, dict[str, str]]:
        assert number is not None
        if number not in self.repos[name].issues:
            return 404, {"message": "Not Found"}, {}
        if call.method == "GET":
            return self._page(call, path, self.comments(name, number))
        if call.method == "POST":
            body = call.body.get("body") if isinstance(call.body, dict) else None
            if not isinstance(body, str) or not body:
                return 422, _invalid("IssueComment", "body", "missing_field"), {}
            return 201, self._create_comment(name, number, body), {}
        return 404, {"message": "Not Found"}, {}

    def _comment(
        self, call: Call, path: str, name: str, comment_id: int | None
    ) -> tuple[int, Any, dict[str, str]]:
        for comments in self.repos[name].comments.values():
            for comment in comments:
                if comment["id"] == comment_id and call.method == "PATCH":
                    comment["body"] = call.body["body"]
                    return 200, comment, {}
        return 404, {"message": "Not Found"}, {}

    def _issues(
        self, call: Call, path: str, name: str, _: int | None
    ) -> tuple[int, Any, dict[str, str]]:
        repo = self.repos[name]
        if call.method == "GET":
            state = call.query.get("state", "open")
            # GitHub lists the newest first.
            items = [
                issue
                for _, issue in sorted(repo.issues.items(), reverse=True)
                if state == "all" or issue["state"] == state
            ]
            return self._page(call, path, items)
        if call.method == "POST":
            issue = self._issue(
                name,
                self._number(repo),
                call.body["title"],
                call.body.get("body", ""),
                call.body.get("labels", ()),
            )
            repo.issues[issue["number"]] = issue
            return 201, issue, {}
        return 404, {"message": "Not Found"}, {}

    def _issue_call(
        self, call: Call, path: str, name: str, number: int | None
    ) -> tuple[int, Any, dict[str, str]]:
        issue = self.repos[name].issues.get(number or 0)
        if issue is None or call.method != "PATCH":
            return 404, {"message": "Not Found"}, {}
        for key in ("title", "body", "state", "state_reason"):
            if key in call.body:
                issue[key] = call.body[key]
        return 200, issue, {}


def _invalid(resource: str, field_name: str, code: str) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [{"resource": resource, "field": field_name, "code": code}],
    }


@contextmanager
def serving(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    """Serve `fake` on a free loopback port for the duration of the block."""
    with serve(lambda call: Answer(*fake.handle(call))) as fake.origin:
        yield fake
