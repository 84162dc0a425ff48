"""A long apply on a terminal shows a progress bar; in a CI log, one plain line per change."""

from __future__ import annotations

import io

import pytest

from certgov.apply.result import Outcome
from certgov.cli.apply_cmd import _Hooks

OUTCOMES = [
    Outcome("ServiceAccount/a", "create", "applied", "created"),
    Outcome("ServiceAccount/b", "create", "failed", "boom"),
    Outcome("Policy/p", "create", "applied", "created"),
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_hooks(monkeypatch: pytest.MonkeyPatch, stdout: io.StringIO) -> tuple[str, str]:
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)
    hooks = _Hooks("text", color=False)
    hooks.starting(len(OUTCOMES))
    for outcome in OUTCOMES:
        hooks.outcome(outcome)
    hooks.finished()
    return stdout.getvalue(), stderr.getvalue()


def test_a_terminal_gets_a_progress_bar_and_a_line_per_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, err = run_hooks(monkeypatch, Terminal())
    frames = [f.replace("\x1b[?25l", "").replace("\x1b[?25h", "") for f in out.split("\r")[1:]]
    assert [f.rstrip() for f in frames] == [
        "Applying  [------------------------------------]  0/3",
        "Applying  [############------------------------]  1/3  ServiceAccount/a",
        "Applying  [########################------------]  2/3  ServiceAccount/b",
        "Applying  [####################################]  3/3  Policy/p",
    ]
    assert err == "\nServiceAccount/b: create FAILED: boom\n"


def test_a_log_gets_one_plain_line_per_change(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = run_hooks(monkeypatch, io.StringIO())
    assert (out, err) == (
        "ServiceAccount/a: created\nServiceAccount/b: create FAILED: boom\nPolicy/p: created\n",
        "",
    )
