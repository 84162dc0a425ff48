"""`import --env`: one environment's live objects merged into the declarations of the others."""

from __future__ import annotations

from types import MappingProxyType

from certgov.declarations.environments import Environment
from certgov.importer import Placed, merge_environment, templated
from certgov.state import Resource, State
from tests.plan.helpers import account, policy

STAGING = Environment(
    "staging",
    "https://staging.test",
    variables=MappingProxyType({"domain": "staging.example.com", "office": "198.51.100.0/24"}),
)
PRODUCTION = Environment(
    "production",
    "https://clm.test",
    variables=MappingProxyType({"domain": "example.com", "office": "203.0.113.0/24"}),
)
BOTH = [STAGING, PRODUCTION]


def web(domain: str, days: int = 397) -> Resource:
    return policy(
        "Web",
        live=True,
        description=f"Certificates under {domain}",
        matching_criteria={"action": "certificate.generate", "domains": [f"*.{domain}"]},
        rules=[{"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": days}}],
    )


def imported(*envs: tuple[Environment, list[Resource]]) -> list[Placed]:
    placed: list[Placed] = []
    for env, resources in envs:
        merge_environment(placed, State.build(resources), env.name, BOTH)
    return placed


def test_a_variable_s_value_is_written_as_the_variable() -> None:
    assert templated("*.staging.example.com", STAGING) == "*.${var.domain}"
    assert templated("from 203.0.113.0/24 to example.com", PRODUCTION) == (
        "from ${var.office} to ${var.domain}"
    )


def test_the_same_object_in_both_environments_is_declared_once() -> None:
    same = account("ci", live=True, description="CI")
    (only,) = imported((STAGING, [same]), (PRODUCTION, [same]))
    assert (only.file, "environments" in only.doc, only.doc["description"]) == (
        "service-accounts/ci.yaml",
        False,
        "CI",
    )


def test_values_that_differ_by_a_variable_are_declared_once_with_it() -> None:
    (only,) = imported((STAGING, [web("staging.example.com")]), (PRODUCTION, [web("example.com")]))
    assert "environments" not in only.doc
    assert (only.doc["description"], only.doc["matching_criteria"]["domains"]) == (
        "Certificates under ${var.domain}",
        ["*.${var.domain}"],
    )


def test_an_object_that_differs_otherwise_is_declared_for_each_environment() -> None:
    placed = imported(
        (STAGING, [web("staging.example.com", 30)]), (PRODUCTION, [web("example.com", 90)])
    )
    assert [(p.file, p.doc["environments"]) for p in placed] == [
        ("policies/web.yaml", ["staging"]),
        ("policies/web.yaml", ["production"]),
    ]


def test_an_object_only_in_one_environment_is_selected_for_it() -> None:
    placed = imported((STAGING, [account("tester", live=True)]), (PRODUCTION, []))
    assert [p.doc["environments"] for p in placed] == [["staging"]]


def test_an_object_gone_from_an_environment_leaves_it() -> None:
    ci = account("ci", live=True)
    placed = imported((STAGING, [ci]), (PRODUCTION, [ci]), (PRODUCTION, []))
    assert [p.doc["environments"] for p in placed] == [["staging"]]


def test_what_was_filled_in_by_hand_is_kept() -> None:
    (ci,) = imported((STAGING, [account("ci", live=True)]))
    ci.doc["secret"] = {"store": "vault", "path": "clm/ci"}
    merge_environment([ci], State.build([account("ci", live=True)]), "production", BOTH)
    assert (ci.doc["secret"], "environments" in ci.doc) == (
        {"store": "vault", "path": "clm/ci"},
        False,
    )


def test_objects_that_manage_ignore_matches_are_left_out() -> None:
    placed: list[Placed] = []
    live = State.build([account("bootstrap-admin", live=True), account("ci", live=True)])
    result = merge_environment(
        placed, live, "staging", BOTH, ignore={"ServiceAccount": ["bootstrap-*"]}
    )
    assert ([p.name for p in placed], list(result.files)) == (["ci"], ["service-accounts/ci.yaml"])
