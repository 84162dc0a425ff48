"""Contract §4 and §5.3: policies, the dry run, certificate requests, the local CA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.server.conftest import Harness

POLICIES = "/service/policies"
STAMP = "2026-03-25T10:00:00+00:00"
BODY: dict[str, Any] = {
    "name": "Production Security Baseline",
    "description": "prod",
    "matching_criteria": {"action": "certificate.generate", "domains": ["*.Prod.Example.com"]},
    "rules": [
        {"action": "enforce_minimum_key_size", "fail": "soft", "values": {"minimum_bits": 3072}},
        {"action": "disable_wildcard", "fail": "hard"},
    ],
}
REQUEST: dict[str, Any] = {
    "action": "certificate.generate",
    "common_name": "api.prod.example.com",
    "sans": {"dns": ["api.prod.example.com"]},
    "key": {"algorithm": "rsa", "size": 2048},
    "digest": "sha256",
    "validity_days": 90,
}
WARNING = {
    "policy": "Production Security Baseline",
    "rule": "enforce_minimum_key_size",
    "fail": "soft",
    "message": "RSA key 2048 bits is below the minimum of 3072",
}


def stored(policy_id: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": policy_id,
        "name": "Production Security Baseline",
        "description": "prod",
        "is_enabled": False,
        "matching_criteria": {"action": "certificate.generate", "domains": ["*.prod.example.com"]},
        "rules": [
            {
                "action": "enforce_minimum_key_size",
                "fail": "soft",
                "values": {"minimum_bits": "3072"},
            },
            {"action": "disable_wildcard", "fail": "hard"},
        ],
        "created_at": STAMP,
        "updated_at": STAMP,
        **fields,
    }


@pytest.fixture
def writer(h: Harness) -> httpx.Client:
    _, creds = h.new_account(h.as_admin(), "pipeline", ["write"])
    return h.client(token=h.login(creds))


def test_create_answers_201_disabled_with_values_as_strings(writer: httpx.Client) -> None:
    response = writer.post(POLICIES, json=BODY)
    assert (response.status_code, response.json()) == (201, {"success": True, "data": stored()})
    assert response.headers["etag"] == '"1-1"'


def test_get_and_list_answer_the_same_object(writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    single = writer.get(f"{POLICIES}/1")
    listing = writer.get(POLICIES).json()
    assert single.json() == {"success": True, "data": stored()}
    assert listing == {
        "success": True,
        "data": [{**stored(), "etag": '"1-1"'}],
        "meta": {"page": 1, "per_page": 25, "total": 1, "total_pages": 1},
    }


def test_list_sorts_by_code_point_and_filters_enabled(writer: httpx.Client) -> None:
    for name, enabled in (("b", True), ("C", False), ("é", True), ("a", False)):
        writer.post(POLICIES, json={**BODY, "name": name, "is_enabled": enabled})
    names = [p["name"] for p in writer.get(POLICIES).json()["data"]]
    enabled_names = [
        p["name"] for p in writer.get(POLICIES, params={"enabled": "true"}).json()["data"]
    ]
    disabled = writer.get(POLICIES, params={"enabled": "false", "per_page": 1}).json()
    assert names == ["C", "a", "b", "é"]
    assert enabled_names == ["b", "é"]
    assert ([p["name"] for p in disabled["data"]], disabled["meta"]["total"]) == (["C"], 2)


def test_put_is_a_full_replacement(h: Harness, writer: httpx.Client) -> None:
    writer.post(POLICIES, json={**BODY, "is_enabled": True})
    h.clock.advance(seconds=5)
    replacement = {"name": "renamed", "matching_criteria": BODY["matching_criteria"], "rules": []}
    response = writer.put(f"{POLICIES}/1", json=replacement)
    assert response.json()["data"] == stored(
        name="renamed", description="", rules=[], updated_at="2026-03-25T10:00:05+00:00"
    )
    assert response.headers["etag"] == '"1-2"'


def test_enable_disable_and_delete(writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    enabled = writer.post(f"{POLICIES}/1/enable")
    disabled = writer.post(f"{POLICIES}/1/disable", headers={"If-Match": enabled.headers["etag"]})
    deleted = writer.delete(f"{POLICIES}/1", headers={"If-Match": disabled.headers["etag"]})
    assert (enabled.json()["data"]["is_enabled"], disabled.json()["data"]["is_enabled"]) == (
        True,
        False,
    )
    assert deleted.json() == {"success": True}
    assert writer.get(f"{POLICIES}/1").status_code == 404


def test_a_deleted_policys_id_and_etag_never_come_back(writer: httpx.Client) -> None:
    # A reused id would start again at revision 1: the deleted policy's ETag would match the new
    # one, and its audit history (rollout evidence is read by policy id) would carry over.
    writer.post(POLICIES, json={**BODY, "name": "first"})
    old = writer.post(POLICIES, json={**BODY, "name": "second"})
    old_id, old_etag = old.json()["data"]["id"], old.headers["etag"]
    assert writer.delete(f"{POLICIES}/{old_id}").status_code == 200
    new = writer.post(POLICIES, json={**BODY, "name": "third"})
    assert new.json()["data"]["id"] == old_id + 1
    stale = writer.put(f"{POLICIES}/{old_id}", json=BODY, headers={"If-Match": old_etag})
    assert stale.status_code == 404


@pytest.mark.parametrize("policy_id", [0, -1, 2**31, 2**63, 10**30])
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/enable"), ("POST", "/disable")],
)
def test_an_id_no_policy_can_have_is_not_found(
    writer: httpx.Client, method: str, suffix: str, policy_id: int
) -> None:
    body = BODY if method == "PUT" else None
    response = writer.request(method, f"{POLICIES}/{policy_id}{suffix}", json=body)
    assert (response.status_code, response.json()) == (
        404,
        {
            "success": False,
            "error": {
                "code": "NOT_FOUND",
                "message": f"no policy with id {policy_id}",
                "details": [],
            },
        },
    )


def test_validate_with_a_policy_id_past_64_bits_is_not_found(writer: httpx.Client) -> None:
    response = writer.post(f"{POLICIES}/validate", json={"request": REQUEST, "policy_id": 2**63})
    assert (response.status_code, response.json()["error"]) == (
        404,
        {"code": "NOT_FOUND", "message": f"no policy with id {2**63}", "details": []},
    )


def test_stale_if_match_answers_412_with_the_current_policy(writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    writer.post(f"{POLICIES}/1/enable")
    response = writer.put(f"{POLICIES}/1", json=BODY, headers={"If-Match": '"1-1"'})
    assert response.status_code == 412
    assert response.json()["error"]["details"] == stored(is_enabled=True)


def test_duplicate_name_is_a_conflict(writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    response = writer.post(POLICIES, json=BODY)
    assert (response.status_code, response.json()["error"]["message"]) == (
        409,
        "a policy named 'Production Security Baseline' already exists",
    )


def test_idempotent_create_replays_the_first_answer(writer: httpx.Client) -> None:
    first = writer.post(POLICIES, json=BODY, headers={"Idempotency-Key": "p1"})
    second = writer.post(POLICIES, json=BODY, headers={"Idempotency-Key": "p1"})
    other = writer.post(POLICIES, json={**BODY, "name": "x"}, headers={"Idempotency-Key": "p1"})
    assert (second.status_code, second.json()) == (201, first.json())
    assert other.status_code == 409


def test_every_problem_is_reported_at_once_with_its_path(writer: httpx.Client) -> None:
    body = {
        "name": "bad",
        "matching_criteria": {"action": "certificate.revoke", "domains": ["*.com"]},
        "rules": [
            {
                "action": "enforce_minimum_key_size",
                "fail": "hard",
                "values": {"minimum_bits": 1024},
            },
            {"action": "nope"},
            {"action": "disable_wildcard", "fail": "maybe"},
        ],
        "colour": "red",
    }
    response = writer.post(POLICIES, json=body)
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert response.status_code == 422
    assert fields == [
        "colour",
        "matching_criteria.action",
        "matching_criteria.domains[0]",
        "rules[0].values.minimum_bits",
        "rules[1].action",
        "rules[2].fail",
    ]


@pytest.mark.parametrize("action", [{}, []], ids=["object", "list"])
@pytest.mark.parametrize("call", ["create", "replace", "validate"])
def test_a_rule_action_that_is_not_a_string_is_a_validation_error(
    writer: httpx.Client, call: str, action: Any
) -> None:
    odd = {**BODY, "rules": [{"action": action, "fail": "hard"}]}
    field = "rules[0].action"
    if call == "create":
        response = writer.post(POLICIES, json=odd)
    elif call == "replace":
        writer.post(POLICIES, json=BODY)
        response = writer.put(f"{POLICIES}/1", json=odd)
    else:
        response = writer.post(f"{POLICIES}/validate", json={"request": REQUEST, "policy": odd})
        field = "policy." + field
    kind = "an object" if action == {} else "a list"
    assert (response.status_code, response.json()["error"]) == (
        422,
        {
            "code": "VALIDATION_ERROR",
            "message": "the request is invalid",
            "details": [{"field": field, "message": f"must be a string, not {kind}"}],
        },
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("web\nhacked", "must not hold the control character U+000A"),
        ("web\u202etxt.exe", "must not hold the bidirectional control character U+202E"),
    ],
    ids=["newline", "bidi-override"],
)
def test_a_policy_name_with_a_control_character_is_a_validation_error(
    writer: httpx.Client, name: str, message: str
) -> None:
    response = writer.post(POLICIES, json={**BODY, "name": name})
    assert (response.status_code, response.json()["error"]) == (
        422,
        {
            "code": "VALIDATION_ERROR",
            "message": "the request is invalid",
            "details": [{"field": "name", "message": message}],
        },
    )


def test_malformed_policy_json_is_a_validation_error(writer: httpx.Client) -> None:
    response = writer.post(POLICIES, content=b"{", headers={"Content-Type": "application/json"})
    assert response.json()["error"]["details"] == [
        {
            "field": "body",
            "message": "malformed JSON at character 1: Expecting property name enclosed in double quotes",
        }
    ]


def test_changes_are_audited_with_before_and_after(h: Harness, writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    writer.post(f"{POLICIES}/1/enable")
    writer.delete(f"{POLICIES}/1")
    events = [e for e in h.events() if e["type"].startswith("policy.")]
    spec = {k: v for k, v in stored().items() if k not in ("id", "created_at", "updated_at")}
    assert [(e["type"], e["target"], e["details"]) for e in events] == [
        ("policy.created", {"kind": "policy", "id": "1", "name": BODY["name"]}, {"after": spec}),
        (
            "policy.enabled",
            {"kind": "policy", "id": "1", "name": BODY["name"]},
            {"before": spec, "after": {**spec, "is_enabled": True}},
        ),
        (
            "policy.deleted",
            {"kind": "policy", "id": "1", "name": BODY["name"]},
            {"before": {**spec, "is_enabled": True}},
        ),
    ]


# -- the dry run -----------------------------------------------------------------------------------


def evaluation(
    result: str, matched: list[dict[str, Any]], violations: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "success": True,
        "data": {
            "result": result,
            "allowed": result != "block",
            "matched_policies": matched,
            "violations": violations,
            "applied_values": {},
        },
    }


MATCHED = [{"id": 1, "name": "Production Security Baseline"}]


def test_validate_with_enabled_policies_ignores_disabled_ones(writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    response = writer.post(f"{POLICIES}/validate", json={"request": REQUEST})
    assert response.json() == evaluation("pass", [], [])


def test_validate_naming_a_disabled_policy_evaluates_it(writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    response = writer.post(f"{POLICIES}/validate", json={"request": REQUEST, "policy_id": 1})
    assert response.json() == evaluation("warn", MATCHED, [WARNING])


def test_validate_with_an_inline_policy(writer: httpx.Client) -> None:
    wildcard = {**REQUEST, "common_name": "*.prod.example.com", "sans": {"dns": []}}
    response = writer.post(f"{POLICIES}/validate", json={"request": wildcard, "policy": BODY})
    assert response.json()["data"]["result"] == "block"
    assert response.json()["data"]["matched_policies"] == [{"id": None, "name": BODY["name"]}]


def test_validate_with_an_unknown_policy_id_is_not_found(writer: httpx.Client) -> None:
    response = writer.post(f"{POLICIES}/validate", json={"request": REQUEST, "policy_id": 9})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["request"]),
        ({"request": REQUEST, "policy_id": 1, "policy": BODY}, ["policy"]),
        ({"request": REQUEST, "policy_id": "1"}, ["policy_id"]),
        (
            {"request": REQUEST, "policy": {**BODY, "rules": [{"action": "x"}]}},
            ["policy.rules[0].action"],
        ),
        ({"request": REQUEST, "policy": []}, ["policy"]),
        (
            {"request": {**REQUEST, "validity_days": "soon"}, "extra": 1},
            ["extra", "request.validity_days"],
        ),
        (
            {"request": {"action": "certificate.generate", "validity_days": 1, "csr": "junk"}},
            ["request.csr"],
        ),
    ],
    ids=[
        "no-request",
        "both",
        "id-type",
        "inline-invalid",
        "inline-type",
        "request-invalid",
        "bad-csr",
    ],
)
def test_validate_rejects_bad_bodies(
    writer: httpx.Client, body: dict[str, Any], fields: list[str]
) -> None:
    response = writer.post(f"{POLICIES}/validate", json=body)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == fields


def test_validate_is_audited_and_changes_nothing_else(h: Harness, writer: httpx.Client) -> None:
    writer.post(POLICIES, json=BODY)
    before = writer.get(f"{POLICIES}/1").json()
    writer.post(f"{POLICIES}/validate", json={"request": REQUEST, "policy_id": 1})
    event = h.events()[-1]
    assert writer.get(f"{POLICIES}/1").json() == before
    assert (
        event["type"],
        event["target"]["id"],
        event["details"]["result"],
        event["details"]["mode"],
    ) == (
        "policy.validated",
        "1",
        "warn",
        "policy_id",
    )


def test_validate_is_rate_limited_per_address(
    sqlite_url: str, harness_factory: Callable[..., Harness]
) -> None:
    h = harness_factory(sqlite_url, rate_limit=1)
    reader = h.client(token=h.login(h.admin_credentials, ip="192.0.2.1"), ip="192.0.2.9")
    statuses = [
        reader.post(f"{POLICIES}/validate", json={"request": REQUEST}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


# -- certificate requests ----------------------------------------------------------------------------


def make_csr(key: Any, names: list[str], ca: bool = False) -> str:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    )
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM).decode()


@pytest.fixture
def enforced(writer: httpx.Client) -> httpx.Client:
    writer.post(POLICIES, json={**BODY, "is_enabled": True})
    writer.post(
        POLICIES,
        json={
            "name": "Org",
            "is_enabled": True,
            "matching_criteria": {"action": "certificate.generate", "domains": ["*.example.com"]},
            "rules": [{"action": "enforce_values", "values": {"organization": "Example Ltd"}}],
        },
    )
    return writer


def test_warned_request_is_issued_201_and_audited(h: Harness, enforced: httpx.Client) -> None:
    response = enforced.post("/service/certificates", json=REQUEST)
    event = h.events()[-1]
    assert response.status_code == 201
    assert response.json()["data"]["result"] == "warn"
    assert response.json()["data"]["certificate"] is None
    assert (event["type"], event["outcome"], event["details"]["result"]) == (
        "certificate.requested",
        "success",
        "warn",
    )
    assert event["details"]["request"]["common_name"] == "api.prod.example.com"


def test_blocked_request_is_422_policy_violation_and_audited(
    h: Harness, enforced: httpx.Client
) -> None:
    request = {
        **REQUEST,
        "common_name": "*.prod.example.com",
        "sans": {"dns": []},
        "key": {"algorithm": "rsa", "size": 4096},
    }
    response = enforced.post("/service/certificates", json=request)
    event = h.events()[-1]
    assert (response.status_code, response.json()) == (
        422,
        {
            "success": False,
            "error": {
                "code": "POLICY_VIOLATION",
                "message": "the enabled policies block this request",
                "details": [
                    {
                        "policy": "Production Security Baseline",
                        "rule": "disable_wildcard",
                        "fail": "hard",
                        "message": "wildcard name *.prod.example.com is not allowed",
                    }
                ],
            },
        },
    )
    assert (event["outcome"], event["code"], event["details"]["result"]) == (
        "failure",
        "POLICY_VIOLATION",
        "block",
    )


def test_csr_request_gets_a_certificate_from_the_local_ca(enforced: httpx.Client) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    csr = make_csr(key, ["api.prod.example.com"])
    response = enforced.post(
        "/service/certificates",
        json={"action": "certificate.generate", "validity_days": 30, "csr": csr},
    )
    ca = x509.load_pem_x509_certificate(enforced.get("/service/ca.pem").content)
    cert = x509.load_pem_x509_certificate(response.json()["data"]["certificate"].encode())
    cert.verify_directly_issued_by(ca)
    assert response.json()["data"]["result"] == "pass"
    assert response.json()["data"]["applied_values"] == {"organization": "Example Ltd"}
    assert cert.subject.rfc4514_string() == "O=Example Ltd,CN=api.prod.example.com"
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30
    assert cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName) == ["api.prod.example.com"]


def test_small_rsa_csr_is_blocked_when_the_rule_is_hard(writer: httpx.Client) -> None:
    hard = {
        **BODY,
        "is_enabled": True,
        "rules": [{"action": "enforce_minimum_key_size", "values": {"minimum_bits": "3072"}}],
    }
    writer.post(POLICIES, json=hard)
    csr = make_csr(rsa.generate_private_key(65537, 2048), ["api.prod.example.com"])
    response = writer.post(
        "/service/certificates",
        json={"action": "certificate.generate", "validity_days": 30, "csr": csr},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (422, "POLICY_VIOLATION")


def test_certificate_request_needs_write(h: Harness) -> None:
    _, creds = h.new_account(h.as_admin(), "ci", ["read"])
    response = h.client(token=h.login(creds)).post("/service/certificates", json=REQUEST)
    assert response.status_code == 403


def test_ca_certificate_survives_a_restart(
    sqlite_url: str, harness_factory: Callable[..., Harness]
) -> None:
    first = harness_factory(sqlite_url).client().get("http://testserver/api/v1/service/ca.pem").text
    from certgov.server import Settings, create_app

    app = create_app(Settings(database_url=sqlite_url, rate_limit=0))
    try:
        assert app.state.server.ca.pem == first
    finally:
        app.state.server.store.close()


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", POLICIES, "read"),
        ("GET", f"{POLICIES}/1", "read"),
        ("POST", f"{POLICIES}/validate", "read"),
        ("POST", POLICIES, "write"),
        ("PUT", f"{POLICIES}/1", "write"),
        ("POST", f"{POLICIES}/1/enable", "write"),
        ("POST", f"{POLICIES}/1/disable", "write"),
        ("DELETE", f"{POLICIES}/1", "write"),
        ("POST", "/service/certificates", "write"),
    ],
)
@pytest.mark.parametrize("scope", ["read", "write", "admin"])
def test_policy_scope_table(hs: Harness, method: str, path: str, needed: str, scope: str) -> None:
    admin = hs.as_admin()
    admin.post(POLICIES, json=BODY)
    _, creds = hs.new_account(admin, "caller", [scope])
    client = hs.client(token=hs.login(creds))
    body: Any = None
    if path.endswith("validate"):
        body = {"request": REQUEST}
    elif path.endswith("certificates"):
        body = REQUEST
    elif method in ("POST", "PUT") and path in (POLICIES, f"{POLICIES}/1"):
        body = {**BODY, "name": "other"}
    response = client.request(method, path, json=body)
    allowed = {"read": 1, "write": 2, "admin": 3}
    if allowed[scope] >= allowed[needed]:
        assert response.status_code in (200, 201), response.text
    else:
        assert (response.status_code, response.json()["error"]["details"]) == (
            403,
            [{"field": "scope", "message": f"requires {needed}"}],
        )
