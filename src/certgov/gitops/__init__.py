"""certgov's side of GitHub: pull-request plan comments, drift issues, and workflow checks.

- `github`: `GitHubClient` with `upsert_comment`, `upsert_issue` and `close_issue_if_open`,
  each keyed by a hidden marker so that reruns update instead of adding.
- `markers`: `plan_marker(dir)` and `drift_marker(dir)`, the markers those upserts look for.
- `workflows`: finds every `certgov ...` call in GitHub workflow and action files and checks it
  against the real commands; `python -m certgov.cli.workflows_check` is the pre-commit hook.
"""

from __future__ import annotations

from certgov.gitops.github import CommentResult, GitHubClient, IssueResult
from certgov.gitops.markers import drift_marker, plan_marker

__all__ = ["CommentResult", "GitHubClient", "IssueResult", "drift_marker", "plan_marker"]
