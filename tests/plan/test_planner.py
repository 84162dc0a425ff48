"""The pure planner, one behaviour per test."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from certgov.diff import DiffEntry
from certgov.plan import Facts, KindOptions, PlanOptions, UnsafePlanError, plan
from certgov.plan.model import (
    DECLARED_BUT_IGNORED,
    DELETE_GRACE,
    OWN_ACCOUNT,
    Change,
    Held,
    SecretTarget,
    StoreRecordMeta,
)
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State
from tests.plan.helpers import SECRET, account, policy, with_meta

NOW = Facts(now=datetime(2026, 6, 1, tzinfo=UTC))
DEFAULT = PlanOptions()


def actions(p: object) -> list[tuple[str, str, str]]:
    return [(c.action, c.kind, c.name) for c in p.changes]  # type: ignore[attr-defined]


def test_plan_is_empty_when_desired_equals_live() -> None:
    desired = State.build([account("ci"), policy("base")])
    live = State.build([account("ci", live=True), policy("base", live=True)])
    result = plan(desired, live, NOW, DEFAULT)
    assert result.changes == ()
    assert result.unchanged == 2
    assert result.summary()["unchanged"] == 2


def test_plan_creates_missing_objects_with_steps() -> None:
    desired = State.build([account("ci", meta={"secret": SECRET}), policy("base")])
    result = plan(desired, State.build([]), NOW, DEFAULT)
    assert actions(result) == [("create", POLICY, "base"), ("create", SERVICE_ACCOUNT, "ci")]
    pol, acct = result.changes
    assert pol.steps == (
        "create disabled",
        "prove by a dry-run probe (no tests declared)",
        "enable",
    )
    assert pol.before is None
    assert pol.after == desired.get(POLICY, "base").spec
    assert acct.secret == SecretTarget("local", "clm/ci")
    assert acct.steps == ("create", "store the generated secret")


def test_plan_creates_disabled_policy_without_enable_step() -> None:
    desired = State.build([policy("base", enabled=False)])
    (change,) = plan(desired, State.build([]), NOW, DEFAULT).changes
    assert change.steps == ("create disabled", "prove by a dry-run probe (no tests declared)")


@pytest.mark.parametrize(
    ("field", "desired_value", "path", "before", "after"),
    [
        ("description", "new", "description", "", "new"),
        ("scopes", ["read", "write"], "scopes", ["read"], ["read", "write"]),
        ("ip_allowlist", ["10.0.0.0/8"], "ip_allowlist", [], ["10.0.0.0/8"]),
        (
            "expires_at",
            "2027-01-01",
            "expires_at",
            None,
            "2027-01-01T00:00:00+00:00",
        ),
    ],
)
def test_plan_updates_each_account_field(
    field: str, desired_value: object, path: str, before: object, after: object
) -> None:
    desired = State.build([account("ci", **{field: desired_value})])
    live = State.build([account("ci", live=True)])
    (change,) = plan(desired, live, NOW, DEFAULT).changes
    assert change.action == "update"
    assert change.diff == (DiffEntry(path, before, after),)
    assert change.observed is not None
    assert change.observed.id == "uuid-ci"
    assert change.observed.etag == '"uuid-ci-1"'


def test_plan_updates_a_rule_item_by_item() -> None:
    desired = State.build([policy("base", rules=[{"action": "disable_wildcard", "fail": "soft"}])])
    live = State.build([policy("base", live=True)])
    (change,) = plan(desired, live, NOW, DEFAULT).changes
    assert change.action == "update"
    assert change.diff == (DiffEntry("rules.disable_wildcard.fail", "hard", "soft"),)


def test_plan_updates_domains_as_a_whole_list() -> None:
    desired = State.build(
        [
            policy(
                "base",
                matching_criteria={
                    "action": "certificate.generate",
                    "domains": ["example.com", "*.example.com"],
                },
            )
        ]
    )
    live = State.build([policy("base", live=True)])
    (change,) = plan(desired, live, NOW, DEFAULT).changes
    assert change.diff == (
        DiffEntry("matching_criteria.domains", ["example.com"], ["*.example.com", "example.com"]),
    )


def test_plan_enables_and_disables_when_only_enabled_differs() -> None:
    desired = State.build([account("ci", enabled=False), policy("base", enabled=True)])
    live = State.build([account("ci", live=True), policy("base", live=True, is_enabled=False)])
    assert actions(plan(desired, live, NOW, DEFAULT)) == [
        ("enable", POLICY, "base"),
        ("disable", SERVICE_ACCOUNT, "ci"),
    ]


def test_plan_renames_instead_of_delete_and_create() -> None:
    desired = State.build([with_meta(account("ci-new"), previous_names=["ci-old"])])
    live = State.build([account("ci-old", live=True)])
    result = plan(desired, live, NOW, PlanOptions(manage={SERVICE_ACCOUNT: KindOptions("delete")}))
    (change,) = result.changes
    assert change.action == "rename"
    assert change.name == "ci-new"
    assert change.diff == (DiffEntry("name", "ci-old", "ci-new"),)
    assert change.observed is not None
    assert change.observed.id == "uuid-ci-old"
    assert result.unmanaged == ()


def test_plan_does_not_rename_when_the_new_name_exists() -> None:
    desired = State.build([with_meta(account("ci-new"), previous_names=["ci-old"])])
    live = State.build([account("ci-old", live=True), account("ci-new", live=True)])
    result = plan(desired, live, NOW, DEFAULT)
    assert result.changes == ()
    assert result.unmanaged == ("ServiceAccount/ci-old",)


def test_plan_leaves_unmanaged_objects_alone_without_prune() -> None:
    live = State.build([account("stray", live=True), policy("old", live=True)])
    result = plan(State.build([]), live, NOW, DEFAULT)
    assert result.changes == ()
    assert result.unmanaged == ("Policy/old", "ServiceAccount/stray")


def test_plan_prune_disable_disables_enabled_unmanaged_objects() -> None:
    live = State.build([account("stray", live=True), account("off", live=True, is_active=False)])
    opts = PlanOptions(manage={SERVICE_ACCOUNT: KindOptions("disable")})
    result = plan(State.build([]), live, NOW, opts)
    assert actions(result) == [("disable", SERVICE_ACCOUNT, "stray")]
    assert result.changes[0].diff == (DiffEntry("enabled", True, False),)


def test_plan_disables_an_account_before_it_is_ever_deleted() -> None:
    live = State.build([account("stray", live=True), account("off", live=True, is_active=False)])
    opts = PlanOptions(manage={SERVICE_ACCOUNT: KindOptions("delete")})
    assert actions(plan(State.build([]), live, NOW, opts)) == [
        ("delete", SERVICE_ACCOUNT, "off"),
        ("disable", SERVICE_ACCOUNT, "stray"),
    ]


def test_plan_prune_delete_disables_a_policy_before_it_is_ever_deleted() -> None:
    live = State.build([policy("old", live=True)])
    opts = PlanOptions(manage={POLICY: KindOptions("delete")})
    assert actions(plan(State.build([]), live, NOW, opts)) == [("disable", POLICY, "old")]


@pytest.mark.parametrize("kind", [POLICY, SERVICE_ACCOUNT])
def test_plan_prune_delete_waits_out_the_grace_period_after_disabling(kind: str) -> None:
    make = policy if kind == POLICY else account
    disabled = {"is_enabled": False} if kind == POLICY else {"is_active": False}
    recent = with_meta(
        make("new-off", live=True, **disabled), updated_at="2026-05-30T00:00:00+00:00"
    )
    old = with_meta(make("old-off", live=True, **disabled), updated_at="2026-05-20T00:00:00+00:00")
    opts = PlanOptions(manage={kind: KindOptions("delete", delete_after=timedelta(days=7))})
    result = plan(State.build([]), State.build([recent, old]), NOW, opts)
    assert actions(result) == [("delete", kind, "old-off")]
    assert result.held == (
        Held(
            f"{kind}/new-off",
            "delete",
            DELETE_GRACE,
            "not declared, and disabled (last changed 2026-05-30T00:00:00+00:00); deleted by a "
            "plan from 2026-06-06T00:00:00+00:00, once it has stayed disabled for delete_after "
            "(7 days)",
        ),
    )


def test_plan_never_touches_ignored_objects() -> None:
    desired = State.build([account("legacy-a", description="x")])
    live = State.build([account("legacy-a", live=True), account("legacy-b", live=True)])
    opts = PlanOptions(manage={SERVICE_ACCOUNT: KindOptions("delete", ignore=("legacy-*",))})
    result = plan(desired, live, NOW, opts)
    assert result.changes == ()
    assert result.ignored == ("ServiceAccount/legacy-a", "ServiceAccount/legacy-b")


def test_plan_refuses_a_mass_change() -> None:
    live = State.build([policy(f"p{i:02}", live=True) for i in range(10)])
    desired = State.build([policy(f"p{i:02}") for i in range(6)])
    opts = PlanOptions(manage={POLICY: KindOptions("delete")})
    with pytest.raises(UnsafePlanError) as info:
        plan(desired, live, NOW, opts)
    assert info.value.message == (
        "refusing a mass change: 4 of 10 Policy objects (40%) would be disabled or deleted, "
        "more than the 30% allowed by safety.max_changes_fraction. Check the declarations "
        "and the manage.prune settings; if this is intended, run again with "
        "--allow-mass-change."
    )


def test_plan_allows_a_mass_change_when_asked() -> None:
    live = State.build([policy(f"p{i:02}", live=True) for i in range(10)])
    opts = PlanOptions(manage={POLICY: KindOptions("delete")}, allow_mass_change=True)
    assert len(plan(State.build([]), live, NOW, opts).changes) == 10


def test_plan_allows_mass_change_below_min_objects() -> None:
    live = State.build([policy(f"p{i}", live=True) for i in range(9)])
    opts = PlanOptions(manage={POLICY: KindOptions("delete")})
    assert len(plan(State.build([]), live, NOW, opts).changes) == 9


def test_plan_rotates_a_never_used_account_whose_store_has_no_record() -> None:
    desired = State.build([account("ci", meta={"secret": SECRET})])
    live = State.build([account("ci", live=True)])
    facts = Facts(now=NOW.now, store_records={"ci": None})
    (change,) = plan(desired, live, facts, DEFAULT).changes
    assert (change.action, change.missing_secret, change.never_used) == ("rotate", False, True)
    assert change.reason == "the store local has no record at clm/ci; the account was never used"
    assert Change.from_json(change.to_json()) == change
    assert change.secret == SecretTarget("local", "clm/ci")


def test_plan_marks_the_rotation_of_a_secret_in_use_that_the_store_has_no_record_of() -> None:
    desired = State.build([account("ci", meta={"secret": SECRET})])
    used = with_meta(account("ci", live=True), last_used_at="2026-05-31T00:00:00+00:00")
    facts = Facts(now=NOW.now, store_records={"ci": None})
    (change,) = plan(desired, State.build([used]), facts, DEFAULT).changes
    assert (change.action, change.missing_secret, change.never_used) == ("rotate", True, False)
    assert change.reason == "the store local has no record at clm/ci"


def test_plan_counts_rotations_toward_the_mass_change_guard() -> None:
    names = [f"a{i:02}" for i in range(10)]
    desired = State.build([account(n, meta={"secret": SECRET}) for n in names])
    live = State.build([account(n, live=True) for n in names])
    facts = Facts(now=NOW.now, store_records=dict.fromkeys(names[:4]))
    with pytest.raises(UnsafePlanError) as info:
        plan(desired, live, facts, DEFAULT)
    assert info.value.message.startswith(
        "refusing a mass change: 4 of 10 ServiceAccount objects (40%) would be disabled, "
        "deleted or have their secret rotated, more than the 30% allowed"
    )


@pytest.mark.parametrize(
    ("desired", "action", "why"),
    [
        (None, "disable", "it would be disabled"),
        (account("me", scopes=["read"]), "update", "its scopes would narrow"),
        (account("me", scopes=["admin"], enabled=False), "disable", "it would be disabled"),
    ],
)
def test_plan_never_cuts_off_the_account_it_is_logged_in_as(
    desired: Resource | None, action: str, why: str
) -> None:
    me = account("me", live=True, scopes=["admin"])
    opts = PlanOptions(manage={SERVICE_ACCOUNT: KindOptions("disable")})
    facts = Facts(now=NOW.now, own_account=me.meta["id"])
    result = plan(State.build([desired] if desired else []), State.build([me]), facts, opts)
    assert (result.changes, result.held) == (
        (),
        (
            Held(
                "ServiceAccount/me",
                action,
                OWN_ACCOUNT,
                f"this run is logged in as this account, and {why}: make that change as "
                "another admin account",
            ),
        ),
    )


def test_plan_holds_a_rotation_of_its_own_account_but_not_a_widening() -> None:
    me = with_meta(account("me", live=True, scopes=["read"]), client_id="svc_x")
    desired = with_meta(account("me", scopes=["read", "write"]), secret=SECRET)
    facts = Facts(now=NOW.now, store_records={"me": None}, own_account=me.meta["id"])
    result = plan(State.build([desired]), State.build([me]), facts, DEFAULT)
    assert [c.action for c in result.changes] == ["update"]
    assert [(h.action, h.hold) for h in result.held] == [("rotate", OWN_ACCOUNT)]


def test_plan_says_a_declared_object_is_ignored() -> None:
    opts = PlanOptions(manage={SERVICE_ACCOUNT: KindOptions(ignore=("legacy-*",))})
    result = plan(State.build([account("legacy-a")]), State.build([]), NOW, opts)
    assert (result.changes, result.ignored) == ((), ("ServiceAccount/legacy-a",))
    assert result.held == (
        Held(
            "ServiceAccount/legacy-a",
            None,
            DECLARED_BUT_IGNORED,
            "declared, but manage.ServiceAccount.ignore matches it, so it is not planned",
        ),
    )


def test_plan_says_a_new_accounts_secret_is_not_kept_without_a_store() -> None:
    (change,) = plan(State.build([account("ci")]), State.build([]), NOW, DEFAULT).changes
    assert change.steps == (
        "create",
        "the generated secret is not kept anywhere (no secret: is declared)",
    )


def test_plan_keys_rule_diffs_by_action_and_ignores_their_order() -> None:
    rules = [
        {"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": 30}},
        {"action": "block_ca_flag", "fail": "hard"},
    ]
    live = State.build([policy("p", live=True, rules=rules)])
    reordered = State.build([policy("p", rules=list(reversed(rules)))])
    assert plan(reordered, live, NOW, DEFAULT).changes == ()
    changed = [
        {"action": "block_ip_in_san", "fail": "hard"},
        {"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": 200}},
        {"action": "block_ca_flag", "fail": "hard"},
    ]
    (change,) = plan(State.build([policy("p", rules=changed)]), live, NOW, DEFAULT).changes
    assert change.diff == (
        DiffEntry("rules.block_ip_in_san", None, {"fail": "hard"}),
        DiffEntry("rules.enforce_max_validity.values.max_days", "30", "200"),
    )


def test_plan_shows_a_hand_made_policy_with_two_rules_of_one_action_whole() -> None:
    twice = [
        {"action": "block_ca_flag", "fail": "hard"},
        {"action": "block_ca_flag", "fail": "soft"},
    ]
    live = State.build([policy("p", live=True, rules=twice)])
    once = [{"action": "block_ca_flag", "fail": "hard"}]
    (change,) = plan(State.build([policy("p", rules=once)]), live, NOW, DEFAULT).changes
    assert [(d.path, d.before, d.after) for d in change.diff] == [
        (
            "rules",
            [
                {"action": "block_ca_flag", "fail": "hard"},
                {"action": "block_ca_flag", "fail": "soft"},
            ],
            [{"action": "block_ca_flag", "fail": "hard"}],
        )
    ]


def test_plan_rotates_when_the_record_belongs_to_another_secret() -> None:
    desired = State.build([account("ci", meta={"secret": SECRET})])
    live = State.build([account("ci", live=True)])
    stale = StoreRecordMeta("svc_ci", "2025-01-01T00:00:00+00:00")
    facts = Facts(now=NOW.now, store_records={"ci": stale})
    (change,) = plan(desired, live, facts, DEFAULT).changes
    assert change.reason == "the record at local:clm/ci does not match the account"


def test_plan_rotates_an_old_secret() -> None:
    secret = {**SECRET, "rotate_after_seconds": 90 * 86400}
    desired = State.build([account("ci", meta={"secret": secret})])
    live = State.build([account("ci", live=True)])
    current = StoreRecordMeta("svc_ci", "2026-01-01T00:00:00+00:00")
    facts = Facts(now=NOW.now, store_records={"ci": current})
    (change,) = plan(desired, live, facts, DEFAULT).changes
    assert change.reason == "secret is 151 days old; rotate_after is 90 days"


def test_plan_keeps_a_current_secret() -> None:
    secret = {**SECRET, "rotate_after_seconds": 365 * 86400}
    desired = State.build([account("ci", meta={"secret": secret})])
    live = State.build([account("ci", live=True)])
    current = StoreRecordMeta("svc_ci", "2026-01-01T00:00:00+00:00")
    facts = Facts(now=NOW.now, store_records={"ci": current})
    assert plan(desired, live, facts, DEFAULT).changes == ()


def test_plan_targets_restrict_the_changes() -> None:
    desired = State.build([account("a"), account("b")])
    opts = PlanOptions(targets=("ServiceAccount/b",))
    assert actions(plan(desired, State.build([]), NOW, opts)) == [("create", SERVICE_ACCOUNT, "b")]


def test_plan_is_deterministic_under_shuffled_input() -> None:
    desired_items = [account(f"a{i}", description=str(i)) for i in range(30)] + [
        policy(f"p{i}") for i in range(30)
    ]
    live_items = [account(f"a{i}", live=True) for i in range(0, 30, 2)] + [
        policy(f"p{i}", live=True, is_enabled=False) for i in range(0, 30, 3)
    ]
    results = set()
    for seed in range(5):
        rng = random.Random(seed)
        d, lv = desired_items[:], live_items[:]
        rng.shuffle(d)
        rng.shuffle(lv)
        results.add(repr(plan(State.build(d), State.build(lv), NOW, DEFAULT)))
    assert len(results) == 1
