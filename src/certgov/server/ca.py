"""The server's local certificate authority: made on first start, kept in the database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certgov.server.store import Store, StoredCA

CA_VALIDITY = timedelta(days=3650)
# What enforce_values may fill in, as subject attributes.
SUBJECT_OIDS = {
    "organization": NameOID.ORGANIZATION_NAME,
    "organizational_unit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "country": NameOID.COUNTRY_NAME,
    "state": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
}


@dataclass(frozen=True)
class LocalCA:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(
        self,
        csr: x509.CertificateSigningRequest,
        validity_days: int,
        now: datetime,
        applied_values: dict[str, str],
    ) -> str:
        """Sign the CSR's key and extensions, with subject fields the policies filled added."""
        attributes = list(csr.subject)
        present = {a.oid for a in attributes}
        for field, value in applied_values.items():
            oid = SUBJECT_OIDS[field]
            if oid not in present:
                attributes.append(x509.NameAttribute(oid, value))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=validity_days))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        for extension in csr.extensions:
            builder = builder.add_extension(extension.value, critical=extension.critical)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode()


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
