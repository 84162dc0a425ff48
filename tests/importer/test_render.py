"""The pure part of import: file names, documents, and files that load back to the same State."""

from __future__ import annotations

from pathlib import Path

import pytest

from certgov.client import live_resource
from certgov.declarations import load
from certgov.errors import UsageError
from certgov.importer import render_files, safe_stem, unique_stems, write_files
from certgov.state import POLICY, SERVICE_ACCOUNT, State

SERVER = "http://127.0.0.1:8080"

ACCOUNTS = [
    {
        "uuid": "11111111-1111-4111-8111-111111111111",
        "client_id": "svc_" + "a" * 32,
        "name": "ci: policy validation #1",
        "description": "Dry-runs policies; 'quoted' and \"double\"",
        "scopes": ["read"],
        "ip_allowlist": ["203.0.113.0/24", "2001:db8::1"],
        "expires_at": "2027-06-30T00:00:00+00:00",
        "is_active": True,
    },
    {
        "uuid": "22222222-2222-4222-8222-222222222222",
        "client_id": "svc_" + "b" * 32,
        "name": "CI: Policy Validation 1",
        "description": "",
        "scopes": ["read", "write", "admin"],
        "ip_allowlist": [],
        "expires_at": None,
        "is_active": False,
    },
]
POLICIES = [
    {
        "id": 1,
        "name": "Production Security Baseline",
        "description": "prod",
        "is_enabled": True,
        "matching_criteria": {
            "action": "certificate.generate",
            "domains": ["prod.example.com", "*.prod.example.com", "xn--bcher-kva.example"],
        },
        "rules": [
            {
                "action": "enforce_minimum_key_size",
                "fail": "hard",
                "values": {"minimum_bits": "3072"},
            },
            {
                "action": "enforce_values",
                "fail": "soft",
                "values": {"organization": "Example Ltd", "country": "NZ"},
            },
            {
                "action": "enforce_key_usage",
                "fail": "hard",
                "values": {
                    "key_usage": ["digitalSignature"],
                    "extended_key_usage": ["serverAuth", "clientAuth"],
                },
            },
            {"action": "disable_wildcard", "fail": "soft"},
        ],
    },
    {
        "id": 2,
        "name": "renewals: 30 days",
        "description": "",
        "is_enabled": False,
        "matching_criteria": {"action": "certificate.renew", "domains": ["api.example.org"]},
        "rules": [{"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": "30"}}],
    },
]


def live_state() -> State:
    return State.build(
        [live_resource(SERVICE_ACCOUNT, a) for a in ACCOUNTS]
        + [live_resource(POLICY, p) for p in POLICIES]
    )


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Production Security Baseline", "production-security-baseline"),
        ("ci: policy validation #1", "ci-policy-validation-1"),
        ("../../etc/passwd", "etc-passwd"),
        ("Bücher ünd Ärger", "bucher-und-arger"),
        ("日本", "unnamed"),
        ("CON", "con-object"),
        ("x" * 100, "x" * 80),
    ],
)
def test_file_names_are_safe(name: str, stem: str) -> None:
    assert safe_stem(name) == stem


def test_file_names_are_unique_ignoring_case() -> None:
    assert unique_stems(["A b", "a-b", "A_B", "c"]) == {
        "A b": "a-b",
        "a-b": "a-b-2",
        "A_B": "a-b-3",
        "c": "c",
    }


@pytest.mark.parametrize("split", ["per-object", "per-kind"])
def test_imported_files_load_back_to_the_live_specs(tmp_path: Path, split: str) -> None:
    live = live_state()
    write_files(tmp_path, render_files(live, server=SERVER, split=split))  # type: ignore[arg-type]
    desired = load(tmp_path).state
    assert {r.address: dict(r.spec) for r in desired} == {r.address: dict(r.spec) for r in live}
    assert [r.meta["secret"] for r in desired.of_kind(SERVICE_ACCOUNT)] == [None, None]


def test_per_object_layout(tmp_path: Path) -> None:
    files = render_files(live_state(), server=SERVER)
    assert sorted(files) == [
        "certgov.yaml",
        "policies/production-security-baseline.yaml",
        "policies/renewals-30-days.yaml",
        "schemas/certgov.json",
        "schemas/config.json",
        "schemas/policy.json",
        "schemas/service-account.json",
        "service-accounts/ci-policy-validation-1-2.yaml",
        "service-accounts/ci-policy-validation-1.yaml",
    ]


