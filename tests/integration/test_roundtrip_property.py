"""Property: any valid declarations, applied to the real server and planned again, give no
changes. This finds every normalisation mismatch between what YAML says and what the API answers
(case, trailing dots, IDNs, number strings, list order, dates)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certgov.cli import cli
from certgov.rules.catalogue import CATALOGUE, ValueSpec
from tests.integration.conftest import LiveServer

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10).filter(
    lambda s: not s.startswith("-")
)
# Spellings of one name that must all normalise alike: case, a trailing dot, an IDN.
DOMAIN = st.builds(
    lambda label, style: {
        "plain": f"{label}.example.com",
        "upper": f"{label.upper()}.Example.COM",
        "dot": f"{label}.example.com.",
        "wild": f"*.{label}.example.com",
        "idn": f"{label}.bücher.example",
    }[style],
    LABEL,
    st.sampled_from(["plain", "upper", "dot", "wild", "idn"]),
)
TEXT = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs")), max_size=40).map(
    str.strip
)
NETWORK = st.builds(
    lambda a, b, prefix: f"10.{a}.{b}.0/{prefix}" if prefix <= 24 else f"10.{a}.{b}.7",
    st.integers(0, 255),
    st.integers(0, 255),
    st.sampled_from([24, 32]),
)


def value_for(spec: ValueSpec) -> st.SearchStrategy[Any]:
    if spec.type == "int":
        assert spec.minimum is not None
        assert spec.maximum is not None
        number = st.integers(spec.minimum, spec.maximum)
        return st.one_of(number, number.map(str))
    if spec.type == "enum":
        return st.sampled_from(spec.choices)
    if spec.type == "enum_list":
        return st.lists(st.sampled_from(spec.choices), min_size=1, unique=True)
    if spec.type == "country":
        return st.sampled_from(["NZ", "AU", "DE", "US"])
    if spec.type == "domain":
        return LABEL.map(lambda label: f"{label}.example.com")
    return TEXT.filter(bool)


@st.composite
def rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    specs = draw(
        st.lists(st.sampled_from(CATALOGUE), min_size=1, max_size=6, unique_by=lambda s: s.action)
    )
    out = []
    for spec in specs:
        rule: dict[str, Any] = {
            "action": spec.action,
            "fail": draw(st.sampled_from(["hard", "soft"])),
        }
        keys = list(spec.required) or draw(
            st.lists(st.sampled_from(spec.value_keys), min_size=spec.min_values, unique=True)
            if spec.value_keys
            else st.just([])
        )
        by_key = {v.key: v for v in spec.values}
        if keys:
            rule["values"] = {k: draw(value_for(by_key[k])) for k in keys}
        out.append(rule)
    bounds = {
        r["action"]: r
        for r in out
        if r["action"] in ("enforce_min_validity", "enforce_max_validity")
    }
    if len(bounds) == 2:
        bounds["enforce_min_validity"]["values"] = {"min_days": 1}
        bounds["enforce_max_validity"]["values"] = {"max_days": 3650}
    return out


@st.composite
def declarations(draw: st.DrawFn) -> list[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    docs: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 3))):
        doc: dict[str, Any] = {
            "apiVersion": "certgov/v1",
            "kind": "ServiceAccount",
            "name": f"acct-{tag}-{i}",
            "description": draw(TEXT),
            "scopes": draw(
                st.lists(st.sampled_from(["admin", "write", "read"]), min_size=1, unique=True)
            ),
            "ip_allowlist": draw(st.lists(NETWORK, max_size=3, unique=True)),
            "enabled": draw(st.booleans()),
        }
        if draw(st.booleans()):
            doc["expires_at"] = draw(
                st.sampled_from(["2030-01-31", "2031-06-30T12:30:00Z", "2032-02-29T23:59:59+05:30"])
            )
        docs.append(doc)
    for i in range(draw(st.integers(1, 3))):
        docs.append(
            {
                "apiVersion": "certgov/v1",
                "kind": "Policy",
                "name": f"Policy {tag} {i}",
                "description": draw(TEXT),
                "enabled": draw(st.booleans()),
                "matching_criteria": {
                    "action": draw(st.sampled_from(["certificate.generate", "certificate.renew"])),
                    "domains": draw(st.lists(DOMAIN, min_size=1, max_size=4, unique=True)),
                },
                "rules": draw(rules()),
            }
        )
    return docs


@settings(
    max_examples=int(os.environ.get("CERTGOV_ROUNDTRIP_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(docs=declarations())
def test_any_valid_declarations_plan_no_changes_after_apply(
    live_sqlite: LiveServer, tmp_path: Path, docs: list[dict[str, Any]]
) -> None:
    repo = tmp_path / f"repo-{uuid.uuid4().hex[:8]}"
    repo.mkdir()
    (repo / "certgov.yaml").write_text("apiVersion: certgov/v1\nkind: Config\n")
    (repo / "objects.yaml").write_text(
        yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)
    )
    validated = CliRunner().invoke(cli, ["validate", str(repo)])
    assert validated.exit_code == 0, validated.output
    applied = live_sqlite.cli("apply", str(repo), "--auto-approve", "--backtest-days", "0")
    assert applied.exit_code == 0, applied.output
    again = live_sqlite.cli("plan", str(repo), "--detailed-exitcode", "--backtest-days", "0")
    assert again.exit_code == 0, again.output
