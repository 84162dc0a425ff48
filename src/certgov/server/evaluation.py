"""The dry run (§4.3) and certificate requests (§5.3): both evaluate with the shared rule engine
and both leave an audit event, the only thing they change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509

from certgov.rules.engine import Evaluation, PolicyInput, evaluate
from certgov.rules.request import CertRequest, parse_request, request_to_json
from certgov.rules.validation import policy_problems
from certgov.server import policies, problems
from certgov.server.audit import Actor, AuditRecord, Target
from certgov.server.ca import LocalCA
from certgov.server.context import iso
from certgov.server.enabled import EnabledPolicies
from certgov.server.idempotency import Answer
from certgov.server.store import Tx

VALIDATE_FIELDS = ("request", "policy_id", "policy")


def parse(body: Any, path: str = "request") -> CertRequest:
    request, found = parse_request(body, path=path)
    if request is None:
        raise problems.validation_error(policies.problem_details(found))
    return request


def _summary(evaluation: Evaluation) -> dict[str, Any]:
    data = evaluation.to_json()
    return {
        "result": data["result"],
        "matched_policies": data["matched_policies"],
        "violations": data["violations"],
    }


def dry_run(
    tx: Tx, actor: Actor, body: Any, now: datetime, enabled: EnabledPolicies
) -> dict[str, Any]:
    """Evaluate as issuance would (enabled policies), or one named or inline policy."""
    if not isinstance(body, dict):
        raise problems.validation_error([{"field": "body", "message": "must be an object"}])
    found = [(k, "unknown field") for k in sorted(body) if k not in VALIDATE_FIELDS]
    if "request" not in body:
        found.append(("request", "required"))
    if "policy_id" in body and "policy" in body:
        found.append(("policy", "give policy_id or policy, not both"))
    policy_id = body.get("policy_id")
    if "policy_id" in body and (isinstance(policy_id, bool) or not isinstance(policy_id, int)):
        found.append(("policy_id", "must be an integer"))
    inline = body.get("policy")
    if "policy" in body and not isinstance(inline, dict):
        found.append(("policy", "must be an object"))
    elif isinstance(inline, dict):
        found.extend((f"policy.{p}" if p else "policy", m) for p, m in policy_problems(inline))
    request, request_found = parse_request(body.get("request", {}), path="request")
    if "request" in body:
        found.extend(request_found)
    if found:
        raise problems.validation_error(policies.problem_details(sorted(found)))
    assert request is not None
    target: Target | None = None
    if "policy_id" in body:
        assert isinstance(policy_id, int)
        stored = policies.get(tx, policy_id)
        target = policies.target(stored)
        evaluation = evaluate(request, [policies.engine_input(stored)], ignore_enabled=True)
    elif "policy" in body:
        assert isinstance(inline, dict)
        evaluation = evaluate(request, [PolicyInput.from_json(inline)], ignore_enabled=True)
    else:
        evaluation = evaluate(request, enabled.candidates(tx, request))
    details = {**_summary(evaluation), "mode": _mode(body), "request": request_to_json(request)}
    tx.audit.append(AuditRecord("policy.validated", actor, target, details=details), iso(now))
    return {"success": True, "data": evaluation.to_json()}


def _mode(body: dict[str, Any]) -> str:
    if "policy_id" in body:
        return "policy_id"
    return "inline" if "policy" in body else "enabled"


def request_certificate(
    tx: Tx, actor: Actor, body: Any, now: datetime, ca: LocalCA, enabled: EnabledPolicies
) -> Answer:
    """Evaluate the enabled policies; block is 422 POLICY_VIOLATION, otherwise 201.

    Both outcomes are answers, not raised errors, so that the audit event commits either way.
    """
    request = parse(body)
    evaluation = evaluate(request, enabled.candidates(tx, request))
    data = evaluation.to_json()
    blocked = not evaluation.allowed
    details = {**_summary(evaluation), "request": request_to_json(request)}
    tx.audit.append(
        AuditRecord(
            "certificate.requested",
            actor,
            None,
            "failure" if blocked else "success",
            "POLICY_VIOLATION" if blocked else None,
            details,
        ),
        iso(now),
    )
    if blocked:
        refusal = problems.ApiProblem(
            422, "POLICY_VIOLATION", "the enabled policies block this request", data["violations"]
        )
        return Answer(422, refusal.body())
    certificate = None
    if isinstance(body, dict) and "csr" in body:
        csr = x509.load_pem_x509_csr(str(body["csr"]).encode())
        certificate = ca.issue(csr.public_key(), request, now, data["applied_values"])
    return Answer(201, {"success": True, "data": {**data, "certificate": certificate}})
