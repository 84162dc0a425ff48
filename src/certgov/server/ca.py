"""The server's local certificate authority: made on first start, kept in the database."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from certgov.rules.catalogue import SUBJECT_FIELDS
from certgov.rules.csr import EKU_OIDS, KEY_USAGE_ATTRIBUTES, SUBJECT_OIDS
from certgov.rules.request import CertRequest
from certgov.server.store import Store, StoredCA

CA_VALIDITY = timedelta(days=3650)
_SUBJECT_OIDS = dict(SUBJECT_OIDS)
_KEY_USAGE_ATTRIBUTES = {name: attribute for attribute, name in KEY_USAGE_ATTRIBUTES}
_EKU_OIDS = {name: oid for oid, name in EKU_OIDS}
# KeyUsage bits no request can ask for (they qualify keyAgreement; the constructor needs them).
_NEVER_SET = {"encipher_only": False, "decipher_only": False}


@dataclass(frozen=True)
class LocalCA:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(
        self,
        public_key: CertificatePublicKeyTypes,
        request: CertRequest,
        now: datetime,
        applied_values: dict[str, str],
    ) -> str:
        """A certificate for `public_key` with exactly the names and usages of the evaluated
        `request` (plus the subject fields the policies filled in) and the extensions the CA
        sets itself: nothing is copied from the CSR unseen by the policies (contract §5.3)."""
        builder = (
            x509.CertificateBuilder()
            .subject_name(_subject(request, applied_values))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=request.validity_days))
        )
        for extension, critical in self._extensions(public_key, request):
            builder = builder.add_extension(extension, critical=critical)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def _extensions(
        self, public_key: CertificatePublicKeyTypes, request: CertRequest
    ) -> list[tuple[x509.ExtensionType, bool]]:
        out: list[tuple[x509.ExtensionType, bool]] = [
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False),
            (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
            (x509.BasicConstraints(ca=request.is_ca, path_length=None), True),
        ]
        if request.key_usage:
            bits = {attribute: False for attribute in _KEY_USAGE_ATTRIBUTES.values()}
            bits.update({_KEY_USAGE_ATTRIBUTES[name]: True for name in request.key_usage})
            out.append((x509.KeyUsage(**bits, **_NEVER_SET), True))
        if request.extended_key_usage:
            usages = [_EKU_OIDS[name] for name in request.extended_key_usage]
            out.append((x509.ExtendedKeyUsage(usages), False))
        sans: list[x509.GeneralName] = [
            *(x509.DNSName(name) for name in request.dns_sans),
            *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in request.ip_sans),
            *(x509.RFC822Name(email) for email in request.email_sans),
            *(x509.UniformResourceIdentifier(uri) for uri in request.uri_sans),
        ]
        if sans:
            # RFC 5280 4.2.1.6: critical when the subject is empty.
            out.append((x509.SubjectAlternativeName(sans), not request.common_name))
        return out


def _subject(request: CertRequest, applied_values: dict[str, str]) -> x509.Name:
    """The CN and the subject fields that were evaluated, with those the policies filled in."""
    fields = {**applied_values, **request.subject}
    names = [(NameOID.COMMON_NAME, request.common_name)]
    names += [(_SUBJECT_OIDS[field], fields.get(field, "")) for field in SUBJECT_FIELDS]
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in names if value])


def new_ca(now: datetime) -> StoredCA:
    """A new CA: its key and its certificate, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "certgov reference server local CA"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, secrets.token_hex(8)),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return StoredCA(key_pem, cert.public_bytes(serialization.Encoding.PEM).decode())


def load_or_create(store: Store, now: datetime) -> LocalCA:
    """The CA stored in the database; the first start (of any process) creates it."""
    with store.transaction() as tx:
        stored = tx.ca.get()
        if stored is None:
            candidate = new_ca(now)
            stored = candidate if tx.ca.put(candidate) else tx.ca.get()
    assert stored is not None
    key = serialization.load_pem_private_key(stored.key_pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the stored CA key is not an ECDSA key")
    return LocalCA(key, x509.load_pem_x509_certificate(stored.cert_pem.encode()))
