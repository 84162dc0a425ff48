"""A realistic tenant of N service accounts and N/5 policies: the declaration repository on disk,
the same objects on the server (accounts inserted through the store for speed, policies created
through the API), and the file-store records that make every account's secret current, so that
`certgov plan` of the repository against the seeded server is empty."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from certgov.client import ClmClient
from certgov.rules.accounts import normalise_ip_entry, normalise_scopes
from certgov.rules.validation import policy_problems

ADMIN_NAME = "bootstrap-bench-admin"
STORE_FOLDER = ".certgov-secrets"
TEAMS = ("payments", "identity", "search", "ledger", "mobile", "edge", "data", "billing", "infra")
SCOPE_SETS = (["read"], ["read", "write"], ["write"], ["admin"])
EXPIRIES = ("2027-03-31T00:00:00+00:00", "2027-06-30T00:00:00+00:00", "2028-01-01T00:00:00+00:00")

CONFIG = """\
apiVersion: certgov/v1
kind: Config
server: {server}
secret_stores:
  local:
    type: file
    path: {store}
manage:
  ServiceAccount:
    prune: disable
    ignore: ["bootstrap-*"]
  Policy:
    prune: disable
safety:
  max_changes_fraction: 0.3
  min_objects: 10
"""


@dataclass(frozen=True)
class Dataset:
    """Service accounts as create bodies and policies as create bodies, in name order."""

    accounts: list[dict[str, Any]]
    policies: list[dict[str, Any]]

    @property
    def size(self) -> int:
        return len(self.accounts) + len(self.policies)


def _ip_key(entry: str) -> tuple[int, int, int]:
    import ipaddress

    net = ipaddress.ip_network(entry)
    return (net.version, int(net.network_address), net.prefixlen)


def _allowlist(rng: random.Random, i: int) -> list[str]:
    entries = {f"10.{(i >> 8) % 256}.{i % 256}.0/24"}
    for _ in range(rng.randint(0, 2)):
        entries.add(
            rng.choice(
                [
                    f"192.0.2.{rng.randint(1, 254)}",
                    f"198.51.100.{rng.randint(0, 15) * 16}/28",
                    f"2001:db8:{rng.randint(1, 0xFFFF):x}::/48",
                ]
            )
        )
    return sorted({normalise_ip_entry(e) for e in entries}, key=_ip_key)


def account_body(rng: random.Random, i: int) -> dict[str, Any]:
    team = TEAMS[i % len(TEAMS)]
    name = f"{team}-svc-{i:05d}"
    return {
        "name": name,
        "description": f"Pipeline {i} of the {team} team; issues certificates for its services",
        "scopes": normalise_scopes(rng.choice(SCOPE_SETS)),
        "ip_allowlist": _allowlist(rng, i),
        "expires_at": rng.choice((*EXPIRIES, None)),
    }


def _rules(rng: random.Random, i: int, suffix: str) -> list[dict[str, Any]]:
    """3 to 8 distinct rules with values inside the catalogue's ranges."""
    max_days = rng.choice((30, 90, 199, 397))
    candidates: list[dict[str, Any]] = [
        {
            "action": "enforce_minimum_key_size",
            "values": {"minimum_bits": rng.choice((2048, 3072))},
        },
        {"action": "enforce_max_validity", "values": {"max_days": max_days}},
        {
            "action": "enforce_min_validity",
            "values": {"min_days": rng.randint(1, min(7, max_days))},
        },
        {"action": "enforce_values", "values": {"organization": "Example Ltd", "country": "NZ"}},
        {"action": "enforce_digest", "values": {"digest": rng.choice(("sha256", "sha384"))}},
        {"action": "enforce_algorithm", "values": {"algorithm": rng.choice(("rsa", "ecdsa"))}},
        {"action": "enforce_domain_suffix", "values": {"suffix": suffix}},
        {"action": "enforce_max_san_count", "values": {"max_count": rng.randint(5, 100)}},
        {
            "action": "enforce_key_usage",
            "values": {"key_usage": ["digitalSignature"], "extended_key_usage": ["serverAuth"]},
        },
        {"action": "enforce_certificate_purpose", "values": {"purpose": "server"}},
        {"action": "disable_wildcard"},
        {"action": "block_ip_in_san"},
        {"action": "block_email_in_san"},
        {"action": "block_ca_flag"},
        {"action": "require_san"},
        {"action": "block_other_domains"},
    ]
    chosen = rng.sample(candidates, rng.randint(3, 8))
    return [{**rule, "fail": rng.choice(("hard", "hard", "soft"))} for rule in chosen]


