"""Certificate requests (§4.3): field parsing with every problem at once, JSON round trip, CSRs."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from certgov.rules.request import CertRequest, parse_request, request_to_json

FIXTURES = Path(__file__).parent / "fixtures"

CONTRACT_EXAMPLE: dict[str, Any] = {
    "action": "certificate.generate",
    "common_name": "api.prod.example.com",
    "sans": {"dns": ["api.prod.example.com"], "ip": [], "email": [], "uri": []},
    "key": {"algorithm": "rsa", "size": 3072},
    "digest": "sha256",
    "validity_days": 90,
    "subject": {"organization": "Example Ltd", "country": "NZ"},
    "key_usage": ["digitalSignature"],
    "extended_key_usage": ["serverAuth"],
    "purpose": "server",
    "is_ca": False,
}
CONTRACT_REQUEST = CertRequest(
    action="certificate.generate",
    common_name="api.prod.example.com",
    key_algorithm="rsa",
    key_size=3072,
    digest="sha256",
    validity_days=90,
    dns_sans=("api.prod.example.com",),
    subject={"organization": "Example Ltd", "country": "NZ"},
    key_usage=("digitalSignature",),
    extended_key_usage=("serverAuth",),
    purpose="server",
)


def test_the_contract_example_parses() -> None:
    assert parse_request(CONTRACT_EXAMPLE) == (CONTRACT_REQUEST, [])


def test_request_to_json_gives_the_contract_shape() -> None:
    assert request_to_json(CONTRACT_REQUEST) == CONTRACT_EXAMPLE


def test_request_to_json_reads_back_to_an_equal_request() -> None:
    request = CertRequest(
        action="certificate.renew",
        common_name="",
        key_algorithm="ecdsa",
        key_size=384,
        digest="sha384",
        validity_days=30,
        dns_sans=("*.example.com",),
        ip_sans=("2001:db8::1",),
        email_sans=("ops@example.com",),
        uri_sans=("spiffe://example.com/x",),
        is_ca=True,
    )
    assert parse_request(request_to_json(request)) == (request, [])


def test_empty_lists_subject_and_defaults_may_be_left_out() -> None:
    body = {
        "action": "certificate.renew",
        "common_name": "example.com",
        "key": {"algorithm": "ecdsa", "size": 256},
        "digest": "sha256",
        "validity_days": 30,
        "subject": {"organization": "", "locality": None},
    }
    assert parse_request(body) == (
        CertRequest(
            action="certificate.renew",
            common_name="example.com",
            key_algorithm="ecdsa",
            key_size=256,
            digest="sha256",
            validity_days=30,
        ),
        [],
    )


def test_ip_sans_are_kept_in_compressed_form() -> None:
    body = {**CONTRACT_EXAMPLE, "sans": {"ip": ["2001:0db8:0000::0001", "192.0.2.1"]}}
    request, _ = parse_request(body)
    assert request is not None
    assert request.ip_sans == ("2001:db8::1", "192.0.2.1")


def test_names_are_the_cn_and_dns_sans_each_once() -> None:
    body = {
        **CONTRACT_EXAMPLE,
        "common_name": "API.prod.example.com",
        "sans": {"dns": ["api.prod.example.com.", "www.prod.example.com"]},
    }
    request, _ = parse_request(body)
    assert request is not None
    assert request.names == ("API.prod.example.com", "www.prod.example.com")


def test_a_body_with_every_kind_of_problem_reports_all_of_them() -> None:
    body = {
        "action": "x",
        "sans": {
            "dns": ["a..b"],
            "ip": ["1.2.3"],
            "email": ["x"],
            "uri": ["nope"],
            "foo": [],
        },
        "key": {"algorithm": "ecdsa", "size": 255, "curve": "P-256"},
        "digest": "md4",
        "validity_days": 0,
        "subject": {"c": "x", "organization": 1},
        "key_usage": ["x"],
        "extended_key_usage": "y",
        "purpose": "p",
        "is_ca": "no",
        "extra": 1,
    }
    assert parse_request(body) == (
        None,
        [
            ("request.extra", "unknown field"),
            ("request.action", "must be one of certificate.generate, certificate.renew, not 'x'"),
            ("request.sans.foo", "unknown SAN kind; the kinds are dns, ip, email, uri"),
            ("request.sans.dns[0]", "must not contain empty labels (as in 'a..b', '.a' or 'a..')"),
            ("request.sans.ip[0]", "'1.2.3' is not an IPv4 or IPv6 address"),
            ("request.sans.email[0]", "'x' is not an email address"),
            ("request.sans.uri[0]", "'nope' is not a URI"),
            ("request.key.curve", "unknown field"),
            ("request.key.size", "must be the curve size of an ECDSA key: 256, 384 or 521"),
            (
                "request.digest",
                "must be one of md5, sha1, sha224, sha256, sha384, sha512, not 'md4'",
            ),
            ("request.validity_days", "must be a whole number of days from 1 to 36500"),
            (
                "request.subject.c",
                "unknown subject field; the fields are organization, organizational_unit,"
                " country, state, locality",
            ),
            ("request.subject.organization", "must be a string, not a number"),
            (
                "request.key_usage[0]",
                "must be one of digitalSignature, keyEncipherment, nonRepudiation,"
                " dataEncipherment, keyAgreement, keyCertSign, cRLSign, not 'x'",
            ),
            ("request.extended_key_usage", "must be a list, not a string"),
            (
                "request.purpose",
                "must be one of server, client, code_signing, email or null, not 'p'",
            ),
            ("request.is_ca", "must be true or false, not a string"),
        ],
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"action": None},
            [
                (
                    "request.action",
                    "must be one of certificate.generate, certificate.renew, not None",
                )
            ],
        ),
        (
            {"common_name": "", "sans": {}},
            [("request.common_name", "is required when the request has no SAN")],
        ),
        ({"common_name": 5}, [("request.common_name", "must be a string, not a number")]),
        (
            {"common_name": "x" * 65},
            [("request.common_name", "must be at most 64 characters, not 65")],
        ),
        ({"sans": []}, [("request.sans", "must be an object, not a list")]),
        (
            {"sans": {"dns": "a.example.com"}},
            [("request.sans.dns", "must be a list, not a string")],
        ),
        ({"sans": {"dns": [7]}}, [("request.sans.dns[0]", "must be a string, not a number")]),
        ({"key": "rsa"}, [("request.key", "must be an object, not a string")]),
        (
            {"key": {"algorithm": "dsa", "size": 2048}},
            [("request.key.algorithm", "must be one of rsa, ecdsa, not 'dsa'")],
        ),
        (
            {"key": {"algorithm": "rsa", "size": 256}},
            [("request.key.size", "must be the RSA modulus size in bits, 512 to 16384")],
        ),
        (
            {"key": {"algorithm": "rsa", "size": "2048"}},
            [("request.key.size", "must be the RSA modulus size in bits, 512 to 16384")],
        ),
        (
            {"validity_days": True},
            [("request.validity_days", "must be a whole number of days from 1 to 36500")],
        ),
        ({"subject": "O=x"}, [("request.subject", "must be an object, not a string")]),
        (
            {"key_usage": None, "extended_key_usage": ["anyUsage"]},
            [
                (
                    "request.extended_key_usage[0]",
                    "must be one of serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, not 'anyUsage'",
                )
            ],
        ),
        ({"purpose": None}, []),
        ({"sans": {"uri": ["urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"]}}, []),
        ({"sans": {"dns": ["*.prod.example.com"]}}, []),
    ],
)
def test_field_problems(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    _, problems = parse_request({**CONTRACT_EXAMPLE, **changes})
    assert problems == expected


@pytest.mark.parametrize("missing", ["action", "key", "digest", "validity_days"])
def test_required_fields(missing: str) -> None:
    body = {k: v for k, v in CONTRACT_EXAMPLE.items() if k != missing}
    assert parse_request(body) == (None, [(f"request.{missing}", "is required")])


def test_the_path_prefix_is_the_callers() -> None:
    body = {k: v for k, v in CONTRACT_EXAMPLE.items() if k != "digest"}
    assert parse_request(body, path="") == (None, [("digest", "is required")])


def test_a_body_that_is_not_an_object() -> None:
    assert parse_request("csr", path="request") == (
        None,
        [("request", "must be an object, not a string")],
    )  # type: ignore[arg-type]


# CSRs built with cryptography.


@cache
def _rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def _ec(curve: type[ec.EllipticCurve]) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve())


Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _csr(
    key: Key,
    *,
    cn: str | None = "api.prod.example.com",
    subject: list[x509.NameAttribute] | None = None,
    sans: list[x509.GeneralName] | None = None,
    ca: bool | None = None,
    key_usage: x509.KeyUsage | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    digest: hashes.HashAlgorithm | None = None,
) -> str:
    attributes = list(subject or [])
    if cn is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else (digest or hashes.SHA256())
    csr = builder.sign(key, algorithm)
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _from_csr(pem: str, **extra: Any) -> tuple[CertRequest | None, list[tuple[str, str]]]:
    return parse_request(
        {"action": "certificate.generate", "validity_days": 90, "csr": pem, **extra}
    )


def _expected(**changes: Any) -> CertRequest:
    base = CertRequest(
        action="certificate.generate",
        common_name="api.prod.example.com",
        key_algorithm="rsa",
        key_size=2048,
        digest="sha256",
        validity_days=90,
    )
    return CertRequest(**{**base.__dict__, **changes})


@pytest.mark.parametrize(
    ("make_key", "algorithm", "size"),
    [
        (lambda: _rsa(2048), "rsa", 2048),
        (lambda: _rsa(3072), "rsa", 3072),
        (lambda: _rsa(4096), "rsa", 4096),
        (lambda: _ec(ec.SECP256R1), "ecdsa", 256),
        (lambda: _ec(ec.SECP384R1), "ecdsa", 384),
        (lambda: _ec(ec.SECP521R1), "ecdsa", 521),
    ],
    ids=["rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521"],
)
def test_csr_key_algorithm_and_size_without_sans(
    make_key: Callable[[], Key], algorithm: str, size: int
) -> None:
    assert _from_csr(_csr(make_key())) == (
        _expected(key_algorithm=algorithm, key_size=size),
        [],
    )


def test_csr_with_every_kind_of_san_subject_and_extensions() -> None:
    pem = _csr(
        _ec(ec.SECP384R1),
        subject=[
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NZ"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Wellington"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Wellington"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Ltd"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Platform"),
        ],
        sans=[
            x509.DNSName("api.prod.example.com"),
            x509.DNSName("www.prod.example.com"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.10")),
            x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
            x509.RFC822Name("ops@example.com"),
            x509.UniformResourceIdentifier("spiffe://example.com/api"),
        ],
        ca=False,
        key_usage=x509.KeyUsage(
            digital_signature=True,
            content_commitment=True,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=True,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        eku=[
            x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
            x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
            x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING,
        ],
        digest=hashes.SHA384(),
    )
    assert _from_csr(pem, purpose="server") == (
        _expected(
            key_algorithm="ecdsa",
            key_size=384,
            digest="sha384",
            dns_sans=("api.prod.example.com", "www.prod.example.com"),
            ip_sans=("192.0.2.10", "2001:db8::1"),
            email_sans=("ops@example.com",),
            uri_sans=("spiffe://example.com/api",),
            subject={
                "organization": "Example Ltd",
                "organizational_unit": "Platform",
                "country": "NZ",
                "state": "Wellington",
                "locality": "Wellington",
            },
            key_usage=("digitalSignature", "nonRepudiation", "keyAgreement"),
            extended_key_usage=("serverAuth", "clientAuth"),
            purpose="server",
        ),
        [],
    )


def test_csr_with_ca_true() -> None:
    assert _from_csr(_csr(_rsa(2048), ca=True)) == (_expected(is_ca=True), [])


def test_csr_without_cn_but_with_a_san() -> None:
    pem = _csr(_rsa(2048), cn=None, sans=[x509.DNSName("api.prod.example.com")])
    assert _from_csr(pem) == (_expected(common_name="", dns_sans=("api.prod.example.com",)), [])


def test_csr_with_ip_and_email_sans_only() -> None:
    pem = _csr(
        _ec(ec.SECP256R1),
        cn="Alice Example",
        sans=[
            x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
            x509.RFC822Name("alice@example.com"),
        ],
    )
    assert _from_csr(pem) == (
        _expected(
            common_name="Alice Example",
            key_algorithm="ecdsa",
            key_size=256,
            ip_sans=("10.0.0.1",),
            email_sans=("alice@example.com",),
        ),
        [],
    )


def test_csr_signed_with_a_digest_outside_the_catalogue_reports_it() -> None:
    pem = _csr(_rsa(2048), digest=hashes.SHA224())
    assert _from_csr(pem) == (_expected(digest="sha224"), [])


def _tamper(pem: str) -> str:
    """Flip one byte inside the signed request info, leaving the DER well formed."""
    der = x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER)
    at = der.index(b"api.prod.example.com")
    tampered = der[:at] + b"b" + der[at + 1 :]
    return x509.load_der_x509_csr(tampered).public_bytes(serialization.Encoding.PEM).decode()


def test_csr_with_a_tampered_signature() -> None:
    assert _from_csr(_tamper(_csr(_rsa(2048)))) == (
        None,
        [("request.csr", "the CSR's signature does not verify")],
    )


def test_csr_that_is_not_pem() -> None:
    assert _from_csr("-----BEGIN CERTIFICATE REQUEST-----\nnope\n") == (
        None,
        [("request.csr", "is not a PEM certificate signing request")],
    )


def test_csr_that_is_not_a_string() -> None:
    assert _from_csr(42) == (None, [("request.csr", "must be a PEM string, not a number")])  # type: ignore[arg-type]


def test_csr_with_an_ed25519_key() -> None:
    assert _from_csr(_csr(ed25519.Ed25519PrivateKey.generate())) == (
        None,
        [("request.csr", "the key type Ed25519PublicKey is not supported: use RSA or ECDSA")],
    )


def test_csr_with_a_curve_outside_the_nist_three() -> None:
    assert _from_csr(_csr(_ec(ec.SECP256K1))) == (
        None,
        [("request.csr", "the ECDSA curve secp256k1 is not supported: use P-256, P-384 or P-521")],
    )


def test_csr_with_an_invalid_dns_san_names_it_under_csr() -> None:
    pem = _csr(_rsa(2048), sans=[x509.DNSName("a..example.com")])
    assert _from_csr(pem) == (
        None,
        [
            (
                "request.csr",
                "sans.dns[0]: must not contain empty labels (as in 'a..b', '.a' or 'a..')",
            )
        ],
    )


def test_csr_fields_other_than_action_validity_and_purpose_are_refused() -> None:
    request, problems = _from_csr(_csr(_rsa(2048)), common_name="x", key={"algorithm": "rsa"})
    assert (request, problems) == (
        None,
        [
            ("request.common_name", "not allowed with csr: the CSR provides it"),
            ("request.key", "not allowed with csr: the CSR provides it"),
        ],
    )


def test_csr_request_still_needs_action_and_validity() -> None:
    assert parse_request({"csr": _csr(_rsa(2048))}) == (
        None,
        [("request.action", "is required"), ("request.validity_days", "is required")],
    )


# CSRs made by `openssl req`, committed as fixtures.


def test_openssl_rsa_csr_with_sans_and_usages() -> None:
    pem = (FIXTURES / "openssl-rsa2048-sans.csr").read_text()
    assert _from_csr(pem) == (
        _expected(
            dns_sans=("api.prod.example.com", "www.prod.example.com"),
            ip_sans=("192.0.2.10",),
            subject={
                "organization": "Example Ltd",
                "organizational_unit": "Platform",
                "country": "NZ",
                "state": "Wellington",
                "locality": "Wellington",
            },
            key_usage=("digitalSignature", "keyEncipherment"),
            extended_key_usage=("serverAuth", "clientAuth"),
        ),
        [],
    )


def test_openssl_p384_csr_with_ca_flag_email_and_uri_sans() -> None:
    pem = (FIXTURES / "openssl-p384-ca.csr").read_text()
    assert _from_csr(pem) == (
        _expected(
            common_name="ops.example.com",
            key_algorithm="ecdsa",
            key_size=384,
            digest="sha384",
            email_sans=("ops@example.com",),
            uri_sans=("spiffe://example.com/ops",),
            subject={"organization": "Example Ltd"},
            is_ca=True,
        ),
        [],
    )


def test_objects_and_lists_where_enumerated_strings_belong_are_problems() -> None:
    # Each of these is looked up among fixed choices: none may be hashed before its type is known.
    body = {
        **CONTRACT_EXAMPLE,
        "action": {},
        "key": {"algorithm": [], "size": 3072},
        "digest": {},
        "purpose": [],
        "key_usage": [{}],
        "sans": {"dns": [{}], "ip": [[]]},
        "subject": {"country": {}},
    }
    assert parse_request(body) == (
        None,
        [
            ("request.action", "must be one of certificate.generate, certificate.renew, not {}"),
            ("request.sans.dns[0]", "must be a string, not an object"),
            ("request.sans.ip[0]", "must be a string, not a list"),
            ("request.key.algorithm", "must be one of rsa, ecdsa, not []"),
            (
                "request.digest",
                "must be one of md5, sha1, sha224, sha256, sha384, sha512, not {}",
            ),
            ("request.subject.country", "must be a string, not an object"),
            (
                "request.key_usage[0]",
                "must be one of digitalSignature, keyEncipherment, nonRepudiation,"
                " dataEncipherment, keyAgreement, keyCertSign, cRLSign, not {}",
            ),
            (
                "request.purpose",
                "must be one of server, client, code_signing, email or null, not []",
            ),
        ],
    )
