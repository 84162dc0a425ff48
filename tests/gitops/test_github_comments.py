"""Plan comments on pull requests: create once, then update that same comment in place."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from certgov import __version__
from certgov.errors import GitHubError, UsageError
from certgov.gitops.github import CommentResult, GitHubClient
from certgov.gitops.markers import plan_marker
from tests.gitops.conftest import REPO
from tests.gitops.github_fake import FakeGitHub, serving

MARKER = plan_marker("prod")


def _url(number: int, comment_id: int) -> str:
    return f"https://github.test/{REPO}/issues/{number}#issuecomment-{comment_id}"


def test_upsert_comment_creates_one_when_none_has_the_marker(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    github.add_comment(REPO, pr, "LGTM")

    result = client.upsert_comment(REPO, pr, "**1 to create**", MARKER)

    new_id = github.comments(REPO, pr)[1]["id"]
    assert result == CommentResult(new_id, _url(pr, new_id), created=True)
    assert [c["body"] for c in github.comments(REPO, pr)] == [
        "LGTM",
        "<!-- certgov:plan:prod -->\n**1 to create**",
    ]


def test_upsert_comment_updates_the_same_comment_on_rerun(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)

    first = client.upsert_comment(REPO, pr, "**1 to create**", MARKER)
    second = client.upsert_comment(REPO, pr, "**2 to create**", MARKER)

    assert second == CommentResult(first.id, first.url, created=False)
    assert github.comments(REPO, pr) == [
        {"id": first.id, "body": f"{MARKER}\n**2 to create**", "html_url": first.url}
    ]
    assert github.writes() == [
        ("POST", f"/repos/{REPO}/issues/{pr}/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{first.id}"),
    ]


def test_upsert_comment_keeps_a_body_that_already_carries_the_marker(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    body = f"# Plan\n{MARKER}\nno changes"

    client.upsert_comment(REPO, pr, body, MARKER)

    assert [c["body"] for c in github.comments(REPO, pr)] == [body]


def test_upsert_comment_leaves_the_comment_of_another_folder_alone(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    staging = github.add_comment(REPO, pr, f"{plan_marker('staging')}\nstaging plan")

    result = client.upsert_comment(REPO, pr, "prod plan", MARKER)

    assert result.created
    assert [(c["id"] == staging, c["body"]) for c in github.comments(REPO, pr)] == [
        (True, "<!-- certgov:plan:staging -->\nstaging plan"),
        (False, "<!-- certgov:plan:prod -->\nprod plan"),
    ]


def test_upsert_comment_finds_the_marker_on_page_two(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    for i in range(140):
        github.add_comment(REPO, pr, f"comment {i}")
    mine = github.add_comment(REPO, pr, f"{MARKER}\nold plan")
    for i in range(60):
        github.add_comment(REPO, pr, f"later {i}")

    result = client.upsert_comment(REPO, pr, "new plan", MARKER)

    assert result == CommentResult(mine, _url(pr, mine), created=False)
    assert [(c.method, c.query) for c in github.calls if c.method == "GET"] == [
        ("GET", {"per_page": "100"}),
        ("GET", {"per_page": "100", "page": "2"}),
    ]
    assert len(github.comments(REPO, pr)) == 201


def test_upsert_comment_reads_every_page_of_over_100_comments_before_creating(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    for i in range(250):
        github.add_comment(REPO, pr, f"comment {i}")

    result = client.upsert_comment(REPO, pr, "plan", MARKER)

    assert result.created
    assert [c.query.get("page", "1") for c in github.calls if c.method == "GET"] == ["1", "2", "3"]
    assert len(github.comments(REPO, pr)) == 251
    assert github.writes() == [("POST", f"/repos/{REPO}/issues/{pr}/comments")]


def test_every_call_carries_the_token_and_the_api_headers(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    client.upsert_comment(REPO, pr, "plan", MARKER)
    client.upsert_comment(REPO, pr, "plan", MARKER)

    seen = {
        (
            c.authorization,
            c.headers["accept"],
            c.headers["x-github-api-version"],
            c.headers["user-agent"],
        )
        for c in github.calls
    }
    assert seen == {
        (
            f"Bearer {github.token}",
            "application/vnd.github+json",
            "2022-11-28",
            f"certgov/{__version__}",
        )
    }


def test_upsert_comment_works_below_an_enterprise_api_prefix(
    make_client: Callable[..., GitHubClient],
) -> None:
    enterprise = FakeGitHub(prefix="/api/v3")
    enterprise.add_repo(REPO)
    with serving(enterprise):
        pr = enterprise.add_pull_request(REPO)
        for i in range(120):
            enterprise.add_comment(REPO, pr, f"comment {i}")
        client = make_client(api_url=enterprise.url + "/", token=enterprise.token)

        first = client.upsert_comment(REPO, pr, "plan", MARKER)
        second = client.upsert_comment(REPO, pr, "plan 2", MARKER)

    assert (first.created, second.created, second.id) == (True, False, first.id)
    assert {c.path for c in enterprise.calls} == {
        f"/api/v3/repos/{REPO}/issues/{pr}/comments",
        f"/api/v3/repos/{REPO}/issues/comments/{first.id}",
    }


def test_a_paging_link_to_another_host_is_not_followed(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)
    github.answer_next(
        200, [], {"Link": '<http://other.test/repos/x/y/comments?page=2>; rel="next"'}
    )

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub's paging link leads away from {github.url}; not following it"
    )
    assert len(github.calls) == 1


def test_a_paging_link_that_loops_is_refused(github: FakeGitHub, client: GitHubClient) -> None:
    pr = github.add_pull_request(REPO)
    path = f"/repos/{REPO}/issues/{pr}/comments"
    loop = {"Link": f'<{github.url}{path}?per_page=100&page=2>; rel="next"'}
    github.answer_next(200, [], loop)
    github.answer_next(200, [], loop)

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == f"GitHub's paging links loop back to {path}"


def test_a_body_over_githubs_limit_is_refused_before_any_call(
    github: FakeGitHub, client: GitHubClient
) -> None:
    pr = github.add_pull_request(REPO)

    with pytest.raises(UsageError) as caught:
        client.upsert_comment(REPO, pr, "x" * 65_536, MARKER)

    assert caught.value.message == (
        "the comment has 65,563 characters and GitHub allows 65,536: render it with "
        "`--format markdown`, which keeps it under the limit"
    )
    assert github.calls == []


@pytest.mark.parametrize("repo", ["acme", "acme/certs/extra", "../x", "acme/..", "-a/b", ""])
def test_a_repository_not_of_the_form_owner_name_is_refused(
    client: GitHubClient, repo: str
) -> None:
    with pytest.raises(UsageError) as caught:
        client.upsert_comment(repo, 1, "plan", MARKER)

    assert caught.value.message == f"the repository must be given as OWNER/NAME, not {repo!r}"


def test_a_pull_request_number_below_one_is_refused(client: GitHubClient) -> None:
    with pytest.raises(UsageError) as caught:
        client.upsert_comment(REPO, 0, "plan", MARKER)

    assert caught.value.message == "the pull request must be a positive number, not 0"
