"""The JSON Schemas: well-formed, documented, generated from the catalogue, found at runtime."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from certgov import resources
from certgov.declarations import schemagen, schemas
from certgov.declarations.schemas import SchemaProblem, validate
from certgov.rules.catalogue import CATALOGUE, RuleSpec, ValueSpec


def _properties(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield f"{where}/properties/{name}", sub
        for key, sub in node.items():
            yield from _properties(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _properties(sub, f"{where}/{i}")


@pytest.mark.parametrize("name", schemas.SCHEMA_FILES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = schemas.load_schemas()[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("name", schemas.SCHEMA_FILES)
def test_every_property_has_a_description(name: str) -> None:
    undocumented = [
        where
        for where, sub in _properties(schemas.load_schemas()[name])
        # `if` conditions only select a branch; editors never show them.
        if "/if/" not in where and "description" not in sub
    ]
    assert undocumented == []


def test_committed_policy_schema_matches_the_catalogue() -> None:
    path = schemas.repo_schema_dir() / "policy.json"
    text = path.read_text(encoding="utf-8")
    assert schemagen.render(json.loads(text)) == text, (
        "schemas/policy.json is stale: run python -m certgov.declarations.schemagen"
    )


def test_schemagen_check_passes_on_the_committed_schema() -> None:
    assert schemagen.main(["--check"]) == 0


def test_schemagen_check_fails_and_rewrite_fixes_a_stale_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = json.loads((schemas.repo_schema_dir() / "policy.json").read_text("utf-8"))
    stale["$defs"]["rule_action"]["enum"] = ["require_san"]
    (tmp_path / "policy.json").write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(schemagen, "repo_schema_dir", lambda: tmp_path)
    assert schemagen.main(["--check"]) == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'policy.json'} is stale: run python -m certgov.declarations.schemagen\n"
    )
    assert schemagen.main([]) == 0
    assert schemagen.main(["--check"]) == 0


def test_rule_actions_in_the_schema_are_the_catalogue() -> None:
    defs = schemas.load_schemas()["policy.json"]["$defs"]
    assert defs["rule_action"]["enum"] == [r.action for r in CATALOGUE]
    cases = defs["rule"]["allOf"]
    assert [c["if"]["properties"]["action"]["const"] for c in cases] == [
        r.action for r in CATALOGUE
    ]


def test_an_int_value_takes_integers_and_digit_strings_within_range() -> None:
    spec = ValueSpec("minimum_bits", "int", "Minimum key size in bits.", 2048, 8192)
    assert schemagen.value_schema(spec) == {
        "type": ["integer", "string"],
        "pattern": "^[0-9]+$",
        "minimum": 2048,
        "maximum": 8192,
        "description": "Minimum key size in bits. An integer or a string of digits.",
    }


def test_an_unknown_value_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown value type 'colour' of c"):
        schemagen.value_schema(ValueSpec("c", "colour", "?"))


def test_a_rule_with_required_values_requires_values() -> None:
    rule = RuleSpec("x", "X.", (ValueSpec("n", "text", "N."),), required=("n",))
    case = schemagen._rule_case(rule)
    assert case["then"]["required"] == ["values"]
    assert case["then"]["properties"]["values"]["required"] == ["n"]


def test_schemas_are_read_from_the_repository_in_an_editable_install() -> None:
    assert resources.data_dir("schemas") == schemas.repo_schema_dir()
    assert schemas.load_schemas()["certgov.json"] == json.loads(
        (schemas.repo_schema_dir() / "certgov.json").read_text(encoding="utf-8")
    )


def test_schemas_are_read_from_package_data_when_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "schemas").mkdir()
    monkeypatch.setattr(resources, "_PACKAGE_DATA", tmp_path)
    assert resources.data_dir("schemas") == tmp_path / "schemas"
    assert resources.data_dir("examples") == resources.checkout_dir("examples")


def test_validate_dispatches_on_kind() -> None:
    assert validate({"apiVersion": "certgov/v1", "kind": "ServiceAccount"}) == [
        SchemaProblem("", "'name' is a required property", nodes=("name",)),
        SchemaProblem("", "'scopes' is a required property", nodes=("scopes",)),
    ]
    assert validate({"apiVersion": "certgov/v1", "kind": "Config"}) == []


def test_validate_points_at_each_unknown_field() -> None:
    doc = {"apiVersion": "certgov/v1", "kind": "Config", "b": 1, "a": 2}
    assert validate(doc) == [
        SchemaProblem(
            "a",
            "unknown field; allowed here: apiVersion, environments, exclude, include, kind, lint,"
            " manage, rollout, safety, secret_stores, server",
            key=True,
            nodes=("a",),
        ),
        SchemaProblem(
            "b",
            "unknown field; allowed here: apiVersion, environments, exclude, include, kind, lint,"
            " manage, rollout, safety, secret_stores, server",
            key=True,
            nodes=("b",),
        ),
    ]
