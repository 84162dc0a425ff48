"""Attacks on the local CA (issue 21, point 2): it signed names and extensions that no policy
evaluated. Each is reproduced as it was found; the CA now signs exactly what was evaluated."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tests.server.conftest import Harness

CERTIFICATES = "/service/certificates"
# A hard rule that P-256 keys (3072-bit strength) fail and P-384 keys (7680) pass.
HARD_PROD = {
    "name": "prod",
    "is_enabled": True,
    "matching_criteria": {"action": "certificate.generate", "domains": ["*.prod.example.com"]},
    "rules": [
        {"action": "enforce_minimum_key_size", "fail": "hard", "values": {"minimum_bits": "4096"}}
    ],
}
UPN = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def cn(name: str) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.COMMON_NAME, name)


def csr(
    key: ec.EllipticCurvePrivateKey,
    subject: list[x509.NameAttribute],
    extensions: list[tuple[x509.ExtensionType, bool]] = (),  # type: ignore[assignment]
) -> str:
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM).decode()


def invalid(field: str, message: str) -> tuple[int, dict[str, Any]]:
    error = {
        "code": "VALIDATION_ERROR",
        "message": "the request is invalid",
        "details": [{"field": field, "message": message}],
    }
    return 422, {"success": False, "error": error}


@pytest.fixture
def writer(hs: Harness) -> httpx.Client:
    admin = hs.as_admin()
    assert admin.post("/service/policies", json=HARD_PROD).status_code == 201
    return admin


def request_with(pem: str) -> dict[str, Any]:
    return {"action": "certificate.generate", "validity_days": 30, "csr": pem}


def answer(response: httpx.Response) -> tuple[int, Any]:
    body = response.json()
    certificate = (body.get("data") or {}).get("certificate")
    if certificate:  # what the CA signed, readably
        cert = x509.load_pem_x509_certificate(certificate.encode())
        body["data"]["certificate"] = cert.subject.rfc4514_string()
    return response.status_code, body


def test_a_csr_with_two_common_names_is_refused(writer: httpx.Client) -> None:
    pem = csr(
        ec.generate_private_key(ec.SECP256R1()), [cn("ok.other.org"), cn("api.prod.example.com")]
    )
    response = writer.post(CERTIFICATES, json=request_with(pem))
    assert answer(response) == invalid(
        "request.csr", "holds 2 common names (CN); a certificate request holds at most one"
    )


@pytest.mark.parametrize(
    ("san", "kind"),
    [
        (x509.OtherName(UPN, b"\x0c\x14api.prod.example.com"), "otherName"),
        (x509.DirectoryName(x509.Name([cn("api.prod.example.com")])), "directoryName"),
        (x509.RegisteredID(ObjectIdentifier("1.2.3.4")), "registeredID"),
    ],
    ids=["otherName", "directoryName", "registeredID"],
)
def test_a_san_type_no_rule_evaluates_is_refused(
    writer: httpx.Client, san: x509.GeneralName, kind: str
) -> None:
    sans = x509.SubjectAlternativeName([x509.DNSName("ok.other.org"), san])
    pem = csr(ec.generate_private_key(ec.SECP256R1()), [cn("ok.other.org")], [(sans, False)])
    response = writer.post(CERTIFICATES, json=request_with(pem))
    assert answer(response) == invalid(
        "request.csr",
        f"holds a {kind} SAN, which no rule evaluates: only DNS, IP, email and URI SANs may be "
        "requested",
    )


@pytest.mark.parametrize(
    ("char", "what"),
    [("\u202e", "bidirectional control character U+202E"), ("\x00", "control character U+0000")],
    ids=["U+202E", "NUL"],
)
def test_a_common_name_with_a_control_or_bidi_character_is_refused(
    writer: httpx.Client, char: str, what: str
) -> None:
    name = f"api{char}.other.org"
    fields = {
        "action": "certificate.generate",
        "common_name": name,
        "key": {"algorithm": "ecdsa", "size": 384},
        "digest": "sha256",
        "validity_days": 30,
    }
    pem = csr(ec.generate_private_key(ec.SECP384R1()), [cn(name)])
    answers = [
        writer.post(CERTIFICATES, json=fields),
        writer.post("/service/policies/validate", json={"request": fields}),
        writer.post(CERTIFICATES, json=request_with(pem)),
    ]
    assert [answer(r) for r in answers] == [
        invalid("request.common_name", f"must not hold the {what}"),
        invalid("request.common_name", f"must not hold the {what}"),
        invalid("request.csr", f"common_name: must not hold the {what}"),
    ]


def test_the_certificate_carries_only_what_was_evaluated(writer: httpx.Client) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    subject = [
        cn("api.prod.example.com"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "root@evil.example"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "42"),
    ]
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.SubjectAlternativeName([x509.DNSName("api.prod.example.com")]), False),
        (
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.OCSP_SIGNING]
            ),
            False,
        ),
        (x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00"), False),
        (x509.OCSPNoCheck(), False),
    ]
    response = writer.post(CERTIFICATES, json=request_with(csr(key, subject, extensions)))
    cert = x509.load_pem_x509_certificate(response.json()["data"]["certificate"].encode())
    ca = x509.load_pem_x509_certificate(writer.get("/service/ca.pem").content)
    cert.verify_directly_issued_by(ca)
    assert cert.subject.rfc4514_string() == "CN=api.prod.example.com"
    assert {e.oid.dotted_string: (e.critical, e.value) for e in cert.extensions} == {
        "2.5.29.35": (False, x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())),  # type: ignore[arg-type]
        "2.5.29.14": (False, x509.SubjectKeyIdentifier.from_public_key(key.public_key())),
        "2.5.29.19": (True, x509.BasicConstraints(ca=False, path_length=None)),
        "2.5.29.37": (False, x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])),
        "2.5.29.17": (False, x509.SubjectAlternativeName([x509.DNSName("api.prod.example.com")])),
    }
