"""The executor against the in-memory fake API: every action, adopt, 409, 412, partial failure.

Each test plans desired against what the fake holds, applies that plan document through
`apply.run`, and asserts the whole outcome list and what the fake holds afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from certgov.apply.executor import PolicyProof, run
from certgov.apply.ops import Operations
from certgov.apply.result import NOT_STARTED, Outcome
from certgov.apply.stores import FileStore, SecretStore
from certgov.client import ClmClient
from certgov.client.live import read_live_state
from certgov.errors import ApplyInterruptedError, SecretStoreError, StalePlanError
from certgov.plan import Facts, PlanOptions, plan
from certgov.plan.document import PlanDocument, build_document
from certgov.plan.model import StoreRecordMeta
from certgov.plan.rollout import RolloutFacts
from certgov.policytest import cases_for
from certgov.state import POLICY, Resource, State
from tests.client.clm_fake import BASE, CREDS, PINNED, FakeApi, error
from tests.plan.helpers import account, policy, with_meta

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SOURCE = {"path": "repo", "git_commit": None, "digest": "sha256:" + "0" * 64}
STORED = {"store": "local", "path": "clm/ci", "rotate_after_seconds": None}
RULES = [{"action": "disable_wildcard", "fail": "hard"}]


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi()


@pytest.fixture
def client(fake: FakeApi) -> Iterator[ClmClient]:
    with ClmClient(
        BASE, CREDS, transport=httpx.MockTransport(fake), retry=PINNED, sleep=lambda s: None
    ) as made:
        yield made


@pytest.fixture
def stores(tmp_path: Path) -> dict[str, SecretStore]:
    return {"local": FileStore("local", tmp_path / "secrets")}


Apply = Callable[..., tuple[PlanDocument, list[Outcome]]]


@pytest.fixture
def apply(client: ClmClient, stores: dict[str, SecretStore]) -> Apply:
    """Plan `desired` against the fake, then apply the plan; the document and outcomes."""

    def go(
        *desired: Resource,
        records: dict[str, Any] | None = None,
        rollout: dict[tuple[str, str], RolloutFacts] | None = None,
    ) -> tuple[PlanDocument, list[Outcome]]:
        want = State.build(desired)
        facts = Facts(now=NOW, store_records=records or {}, rollout=rollout or {})
        document = build_document(
            plan(want, read_live_state(client), facts, PlanOptions()),
            server=BASE,
            source=SOURCE,
            created_at=NOW.isoformat(),
        )
        outcomes: list[Outcome] = []
        proofs = {r.name: PolicyProof(tuple(cases_for(r)), r.spec) for r in want.of_kind(POLICY)}
        result = run(
            document,
            Operations.over(client),
            stores,
            outcomes.append,
            proofs=proofs,
            parallelism=1,
            adopt_wait=0,
        )
        assert list(result.outcomes) == sorted(outcomes, key=lambda o: result.outcomes.index(o))
        return document, list(result.outcomes)

    return go


def document_for(client: ClmClient, *desired: Resource, **options: Any) -> PlanDocument:
    """The plan of `desired` against what the fake holds now."""
    return build_document(
        plan(State.build(desired), read_live_state(client), Facts(now=NOW), PlanOptions(**options)),
        server=BASE,
        source=SOURCE,
        created_at=NOW.isoformat(),
    )


def outcome(address: str, action: str, message: str, status: str = "applied") -> Outcome:
    return Outcome(address, action, status, message)


def stored_account(name: str = "ci", **fields: Any) -> Resource:
    return with_meta(account(name, **fields), secret=STORED)


def live_account(fake: FakeApi, name: str = "ci", **extra: Any) -> dict[str, Any]:
    return fake.add_account(name, **extra)


def test_create_account_stores_its_secret(
    apply: Apply, fake: FakeApi, stores: dict[str, SecretStore]
) -> None:
    _, outcomes = apply(stored_account())
    assert outcomes == [
        outcome("ServiceAccount/ci", "create", "created; secret stored in local at clm/ci")
    ]
    (made,) = fake.accounts.values()
    meta = stores["local"].read_meta("clm/ci")
    assert meta is not None
    assert (meta.uuid, meta.client_id) == (made["uuid"], made["client_id"])


def test_create_account_without_a_store_says_the_secret_was_not_kept(apply: Apply) -> None:
    _, outcomes = apply(account("ci"))
    assert outcomes == [
        outcome(
            "ServiceAccount/ci",
            "create",
            "created; its secret was not kept (no secret.store is declared)",
        )
    ]


def test_create_disabled_account_disables_it_after_storing(apply: Apply, fake: FakeApi) -> None:
    _, outcomes = apply(stored_account(enabled=False))
    assert outcomes == [
        outcome("ServiceAccount/ci", "create", "created disabled; secret stored in local at clm/ci")
    ]
    assert [a["is_active"] for a in fake.accounts.values()] == [False]


def test_a_replayed_create_without_secret_regenerates_it(apply: Apply, fake: FakeApi) -> None:
    def replay(request: httpx.Request) -> httpx.Response:
        made = fake.add_account("ci")
        body = {"success": True, "data": made, "credentials": None, "replayed": True}
        return httpx.Response(201, json=body, headers={"ETag": fake.etag(made["uuid"])})

    fake.script("POST", "/service/service-accounts", replay)
    _, outcomes = apply(stored_account())
    assert outcomes == [
        outcome(
            "ServiceAccount/ci",
            "create",
            "created (earlier answer lost; secret regenerated); secret stored in local at clm/ci",
        )
    ]
    assert (
        "POST /api/v1/service/service-accounts/00000000-0000-4000-8000-000000000001/regenerate-secret"
        in fake.paths()
    )


def test_a_store_that_refuses_the_write_fails_the_create_and_says_so(
    apply: Apply, stores: dict[str, SecretStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: str, record: Any) -> None:
        raise SecretStoreError("disk full", retryable=False)

    monkeypatch.setattr(stores["local"], "write", refuse)
    _, outcomes = apply(stored_account())
    assert outcomes == [
        outcome(
            "ServiceAccount/ci",
            "create",
            "secret for ci was generated but not stored: disk full; run apply again to "
            "regenerate it",
            "failed",
        )
    ]


def test_create_policy_is_created_disabled_proven_then_enabled(apply: Apply, fake: FakeApi) -> None:
    _, outcomes = apply(policy("base"))
    assert outcomes == [
        outcome("Policy/base", "create", "created disabled, dry-run probe passed, enabled")
    ]
    assert [p["is_enabled"] for p in fake.policies.values()] == [True]
    validate = [p for p in fake.paths() if p.endswith("/validate")]
    assert validate == ["POST /api/v1/service/policies/validate"]


def test_create_policy_declared_disabled_stays_disabled(apply: Apply, fake: FakeApi) -> None:
    _, outcomes = apply(policy("base", enabled=False))
    assert outcomes == [outcome("Policy/base", "create", "created disabled; dry-run probe passed")]
    assert [p["is_enabled"] for p in fake.policies.values()] == [False]


def block(rule: str = "disable_wildcard") -> httpx.Response:
    violation = {"policy": "base", "rule": rule, "fail": "hard", "message": "no"}
    data = {"result": "block", "allowed": False, "violations": [violation]}
    return httpx.Response(200, json={"success": True, "data": data})


def test_a_policy_whose_tests_fail_is_left_disabled(apply: Apply, fake: FakeApi) -> None:
    tests = [{"name": "plain", "request": {"common_name": "www.example.com"}, "expect": "pass"}]
    fake.script("POST", "/service/policies/validate", block())
    _, outcomes = apply(with_meta(policy("base"), tests=tests))
    assert outcomes == [
        outcome(
            "Policy/base",
            "create",
            "created disabled, and left disabled: its tests failed: 'plain' "
            "(expected pass, got block)",
            "failed",
        )
    ]
    assert [p["is_enabled"] for p in fake.policies.values()] == [False]


def test_update_account_replaces_it(apply: Apply, fake: FakeApi) -> None:
    live_account(fake)
    _, outcomes = apply(account("ci", scopes=["read", "write"]))
    assert outcomes == [outcome("ServiceAccount/ci", "update", "updated")]
    assert [a["scopes"] for a in fake.accounts.values()] == [["read", "write"]]


def test_update_account_that_also_changes_enabled_toggles_it(apply: Apply, fake: FakeApi) -> None:
    live_account(fake, is_active=False)
    _, outcomes = apply(account("ci", description="now on", enabled=True))
    assert outcomes == [outcome("ServiceAccount/ci", "update", "updated")]
    (made,) = fake.accounts.values()
    assert (made["description"], made["is_active"]) == ("now on", True)


def test_rename_account(apply: Apply, fake: FakeApi) -> None:
    live_account(fake, "old-ci")
    _, outcomes = apply(with_meta(account("ci"), previous_names=["old-ci"]))
    assert outcomes == [outcome("ServiceAccount/ci", "rename", "renamed from 'old-ci'")]
    assert [a["name"] for a in fake.accounts.values()] == ["ci"]


def test_update_of_an_enabled_policy_is_proven_inline_first(apply: Apply, fake: FakeApi) -> None:
    fake.add_policy("base", is_enabled=True, rules=RULES)
    _, outcomes = apply(policy("base", description="new"))
    assert outcomes == [
        outcome("Policy/base", "update", "updated (dry-run probe passed inline first)")
    ]
    (stored,) = fake.policies.values()
    assert (stored["description"], stored["is_enabled"]) == ("new", True)


def test_update_of_a_disabled_policy_to_enabled_is_stored_disabled_proven_then_enabled(
    apply: Apply, fake: FakeApi
) -> None:
    fake.add_policy("base", is_enabled=False, rules=RULES, description="old")
    _, outcomes = apply(policy("base", description="new"))
    assert outcomes == [
        outcome("Policy/base", "update", "updated disabled, dry-run probe passed, enabled")
    ]
    assert [p["is_enabled"] for p in fake.policies.values()] == [True]


def test_update_whose_tests_fail_leaves_the_policy_disabled(apply: Apply, fake: FakeApi) -> None:
    fake.add_policy("base", is_enabled=False, rules=RULES, description="old")
    tests = [{"name": "plain", "request": {"common_name": "www.example.com"}, "expect": "pass"}]
    fake.script("POST", "/service/policies/validate", block())
    _, outcomes = apply(with_meta(policy("base", description="new"), tests=tests))
    assert outcomes == [
        outcome(
            "Policy/base",
            "update",
            "updated but left disabled: its tests failed: 'plain' (expected pass, got block)",
            "failed",
        )
    ]
    (stored,) = fake.policies.values()
    assert (stored["description"], stored["is_enabled"]) == ("new", False)


def test_update_of_a_policy_declared_disabled_is_a_plain_replace(
    apply: Apply, fake: FakeApi
) -> None:
    fake.add_policy("base", is_enabled=False, rules=RULES, description="old")
    _, outcomes = apply(policy("base", description="new", enabled=False))
    assert outcomes == [outcome("Policy/base", "update", "updated")]
    assert not any(p.endswith("/validate") for p in fake.paths())


def test_enable_policy_is_proven_against_its_stored_self(apply: Apply, fake: FakeApi) -> None:
    fake.add_policy("base", is_enabled=False, rules=RULES)
    _, outcomes = apply(policy("base"))
    assert outcomes == [outcome("Policy/base", "enable", "dry-run probe passed; enabled")]
    assert [p["is_enabled"] for p in fake.policies.values()] == [True]


def test_enable_and_disable_accounts(apply: Apply, fake: FakeApi) -> None:
    live_account(fake, "a", is_active=False)
    live_account(fake, "b")
    _, outcomes = apply(account("a"), account("b", enabled=False))
    assert outcomes == [
        outcome("ServiceAccount/a", "enable", "enabled"),
        outcome("ServiceAccount/b", "disable", "disabled"),
    ]
    assert [a["is_active"] for a in fake.accounts.values()] == [True, False]


def test_rotate_regenerates_and_stores_the_secret(
    apply: Apply, fake: FakeApi, stores: dict[str, SecretStore]
) -> None:
    live_account(fake)
    _, outcomes = apply(stored_account(), records={"ci": None})
    assert outcomes == [
        outcome("ServiceAccount/ci", "rotate", "secret rotated; secret stored in local at clm/ci")
    ]
    assert stores["local"].read_meta("clm/ci") is not None


def test_promote_replaces_the_policy_with_the_rule_hard(apply: Apply, fake: FakeApi) -> None:
    soft = [{"action": "disable_wildcard", "fail": "soft"}]
    fake.add_policy("base", is_enabled=True, rules=soft)
    rollout = {
        "disable_wildcard": {"promote_after_seconds": 0, "min_requests": 0, "max_warnings": 0}
    }
    desired = with_meta(policy("base"), rollout=rollout)
    soft_since = datetime(2026, 1, 1, tzinfo=UTC)
    facts = {("base", "disable_wildcard"): RolloutFacts(soft_since, requests=10, warnings=0)}
    document, outcomes = apply(desired, rollout=facts)
    assert [c.action for c in document.changes] == ["promote"]
    assert outcomes == [
        outcome("Policy/base", "promote", "promoted (dry-run probe passed inline first)")
    ]
    assert [p["rules"] for p in fake.policies.values()] == [RULES]


def test_delete_policy_and_account(
    apply: Apply, fake: FakeApi, client: ClmClient, stores: dict[str, SecretStore]
) -> None:
    fake.add_policy("gone", is_enabled=False)
    live_account(fake, "stray", is_active=False)
    document = document_for(client, manage=_prune("delete"), allow_mass_change=True)
    outcomes: list[Outcome] = []
    result = run(document, Operations.over(client), stores, outcomes.append, parallelism=1)
    assert list(result.outcomes) == [
        outcome("Policy/gone", "delete", "deleted"),
        outcome("ServiceAccount/stray", "delete", "deleted"),
    ]
    assert (fake.policies, fake.accounts) == ({}, {})


def _prune(mode: str) -> Any:
    from certgov.plan import KindOptions

    return {kind: KindOptions(prune=mode) for kind in ("ServiceAccount", "Policy")}  # type: ignore[arg-type]


def test_a_create_whose_object_now_exists_is_adopted_and_its_secret_regenerated(
    fake: FakeApi, client: ClmClient, stores: dict[str, SecretStore]
) -> None:
    document = document_for(client, stored_account())
    live_account(fake)  # an interrupted run made it, and died before storing its secret
    result = run(document, Operations.over(client), stores, parallelism=1, adopt_wait=0)
    assert list(result.outcomes) == [
        outcome(
            "ServiceAccount/ci",
            "create",
            "conflict met: it already existed with the declared content, without its secret "
            "in the store: secret regenerated; secret stored in local at clm/ci",
        )
    ]
    assert len(fake.accounts) == 1
    assert stores["local"].read_meta("clm/ci") is not None


def test_an_adopted_disabled_policy_is_proven_and_enabled(
    fake: FakeApi, client: ClmClient, stores: dict[str, SecretStore]
) -> None:
    document = document_for(client, policy("base"))
    fake.add_policy("base", is_enabled=False, rules=RULES)
    proofs = {"base": PolicyProof(tuple(cases_for(policy("base"))), policy("base").spec)}
    result = run(document, Operations.over(client), stores, proofs=proofs, parallelism=1)
    assert list(result.outcomes) == [
        outcome(
            "Policy/base",
            "create",
            "conflict met: it already existed with the declared content, disabled; "
            "dry-run probe passed, enabled",
        )
    ]
    assert [p["is_enabled"] for p in fake.policies.values()] == [True]


def test_a_409_on_create_adopts_the_object_another_run_made(apply: Apply, fake: FakeApi) -> None:
    def made_meanwhile(request: httpx.Request) -> httpx.Response:
        fake.add_policy("base", is_enabled=True, rules=RULES)
        return error(409, "CONFLICT", "a policy named 'base' exists")

    fake.script("POST", "/service/policies", made_meanwhile)
    _, outcomes = apply(policy("base"))
    assert outcomes == [
        outcome(
            "Policy/base", "create", "conflict met: it already existed with the declared content"
        )
    ]
    assert len(fake.policies) == 1


def test_a_409_on_create_with_other_content_fails(apply: Apply, fake: FakeApi) -> None:
    def made_meanwhile(request: httpx.Request) -> httpx.Response:
        fake.add_policy("base", is_enabled=True, description="someone else's")
        return error(409, "CONFLICT", "a policy named 'base' exists")

    fake.script("POST", "/service/policies", made_meanwhile)
    _, outcomes = apply(policy("base"))
    assert outcomes == [
        outcome(
            "Policy/base",
            "create",
            "Policy/base: creating policy 'base' failed: conflict: a policy named 'base' exists",
            "failed",
        )
    ]


def test_a_412_on_a_write_already_done_counts_as_applied(apply: Apply, fake: FakeApi) -> None:
    made = live_account(fake)

    def done_by_a_lost_attempt(request: httpx.Request) -> httpx.Response:
        made["scopes"] = ["read", "write"]
        fake.revisions[made["uuid"]] += 1
        return error(412, "PRECONDITION_FAILED", "etag mismatch")

    fake.script("PUT", f"/service/service-accounts/{made['uuid']}", done_by_a_lost_attempt)
    _, outcomes = apply(account("ci", scopes=["read", "write"]))
    assert outcomes == [
        outcome(
            "ServiceAccount/ci",
            "update",
            "updated (the object already was as planned: PRECONDITION_FAILED)",
        )
    ]


def test_a_412_on_a_write_not_done_fails_and_skips_the_objects_later_changes(
    apply: Apply, fake: FakeApi
) -> None:
    made = live_account(fake)
    live_account(fake, "other")
    fake.script(
        "PUT",
        f"/service/service-accounts/{made['uuid']}",
        error(412, "PRECONDITION_FAILED", "etag mismatch"),
    )
    _, outcomes = apply(
        stored_account(scopes=["read", "write"]),
        account("other", description="changed"),
        records={"ci": None},
    )
    assert outcomes == [
        outcome(
            "ServiceAccount/ci",
            "update",
            "changing service account 00000000-0000-4000-8000-000000000001 failed: changed by "
            'someone else since it was read (If-Match "00000000-0000-4000-8000-000000000001-1" '
            "no longer matches)",
            "failed",
        ),
        outcome(
            "ServiceAccount/ci",
            "rotate",
            "an earlier change of this object failed",
            "not attempted",
        ),
        outcome("ServiceAccount/other", "update", "updated"),
    ]
    assert [a["scopes"] for a in fake.accounts.values()] == [["read"], ["read"]]


def test_a_stale_plan_is_refused_before_any_write(
    fake: FakeApi, client: ClmClient, stores: dict[str, SecretStore]
) -> None:
    made = live_account(fake)
    document = document_for(client, account("ci", scopes=["read", "write"]))
    made["description"] = "changed by hand"
    fake.revisions[made["uuid"]] += 1
    with pytest.raises(StalePlanError) as info:
        run(document, Operations.over(client), stores)
    assert info.value.message == (
        "the plan is stale; make a new plan. Changed since the plan:\n"
        "  ServiceAccount/ci: changed since the plan (description: '' → 'changed by hand')"
    )
    assert not any(p.startswith(("PUT", "DELETE")) for p in fake.paths())


def test_an_action_a_kind_does_not_have_fails_that_change_only(
    fake: FakeApi, client: ClmClient, stores: dict[str, SecretStore]
) -> None:
    from dataclasses import replace

    fake.add_policy("base", is_enabled=True, rules=RULES)
    document = document_for(client, policy("base", description="new"))
    odd = replace(document, changes=(replace(document.changes[0], action="rotate"),))
    result = run(odd, Operations.over(client), stores)
    assert list(result.outcomes) == [
        outcome("Policy/base", "rotate", "a Policy cannot be rotated", "failed")
    ]


def test_store_record_meta_is_not_needed_when_no_rotation(apply: Apply, fake: FakeApi) -> None:
    made = live_account(fake)
    record = StoreRecordMeta(made["client_id"], made["secret_created_at"])
    document, outcomes = apply(stored_account(), records={"ci": record})
    assert (document.changes, outcomes) == ((), [])


def test_an_interrupted_apply_finishes_what_is_under_way_and_says_what_did_not_start(
    fake: FakeApi, client: ClmClient, stores: dict[str, SecretStore]
) -> None:
    document = document_for(client, *[account(f"a{i}") for i in range(3)], policy("p"))

    stop = threading.Event()

    def ctrl_c_after_the_first(outcome: Outcome) -> None:
        stop.set()  # what Ctrl-C does while apply runs (certgov.run.apply.stop_on_interrupt)

    with pytest.raises(ApplyInterruptedError) as info:
        run(
            document,
            Operations.over(client),
            stores,
            ctrl_c_after_the_first,
            stop=stop,
            parallelism=1,
        )
    assert list(info.value.result.outcomes) == [
        outcome("Policy/p", "create", "created disabled, 0 dry-run tests passed, enabled"),
        outcome("ServiceAccount/a0", "create", NOT_STARTED, "not attempted"),
        outcome("ServiceAccount/a1", "create", NOT_STARTED, "not attempted"),
        outcome("ServiceAccount/a2", "create", NOT_STARTED, "not attempted"),
    ]
    assert info.value.message == (
        "interrupted: 1 change applied, 3 not; run `certgov plan` to see what remains"
    )
    assert info.value.exit_code == 130
    assert [a["name"] for a in fake.accounts.values()] == []


def test_a_stale_plan_names_changed_rules_by_action(
    fake: FakeApi, client: ClmClient, stores: dict[str, SecretStore]
) -> None:
    made = fake.add_policy("p", is_enabled=True, rules=RULES)
    document = document_for(client, policy("p", description="new"))
    made["rules"] = [{"action": "disable_wildcard", "fail": "soft"}]
    fake.revisions[str(made["id"])] += 1
    with pytest.raises(StalePlanError) as info:
        run(document, Operations.over(client), stores)
    assert info.value.message == (
        "the plan is stale; make a new plan. Changed since the plan:\n"
        "  Policy/p: changed since the plan (rules.disable_wildcard.fail: 'hard' → 'soft')"
    )
