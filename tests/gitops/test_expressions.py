"""The workflow runner's `${{ }}` evaluator: GitHub's semantics for what it supports, and a
refusal for everything else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gitops.expressions import (
    ExpressionError,
    Status,
    condition,
    evaluate,
    interpolate,
    value_of,
)

CONTEXTS: dict[str, Any] = {
    "github": {
        "event_name": "pull_request",
        "repository": "acme/certs",
        "event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": "acme/certs"}}}},
    },
    "steps": {"run": {"outputs": {"exit-code": "4"}, "outcome": "success"}},
    "needs": {"reviewed-plan": {"outputs": {"fingerprint": "sha256:ab"}}},
    "inputs": {"command": ""},
    "env": {"CERTGOV_PATH": "."},
    "secrets": {"CERTGOV_STAGING_READ_UUID": "u-1"},
    "matrix": {"name": "staging", "credentials_env": "CERTGOV_STAGING_", "after": None},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("github.event.pull_request.number", 7),
        ("github.event.pull_request.head.repo.full_name == github.repository", True),
        ("needs.reviewed-plan.outputs.fingerprint", "sha256:ab"),
        ("steps.run.outputs.exit-code == 4", True),  # a string and a number compare as numbers
        ("steps.run.outcome != 'skipped'", True),
        ("github.event_name == 'PULL_REQUEST'", True),  # strings compare without case
        ("GitHub.Event_Name", "pull_request"),  # so do names
        ("github.nothing.here", None),
        ("inputs.command != ''", False),
        ("inputs.command || 'validate'", "validate"),  # || returns an operand
        ("env.CERTGOV_PATH && 'set'", "set"),
        ("!(inputs.command == '')", False),
        ("'it''s'", "it's"),
        ("null == 0 && true != false", True),
        ("github.event['pull_request'].number", 7),
        ("secrets[format('{0}READ_UUID', matrix.credentials_env)]", "u-1"),
        ("secrets[format('{0}READ_UUID', matrix.after)]", None),  # a missing secret is null
        ("format('{0} ({1})', 'plan', matrix.name)", "plan (staging)"),
        ("format('{{0}} {0}', 3)", "{0} 3"),
        ("matrix.name && format('-{0}', matrix.name) || ''", "-staging"),
        ("matrix.after && format('-{0}', matrix.after) || ''", ""),
        ('fromJSON(\'[{"name": "a"}, {"name": null}]\')[0].name', "a"),
        ("fromJson('[1, 2]')[5]", None),
        ("fromJSON('true') && fromJSON('{\"a\": 1}').A", 1),
    ],
)
def test_evaluate(expression: str, expected: Any) -> None:
    assert evaluate(expression, CONTEXTS) == expected


@pytest.mark.parametrize(
    ("text", "status", "expected"),
    [
        ("inputs.command != ''", Status(), False),
        ("${{ github.event_name == 'pull_request' }}", Status(), True),
        ("github.event_name == 'pull_request'", Status(failed=True), False),  # success() implied
        ("${{ !cancelled() && steps.run.outcome != 'skipped' }}", Status(failed=True), True),
        ("always()", Status(cancelled=True), True),
        ("failure()", Status(failed=True), True),
        ("cancelled()", Status(), False),
    ],
)
def test_condition(text: str, status: Status, expected: bool) -> None:
    assert condition(text, CONTEXTS, status) is expected


def test_interpolate_puts_values_into_text() -> None:
    text = "${{ github.repository }}/pull/${{ github.event.pull_request.number }}:${{ inputs.x }}"

    assert interpolate(text, CONTEXTS) == "acme/certs/pull/7:"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("contains(github.repository, 'acme')", "the function contains() is not supported here"),
        ("strategy.job-total", "the context 'strategy' is not available in 'strategy.job-total'"),
        ("toJSON(secrets)", "the function toJSON() is not supported here"),
        ("fromJSON('{')", "fromJSON(): '{' is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("format('{1}', 'a')", "format(): '{1}' in '{1}' names no argument"),
        ("steps.*.outcome", "cannot read '*.outcome' in 'steps.*.outcome'"),
        ("github.run_id < 3", "cannot read '< 3' in 'github.run_id < 3'"),
        ("(inputs.command", "'(inputs.command' ends too early"),
    ],
)  # fmt: skip
def test_what_it_does_not_understand_is_refused(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, CONTEXTS)

    assert str(caught.value) == message


def test_an_if_mixing_text_and_an_expression_is_refused() -> None:
    with pytest.raises(ExpressionError) as caught:
        condition("${{ true }} && false", CONTEXTS)

    assert str(caught.value) == (
        "an if: mixing text and ${{ }} is not supported: '${{ true }} && false'"
    )


def test_an_object_is_not_put_into_text() -> None:
    with pytest.raises(ExpressionError) as caught:
        interpolate("${{ github.event.pull_request.head }}", CONTEXTS)

    assert str(caught.value) == (
        "an object cannot be put into a string: {'repo': {'full_name': 'acme/certs'}}"
    )


def test_value_of_a_whole_expression_is_its_value_objects_included() -> None:
    text = '${{ fromJSON(\'[{"name": "staging"}]\') }}'

    assert (value_of(text, CONTEXTS), value_of("x-${{ matrix.name }}", CONTEXTS)) == (
        [{"name": "staging"}],
        "x-staging",
    )