def policy_body(rng: random.Random, i: int) -> dict[str, Any]:
    team = TEAMS[i % len(TEAMS)]
    zone = f"{team}{i}.example.com"
    domains = [zone, f"*.{zone}"] + [
        f"{host}.{zone}"
        for host in rng.sample(("api", "www", "auth", "cdn", "mail"), rng.randint(0, 4))
    ]
    body = {
        "name": f"{team.title()} Policy {i:05d}",
        "description": f"Certificates of the {team} team's zone {zone}",
        "is_enabled": rng.random() < 0.8,
        "matching_criteria": {
            "action": rng.choice(("certificate.generate", "certificate.renew")),
            "domains": domains,
        },
        "rules": _rules(rng, i, zone),
    }
    problems = policy_problems(body)
    if problems:  # a generator bug, not a benchmark result
        raise ValueError(f"generated policy {body['name']!r} is invalid: {problems}")
    return body


def make_dataset(accounts: int, policies: int, seed: int = 12) -> Dataset:
    rng = random.Random(seed)
    return Dataset(
        sorted((account_body(rng, i) for i in range(accounts)), key=lambda a: a["name"]),
        sorted((policy_body(rng, i) for i in range(policies)), key=lambda p: p["name"]),
    )


# -- the declaration repository ------------------------------------------------------------------


def _dump(doc: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=120)


def account_document(body: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "certgov/v1", "kind": "ServiceAccount", **body}
    if doc["expires_at"] is None:
        del doc["expires_at"]
    doc["secret"] = {"store": "local", "path": f"accounts/{body['name']}", "rotate_after": "90d"}
    return doc


def policy_document(body: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "certgov/v1", "kind": "Policy", "name": body["name"]}
    doc["description"] = body["description"]
    doc["enabled"] = body["is_enabled"]
    doc["matching_criteria"] = body["matching_criteria"]
    doc["rules"] = body["rules"]
    return doc


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def write_repo(root: Path, dataset: Dataset, server: str) -> None:
    """certgov.yaml and one file per object, as a team would lay the repository out."""
    (root / "service-accounts").mkdir(parents=True, exist_ok=True)
    (root / "policies").mkdir(parents=True, exist_ok=True)
    (root / "certgov.yaml").write_text(CONFIG.format(server=server, store=STORE_FOLDER))
    for body in dataset.accounts:
        path = root / "service-accounts" / f"{body['name']}.yaml"
        path.write_text(_dump(account_document(body)))
    for body in dataset.policies:
        path = root / "policies" / f"{_slug(body['name'])}.yaml"
        path.write_text(_dump(policy_document(body)))


def account_path(root: Path, name: str) -> Path:
    return root / "service-accounts" / f"{name}.yaml"


def policy_path(root: Path, name: str) -> Path:
    return root / "policies" / f"{_slug(name)}.yaml"


def write_secrets(root: Path, records: Iterable[Mapping[str, str]], server: str) -> None:
    """The file store's records (mode 0600), as apply would have left them."""
    folder = root / STORE_FOLDER / "accounts"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root / STORE_FOLDER, 0o700)
    for record in records:
        target = folder / f"{record['name']}.json"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "uuid": record["uuid"],
                    "client_id": record["client_id"],
                    "client_secret": record["client_secret"],
                    "secret_created_at": record["secret_created_at"],
                    "server_url": server,
                },
                out,
            )


