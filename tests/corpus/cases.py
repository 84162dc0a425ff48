"""The hostile inputs: each case is a small edit of a valid base repo (or of a valid plan file)
and the one command that must refuse it with a clear error, exit 1, and change nothing.

A case's expected output lives in `expected/<name>.txt`, compared whole; `--update-golden`
rewrites them on purpose. Inputs too big to commit (10 MB files, deep nesting) are generated.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certgov.resources import data_dir

Content = str | bytes | Callable[[], bytes]
PlanEdit = Callable[[dict[str, Any]], dict[str, Any] | bytes]

CONFIG = """apiVersion: certgov/v1
kind: Config
secret_stores:
  local: {type: file, path: .certgov-secrets}
manage:
  ServiceAccount: {prune: disable, ignore: ["bootstrap-*"]}
  Policy: {prune: disable}
"""

ACCOUNT = """apiVersion: certgov/v1
kind: ServiceAccount
name: {name}
description: a corpus account
scopes: {scopes}
ip_allowlist: {allow}
expires_at: {expires}
secret: {secret}
"""

POLICY = """apiVersion: certgov/v1
kind: Policy
name: {name}
matching_criteria: {{action: certificate.generate, domains: {domains}}}
rules:
  - {{action: enforce_minimum_key_size, fail: hard, values: {{minimum_bits: {bits}}}}}
tests:
  - name: a small key is refused
    request: {request}
    expect: block
"""

REQUEST = "{common_name: a.web.example.com, key: {algorithm: rsa, size: 2048}}"


def account(
    name: str = "ci",
    scopes: str = "[read]",
    allow: str = "[127.0.0.1]",
    expires: str = "2099-01-01",
    secret: str = "{store: local, path: accounts/ci}",
) -> str:
    return ACCOUNT.format(name=name, scopes=scopes, allow=allow, expires=expires, secret=secret)


def policy(
    name: str = "web",
    domains: str = '["*.web.example.com"]',
    bits: str = "3072",
    request: str = REQUEST,
) -> str:
    return POLICY.format(name=name, domains=domains, bits=bits, request=request)


BASE: dict[str, Content] = {
    "certgov.yaml": CONFIG,
    "accounts/ci.yaml": account(),
    "policies/web.yaml": policy(),
}


@dataclass(frozen=True)
class Case:
    """One hostile input.

    `files` are written over the base repo (None removes a file). `command` is `validate` or
    `test` (`certgov test --offline`: the test requests and CSRs are read), both offline;
    `plan` (against a live server); or `apply-plan` (a plan file made from the base repo,
    edited by `plan_edit`, applied against a live server). With a server, its audit log must
    show no change afterwards.
    `bug` marks a case the product gets wrong today (an xfail naming the bug).
    """

    name: str
    what: str
    category: str
    files: Mapping[str, Content | None] = field(default_factory=dict)
    command: str = "validate"
    plan_edit: PlanEdit | None = None
    extra_args: tuple[str, ...] = ()
    bug: str | None = None


def csr_bytes() -> bytes:
    """The quickstart's valid CSR, the seed of the malformed ones."""
    path: Path = data_dir("examples") / "quickstart" / "policies" / "tests" / "csr" / "api-prod.pem"
    return path.read_bytes()


def csr_policy(csr_file: str) -> str:
    return f"""apiVersion: certgov/v1
kind: Policy
name: web
matching_criteria: {{action: certificate.generate, domains: ["*.prod.example.com"]}}
rules:
  - {{action: enforce_minimum_key_size, fail: hard, values: {{minimum_bits: 3072}}}}
tests:
  - name: a CSR from the build system
    csr_file: {csr_file}
    request: {{validity_days: 90}}
    expect: pass
"""


def csr_case(name: str, what: str, pem: Content, bug: str | None = None) -> Case:
    return Case(
        name,
        what,
        "csr",
        {"policies/web.yaml": csr_policy("csr/req.pem"), "policies/csr/req.pem": pem},
        command="test",
        bug=bug,
    )


def _der_of_csr() -> bytes:
    body = b"".join(line for line in csr_bytes().splitlines() if not line.startswith(b"-----"))
    return base64.b64decode(body)


def _flip_signature_byte() -> bytes:
    der = bytearray(_der_of_csr())
    der[-5] ^= 0xFF  # the last bytes of a CSR are its signature
    wrapped = base64.encodebytes(bytes(der)).replace(b"\n", b"")
    lines = [wrapped[i : i + 64] for i in range(0, len(wrapped), 64)]
    return (
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
        + b"\n".join(lines)
        + b"\n-----END CERTIFICATE REQUEST-----\n"
    )


