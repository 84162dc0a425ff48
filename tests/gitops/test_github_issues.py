"""The drift issue: one open issue per folder, updated while drift lasts, closed when it is gone."""

from __future__ import annotations

import pytest

from certgov.errors import UsageError
from certgov.gitops.github import GitHubClient, IssueResult
from certgov.gitops.markers import drift_marker
from tests.gitops.conftest import REPO
from tests.gitops.github_fake import FakeGitHub

MARKER = drift_marker(".")


def _url(number: int) -> str:
    return f"https://github.test/{REPO}/issues/{number}"


def test_upsert_issue_opens_one_with_labels_when_none_is_open(
    github: FakeGitHub, client: GitHubClient
) -> None:
    github.add_issue(REPO, "unrelated", "hello")

    result = client.upsert_issue(REPO, "certgov drift", "2 pending", MARKER, labels=("drift",))

    assert result == IssueResult(2, _url(2), created=True)
    issue = github.issue(REPO, 2)
    assert (issue["title"], issue["body"], issue["labels"], issue["state"]) == (
        "certgov drift",
        "<!-- certgov:drift:. -->\n2 pending",
        [{"name": "drift"}],
        "open",
    )


def test_upsert_issue_sends_no_labels_when_none_are_given(
    github: FakeGitHub, client: GitHubClient
) -> None:
    client.upsert_issue(REPO, "certgov drift", "2 pending", MARKER)

    assert [c.body for c in github.calls if c.method == "POST"] == [
        {"title": "certgov drift", "body": f"{MARKER}\n2 pending"}
    ]


def test_upsert_issue_updates_the_open_issue_and_keeps_its_labels(
    github: FakeGitHub, client: GitHubClient
) -> None:
    first = client.upsert_issue(REPO, "drift", "2 pending", MARKER, labels=("drift",))

    second = client.upsert_issue(REPO, "drift (3)", "3 pending", MARKER, labels=("other",))

    assert second == IssueResult(first.number, first.url, created=False)
    issue = github.issue(REPO, first.number)
    assert (issue["title"], issue["body"], issue["labels"]) == (
        "drift (3)",
        f"{MARKER}\n3 pending",
        [{"name": "drift"}],
    )
    assert github.writes() == [
        ("POST", f"/repos/{REPO}/issues"),
        ("PATCH", f"/repos/{REPO}/issues/{first.number}"),
    ]


def test_upsert_issue_skips_pull_requests_that_quote_the_marker(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    github.issue(REPO, pr)["body"] = f"copied from the issue:\n{MARKER}"

    result = client.upsert_issue(REPO, "drift", "found", MARKER)

    assert result == IssueResult(pr + 1, _url(pr + 1), created=True)
    assert github.issue(REPO, pr)["body"] == f"copied from the issue:\n{MARKER}"


def test_upsert_issue_opens_a_new_one_when_the_marked_issue_is_closed(
    github: FakeGitHub, client: GitHubClient
) -> None:
    closed = github.add_issue(REPO, "drift", f"{MARKER}\nold", state="closed")

    result = client.upsert_issue(REPO, "drift", "new", MARKER)

    assert result == IssueResult(closed + 1, _url(closed + 1), created=True)
    assert github.issue(REPO, closed)["body"] == f"{MARKER}\nold"


def test_upsert_issue_finds_the_marked_issue_on_page_two(
    github: FakeGitHub, client: GitHubClient
) -> None:
    mine = github.add_issue(REPO, "drift", f"{MARKER}\nold")
    for i in range(150):
        github.add_issue(REPO, f"issue {i}", "")

    result = client.upsert_issue(REPO, "drift", "new", MARKER)

    assert result == IssueResult(mine, _url(mine), created=False)
    assert [c.query for c in github.calls if c.method == "GET"] == [
        {"state": "open", "per_page": "100"},
        {"state": "open", "per_page": "100", "page": "2"},
    ]


def test_upsert_issue_needs_a_title(client: GitHubClient) -> None:
    with pytest.raises(UsageError) as caught:
        client.upsert_issue(REPO, "  ", "body", MARKER)

    assert caught.value.message == "an issue needs a title"


def test_close_issue_if_open_comments_and_closes_the_marked_issue(
    github: FakeGitHub, client: GitHubClient
) -> None:
    opened = client.upsert_issue(REPO, "drift", "2 pending", MARKER)

    result = client.close_issue_if_open(REPO, MARKER, "No drift any more.")

    assert result == IssueResult(opened.number, opened.url, created=False)
    issue = github.issue(REPO, opened.number)
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    assert [c["body"] for c in github.comments(REPO, opened.number)] == ["No drift any more."]
    assert github.writes() == [
        ("POST", f"/repos/{REPO}/issues"),
        ("POST", f"/repos/{REPO}/issues/{opened.number}/comments"),
        ("PATCH", f"/repos/{REPO}/issues/{opened.number}"),
    ]


def test_close_issue_if_open_does_nothing_without_an_open_issue(
    github: FakeGitHub, client: GitHubClient
) -> None:
    github.add_issue(REPO, "drift", f"{MARKER}\nold", state="closed")
    github.add_issue(REPO, "other", "no marker")

    assert client.close_issue_if_open(REPO, MARKER, "No drift any more.") is None
    assert github.writes() == []