# -- the server ----------------------------------------------------------------------------------


def seed_accounts(database_url: str, accounts: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Insert the accounts in one transaction through the server's store (no audit events: they
    are not what is measured); answer each account's name, uuid, client_id, secret and stamp."""
    import uuid as uuidlib

    from sqlalchemy import insert

    from certgov.rules.names import name_key
    from certgov.server.security import new_client_id, new_secret, secret_digest
    from certgov.server.store import CLIENT_SECRET_KEY, Store
    from certgov.server.store import schema as t

    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    store = Store(database_url)
    records: list[dict[str, str]] = []
    try:
        with store.transaction() as tx:
            key = tx.keys.get(CLIENT_SECRET_KEY)
            rows = []
            for body in accounts:
                secret = new_secret()
                record = {
                    "name": body["name"],
                    "uuid": str(uuidlib.uuid4()),
                    "client_id": new_client_id(),
                    "client_secret": secret,
                    "secret_created_at": stamp,
                }
                records.append(record)
                rows.append(
                    {
                        "uuid": record["uuid"],
                        "client_id": record["client_id"],
                        "name": body["name"],
                        "name_key": name_key(body["name"]),
                        "description": body["description"],
                        "scopes": list(body["scopes"]),
                        "ip_allowlist": list(body["ip_allowlist"]),
                        "expires_at": body["expires_at"],
                        "is_active": True,
                        "secret_digest": secret_digest(key, secret),
                        "secret_created_at": stamp,
                        "last_used_at": None,
                        "created_at": stamp,
                        "updated_at": stamp,
                        "revision": 1,
                    }
                )
            for start in range(0, len(rows), 1000):
                tx.conn.execute(insert(t.service_accounts), rows[start : start + 1000])
    finally:
        store.close()
    return records


def seed_policies(
    client: ClmClient, policies: Sequence[Mapping[str, Any]], parallelism: int = 8
) -> None:
    """Create the policies through the API, so that the server stores them its own way."""
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        for _ in pool.map(client.create_policy, policies):
            pass


def enabled_policy_bodies(count: int, seed: int = 12) -> list[dict[str, Any]]:
    """`count` policies, every one enabled; the first ones are the same whatever the count."""
    rng = random.Random(seed)
    return [{**policy_body(rng, i), "is_enabled": True} for i in range(count)]


def seed_policies_in_store(
    database_url: str, audit_key: Path, bodies: Sequence[Mapping[str, Any]]
) -> None:
    """Create the policies through the server's own code (validated, stored, audited and the
    policy version moved) in one transaction: many times faster than one request each."""
    from certgov.server import policies
    from certgov.server.audit import CLI_ACTOR
    from certgov.server.auditkey import keyed_store

    now = datetime.now(UTC)
    store = keyed_store(database_url, audit_key)
    try:
        with store.transaction() as tx:
            for body in bodies:
                policies.create(tx, CLI_ACTOR, body, now)
    finally:
        store.close()


# Validities of the recent requests: a policy tightened to 30 days newly blocks the longer ones.
VALIDITIES = (14, 60, 90)
TIGHTENED_MAX_DAYS = 30


