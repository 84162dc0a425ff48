"""The rule catalogue of contract §4.2: one place that says what each rule action takes.

The declarations' JSON Schema for rules is generated from this table
(`python -m certgov.declarations.schemagen`), and the server validates policy bodies with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEY_USAGES = (
    "digitalSignature",
    "keyEncipherment",
    "nonRepudiation",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
)
EXTENDED_KEY_USAGES = ("serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping")
DIGESTS = ("sha256", "sha384", "sha512")
ALGORITHMS = ("rsa", "ecdsa")
PURPOSES = ("server", "client", "code_signing", "email")
SUBJECT_FIELDS = ("organization", "organizational_unit", "country", "state", "locality")
POLICY_ACTIONS = ("certificate.generate", "certificate.renew")
FAIL_MODES = ("hard", "soft")


@dataclass(frozen=True)
class ValueSpec:
    """One key of a rule's `values`.

    `type` is `int` (a string of digits or an integer, answered as a string), `enum` (one of
    `choices`), `enum_list` (a non-empty list of `choices`), `country` (ISO 3166-1 alpha-2),
    `domain` (a domain name without a leading dot) or `text` (a non-empty string).
    """

    key: str
    type: str
    description: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    looser: str = ""
    """For an `int`: which way (`higher` or `lower`) lets more requests through."""


@dataclass(frozen=True)
class RuleSpec:
    """One rule action: its values, which are required, and how many must be present."""

    action: str
    description: str
    values: tuple[ValueSpec, ...] = ()
    required: tuple[str, ...] = ()
    min_values: int = 0
    value_keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_keys", tuple(v.key for v in self.values))


def _text(key: str, description: str) -> ValueSpec:
    return ValueSpec(key, "text", description)


CATALOGUE: tuple[RuleSpec, ...] = (
    RuleSpec(
        "enforce_values",
        "Subject fields must equal these values; empty fields are filled with them.",
        (
            _text("organization", "Subject organisation (O)."),
            _text("organizational_unit", "Subject organisational unit (OU)."),
            ValueSpec("country", "country", "Subject country (C), ISO 3166-1 alpha-2."),
            _text("state", "Subject state or province (ST)."),
            _text("locality", "Subject locality (L)."),
        ),
        min_values=1,
    ),
    RuleSpec(
        "enforce_key_usage",
        "The request must ask for every listed key usage and extended key usage.",
        (
            ValueSpec(
                "key_usage", "enum_list", "Key usages that must be present.", choices=KEY_USAGES
            ),
            ValueSpec(
                "extended_key_usage",
                "enum_list",
                "Extended key usages that must be present.",
                choices=EXTENDED_KEY_USAGES,
            ),
        ),
        min_values=1,
    ),
    RuleSpec("disable_wildcard", "The common name and SANs must not be wildcard names."),
    RuleSpec(
        "block_subdomains",
        "Names must not be strict subdomains of a name the policy lists exactly.",
    ),
    RuleSpec("block_other_domains", "Every name must match one of the policy's domain patterns."),
    RuleSpec(
        "enforce_domain_suffix",
        "The common name and every DNS SAN must equal the suffix or end with '.' + suffix.",
        (ValueSpec("suffix", "domain", "A domain name without a leading dot."),),
        required=("suffix",),
    ),
    RuleSpec(
        "enforce_minimum_key_size",
        "RSA keys of at least this many bits;"
        " ECDSA curves of at least this RSA-equivalent strength.",
        (
            ValueSpec(
                "minimum_bits", "int", "Minimum key size in bits.", 2048, 8192, looser="lower"
            ),
        ),
        required=("minimum_bits",),
    ),
    RuleSpec(
        "enforce_algorithm",
        "The key must use this algorithm.",
        (ValueSpec("algorithm", "enum", "Key algorithm.", choices=ALGORITHMS),),
        required=("algorithm",),
    ),
    RuleSpec(
        "enforce_digest",
        "The signature must use this digest.",
        (ValueSpec("digest", "enum", "Signature digest.", choices=DIGESTS),),
        required=("digest",),
    ),
    RuleSpec(
        "enforce_max_validity",
        "Validity must not exceed this many days.",
        (ValueSpec("max_days", "int", "Maximum validity in days.", 1, 3650, looser="higher"),),
        required=("max_days",),
    ),
    RuleSpec(
        "enforce_min_validity",
        "Validity must be at least this many days.",
        (ValueSpec("min_days", "int", "Minimum validity in days.", 1, 3650, looser="lower"),),
        required=("min_days",),
    ),
    RuleSpec("block_ip_in_san", "No IP address SANs."),
    RuleSpec(
        "enforce_max_san_count",
        "At most this many SANs, counting all four SAN lists (not the CN).",
        (ValueSpec("max_count", "int", "Maximum number of SANs.", 1, 1000, looser="higher"),),
        required=("max_count",),
    ),
    RuleSpec("require_san", "At least one SAN."),
    RuleSpec("block_email_in_san", "No email SANs."),
    RuleSpec(
        "enforce_certificate_purpose",
        "The certificate must be requested for this purpose.",
        (ValueSpec("purpose", "enum", "Certificate purpose.", choices=PURPOSES),),
        required=("purpose",),
    ),
    RuleSpec("block_ca_flag", "The request must not ask for CA:TRUE."),
)

BY_ACTION: dict[str, RuleSpec] = {spec.action: spec for spec in CATALOGUE}