def _truncated_csr() -> bytes:
    lines = csr_bytes().splitlines()
    return b"\n".join(lines[:5] + lines[-1:]) + b"\n"


def _wrong_header() -> bytes:
    return csr_bytes().replace(b"CERTIFICATE REQUEST", b"CERTIFICATE")


def _der_csr() -> bytes:
    return _der_of_csr()


def _billion_laughs() -> bytes:
    lines = ['lol0: &l0 "lol"']
    lines += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    return (
        "\n".join(lines)
        + "\n"
        + account().replace("description: a corpus account", "description: *l9")
    ).encode()


def _ten_megabytes() -> bytes:
    filler = "# " + "x" * 98 + "\n"
    return (account() + filler * (10 * 1024 * 1024 // len(filler) + 1)).encode()


def _deep_flow(depth: int) -> Callable[[], bytes]:
    def make() -> bytes:
        return (
            account().replace("scopes: [read]", "scopes: " + "[" * depth + "]" * depth)
        ).encode()

    return make


def _deep_block() -> bytes:
    # One space per level keeps the file (4.5 MB) under the 5 MiB limit, so that the nesting
    # itself is what gets refused.
    lines = [f"{' ' * i}k{i}:" for i in range(3000)]
    return (account() + "x:\n" + "\n".join("  " + line for line in lines) + " end\n").encode()


def _merge_bomb() -> bytes:
    lines = ["a0: &a0 {k: v}"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], k{i}: v}}")
    return ("\n".join(lines) + "\nname: ci\n").encode()


def _plan_edit(**changes: Any) -> PlanEdit:
    def edit(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, **changes}

    return edit


def _rename_first_change(document: dict[str, Any]) -> dict[str, Any]:
    changes = [dict(c) for c in document["changes"]]
    changes[0]["name"] = "someone-else"
    return {**document, "changes": changes}


def _refingerprinted(**source: Any) -> PlanEdit:
    """Edit the plan's source and recompute the fingerprints, as a careful forger would."""

    def edit(document: dict[str, Any]) -> dict[str, Any]:
        from certgov.plan.model import digest

        forged = {**document, "source": {**document["source"], **source}}
        changes = [{k: v for k, v in c.items() if k != "backtest"} for c in forged["changes"]]
        forged["changes_fingerprint"] = digest(changes)
        covered = {k: v for k, v in forged.items() if k not in ("fingerprint", "created_at")}
        forged["fingerprint"] = digest(covered)
        return forged

    return edit


def _raw(data: bytes) -> PlanEdit:
    return lambda _document: data


def _drop(key: str) -> PlanEdit:
    return lambda document: {k: v for k, v in document.items() if k != key}


def _deep_json(_document: dict[str, Any]) -> bytes:
    return b'{"format_version": "1", "changes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _big_plan(document: dict[str, Any]) -> bytes:
    import json

    return json.dumps({**document, "padding": "x" * (10 * 1024 * 1024)}).encode()


A = "accounts/ci.yaml"
P = "policies/web.yaml"

