"""Markers: one per kind and folder, the folder normalised, nothing that breaks an HTML comment."""

from __future__ import annotations

import pytest

from certgov.errors import UsageError
from certgov.gitops.markers import drift_marker, plan_marker, with_marker, with_sections


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        (".", "<!-- certgov:plan:. -->"),
        ("", "<!-- certgov:plan:. -->"),
        ("./prod/", "<!-- certgov:plan:prod -->"),
        ("teams\\pki", "<!-- certgov:plan:teams/pki -->"),
        ("a/./b//c", "<!-- certgov:plan:a/b/c -->"),
    ],
)
def test_plan_marker_normalises_the_folder(directory: str, expected: str) -> None:
    assert plan_marker(directory) == expected


def test_drift_marker_differs_from_the_plan_marker_of_the_same_folder() -> None:
    assert (drift_marker("prod"), plan_marker("prod")) == (
        "<!-- certgov:drift:prod -->",
        "<!-- certgov:plan:prod -->",
    )


@pytest.mark.parametrize("directory", ["a--b", "x>", "<y", "a\nb"])
def test_a_folder_that_would_break_the_html_comment_is_refused(directory: str) -> None:
    with pytest.raises(UsageError) as caught:
        plan_marker(directory)

    assert caught.value.message == (
        f"marker folder {directory!r} cannot go into an HTML comment: it may not contain "
        "'--', '<', '>' or line breaks"
    )


def test_with_marker_puts_the_marker_on_the_first_line() -> None:
    assert with_marker("body", "<!-- m -->") == "<!-- m -->\nbody"


def test_with_marker_keeps_a_body_that_has_it() -> None:
    assert with_marker("x <!-- m --> y", "<!-- m -->") == "x <!-- m --> y"


def test_each_environment_of_a_folder_has_its_own_drift_marker() -> None:
    markers = [drift_marker("./prod/", env) for env in (None, "staging", "production")]

    assert markers == [
        "<!-- certgov:drift:prod -->",
        "<!-- certgov:drift:prod env=staging -->",
        "<!-- certgov:drift:prod env=production -->",
    ]
    # None is found inside another: each finds its own issue only.
    assert [sum(m in other for other in markers) for m in markers] == [1, 1, 1]


@pytest.mark.parametrize("environment", ["eu--west", "a b", "x>"])
def test_an_environment_that_would_break_the_html_comment_is_refused(environment: str) -> None:
    with pytest.raises(UsageError) as caught:
        drift_marker(".", environment)

    assert caught.value.message == (
        f"environment {environment!r} cannot go into an HTML comment: it may hold letters, "
        "digits, '_' and '-', but not '--'"
    )


def test_with_sections_keeps_one_marker_and_the_sections_in_order() -> None:
    marker = "<!-- certgov:plan:. -->"

    assert with_sections([f"{marker}\n### a\n", f"{marker}\n### b"], marker) == (
        f"{marker}\n### a\n\n### b\n"
    )
    assert with_sections([f"{marker}\n### only\n"], marker) == f"{marker}\n### only\n"
