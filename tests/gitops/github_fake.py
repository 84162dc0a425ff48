"""A fake of the few GitHub REST endpoints certgov and its workflows call, served over loopback.

This is a FAKE of the documented REST API, not GitHub: a small threaded HTTP server implementing,
as GitHub documents them, issue comments (`GET/POST /repos/{o}/{r}/issues/{n}/comments`, `PATCH
/repos/{o}/{r}/issues/comments/{id}`) and issues (`GET/POST /repos/{o}/{r}/issues`, `PATCH
/repos/{o}/{r}/issues/{n}`), with `per_page` (at most 100) and `page` paging announced by `Link`
headers, the issues list holding pull requests (with a `pull_request` key) as GitHub's does,
and bearer-token checks (401 `Bad credentials`). It can sit below a path prefix, as GitHub
Enterprise's `/api/v3` does, and can be told to answer the next calls with canned errors.

For the workflow runner it also serves the pull requests of a commit (`GET
/repos/{o}/{r}/commits/{sha}/pulls`), workflow runs (`GET /repos/{o}/{r}/actions/runs/{id}`,
`GET /repos/{o}/{r}/actions/workflows/{file}/runs` filtered by `event`, `head_sha`, `branch` and
`status`) and artifacts (`GET /repos/{o}/{r}/actions/artifacts?name=`, `GET
/repos/{o}/{r}/actions/runs/{id}/artifacts?name=`, newest first, and `GET
/repos/{o}/{r}/actions/artifacts/{id}/zip`, which redirects (302) to a short-lived blob URL
that needs no token). Runs and artifacts are registered by the runner, as GitHub's own runner
would make them. Tokens made by `grant()` carry a job's `permissions:`; a call they do not cover
gets 403 `Resource not accessible by integration`, as GITHUB_TOKEN does.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.loopback import Answer, Call, serve

_COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
_COMMENT = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
_ISSUES = re.compile(r"^/repos/([^/]+/[^/]+)/issues$")
_ISSUE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)$")
_COMMIT_PULLS = re.compile(r"^/repos/([^/]+/[^/]+)/commits/([0-9a-f]{40})/pulls$")
_RUN = re.compile(r"^/repos/([^/]+/[^/]+)/actions/runs/(\d+)$")
_WORKFLOW_RUNS = re.compile(r"^/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/runs$")
_RUN_ARTIFACTS = re.compile(r"^/repos/([^/]+/[^/]+)/actions/runs/(\d+)/artifacts$")
_ARTIFACTS = re.compile(r"^/repos/([^/]+/[^/]+)/actions/artifacts$")
_ARTIFACT_ZIP = re.compile(r"^/repos/([^/]+/[^/]+)/actions/artifacts/(\d+)/zip$")
_BLOB = re.compile(r"^/_blobs/([0-9a-f]{32})$")
_LEVELS = ("none", "read", "write")


@dataclass
class _Repo:
    id: int
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # issues and pull requests
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # per issue number
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # the pull request objects
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    artifacts: dict[int, dict[str, Any]] = field(default_factory=dict)


class FakeGitHub:
    """State and behaviour of the fake; `url` (the API URL) once started."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.token = "ghs_" + uuid.uuid4().hex
        # token -> the permissions it carries; None: every permission.
        self.tokens: dict[str, dict[str, str] | None] = {self.token: None}
        self.repos: dict[str, _Repo] = {}
        self.archives: dict[int, bytes] = {}  # artifact id -> its zip
        self.blobs: dict[str, bytes] = {}  # the key of a short-lived download URL -> the zip
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
        self.repos[name] = _Repo(id=self._id())

    def grant(self, permissions: dict[str, str]) -> str:
        """A token with these permissions only (a job's GITHUB_TOKEN)."""
        token = "ghs_" + uuid.uuid4().hex
        self.tokens[token] = dict(permissions)
        return token

    def _number(self, repo: _Repo) -> int:
        return max(repo.issues, default=0) + 1

    def add_pull_request(
        self,
        name: str,
        *,
        head_sha: str = "0" * 40,
        head_ref: str = "topic",
        base_ref: str = "main",
    ) -> int:
        repo = self.repos[name]
        number = self._number(repo)
        repo.issues[number] = {
            **self._issue(name, number, f"PR {number}", "", ()),
            "pull_request": {"url": f"{self.url}/repos/{name}/pulls/{number}"},
        }
        repo.pulls[number] = {
            "number": number,
            "state": "open",
            "merged_at": None,
            "merge_commit_sha": None,
            "head": {"sha": head_sha, "ref": head_ref, "repo": {"full_name": name}},
            "base": {"ref": base_ref, "repo": {"full_name": name}},
        }
        return number

    def pull_request(self, name: str, number: int) -> dict[str, Any]:
        return self.repos[name].pulls[number]

    def merge_pull_request(self, name: str, number: int, merge_commit_sha: str) -> None:
        pull = self.repos[name].pulls[number]
        pull.update(state="closed", merged_at=_now(), merge_commit_sha=merge_commit_sha)
        self.repos[name].issues[number]["state"] = "closed"

    def add_run(
        self, name: str, *, workflow: str, event: str, head_sha: str, head_branch: str
    ) -> int:
        """A workflow run in progress; `workflow` is its file name in .github/workflows."""
        repo = self.repos[name]
        run_id = self._id()
        repo.runs[run_id] = {
            "id": run_id,
            "path": f".github/workflows/{workflow}",
            "event": event,
            "status": "in_progress",
            "conclusion": None,
            "head_sha": head_sha,
            "head_branch": head_branch,
            "repository": {"id": repo.id, "full_name": name},
            "head_repository": {"id": repo.id, "full_name": name},
            "created_at": _now(),
        }
        return run_id

    def finish_run(self, name: str, run_id: int, conclusion: str) -> None:
        self.repos[name].runs[run_id].update(status="completed", conclusion=conclusion)

    def add_artifact(self, name: str, run_id: int, artifact: str, archive: bytes) -> int:
        """An artifact uploaded by run `run_id` (a zip archive, as GitHub serves it)."""
        repo = self.repos[name]
        run = repo.runs[run_id]
        artifact_id = self._id()
        repo.artifacts[artifact_id] = {
            "id": artifact_id,
            "name": artifact,
            "size_in_bytes": len(archive),
            "expired": False,
            "created_at": _now(),
            "archive_download_url": f"{self.url}/repos/{name}/actions/artifacts/{artifact_id}/zip",
            "workflow_run": {
                "id": run_id,
                "repository_id": run["repository"]["id"],
                "head_repository_id": run["head_repository"]["id"],
                "head_branch": run["head_branch"],
                "head_sha": run["head_sha"],
            },
        }
        self.archives[artifact_id] = archive
        return artifact_id

    def artifacts(self, name: str, run_id: int | None = None) -> list[dict[str, Any]]:
        """The artifacts of the repository (of one run), newest first."""
        found = [
            a
            for a in self.repos[name].artifacts.values()
            if run_id is None or a["workflow_run"]["id"] == run_id
        ]
        return sorted(found, key=lambda a: a["id"], reverse=True)

    def archive(self, artifact_id: int) -> bytes:
        return self.archives[artifact_id]

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
            blob = _BLOB.match(call.path)
            if blob:  # a signed storage URL: no token, and it works once
                archive = self.blobs.pop(blob.group(1), None)
                return (200, archive, {}) if archive else (404, {"message": "Not Found"}, {})
            token = (call.authorization or "").removeprefix("Bearer ")
            if not call.authorization or token not in self.tokens:
                return 401, {"message": "Bad credentials"}, {}
            if not call.path.startswith(self.prefix + "/"):
                return 404, {"message": "Not Found"}, {}
            return self._route(call, call.path[len(self.prefix) :], self.tokens[token])

    def _route(
        self, call: Call, path: str, granted: dict[str, str] | None
    ) -> tuple[int, Any, dict[str, str]]:
        routes: tuple[tuple[re.Pattern[str], Handler, tuple[str, ...]], ...] = (
            (_COMMENTS, self._comments, ("issues",)),
            (_COMMENT, self._comment, ("issues",)),
            (_ISSUES, self._issues, ("issues",)),
            (_ISSUE, self._issue_call, ("issues",)),
            (_COMMIT_PULLS, self._commit_pulls, ("pull-requests", "contents")),
            (_RUN, self._run, ("actions",)),
            (_WORKFLOW_RUNS, self._workflow_runs, ("actions",)),
            (_RUN_ARTIFACTS, self._run_artifacts, ("actions",)),
            (_ARTIFACTS, self._artifacts, ("actions",)),
            (_ARTIFACT_ZIP, self._artifact_zip, ("actions",)),
        )
        for pattern, handler, scopes in routes:
            match = pattern.match(path)
            if match:
                name = match.group(1)
                if name not in self.repos:
                    return 404, {"message": "Not Found"}, {}
                arg = match.group(2) if match.lastindex == 2 else None
                if handler in (self._comments, self._comment) and self._on_pull(name, arg):
                    scopes = ("issues", "pull-requests")
                if granted is not None and not _covers(granted, scopes, call.method):
                    return 403, {"message": "Resource not accessible by integration"}, {}
                return handler(call, path, name, int(arg) if arg and arg.isdigit() else arg)
        return 404, {"message": "Not Found"}, {}

    def _on_pull(self, name: str, arg: str | None) -> bool:
        """Whether a comments call is about a pull request (by its number or a comment's id)."""
        repo = self.repos[name]
        number = int(arg or 0)
        for issue, comments in repo.comments.items():
            if any(c["id"] == number for c in comments):
                number = issue
        return number in repo.pulls

    def _commit_pulls(
        self, call: Call, path: str, name: str, sha: Any
    ) -> tuple[int, Any, dict[str, str]]:
        pulls = [
            p
            for p in self.repos[name].pulls.values()
            if sha in (p["merge_commit_sha"], p["head"]["sha"])
        ]
        return 200, pulls, {}

    def _run(
        self, call: Call, path: str, name: str, run_id: Any
    ) -> tuple[int, Any, dict[str, str]]:
        run = self.repos[name].runs.get(run_id)
        return (200, run, {}) if run else (404, {"message": "Not Found"}, {})

    def _workflow_runs(
        self, call: Call, path: str, name: str, workflow: Any
    ) -> tuple[int, Any, dict[str, str]]:
        status = call.query.get("status")
        runs = [
            run
            for run in sorted(self.repos[name].runs.values(), key=lambda r: -r["id"])
            if run["path"] == f".github/workflows/{workflow}"
            and call.query.get("event", run["event"]) == run["event"]
            and call.query.get("head_sha", run["head_sha"]) == run["head_sha"]
            and call.query.get("branch", run["head_branch"]) == run["head_branch"]
            and status in (None, run["status"], run["conclusion"])
        ]
        per_page = min(int(call.query.get("per_page", "30")), 100)
        return 200, {"total_count": len(runs), "workflow_runs": runs[:per_page]}, {}

    def _listed(
        self, call: Call, artifacts: list[dict[str, Any]]
    ) -> tuple[int, Any, dict[str, str]]:
        named = [a for a in artifacts if call.query.get("name", a["name"]) == a["name"]]
        per_page = min(int(call.query.get("per_page", "30")), 100)
        return 200, {"total_count": len(named), "artifacts": named[:per_page]}, {}

    def _run_artifacts(
        self, call: Call, path: str, name: str, run_id: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if run_id not in self.repos[name].runs:
            return 404, {"message": "Not Found"}, {}
        return self._listed(call, self.artifacts(name, run_id))

    def _artifacts(
        self, call: Call, path: str, name: str, _: Any
    ) -> tuple[int, Any, dict[str, str]]:
        return self._listed(call, self.artifacts(name))

    def _artifact_zip(
        self, call: Call, path: str, name: str, artifact_id: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if artifact_id not in self.repos[name].artifacts:
            return 404, {"message": "Not Found"}, {}
        key = uuid.uuid4().hex
        self.blobs[key] = self.archives[artifact_id]
        return 302, b"", {"Location": f"{self.origin}/_blobs/{key}"}

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


Handler = Callable[[Call, str, str, Any], tuple[int, Any, dict[str, str]]]


def _covers(granted: dict[str, str], scopes: tuple[str, ...], method: str) -> bool:
    """Whether a job token's permissions allow the call: one of `scopes`, write includes read."""
    need = _LEVELS.index("read" if method == "GET" else "write")
    return any(_LEVELS.index(granted.get(scope, "none")) >= need for scope in scopes)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
