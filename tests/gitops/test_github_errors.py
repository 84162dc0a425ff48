"""GitHub's refusals become typed errors that name the call, say what to fix, never the token."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

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
from certgov.gitops.github import CommentResult, GitHubClient
from certgov.gitops.markers import plan_marker
from tests.gitops.conftest import REPO
from tests.gitops.github_fake import FakeGitHub

MARKER = plan_marker(".")


@pytest.fixture
def pr(github: FakeGitHub) -> int:
    return github.add_pull_request(REPO)


def test_a_wrong_token_is_an_authentication_error_without_the_token(
    github: FakeGitHub, make_client: Callable[..., GitHubClient], pr: int
) -> None:
    client = make_client(token="ghs_wrong-secret-token")

    with pytest.raises(GitHubAuthenticationError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub refused the token on GET /repos/{REPO}/issues/{pr}/comments "
        "(401 Bad credentials): set GITHUB_TOKEN to a valid, unexpired token"
    )
    assert (caught.value.status, caught.value.exit_code) == (401, 3)
    assert github.calls[0].authorization == "Bearer ghs_wrong-secret-token"


def test_the_token_is_not_in_the_clients_repr(github: FakeGitHub, client: GitHubClient) -> None:
    assert repr(client) == f"GitHubClient(api_url={github.url!r})"


def test_a_403_is_a_permission_error_naming_the_permissions(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(403, {"message": "Resource not accessible by integration"})

    with pytest.raises(GitHubPermissionError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub refused GET /repos/{REPO}/issues/{pr}/comments (403 Resource not accessible "
        "by integration): the token lacks a permission; a workflow job needs `permissions: "
        "pull-requests: write` to comment on a pull request and `issues: write` for the drift "
        "issue"
    )


def test_an_unknown_repository_is_a_not_found_error(client: GitHubClient) -> None:
    with pytest.raises(GitHubNotFoundError) as caught:
        client.upsert_comment("acme/missing", 7, "plan", MARKER)

    assert caught.value.message == (
        "GitHub found nothing at GET /repos/acme/missing/issues/7/comments (404 Not Found): "
        "check the repository name and the pull request or issue number, and that the token "
        "may see the repository"
    )


def test_a_422_lists_githubs_validation_errors(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(200, [])
    github.answer_next(
        422,
        {
            "message": "Validation Failed",
            "errors": [
                {
                    "resource": "IssueComment",
                    "field": "body",
                    "code": "custom",
                    "message": "body is too long",
                },
                {"resource": "Issue", "field": "labels", "code": "invalid"},
                "one more thing",
            ],
        },
    )

    with pytest.raises(GitHubValidationError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub refused the body of POST /repos/{REPO}/issues/{pr}/comments (422 Validation "
        "Failed): body is too long; Issue.labels invalid; one more thing"
    )


def test_a_422_without_details_says_so_in_one_line(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(200, [])
    github.answer_next(422, {"message": "Unprocessable"})

    with pytest.raises(GitHubValidationError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub refused the body of POST /repos/{REPO}/issues/{pr}/comments (422 Unprocessable)"
    )


def test_a_used_up_rate_limit_says_when_it_resets(
    github: FakeGitHub, make_client: Callable[..., GitHubClient], sleeps: list[float], pr: int
) -> None:
    client = make_client(clock=lambda: 1_780_000_000.0)
    github.answer_next(
        403,
        {"message": "API rate limit exceeded for installation ID 1."},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1780000600"},
    )

    with pytest.raises(GitHubRateLimitedError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub's API rate limit is used up (GET /repos/{REPO}/issues/{pr}/comments); it "
        "resets at 2026-05-28T20:36:40+00:00"
    )
    assert (caught.value.retry_after, sleeps) == (600.0, [])


def test_a_used_up_rate_limit_without_a_reset_time_says_so(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(429, {}, {"x-ratelimit-remaining": "0"})

    with pytest.raises(GitHubRateLimitedError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub's API rate limit is used up (GET /repos/{REPO}/issues/{pr}/comments)"
    )


def test_a_short_secondary_rate_limit_is_waited_for(
    github: FakeGitHub, client: GitHubClient, sleeps: list[float], pr: int
) -> None:
    github.answer_next(
        403, {"message": "You have exceeded a secondary rate limit"}, {"retry-after": "5"}
    )

    result = client.upsert_comment(REPO, pr, "plan", MARKER)

    assert (result.created, sleeps) == (True, [5.0])


def test_a_long_secondary_rate_limit_is_an_error_saying_when_to_retry(
    github: FakeGitHub, client: GitHubClient, sleeps: list[float], pr: int
) -> None:
    github.answer_next(429, {"message": "slow down"}, {"retry-after": "600"})

    with pytest.raises(GitHubRateLimitedError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub's secondary rate limit stopped GET /repos/{REPO}/issues/{pr}/comments "
        "(429 slow down); try again in 600 seconds"
    )
    assert (caught.value.retry_after, sleeps) == (600.0, [])


def test_a_secondary_rate_limit_named_only_in_the_message_is_a_rate_limit(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(403, {"message": "You have exceeded a secondary rate limit."})

    with pytest.raises(GitHubRateLimitedError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub's secondary rate limit stopped GET /repos/{REPO}/issues/{pr}/comments "
        "(403 You have exceeded a secondary rate limit.)"
    )


def test_a_502_on_a_read_is_retried_after_a_backoff(
    github: FakeGitHub, client: GitHubClient, sleeps: list[float], pr: int
) -> None:
    github.answer_next(502, "<html>bad gateway</html>")

    result = client.upsert_comment(REPO, pr, "plan", MARKER)

    assert (result.created, sleeps) == (True, [1.0])


def test_a_502_on_a_create_is_not_retried(
    github: FakeGitHub, client: GitHubClient, sleeps: list[float], pr: int
) -> None:
    github.answer_next(200, [])
    github.answer_next(502, "<html>bad gateway</html>")

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub answered POST /repos/{REPO}/issues/{pr}/comments with 502"
    )
    assert (sleeps, github.comments(REPO, pr)) == ([], [])


def test_a_read_that_keeps_failing_gives_up_after_the_attempts(
    github: FakeGitHub, client: GitHubClient, sleeps: list[float], pr: int
) -> None:
    for _ in range(3):
        github.answer_next(503, {"message": "Service Unavailable"})

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub answered GET /repos/{REPO}/issues/{pr}/comments with 503 Service Unavailable"
    )
    assert sleeps == [1.0, 2.0]


def test_an_unreachable_api_is_a_connection_error_after_retries(
    make_client: Callable[..., GitHubClient], sleeps: list[float]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(api_url=f"http://127.0.0.1:{port}")

    with pytest.raises(ConnectionFailedError) as caught:
        client.upsert_comment(REPO, 1, "plan", MARKER)

    assert caught.value.message.startswith(f"cannot reach GitHub at http://127.0.0.1:{port}: ")
    assert (caught.value.exit_code, sleeps) == (3, [1.0, 2.0])


def test_an_answer_that_is_not_json_is_an_error(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(200, "<html>login</html>")

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub answered GET /repos/{REPO}/issues/{pr}/comments with something other than JSON"
    )


def test_a_list_answer_that_is_not_a_list_is_an_error(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(200, {"items": []})

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub answered GET /repos/{REPO}/issues/{pr}/comments with something other than a list"
    )


def test_a_created_object_without_its_fields_is_an_error(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(200, [])
    github.answer_next(201, {"id": "7"})

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub's answer for repos/{REPO}/issues/{pr}/comments lacks a numeric 'id'"
    )


def test_a_created_object_without_its_url_is_an_error(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(200, [])
    github.answer_next(201, {"id": 7})

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub's answer for repos/{REPO}/issues/{pr}/comments lacks 'html_url'"
    )


def test_an_object_answer_that_is_not_an_object_is_an_error(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(200, [])
    github.answer_next(201, [1, 2])

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub answered POST /repos/{REPO}/issues/{pr}/comments with something other than "
        "an object"
    )


def test_a_long_github_message_is_shortened(
    github: FakeGitHub, client: GitHubClient, pr: int
) -> None:
    github.answer_next(500, {"message": "x" * 400})

    with pytest.raises(GitHubError) as caught:
        client.upsert_comment(REPO, pr, "plan", MARKER)

    assert caught.value.message == (
        f"GitHub answered GET /repos/{REPO}/issues/{pr}/comments with 500 {'x' * 299}…"
    )


def test_from_env_reads_the_token_and_the_api_url(github: FakeGitHub, pr: int) -> None:
    environ = {"GITHUB_TOKEN": github.token, "GITHUB_API_URL": github.url}

    with GitHubClient.from_env(environ) as client:
        result = client.upsert_comment(REPO, pr, "plan", MARKER)

    assert result == CommentResult(
        result.id,
        f"https://github.test/{REPO}/issues/{pr}#issuecomment-{result.id}",
        created=True,
    )


def test_from_env_defaults_to_github_com() -> None:
    with GitHubClient.from_env({"GITHUB_TOKEN": "t"}) as client:
        assert client.api_url == "https://api.github.com"


def test_from_env_without_a_token_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        GitHubClient.from_env({"GITHUB_API_URL": "https://ghe.test/api/v3"})

    assert caught.value.message == (
        "no GitHub token: set GITHUB_TOKEN (in a workflow: ${{ github.token }})"
    )