CASES: tuple[Case, ...] = (
    # -- YAML: bombs, nesting, size, encoding ------------------------------------------------
    Case("yaml-billion-laughs", "nine levels of ten aliases each", "yaml", {A: _billion_laughs}),
    Case("yaml-merge-key-bomb", "merge keys doubling thirty times", "yaml", {A: _merge_bomb}),
    Case(
        "yaml-self-alias",
        "an alias used before its anchor ends",
        "yaml",
        {A: account().replace("scopes: [read]", "scopes: &s [*s]")},
    ),
    Case(
        "yaml-undefined-alias",
        "an alias to no anchor",
        "yaml",
        {A: account().replace("scopes: [read]", "scopes: *nowhere")},
    ),
    Case(
        "yaml-deep-flow-nesting",
        "100 000 nested flow lists",
        "yaml",
        {A: _deep_flow(100_000)},
    ),
    Case(
        "yaml-moderate-nesting",
        "90 nested lists (under the nesting limit) where a list of scopes belongs",
        "yaml",
        {A: _deep_flow(90)},
    ),
    Case(
        "yaml-deep-block-nesting",
        "3 000 nested block mappings",
        "yaml",
        {A: _deep_block},
    ),
    Case("yaml-ten-megabytes", "a 10 MB declarations file", "yaml", {A: _ten_megabytes}),
    Case(
        "yaml-duplicate-top-key",
        "`name` twice in one mapping",
        "yaml",
        {A: account() + "name: ci-again\n"},
    ),
    Case(
        "yaml-duplicate-nested-key",
        "`minimum_bits` twice in a rule's values",
        "yaml",
        {P: policy(bits="3072, minimum_bits: 4096")},
    ),
    Case(
        "yaml-latin1",
        "an ISO-8859-1 description",
        "yaml",
        {A: account().replace("a corpus account", "caf\u00e9").encode("latin-1")},
    ),
    Case(
        "yaml-utf16",
        "a UTF-16 file with a byte-order mark",
        "yaml",
        {A: account().encode("utf-16")},
    ),
    Case(
        "yaml-nul-byte",
        "a NUL byte inside a name",
        "yaml",
        {A: account(name="c\x00i")},
    ),
    Case(
        "yaml-bell-character",
        "a BEL control character in a description",
        "yaml",
        {A: account().replace("a corpus", "a \x07 corpus")},
    ),
    Case(
        "yaml-python-tag",
        "a !!python/object/apply tag",
        "yaml",
        {A: account().replace("a corpus account", "!!python/object/apply:os.system [id]")},
    ),
    Case(
        "yaml-binary-tag",
        "a !!binary scalar as a name",
        "yaml",
        {A: account(name="!!binary aGVsbG8=")},
    ),
    Case("yaml-top-level-list", "a document that is a list", "yaml", {A: "- a\n- b\n"}),
    Case("yaml-top-level-scalar", "a document that is a string", "yaml", {A: "just text\n"}),
    Case("yaml-unclosed-quote", "a quote that never closes", "yaml", {A: account(name='"ci')}),
    Case(
        "yaml-tab-indent",
        "a tab where indentation belongs",
        "yaml",
        {A: account().replace("\nscopes", "\n\tscopes")},
    ),
    # -- numbers ------------------------------------------------------------------------------
    Case(
        "int-huge-minimum-bits",
        "a 400-digit minimum_bits",
        "numbers",
        {P: policy(bits="1" + "0" * 400)},
    ),
    Case(
        "int-huge-key-size",
        "a 30-digit key size in a test request",
        "numbers",
        {
            P: policy(
                request="{common_name: a.web.example.com, key: {algorithm: rsa, size: "
                + "9" * 30
                + "}}"
            )
        },
        command="test",
    ),
    Case(
        "int-huge-validity",
        "a 30-digit validity_days in a test request",
        "numbers",
        {P: policy(request="{common_name: a.web.example.com, validity_days: " + "9" * 30 + "}")},
        command="test",
    ),
    Case(
        "duration-huge-rotate-after",
        "a rotate_after of 10^20 days",
        "numbers",
        {A: account(secret="{store: local, path: accounts/ci, rotate_after: 1" + "0" * 20 + "d}")},
    ),
    Case(
        "duration-huge-promote-after",
        "a rollout promote_after of 10^20 weeks",
        "numbers",
        {
            P: policy().replace(
                "values: {minimum_bits: 3072}}",
                "values: {minimum_bits: 3072}, rollout: {promote_after: 1" + "0" * 20 + "w}}",
            )
        },
    ),
    Case(
        "duration-huge-default-promote-after",
        "a default promote_after of 3651 days in certgov.yaml",
        "numbers",
        {"certgov.yaml": CONFIG + "rollout: {promote_after: 3651d}\n"},
    ),
    Case("int-negative-bits", "a negative minimum_bits", "numbers", {P: policy(bits="-3072")}),
    Case("float-bits", "a fractional minimum_bits", "numbers", {P: policy(bits="3072.5")}),
    Case("float-infinity-bits", "an infinite minimum_bits", "numbers", {P: policy(bits=".inf")}),
    Case("float-nan-bits", "a NaN minimum_bits", "numbers", {P: policy(bits=".nan")}),
    # -- wrong types --------------------------------------------------------------------------
    Case("type-name-integer", "a name that is a number", "types", {A: account(name="42")}),
    Case("type-name-list", "a name that is a list", "types", {A: account(name="[a, b]")}),
    Case("type-scopes-string", "scopes as one string", "types", {A: account(scopes="read")}),
    Case("type-scopes-mapping", "scopes as a mapping", "types", {A: account(scopes="{read: 1}")}),
    Case(
        "type-allowlist-integer",
        "an allowlist that is a number",
        "types",
        {A: account(allow="127")},
    ),
    Case("type-expiry-list", "an expiry that is a list", "types", {A: account(expires="[2099]")}),
    Case(
        "type-secret-string",
        "a secret block that is a string",
        "types",
        {A: account(secret="accounts/ci")},
    ),
    Case(
        "type-rules-mapping",
        "rules as a mapping",
        "types",
        {P: policy().replace("rules:\n  - ", "rules:\n  ")},
    ),
    Case(
        "type-values-list",
        "rule values as a list",
        "types",
        {P: policy().replace("values: {minimum_bits: 3072}", "values: [3072]")},
    ),
    Case(
        "type-domains-string",
        "domains as one string",
        "types",
        {P: policy(domains="web.example.com")},
    ),
    Case(
        "type-enabled-string",
        "enabled as the string 'yes please'",
        "types",
        {P: policy() + "enabled: yes please\n"},
    ),
    Case(
        "type-tests-mapping",
        "tests as a mapping",
        "types",
        {P: policy().split("tests:")[0] + "tests: {a: b}\n"},
    ),
    Case(
        "type-kind-list",
        "kind as a list",
        "types",
        {A: account().replace("kind: ServiceAccount", "kind: [ServiceAccount]")},
    ),
    Case(
        "type-api-version-number",
        "apiVersion as a number",
        "types",
        {A: account().replace("apiVersion: certgov/v1", "apiVersion: 1")},
    ),
    Case("type-name-empty", "an empty name", "types", {A: account(name='""')}),
    Case("type-name-huge", "a 10 000 character name", "types", {A: account(name="n" * 10_000)}),
    Case(
        "type-config-stores-list",
        "secret_stores as a list",
        "types",
        {
            "certgov.yaml": CONFIG.replace(
                "  local: {type: file, path: .certgov-secrets}", "  - local"
            )
        },
    ),
    # -- Unicode in names and domains ---------------------------------------------------------
    Case(
        "unicode-newline-name",
        "a newline inside an account name",
        "unicode",
        {A: account(name='"ci\\nadmin"')},
    ),
    Case(
        "unicode-bidi-override-name",
        "a RIGHT-TO-LEFT OVERRIDE (U+202E) inside a policy name",
        "unicode",
        {P: policy(name="web\u202etxt.exe")},
    ),
    Case(
        "unicode-confusable-domain",
        "a Cyrillic ie (U+0435) in a domain pattern",
        "unicode",
        {P: policy(domains='["*.w\u0435b.example.com"]')},
        command="test",
    ),
    Case(
        "unicode-fullwidth-dot-domain",
        "an ideographic full stop in a domain",
        "unicode",
        {P: policy(domains='["*.web\u3002example.com"]')},
    ),
    # -- IP allowlists ------------------------------------------------------------------------
    Case(
        "cidr-host-bits", "10.0.0.1/24 (host bits set)", "cidr", {A: account(allow="[10.0.0.1/24]")}
    ),
    Case("cidr-prefix-33", "an IPv4 prefix of 33", "cidr", {A: account(allow="[10.0.0.0/33]")}),
    Case("cidr-prefix-129", "an IPv6 prefix of 129", "cidr", {A: account(allow='["::/129"]')}),
    Case("cidr-negative-prefix", "a prefix of -1", "cidr", {A: account(allow="[10.0.0.0/-1]")}),
    Case(
        "cidr-leading-zeros",
        "an octet with a leading zero",
        "cidr",
        {A: account(allow="[010.0.0.1]")},
    ),
    Case("cidr-octet-256", "an octet of 256", "cidr", {A: account(allow="[10.0.0.256]")}),
    Case(
        "cidr-space-inside", "a space inside a range", "cidr", {A: account(allow='["10.0.0.0 /8"]')}
    ),
    Case(
        "cidr-hostname",
        "a host name instead of an address",
        "cidr",
        {A: account(allow="[localhost]")},
    ),
    # -- dates --------------------------------------------------------------------------------
    Case(
        "date-year-10000",
        "an expiry in the year 10000",
        "dates",
        {A: account(expires='"10000-01-01"')},
    ),
    Case(
        "date-year-zero", "an expiry in the year 0", "dates", {A: account(expires='"0000-01-01"')}
    ),
    Case("date-february-30", "30 February", "dates", {A: account(expires="2026-02-30")}),
    Case("date-month-13", "month 13", "dates", {A: account(expires="2026-13-01")}),
    Case(
        "date-offset-25h",
        "a UTC offset of +25:00",
        "dates",
        {A: account(expires='"2099-01-01T00:00:00+25:00"')},
    ),
    Case(
        "date-leap-second",
        "a leap second",
        "dates",
        {A: account(expires='"2098-12-31T23:59:60+00:00"')},
    ),
    # -- paths --------------------------------------------------------------------------------
    Case(
        "path-secret-dotdot",
        "a secret path climbing out of the store",
        "paths",
        {A: account(secret="{store: local, path: ../../etc/passwd}")},
        command="plan",
    ),
    Case(
        "path-secret-dotdot-offline",
        "a secret path climbing out of the store, validated offline",
        "paths",
        {A: account(secret="{store: local, path: ../../etc/passwd}")},
    ),
    Case(
        "path-secret-absolute",
        "an absolute secret path",
        "paths",
        {A: account(secret="{store: local, path: /etc/passwd}")},
        command="plan",
    ),
    Case(
        "path-secret-inner-dotdot",
        "a secret path that climbs out half way",
        "paths",
        {A: account(secret="{store: local, path: a/../../b}")},
        command="plan",
    ),
    Case(
        "path-secret-nul",
        "a NUL character in a secret path",
        "paths",
        {A: account(secret='{store: local, path: "a\\0b"}')},
        command="plan",
    ),
    Case(
        "path-csr-dotdot",
        "a csr_file climbing out of the repository",
        "paths",
        {P: csr_policy("../../../../etc/passwd")},
    ),
    Case("path-csr-absolute", "an absolute csr_file", "paths", {P: csr_policy("/etc/hostname")}),
    # -- CSRs ---------------------------------------------------------------------------------
    csr_case(
        "csr-garbage",
        "base64 that is not DER",
        b"-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n",
    ),
    csr_case("csr-wrong-label", "a CSR under a CERTIFICATE label", _wrong_header),
    csr_case("csr-truncated", "a CSR cut short", _truncated_csr),
    csr_case("csr-empty", "an empty CSR file", b""),
    csr_case("csr-der", "a CSR in DER, not PEM", _der_csr),
    csr_case("csr-bad-signature", "a CSR whose signature does not verify", _flip_signature_byte),
    # -- plan files ---------------------------------------------------------------------------
    Case(
        "plan-not-json",
        "a plan file that is YAML",
        "plan",
        command="apply-plan",
        plan_edit=_raw(b"format_version: 1\n"),
    ),
    Case(
        "plan-truncated",
        "a plan file cut in half",
        "plan",
        command="apply-plan",
        plan_edit=_raw(b'{"format_version": "1", "changes": ['),
    ),
    Case("plan-empty", "an empty plan file", "plan", command="apply-plan", plan_edit=_raw(b"")),
    Case(
        "plan-not-utf8",
        "a plan file in Latin-1",
        "plan",
        command="apply-plan",
        plan_edit=_raw('{"format_version": "1", "server": "caf\u00e9"}'.encode("latin-1")),
    ),
    Case("plan-array", "a JSON array", "plan", command="apply-plan", plan_edit=_raw(b"[]")),
    Case(
        "plan-format-2",
        "format_version 2",
        "plan",
        command="apply-plan",
        plan_edit=_plan_edit(format_version="2"),
    ),
    Case(
        "plan-no-changes-key",
        "a plan without its changes",
        "plan",
        command="apply-plan",
        plan_edit=_drop("changes"),
    ),
    Case(
        "plan-no-fingerprint",
        "a plan without its fingerprint",
        "plan",
        command="apply-plan",
        plan_edit=_drop("fingerprint"),
    ),
    Case(
        "plan-edited-change",
        "a change renamed by hand",
        "plan",
        command="apply-plan",
        plan_edit=_rename_first_change,
    ),
    Case(
        "plan-edited-server",
        "the server edited by hand",
        "plan",
        command="apply-plan",
        plan_edit=_plan_edit(server="http://evil.example"),
    ),
    Case(
        "plan-refingerprinted-digest",
        "a refingerprinted plan whose source digest is wrong",
        "plan",
        command="apply-plan",
        plan_edit=_refingerprinted(digest="sha256:" + "0" * 64),
    ),
    Case(
        "plan-refingerprinted-source",
        "a refingerprinted plan pointing at /etc",
        "plan",
        command="apply-plan",
        plan_edit=_refingerprinted(path="/etc"),
    ),
    Case(
        "plan-expect-fingerprint",
        "a plan that is not the reviewed one",
        "plan",
        command="apply-plan",
        extra_args=("--expect-fingerprint", "sha256:" + "1" * 64),
    ),
    Case(
        "plan-deep-json",
        "100 000 nested JSON arrays",
        "plan",
        command="apply-plan",
        plan_edit=_deep_json,
    ),
    Case(
        "plan-ten-megabytes",
        "a 10 MB plan file with an unknown field",
        "plan",
        command="apply-plan",
        plan_edit=_big_plan,
    ),
)
