"""Reading a PEM certificate signing request into the fields of a §4.3 request. No I/O."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The curves an `ecdsa` request may name by size (§4.3): the NIST prime curves.
_CURVES: dict[type[ec.EllipticCurve], int] = {
    ec.SECP256R1: 256,
    ec.SECP384R1: 384,
    ec.SECP521R1: 521,
}
# The subject fields of a request (§4.3), as the CSR's and the certificate's attributes.
SUBJECT_OIDS = (
    ("organization", NameOID.ORGANIZATION_NAME),
    ("organizational_unit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("country", NameOID.COUNTRY_NAME),
    ("state", NameOID.STATE_OR_PROVINCE_NAME),
    ("locality", NameOID.LOCALITY_NAME),
)
# Extended key usages outside the catalogue are left out: no rule can ask for them.
EKU_OIDS = (
    (ExtendedKeyUsageOID.SERVER_AUTH, "serverAuth"),
    (ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth"),
    (ExtendedKeyUsageOID.CODE_SIGNING, "codeSigning"),
    (ExtendedKeyUsageOID.EMAIL_PROTECTION, "emailProtection"),
    (ExtendedKeyUsageOID.TIME_STAMPING, "timeStamping"),
)
# KeyUsage's attributes, by the names of the catalogue.
KEY_USAGE_ATTRIBUTES = (
    ("digital_signature", "digitalSignature"),
    ("key_encipherment", "keyEncipherment"),
    ("content_commitment", "nonRepudiation"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


# The SAN types the rules evaluate; any other would reach the certificate unseen by the policies.
_EVALUATED_SANS = (x509.DNSName, x509.IPAddress, x509.RFC822Name, x509.UniformResourceIdentifier)
_SAN_TYPE_NAMES: dict[type[x509.GeneralName], str] = {
    x509.OtherName: "otherName",
    x509.DirectoryName: "directoryName",
    x509.RegisteredID: "registeredID",
}


class CsrError(ValueError):
    """The CSR cannot be read, its signature does not verify, or it uses an unsupported key."""


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return ""
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _key(csr: x509.CertificateSigningRequest) -> dict[str, Any]:
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return {"algorithm": "rsa", "size": key.key_size}
    if isinstance(key, ec.EllipticCurvePublicKey):
        size = _CURVES.get(type(key.curve))
        if size is None:
            raise CsrError(
                f"the ECDSA curve {key.curve.name} is not supported: use P-256, P-384 or P-521"
            )
        return {"algorithm": "ecdsa", "size": size}
    raise CsrError(f"the key type {type(key).__name__} is not supported: use RSA or ECDSA")


def _digest(csr: x509.CertificateSigningRequest) -> str:
    try:
        algorithm = csr.signature_hash_algorithm
    except UnsupportedAlgorithm as exc:
        raise CsrError(f"the signature algorithm is not supported ({exc})") from exc
    if algorithm is None:
        raise CsrError("the signature uses no digest: sign the CSR with RSA or ECDSA")
    return algorithm.name.replace("-", "")


def _extensions(csr: x509.CertificateSigningRequest) -> dict[str, Any]:
    try:
        extensions = csr.extensions
    except ValueError as exc:  # DuplicateExtension is a ValueError too
        raise CsrError(f"the CSR's extensions cannot be read ({exc})") from exc
    out: dict[str, Any] = {
        "sans": {"dns": [], "ip": [], "email": [], "uri": []},
        "key_usage": [],
        "extended_key_usage": [],
        "is_ca": False,
    }
    for extension in extensions:
        value = extension.value
        if isinstance(value, x509.SubjectAlternativeName):
            for name in value:
                if not isinstance(name, _EVALUATED_SANS):
                    kind = _SAN_TYPE_NAMES.get(type(name), type(name).__name__)
                    raise CsrError(
                        f"holds a {kind} SAN, which no rule evaluates: only DNS, IP, email and "
                        "URI SANs may be requested"
                    )
            out["sans"] = {
                "dns": value.get_values_for_type(x509.DNSName),
                "ip": [str(ip) for ip in value.get_values_for_type(x509.IPAddress)],
                "email": value.get_values_for_type(x509.RFC822Name),
                "uri": value.get_values_for_type(x509.UniformResourceIdentifier),
            }
        elif isinstance(value, x509.KeyUsage):
            out["key_usage"] = [name for attr, name in KEY_USAGE_ATTRIBUTES if getattr(value, attr)]
        elif isinstance(value, x509.ExtendedKeyUsage):
            out["extended_key_usage"] = [name for oid, name in EKU_OIDS if oid in value]
        elif isinstance(value, x509.BasicConstraints):
            out["is_ca"] = value.ca
    return out


def read_csr(pem: str) -> dict[str, Any]:
    """The request fields a CSR holds: names, key, digest, subject and extensions.

    Raises CsrError when the PEM does not parse, the signature does not verify, the key or
    signature is of a kind a request cannot describe, or it holds what no rule evaluates (a
    second CN, a SAN of another type than DNS, IP, email and URI).
    """
    try:
        csr = x509.load_pem_x509_csr(pem.encode("utf-8"))
    except ValueError as exc:
        # cryptography's own text names its internals and changes between versions.
        raise CsrError("is not a PEM certificate signing request") from exc
    if not csr.is_signature_valid:
        raise CsrError("the CSR's signature does not verify")
    common_names = len(csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    if common_names > 1:
        # Policies match the one CN a request has; a second would be signed unseen.
        raise CsrError(
            f"holds {common_names} common names (CN); a certificate request holds at most one"
        )
    fields: dict[str, Any] = {
        "common_name": _attribute(csr.subject, NameOID.COMMON_NAME),
        "key": _key(csr),
        "digest": _digest(csr),
        "subject": {
            field: value for field, oid in SUBJECT_OIDS if (value := _attribute(csr.subject, oid))
        },
    }
    fields.update(_extensions(csr))
    return fields