def _rule_values(policy: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {r["action"]: r.get("values") or {} for r in policy["rules"]}


def backtest_focus(policies: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The first policy whose maximum validity (if it has one) lets every request through."""
    for policy in policies:
        limit = _rule_values(policy).get("enforce_max_validity", {}).get("max_days", 397)
        if int(limit) >= max(VALIDITIES):
            return policy
    raise ValueError("no policy lets 90-day certificates through")


def _request(policy: Mapping[str, Any], name: str, validity_days: int) -> dict[str, Any]:
    """A request for `name` that meets each of the policy's rules (what passing traffic is)."""
    values = _rule_values(policy)
    algorithm = values.get("enforce_algorithm", {}).get("algorithm", "rsa")
    return {
        "action": policy["matching_criteria"]["action"],
        "common_name": name,
        "sans": {"dns": [name]},
        "key": {"algorithm": "ecdsa", "size": 384}
        if algorithm == "ecdsa"
        else {"algorithm": "rsa", "size": 3072},
        "digest": values.get("enforce_digest", {}).get("digest", "sha256"),
        "validity_days": min(
            validity_days, int(values.get("enforce_max_validity", {}).get("max_days", 397))
        ),
        "subject": {"organization": "Example Ltd", "country": "NZ"},
        "key_usage": ["digitalSignature"],
        "extended_key_usage": ["serverAuth"],
        "purpose": "server",
    }


def request_bodies(
    policies: Sequence[Mapping[str, Any]], count: int, focus: Mapping[str, Any], seed: int = 7
) -> list[dict[str, Any]]:
    """`count` distinct certificate requests as services send them, each meeting the rules of
    the policy of its zone: half for names in the zone of the `focus` policy, the others spread
    over every policy's zone."""
    rng = random.Random(seed)
    out = []
    for k in range(count):
        policy = focus if k % 2 == 0 else policies[rng.randrange(len(policies))]
        zone = str(policy["matching_criteria"]["domains"][0]).removeprefix("*.")
        out.append(_request(policy, f"svc{k}.{zone}", rng.choice(VALIDITIES)))
    return out


def seed_requests(database_url: str, audit_key: Path, bodies: Sequence[Mapping[str, Any]]) -> None:
    """Evaluate each request as `POST /service/certificates` does (the enabled policies, one
    `certificate.requested` event each), in one transaction: the recent traffic a back-test
    reads from the audit log."""
    from certgov.server import evaluation
    from certgov.server.audit import Actor
    from certgov.server.auditkey import keyed_store
    from certgov.server.ca import load_or_create
    from certgov.server.enabled import EnabledPolicies

    now = datetime.now(UTC)
    store = keyed_store(database_url, audit_key)
    try:
        ca = load_or_create(store, now)
        enabled = EnabledPolicies()
        actor = Actor(None, "benchmark traffic", "127.0.0.1")
        with store.transaction() as tx:
            for body in bodies:
                evaluation.request_certificate(tx, actor, body, now, ca, enabled)
    finally:
        store.close()


def audit_head(database_url: str) -> int:
    """The id of the newest audit event."""
    from certgov.server.store import Store

    store = Store(database_url)
    try:
        with store.reading() as tx:
            return tx.audit.head().last_id
    finally:
        store.close()


def audit_types(database_url: str, after: int) -> dict[str, int]:
    """How many events of each type the audit log holds after event `after`."""
    from certgov.server.store import Store

    store = Store(database_url)
    counts: dict[str, int] = {}
    try:
        with store.reading() as tx:
            for event_id in range(after + 1, tx.audit.head().last_id + 1):
                event = tx.audit.get(event_id)
                if event is not None:
                    counts[event["type"]] = counts.get(event["type"], 0) + 1
    finally:
        store.close()
    return counts


def write_policy(root: Path, body: Mapping[str, Any]) -> None:
    """Write one policy's declaration file (over the one it had)."""
    policy_path(root, str(body["name"])).write_text(_dump(policy_document(body)))


def tightened(body: Mapping[str, Any], max_days: int = TIGHTENED_MAX_DAYS) -> dict[str, Any]:
    """The policy with a hard maximum validity of `max_days` (replacing any it had): a change
    that newly blocks the longer-lived recent requests in its zone."""
    rules = [r for r in body["rules"] if r["action"] != "enforce_max_validity"]
    rules.append(
        {"action": "enforce_max_validity", "fail": "hard", "values": {"max_days": max_days}}
    )
    return {**body, "rules": rules}