def test_an_account_file_marks_the_secret_to_fill_in() -> None:
    files = render_files(live_state(), server=SERVER, kinds=[SERVICE_ACCOUNT])
    assert files["service-accounts/ci-policy-validation-1-2.yaml"] == (
        "# yaml-language-server: $schema=../schemas/service-account.json\n"
        "apiVersion: certgov/v1\n"
        "kind: ServiceAccount\n"
        "name: 'ci: policy validation #1'\n"
        "description: Dry-runs policies; 'quoted' and \"double\"\n"
        "scopes:\n"
        "- read\n"
        "ip_allowlist:\n"
        "- 203.0.113.0/24\n"
        "- 2001:db8::1\n"
        "expires_at: '2027-06-30T00:00:00+00:00'\n"
        "enabled: true\n"
        "# FILL IN before this account's next secret rotation: the live secret cannot be read\n"
        "# back, so certgov import leaves it where it is. Name a store from secret_stores in\n"
        "# certgov.yaml and uncomment (certgov lint CG006 lists the accounts still without one),\n"
        "# then hand certgov the secret in use, so that plan does not rotate it:\n"
        "#   certgov secret adopt 'ServiceAccount/ci: policy validation #1' --from-env SECRET"
        "   (or the secret on stdin)\n"
        "# secret:\n"
        "#   store: FILL-IN\n"
        '#   path: "clm/ci: policy validation #1"\n'
        "#   rotate_after: 90d\n"
    )


def test_a_policy_file_writes_numbers_as_numbers() -> None:
    files = render_files(live_state(), server=SERVER, kinds=[POLICY])
    assert files["policies/renewals-30-days.yaml"] == (
        "# yaml-language-server: $schema=../schemas/policy.json\n"
        "apiVersion: certgov/v1\n"
        "kind: Policy\n"
        "name: 'renewals: 30 days'\n"
        "enabled: false\n"
        "matching_criteria:\n"
        "  action: certificate.renew\n"
        "  domains:\n"
        "  - api.example.org\n"
        "rules:\n"
        "- action: enforce_max_validity\n"
        "  fail: hard\n"
        "  values:\n"
        "    max_days: 30\n"
    )
    assert not any(rel.startswith("service-accounts") for rel in files)


def test_per_kind_puts_each_kind_in_one_file() -> None:
    files = render_files(live_state(), server=SERVER, split="per-kind")
    kinds = [rel for rel in files if not rel.startswith("schemas/")]
    assert sorted(kinds) == ["certgov.yaml", "policies.yaml", "service-accounts.yaml"]
    assert files["policies.yaml"].count("\n---\n") == 1


def test_no_file_holds_a_client_id_or_secret() -> None:
    text = "".join(render_files(live_state(), server=SERVER).values())
    assert "svc_" not in text
    assert "1111-4111" not in text


def test_existing_files_are_not_overwritten(tmp_path: Path) -> None:
    files = render_files(live_state(), server=SERVER)
    target = tmp_path / "policies" / "renewals-30-days.yaml"
    target.parent.mkdir()
    target.write_text("mine\n")
    with pytest.raises(UsageError) as caught:
        write_files(tmp_path, files)
    assert caught.value.message == (
        f"{tmp_path}: 1 file would be overwritten (policies/renewals-30-days.yaml);"
        " pass --force to overwrite"
    )
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["renewals-30-days.yaml"]


def test_force_overwrites_but_keeps_certgov_yaml(tmp_path: Path) -> None:
    files = render_files(live_state(), server=SERVER)
    (tmp_path / "certgov.yaml").write_text("apiVersion: certgov/v1\nkind: Config\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "renewals-30-days.yaml").write_text("mine\n")
    result = write_files(tmp_path, files, force=True)
    assert result.kept == ("certgov.yaml",)
    assert "policies/renewals-30-days.yaml" in result.written
    assert (tmp_path / "certgov.yaml").read_text() == "apiVersion: certgov/v1\nkind: Config\n"
    assert (tmp_path / "policies" / "renewals-30-days.yaml").read_text() == files[
        "policies/renewals-30-days.yaml"
    ]


def test_a_second_identical_import_changes_nothing(tmp_path: Path) -> None:
    files = render_files(live_state(), server=SERVER)
    write_files(tmp_path, files)
    again = write_files(tmp_path, files)
    assert (again.written, again.kept) == ((), ("certgov.yaml",))
    assert len(again.unchanged) == len(files) - 1


def test_many_conflicts_are_summarised(tmp_path: Path) -> None:
    files = {f"f{i}.yaml": "new\n" for i in range(7)}
    for rel in files:
        (tmp_path / rel).write_text("old\n")
    with pytest.raises(UsageError) as caught:
        write_files(tmp_path, files)
    assert caught.value.message == (
        f"{tmp_path}: 7 files would be overwritten (f0.yaml, f1.yaml, f2.yaml, f3.yaml,"
        " f4.yaml and 2 more); pass --force to overwrite"
    )
