"""Property: any valid declaration, dumped to YAML and loaded back, gives the same State."""

from __future__ import annotations

import ipaddress
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certgov.declarations import load
from certgov.rules.catalogue import CATALOGUE, FAIL_MODES, POLICY_ACTIONS, RuleSpec, ValueSpec
from certgov.rules.names import name_character_problem
from certgov.state import POLICY, SERVICE_ACCOUNT, policy_spec, service_account_spec
from tests.declarations.helpers import CONFIG

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
# What a name may be (contract §1): no invisible character, NFC, no white space at either end.
NAME = TEXT.filter(lambda text: name_character_problem(text) is None)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
DURATION = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 400), st.sampled_from("smhdw"))


@st.composite
def networks(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        prefix = draw(st.integers(8, 32))
        net = ipaddress.ip_network((draw(st.integers(0, 2**32 - 1)), prefix), strict=False)
    else:
        prefix = draw(st.integers(16, 128))
        net = ipaddress.ip_network((draw(st.integers(0, 2**128 - 1)), prefix), strict=False)
    return (
        str(net.network_address)
        if draw(st.booleans()) and prefix == net.max_prefixlen
        else str(net)
    )


@st.composite
def expiries(draw: st.DrawFn) -> str | None:
    day = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2040, 12, 31)))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return None
    if choice == 1:
        return day.isoformat()
    offset = timedelta(hours=draw(st.integers(-12, 12)))
    moment = datetime(day.year, day.month, day.day, draw(st.integers(0, 23)), tzinfo=UTC)
    return moment.astimezone(timezone(offset)).isoformat()


@st.composite
def accounts(draw: st.DrawFn, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "certgov/v1", "kind": SERVICE_ACCOUNT, "name": name}
    doc["scopes"] = draw(
        st.lists(st.sampled_from(["read", "write", "admin"]), min_size=1, unique=True)
    )
    if draw(st.booleans()):
        doc["description"] = draw(TEXT)
    if draw(st.booleans()):
        doc["ip_allowlist"] = draw(st.lists(networks(), max_size=4, unique=True))
    expires = draw(expiries())
    if expires is not None:
        doc["expires_at"] = expires
    if draw(st.booleans()):
        doc["enabled"] = draw(st.booleans())
    if draw(st.booleans()):
        doc["secret"] = {"store": "local", "path": f"clm/{name}", "rotate_after": draw(DURATION)}
    return doc


def _value(draw: st.DrawFn, spec: ValueSpec) -> Any:
    if spec.type == "int":
        n = draw(st.integers(spec.minimum or 0, spec.maximum or 10_000))
        return str(n) if draw(st.booleans()) else n
    if spec.type == "enum":
        return draw(st.sampled_from(spec.choices))
    if spec.type == "enum_list":
        return draw(st.lists(st.sampled_from(spec.choices), min_size=1, unique=True))
    if spec.type == "country":
        return draw(st.sampled_from(["NZ", "AU", "DE", "US", "NO"]))
    if spec.type == "domain":
        return f"{draw(LABEL)}.example.com"
    return draw(TEXT)


@st.composite
def rules(draw: st.DrawFn, spec: RuleSpec) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": spec.action, "fail": draw(st.sampled_from(FAIL_MODES))}
    keys = [v for v in spec.values if v.key in spec.required or draw(st.booleans())]
    if spec.min_values and not keys:
        keys = [spec.values[0]]
    if keys:
        rule["values"] = {v.key: _value(draw, v) for v in keys}
    if rule["fail"] == "hard" and draw(st.booleans()):
        rule["rollout"] = {"start": "soft", "promote_after": draw(DURATION)}
    return rule


@st.composite
def policies(draw: st.DrawFn, name: str) -> dict[str, Any]:
    action = draw(st.sampled_from(POLICY_ACTIONS))
    domain = st.builds(
        lambda wild, label, upper: (
            (("*." if wild else "") + f"{label}.example.com").upper()
            if upper
            else ("*." if wild else "") + f"{label}.example.com"
        ),
        st.booleans(),
        LABEL,
        st.booleans(),
    )
    specs = draw(st.lists(st.sampled_from(CATALOGUE), unique_by=lambda s: s.action, max_size=5))
    doc: dict[str, Any] = {
        "apiVersion": "certgov/v1",
        "kind": POLICY,
        "name": name,
        "matching_criteria": {
            "action": action,
            "domains": draw(st.lists(domain, min_size=1, max_size=3, unique=True)),
        },
        "rules": [draw(rules(s)) for s in specs],
    }
    if draw(st.booleans()):
        doc["description"] = draw(TEXT)
    if draw(st.booleans()):
        doc["enabled"] = draw(st.booleans())
    if draw(st.booleans()):
        doc["tests"] = [
            {
                "name": "t",
                "request": {"common_name": f"{draw(LABEL)}.example.com"},
                "expect": "pass",
            }
        ]
    return doc


@st.composite
def repositories(draw: st.DrawFn) -> list[dict[str, Any]]:
    account_names = draw(st.lists(LABEL, max_size=4, unique=True))
    policy_names = draw(st.lists(NAME, max_size=4, unique=True))
    return [draw(accounts(n)) for n in account_names] + [draw(policies(n)) for n in policy_names]


def _expected(docs: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for doc in docs:
        build = service_account_spec if doc["kind"] == SERVICE_ACCOUNT else policy_spec
        out[f"{doc['kind']}/{doc['name']}"] = build(doc)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=repositories(), per_file=st.booleans(), flow=st.booleans())
def test_dumped_declarations_load_back_to_the_same_state(
    docs: list[dict[str, Any]], per_file: bool, flow: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "certgov.yaml").write_text(CONFIG, encoding="utf-8")
        dump = {"allow_unicode": True, "default_flow_style": flow, "sort_keys": False}
        if per_file:
            for i, doc in enumerate(docs):
                (root / f"d{i}.yaml").write_text(yaml.safe_dump(doc, **dump), encoding="utf-8")
        else:
            (root / "all.yaml").write_text(yaml.safe_dump_all(docs, **dump), encoding="utf-8")
        loaded = load(root)
    assert {r.address: r.spec for r in loaded.state} == _expected(docs)
