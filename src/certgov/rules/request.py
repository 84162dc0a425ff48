"""The certificate request of contract §4.3: parsing with every problem at once, and back to JSON.

A request comes as fields or as a CSR (`"csr": "<PEM>"` with `action` and `validity_days`); both
end in the same `CertRequest`, which is what the rule engine evaluates.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from certgov.rules.catalogue import (
    ALGORITHMS,
    EXTENDED_KEY_USAGES,
    KEY_USAGES,
    POLICY_ACTIONS,
    PURPOSES,
    SUBJECT_FIELDS,
)
from certgov.rules.csr import CsrError, read_csr
from certgov.rules.domains import name_problems, normalise_name
from certgov.rules.names import control_character_problem
from certgov.rules.validation import type_name

Problems = list[tuple[str, str]]

REQUEST_FIELDS = (
    "action",
    "common_name",
    "sans",
    "key",
    "digest",
    "validity_days",
    "subject",
    "key_usage",
    "extended_key_usage",
    "purpose",
    "is_ca",
)
# With a CSR the names, key, digest, subject and extensions come from the CSR. `purpose` may be
# sent beside it, since a CSR has no field for it.
CSR_FIELDS = ("action", "csr", "validity_days", "purpose")
SAN_KINDS = ("dns", "ip", "email", "uri")
# Digests a request may name: wider than the catalogue's, so that a weak one reaches
# `enforce_digest` and is reported there rather than refused as malformed.
REQUEST_DIGESTS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
ECDSA_SIZES = (256, 384, 521)
RSA_SIZE_RANGE = (512, 16384)
MAX_VALIDITY_DAYS = 36500
COMMON_NAME_MAX = 64  # ub-common-name of RFC 5280
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


@dataclass(frozen=True)
class CertRequest:
    """One certificate request, as the rules see it. Names are kept as the requester wrote them."""

    action: str
    common_name: str
    key_algorithm: str
    key_size: int
    digest: str
    validity_days: int
    dns_sans: tuple[str, ...] = ()
    ip_sans: tuple[str, ...] = ()
    email_sans: tuple[str, ...] = ()
    uri_sans: tuple[str, ...] = ()
    subject: Mapping[str, str] = field(default_factory=dict)
    key_usage: tuple[str, ...] = ()
    extended_key_usage: tuple[str, ...] = ()
    purpose: str | None = None
    is_ca: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """The names policies match on: the CN (when set) and every DNS SAN, each once.

        A name repeated (the CN is usually a SAN too, perhaps in another case) counts once.
        """
        seen: set[str] = set()
        out = []
        for name in ((self.common_name,) if self.common_name else ()) + self.dns_sans:
            key = normalise_name(name)
            if key not in seen:
                seen.add(key)
                out.append(name)
        return tuple(out)

    @property
    def san_count(self) -> int:
        """Entries of all four SAN lists; the CN does not count."""
        return len(self.dns_sans) + len(self.ip_sans) + len(self.email_sans) + len(self.uri_sans)


def request_to_json(req: CertRequest) -> dict[str, Any]:
    """The §4.3 JSON shape of a request; `parse_request` reads it back to an equal request."""
    return {
        "action": req.action,
        "common_name": req.common_name,
        "sans": {
            "dns": list(req.dns_sans),
            "ip": list(req.ip_sans),
            "email": list(req.email_sans),
            "uri": list(req.uri_sans),
        },
        "key": {"algorithm": req.key_algorithm, "size": req.key_size},
        "digest": req.digest,
        "validity_days": req.validity_days,
        "subject": {k: req.subject[k] for k in SUBJECT_FIELDS if k in req.subject},
        "key_usage": list(req.key_usage),
        "extended_key_usage": list(req.extended_key_usage),
        "purpose": req.purpose,
        "is_ca": req.is_ca,
    }


def _whole_number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


class _Reader:
    """Reads one request body, collecting every problem under a path prefix."""

    def __init__(self, body: Mapping[str, Any], path: str) -> None:
        self.body = body
        self.path = path
        self.problems: Problems = []

    def at(self, *parts: str) -> str:
        return ".".join((self.path, *parts)) if self.path else ".".join(parts)

    def add(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def unknown(self, allowed: tuple[str, ...], why: str = "unknown field") -> None:
        for key in sorted(map(str, self.body)):
            if key not in allowed:
                self.add(self.at(key), why)

    def action(self) -> str:
        value = self.body.get("action")
        if "action" not in self.body:
            self.add(self.at("action"), "is required")
        elif value not in POLICY_ACTIONS:
            self.add(
                self.at("action"), f"must be one of {', '.join(POLICY_ACTIONS)}, not {value!r}"
            )
        return value if isinstance(value, str) else ""

    def validity_days(self) -> int:
        if "validity_days" not in self.body:
            self.add(self.at("validity_days"), "is required")
            return 0
        days = _whole_number(self.body["validity_days"])
        if days is None or not 1 <= days <= MAX_VALIDITY_DAYS:
            self.add(
                self.at("validity_days"),
                f"must be a whole number of days from 1 to {MAX_VALIDITY_DAYS}",
            )
            return 0
        return days

    def purpose(self) -> str | None:
        value = self.body.get("purpose")
        if value is not None and value not in PURPOSES:
            self.add(
                self.at("purpose"), f"must be one of {', '.join(PURPOSES)} or null, not {value!r}"
            )
            return None
        return value if isinstance(value, str) else None

    def choice_list(self, key: str, choices: tuple[str, ...]) -> tuple[str, ...]:
        value = self.body.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add(self.at(key), f"must be a list, not {type_name(value)}")
            return ()
        for i, item in enumerate(value):
            if item not in choices:
                self.add(
                    f"{self.at(key)}[{i}]", f"must be one of {', '.join(choices)}, not {item!r}"
                )
        return tuple(item for item in value if item in choices)

    def sans(self) -> dict[str, tuple[str, ...]]:
        value = self.body.get("sans")
        out: dict[str, tuple[str, ...]] = {kind: () for kind in SAN_KINDS}
        if value is None:
            return out
        if not isinstance(value, Mapping):
            self.add(self.at("sans"), f"must be an object, not {type_name(value)}")
            return out
        for key in sorted(map(str, value)):
            if key not in SAN_KINDS:
                self.add(
                    self.at("sans", key), f"unknown SAN kind; the kinds are {', '.join(SAN_KINDS)}"
                )
        for kind in SAN_KINDS:
            entries = value.get(kind)
            if entries is None:
                continue
            where = self.at("sans", kind)
            if not isinstance(entries, list):
                self.add(where, f"must be a list, not {type_name(entries)}")
                continue
            good = []
            for i, entry in enumerate(entries):
                message = _san_problem(kind, entry)
                if message:
                    self.add(f"{where}[{i}]", message)
                else:
                    good.append(_canonical_san(kind, entry))
            out[kind] = tuple(good)
        return out

    def common_name(self, has_sans: bool) -> str:
        value: Any = self.body.get("common_name", "")
        where = self.at("common_name")
        if not isinstance(value, str):
            self.add(where, f"must be a string, not {type_name(value)}")
            return ""
        if not value and not has_sans:
            self.add(where, "is required when the request has no SAN")
        elif len(value) > COMMON_NAME_MAX:
            self.add(where, f"must be at most {COMMON_NAME_MAX} characters, not {len(value)}")
        elif problem := control_character_problem(value):
            self.add(where, problem)
        return str(value)

    def key(self) -> tuple[str, int]:
        value = self.body.get("key")
        where = self.at("key")
        if "key" not in self.body:
            self.add(where, "is required")
            return "", 0
        if not isinstance(value, Mapping):
            self.add(where, f"must be an object, not {type_name(value)}")
            return "", 0
        for key in sorted(map(str, value)):
            if key not in ("algorithm", "size"):
                self.add(self.at("key", key), "unknown field")
        algorithm = value.get("algorithm")
        size = _whole_number(value.get("size"))
        if algorithm not in ALGORITHMS:
            self.add(
                self.at("key", "algorithm"),
                f"must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}",
            )
            return "", 0
        if algorithm == "ecdsa" and size not in ECDSA_SIZES:
            self.add(
                self.at("key", "size"), "must be the curve size of an ECDSA key: 256, 384 or 521"
            )
        elif algorithm == "rsa" and (
            size is None or not RSA_SIZE_RANGE[0] <= size <= RSA_SIZE_RANGE[1]
        ):
            low, high = RSA_SIZE_RANGE
            self.add(
                self.at("key", "size"), f"must be the RSA modulus size in bits, {low} to {high}"
            )
        return str(algorithm), size or 0

    def digest(self) -> str:
        value = self.body.get("digest")
        if "digest" not in self.body:
            self.add(self.at("digest"), "is required")
        elif value not in REQUEST_DIGESTS:
            self.add(
                self.at("digest"), f"must be one of {', '.join(REQUEST_DIGESTS)}, not {value!r}"
            )
        return value if isinstance(value, str) else ""

    def subject(self) -> dict[str, str]:
        value = self.body.get("subject")
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(self.at("subject"), f"must be an object, not {type_name(value)}")
            return {}
        out = {}
        for key in sorted(map(str, value)):
            if key not in SUBJECT_FIELDS:
                self.add(
                    self.at("subject", key),
                    f"unknown subject field; the fields are {', '.join(SUBJECT_FIELDS)}",
                )
        for key in SUBJECT_FIELDS:
            item = value.get(key)
            if item is None:
                continue
            if not isinstance(item, str):
                self.add(self.at("subject", key), f"must be a string, not {type_name(item)}")
            elif problem := control_character_problem(item):
                self.add(self.at("subject", key), problem)
            elif item:  # an empty field is an unset field (§4.3)
                out[key] = item
        return out

    def is_ca(self) -> bool:
        value = self.body.get("is_ca", False)
        if not isinstance(value, bool):
            self.add(self.at("is_ca"), f"must be true or false, not {type_name(value)}")
            return False
        return value


def _san_problem(kind: str, entry: Any) -> str | None:
    if not isinstance(entry, str):
        return f"must be a string, not {type_name(entry)}"
    if problem := control_character_problem(entry):
        return problem
    if kind == "dns":
        problems = name_problems(entry, allow_wildcard=True)
        return "; ".join(problems) if problems else None
    if kind == "ip":
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            return f"{entry!r} is not an IPv4 or IPv6 address"
        return None
    if kind == "email":
        return None if _EMAIL.fullmatch(entry) else f"{entry!r} is not an email address"
    parts = urlsplit(entry)
    return None if parts.scheme and (parts.netloc or parts.path) else f"{entry!r} is not a URI"


def _canonical_san(kind: str, entry: str) -> str:
    return str(ipaddress.ip_address(entry)) if kind == "ip" else entry


def _parse_fields(body: Mapping[str, Any], path: str) -> tuple[CertRequest | None, Problems]:
    reader = _Reader(body, path)
    reader.unknown(REQUEST_FIELDS)
    action = reader.action()
    sans = reader.sans()
    raw_sans = body.get("sans")
    has_sans = isinstance(raw_sans, Mapping) and any(raw_sans.get(kind) for kind in SAN_KINDS)
    common_name = reader.common_name(has_sans)
    algorithm, size = reader.key()
    digest = reader.digest()
    validity_days = reader.validity_days()
    subject = reader.subject()
    key_usage = reader.choice_list("key_usage", KEY_USAGES)
    extended_key_usage = reader.choice_list("extended_key_usage", EXTENDED_KEY_USAGES)
    purpose = reader.purpose()
    is_ca = reader.is_ca()
    if reader.problems:
        return None, reader.problems
    request = CertRequest(
        action=action,
        common_name=common_name,
        key_algorithm=algorithm,
        key_size=size,
        digest=digest,
        validity_days=validity_days,
        dns_sans=sans["dns"],
        ip_sans=sans["ip"],
        email_sans=sans["email"],
        uri_sans=sans["uri"],
        subject=subject,
        key_usage=key_usage,
        extended_key_usage=extended_key_usage,
        purpose=purpose,
        is_ca=is_ca,
    )
    return request, []


def _parse_csr(body: Mapping[str, Any], path: str) -> tuple[CertRequest | None, Problems]:
    reader = _Reader(body, path)
    reader.unknown(CSR_FIELDS, "not allowed with csr: the CSR provides it")
    action = reader.action()
    validity_days = reader.validity_days()
    purpose = reader.purpose()
    where = reader.at("csr")
    pem = body["csr"]
    fields: dict[str, Any] = {}
    if not isinstance(pem, str):
        reader.add(where, f"must be a PEM string, not {type_name(pem)}")
    else:
        try:
            fields = read_csr(pem)
        except CsrError as exc:
            reader.add(where, str(exc))
    if reader.problems:
        return None, reader.problems
    fields.update(action=action, validity_days=validity_days, purpose=purpose)
    request, problems = _parse_fields(fields, "")
    # What the CSR holds that no request may hold (an invalid DNS name, say) is a CSR problem.
    return request, [(where, f"{inner}: {message}") for inner, message in problems]


def parse_request(
    body: Mapping[str, Any], *, path: str = "request"
) -> tuple[CertRequest | None, list[tuple[str, str]]]:
    """Read a §4.3 request: (the request, []) or (None, every problem as (JSON path, message)).

    `sans` lists, `subject` fields, `key_usage` and `extended_key_usage` may be left out when
    empty, `purpose` when none is asked for, `is_ca` when false, and `common_name` when the
    request has a SAN. With `csr`, only `action`, `validity_days` and `purpose` may accompany it.
    """
    if not isinstance(body, Mapping):
        return None, [(path, f"must be an object, not {type_name(body)}")]
    if "csr" in body:
        return _parse_csr(body, path)
    return _parse_fields(body, path)
