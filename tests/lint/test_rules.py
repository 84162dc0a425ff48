"""Each rule's positive and negative case, on small repositories built per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from certgov.declarations import load
from certgov.lint.accounts import is_local_server
from tests.lint.helpers import (
    CONFIG,
    account,
    commit_all,
    lines,
    policy,
    run_lint,
    write_repo,
)

ACCOUNT_HEAD = "apiVersion: certgov/v1\nkind: ServiceAccount\nname: svc\n"
SECRET = "secret: {store: local, path: svc, rotate_after: 90d}\n"


def account_repo(tmp_path: Path, body: str) -> Path:
    return write_repo(tmp_path / "repo", {"a.yaml": ACCOUNT_HEAD + body})


FULL = (
    "description: d\nscopes: [read]\nip_allowlist: [203.0.113.0/24]\n"
    "expires_at: 2027-06-30\n" + SECRET
)


def test_a_well_declared_account_and_policy_have_no_findings(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": ACCOUNT_HEAD + FULL, "p.yaml": policy("P")})
    assert lines(run_lint(repo)) == []


def test_cg001_admin_scope(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("scopes: [read]", "scopes: [read, admin]"))
    assert lines(run_lint(repo)) == [
        "a.yaml:5:16: warning CG001 ServiceAccount/svc has the admin scope; grant write or"
        " read unless it administers service accounts"
    ]


def test_cg001_write_scope_is_fine(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("scopes: [read]", "scopes: [write]"))
    assert lines(run_lint(repo), "CG001") == []


def test_cg002_no_expiry(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("expires_at: 2027-06-30\n", ""))
    assert lines(run_lint(repo)) == [
        "a.yaml:3:7: warning CG002 ServiceAccount/svc never expires; set expires_at to when"
        " it should be reviewed"
    ]


def test_cg003_empty_allowlist(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("[203.0.113.0/24]", "[]"))
    assert lines(run_lint(repo)) == [
        "a.yaml:6:15: warning CG003 ServiceAccount/svc accepts logins from any address; list"
        " its callers' addresses or ranges in ip_allowlist"
    ]


def test_cg003_missing_allowlist_is_empty_too(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("ip_allowlist: [203.0.113.0/24]\n", ""))
    assert lines(run_lint(repo)) == [
        "a.yaml:3:7: warning CG003 ServiceAccount/svc accepts logins from any address; list"
        " its callers' addresses or ranges in ip_allowlist"
    ]


def test_cg004_addresses_in_one_24_suggest_their_range(tmp_path: Path) -> None:
    allow = "[198.51.100.5, 192.0.2.4, 192.0.2.5, 192.0.2.6, 192.0.2.7]"
    repo = account_repo(tmp_path, FULL.replace("[203.0.113.0/24]", allow))
    assert lines(run_lint(repo)) == [
        "a.yaml:6:30: note CG004 ServiceAccount/svc lists 4 single IPv4 addresses that"
        " 192.0.2.4/30 covers (exactly those addresses); list that range instead"
    ]


def test_cg004_far_apart_addresses_are_left_alone(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("[203.0.113.0/24]", "[192.0.2.1, 198.51.100.1]"))
    assert lines(run_lint(repo), "CG004") == []


def test_cg004_ipv6_addresses_within_a_64(tmp_path: Path) -> None:
    allow = '["2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"]'
    repo = account_repo(tmp_path, FULL.replace("[203.0.113.0/24]", allow))
    assert lines(run_lint(repo)) == [
        "a.yaml:6:16: note CG004 ServiceAccount/svc lists 4 single IPv6 addresses that"
        " 2001:db8::/125 covers (and 4 more addresses); list that range instead"
    ]


def test_cg004_an_exact_cover_says_so(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("[203.0.113.0/24]", "[192.0.2.6, 192.0.2.7]"))
    assert lines(run_lint(repo)) == [
        "a.yaml:6:16: note CG004 ServiceAccount/svc lists 2 single IPv4 addresses that"
        " 192.0.2.6/31 covers (exactly those addresses); list that range instead"
    ]


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        ("0.0.0.0/0", "every address"),
        ("10.0.0.0/7", "wider than /8"),
        ('"::/0"', "every address"),
        ('"2001:d00::/24"', "wider than /32"),
    ],
)
def test_cg005_too_wide(tmp_path: Path, entry: str, what: str) -> None:
    repo = account_repo(tmp_path, FULL.replace("203.0.113.0/24", entry))
    shown = entry.strip('"')
    assert lines(run_lint(repo)) == [
        f"a.yaml:6:16: error CG005 ServiceAccount/svc allows {shown} ({what}); list the"
        " ranges its callers use"
    ]


@pytest.mark.parametrize("entry", ["10.0.0.0/8", '"2001:db8::/32"'])
def test_cg005_widest_allowed_range_is_fine(tmp_path: Path, entry: str) -> None:
    repo = account_repo(tmp_path, FULL.replace("203.0.113.0/24", entry))
    assert lines(run_lint(repo), "CG005") == []


def test_cg006_no_secret(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace(SECRET, ""))
    assert lines(run_lint(repo), "CG006") == [
        "a.yaml:3:7: warning CG006 ServiceAccount/svc declares no secret.store; name a store"
        " from certgov.yaml so its secret can be rotated, then store the secret in use with"
        " `certgov secret adopt ServiceAccount/svc` so that plan does not rotate it"
    ]


def test_cg006_file_store_with_a_remote_server(tmp_path: Path) -> None:
    config = CONFIG.replace("http://127.0.0.1:8080", "https://clm.example.com")
    repo = write_repo(tmp_path / "repo", {"a.yaml": ACCOUNT_HEAD + FULL}, config=config)
    assert lines(run_lint(repo)) == [
        "a.yaml:8:17: warning CG006 ServiceAccount/svc keeps its secret in the file store"
        " 'local' while server is https://clm.example.com; use a secrets manager store"
    ]


def test_cg006_other_stores_with_a_remote_server_are_fine(tmp_path: Path) -> None:
    config = (
        "apiVersion: certgov/v1\nkind: Config\nserver: https://clm.example.com\n"
        "secret_stores:\n  local: {type: vault, url: 'https://vault.example.com'}\n"
    )
    repo = write_repo(tmp_path / "repo", {"a.yaml": ACCOUNT_HEAD + FULL}, config=config)
    assert lines(run_lint(repo)) == []


@pytest.mark.parametrize(
    ("server", "local"),
    [
        (None, True),
        ("http://localhost:8080", True),
        ("http://clm.localhost", True),
        ("http://127.0.0.2:9000", True),
        ("http://[::1]:8080", True),
        ("https://clm.example.com", False),
        ("http://192.0.2.10:8080", False),
    ],
)
def test_local_use_means_a_loopback_server(server: str | None, local: bool) -> None:
    assert is_local_server(server) is local


def test_cg007_no_rotate_after(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace(", rotate_after: 90d", ""))
    assert lines(run_lint(repo)) == [
        "a.yaml:8:9: warning CG007 ServiceAccount/svc has no secret.rotate_after; set one, e.g. 90d"
    ]


def test_cg007_rotate_after_over_a_year(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("rotate_after: 90d", "rotate_after: 366d"))
    assert lines(run_lint(repo)) == [
        "a.yaml:8:49: warning CG007 ServiceAccount/svc rotates its secret only every 366"
        " days; set rotate_after to 365d or less"
    ]


def test_cg007_a_year_exactly_is_fine(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("rotate_after: 90d", "rotate_after: 365d"))
    assert lines(run_lint(repo), "CG007") == []


def test_cg008_shared_secret_path(tmp_path: Path) -> None:
    b = account("b", "Other").replace("path: b", "path: a")
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a"), "b.yaml": b})
    assert lines(run_lint(repo)) == [
        "b.yaml:8:30: warning CG008 ServiceAccount/b writes its secret to local:a like"
        " ServiceAccount/a; give each account its own path"
    ]


def test_cg008_same_shape_suggests_one_integration(tmp_path: Path) -> None:
    repo = write_repo(
        tmp_path / "repo", {"a.yaml": account("a", "Same"), "b.yaml": account("b", "Same")}
    )
    assert lines(run_lint(repo)) == [
        "b.yaml:3:7: warning CG008 ServiceAccount/b has the same scopes, ip_allowlist and"
        " description as ServiceAccount/a; one integration should have one account"
    ]


def test_cg008_different_descriptions_are_different_integrations(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": account("a"), "b.yaml": account("b")})
    assert lines(run_lint(repo)) == []


def test_cg009_enabled_policy_without_tests(tmp_path: Path) -> None:
    text = policy("P").split("tests:")[0]
    repo = write_repo(tmp_path / "repo", {"p.yaml": text})
    assert lines(run_lint(repo)) == [
        "p.yaml:3:7: warning CG009 Policy/P is enabled but has no tests; add requests it"
        " should pass and refuse"
    ]


def test_cg009_disabled_policy_without_tests_is_fine(tmp_path: Path) -> None:
    text = policy("P").split("tests:")[0].replace("enabled: true", "enabled: false")
    repo = write_repo(tmp_path / "repo", {"p.yaml": text})
    assert lines(run_lint(repo)) == []


HARD = policy("P").replace("fail: soft", "fail: hard")


def test_cg010_hard_rule_without_rollout_and_without_base(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"p.yaml": HARD})
    assert lines(run_lint(repo)) == [
        "p.yaml:9:5: warning CG010 Policy/P: new hard rule enforce_minimum_key_size has no"
        " rollout; start it soft with rollout: {start: soft}"
    ]


def test_cg010_hard_rule_with_rollout_is_fine(tmp_path: Path) -> None:
    text = HARD.replace("fail: hard\n", "fail: hard\n    rollout: {start: soft}\n")
    repo = write_repo(tmp_path / "repo", {"p.yaml": text})
    assert lines(run_lint(repo)) == []


def test_cg010_rule_already_at_the_base_is_not_new(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"p.yaml": policy("P")})
    commit_all(repo)
    base = load(repo, ref="HEAD").state
    (repo / "p.yaml").write_text(
        HARD.replace("rules:\n", "rules:\n  - action: block_ca_flag\n    fail: hard\n")
    )
    assert lines(run_lint(repo, base)) == [
        "p.yaml:9:5: warning CG010 Policy/P: new hard rule block_ca_flag has no rollout;"
        " start it soft with rollout: {start: soft}"
    ]


def test_cg010_base_found_under_a_previous_name(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"p.yaml": HARD})
    commit_all(repo)
    base = load(repo, ref="HEAD").state
    (repo / "p.yaml").write_text(HARD.replace("name: P\n", "name: Q\nprevious_names: [P]\n"))
    assert lines(run_lint(repo, base)) == []


def test_cg011_apex_wildcard_in_a_blocking_policy(tmp_path: Path) -> None:
    text = HARD.replace(
        "domains: [api.example.org]", 'domains: ["*.example.co.uk", "*.api.example.org"]'
    ).replace("fail: hard\n", "fail: hard\n    rollout: {start: soft}\n")
    text = text.replace("api.example.org, key", "api.example.co.uk, key")
    repo = write_repo(tmp_path / "repo", {"p.yaml": text})
    assert lines(run_lint(repo)) == [
        "p.yaml:7:13: warning CG011 Policy/P applies hard rules to *.example.co.uk, every"
        " name under the registrable domain; list the subdomains it is meant for"
    ]


def test_cg011_apex_wildcard_with_soft_rules_only_is_fine(tmp_path: Path) -> None:
    text = policy("P", domains='"*.example.org"')
    repo = write_repo(tmp_path / "repo", {"p.yaml": text})
    assert lines(run_lint(repo)) == []


def test_cg011_too_many_patterns(tmp_path: Path) -> None:
    domains = ", ".join(f"h{i}.example.org" for i in range(21))
    repo = write_repo(tmp_path / "repo", {"p.yaml": policy("P", domains, "h1.example.org")})
    assert lines(run_lint(repo)) == [
        "p.yaml:7:12: warning CG011 Policy/P lists 21 domain patterns (more than 20); split"
        " it into policies with one purpose each"
    ]


def test_cg011_twenty_patterns_are_fine(tmp_path: Path) -> None:
    domains = ", ".join(f"h{i}.example.org" for i in range(20))
    repo = write_repo(tmp_path / "repo", {"p.yaml": policy("P", domains, "h1.example.org")})
    assert lines(run_lint(repo)) == []


STRICT = policy("Strict", '"*.example.org"').replace("minimum_bits: 2048", "minimum_bits: 3072")


def test_cg014_policy_shadowed_by_a_stricter_wider_one(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": STRICT, "b.yaml": policy("Loose")})
    assert lines(run_lint(repo)) == [
        "b.yaml:3:7: warning CG014 Policy/Loose never changes a result: Policy/Strict covers"
        " all its domains with rules at least as strict; remove it or make it differ"
    ]


def test_cg014_of_two_equal_policies_only_the_later_name_is_reported(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": policy("A"), "b.yaml": policy("B")})
    assert lines(run_lint(repo)) == [
        "b.yaml:3:7: warning CG014 Policy/B never changes a result: Policy/A covers all its"
        " domains with rules at least as strict; remove it or make it differ"
    ]


@pytest.mark.parametrize(
    ("loose", "why"),
    [
        (policy("Loose").replace("minimum_bits: 2048", "minimum_bits: 4096"), "stricter value"),
        (policy("Loose").replace("fail: soft", "fail: hard"), "hard against soft"),
        (policy("Loose", "api.example.net", "api.example.net"), "domain not covered"),
        (
            policy("Loose").replace(
                "rules:\n", "rules:\n  - action: require_san\n    fail: soft\n"
            ),
            "rule the other lacks",
        ),
        (
            policy("Loose").replace("certificate.generate", "certificate.renew"),
            "another action",
        ),
    ],
)
def test_cg014_not_shadowed(tmp_path: Path, loose: str, why: str) -> None:
    repo = write_repo(tmp_path / "repo", {"a.yaml": STRICT, "b.yaml": loose})
    assert lines(run_lint(repo), "CG014") == [], why


def test_cg014_pattern_relative_rules_need_the_same_patterns(tmp_path: Path) -> None:
    extra = "rules:\n  - action: block_other_domains\n    fail: soft\n"
    strict = STRICT.replace("rules:\n", extra)
    loose = policy("Loose").replace("rules:\n", extra)
    repo = write_repo(tmp_path / "repo", {"a.yaml": strict, "b.yaml": loose})
    assert lines(run_lint(repo), "CG014") == []


def test_cg014_value_lists_and_subject_values_compare_as_sets(tmp_path: Path) -> None:
    def with_rules(text: str, rules: str) -> str:
        return text.replace("rules:\n", "rules:\n" + rules)

    strict_rules = (
        "  - action: enforce_key_usage\n    fail: soft\n"
        "    values: {key_usage: [digitalSignature, keyEncipherment]}\n"
        "  - action: enforce_values\n    fail: soft\n    values: {organization: X, country: NZ}\n"
    )
    loose_rules = (
        "  - action: enforce_key_usage\n    fail: soft\n    values: {key_usage: [digitalSignature]}\n"
        "  - action: enforce_values\n    fail: soft\n    values: {country: NZ}\n"
    )
    repo = write_repo(
        tmp_path / "repo",
        {
            "a.yaml": with_rules(STRICT, strict_rules),
            "b.yaml": with_rules(policy("Loose"), loose_rules),
        },
    )
    assert lines(run_lint(repo), "CG014") == [
        "b.yaml:3:7: warning CG014 Policy/Loose never changes a result: Policy/Strict covers"
        " all its domains with rules at least as strict; remove it or make it differ"
    ]


def test_cg014_a_disabled_stricter_policy_shadows_nothing(tmp_path: Path) -> None:
    strict = STRICT.replace("enabled: true", "enabled: false")
    repo = write_repo(tmp_path / "repo", {"a.yaml": strict, "b.yaml": policy("Loose")})
    assert lines(run_lint(repo), "CG014") == []


def test_cg013_expires_within_30_days(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("2027-06-30", "2026-12-30"))
    assert lines(run_lint(repo)) == [
        "a.yaml:7:13: warning CG013 ServiceAccount/svc expires on 2026-12-30, in 29 days;"
        " extend expires_at or move its integration to a replacement"
    ]


def test_cg013_one_day_left(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("2027-06-30", "2026-12-02T12:00:00Z"))
    assert lines(run_lint(repo)) == [
        "a.yaml:7:13: warning CG013 ServiceAccount/svc expires on 2026-12-02, in 1 day;"
        " extend expires_at or move its integration to a replacement"
    ]


def test_cg013_expired(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("2027-06-30", "2026-12-01"))
    assert lines(run_lint(repo)) == [
        "a.yaml:7:13: warning CG013 ServiceAccount/svc expired on 2026-12-01; extend"
        " expires_at or remove the account"
    ]


def test_cg013_thirty_days_left_is_fine(tmp_path: Path) -> None:
    repo = account_repo(tmp_path, FULL.replace("2027-06-30", "2026-12-31"))
    assert lines(run_lint(repo)) == []
