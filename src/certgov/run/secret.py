"""`certgov secret adopt`: hand certgov a secret that is in use, proven, so plan keeps it.

After `certgov import`, or on a new checkout whose store has no record, plan would rotate every
account's secret and cut off its users. Adopting stores the current secret in the declared store
with the live `secret_created_at`, once a login as the account proves it.
"""

from __future__ import annotations

from certgov.client import ClmClient, Credentials, canonical_api_root
from certgov.errors import AuthenticationError, CertgovError, UsageError
from certgov.run.facts import Connect, open_stores
from certgov.state import SERVICE_ACCOUNT

# Login refusals the server gives only after the secret checked out (docs/api.md §1: credentials
# are checked first), so they prove the secret as well as a login does.
PROVEN_BY = ("SERVICE_ACCOUNT_INACTIVE", "SERVICE_ACCOUNT_EXPIRED", "IP_NOT_ALLOWED")


def _prove(server: str, credentials: Credentials, address: str) -> str:
    """Log in as the account and revoke the session at once; say how the secret was proven."""
    try:
        with ClmClient(server, credentials, parallelism=1) as client:
            client.verify()
    except AuthenticationError as exc:
        if exc.code in PROVEN_BY:
            return f"the server checked the secret before refusing the login ({exc.code})"
        why = (
            "the server refused it with the account's uuid and client_id (INVALID_CREDENTIALS)"
            if exc.code == "INVALID_CREDENTIALS"
            else exc.message
        )
        raise CertgovError(
            f"the secret does not log in as {address}: {why}; nothing was written"
        ) from None
    return "a login as the account worked; its session is revoked"


def adopt_secret(
    path: str, address: str, secret: str, connect: Connect, environment: str | None = None
) -> str:
    """Prove `secret` by logging in as the declared account, then store it; what was done."""
    from certgov.apply.stores import SecretRecord, write_with_retry
    from certgov.declarations import load

    kind, _, name = address.partition("/")
    if kind != SERVICE_ACCOUNT or not name:
        raise UsageError(f"{address!r}: expected ServiceAccount/NAME")
    if not secret:
        raise UsageError("no secret given: pass it on stdin, or name a variable with --from-env")
    decls = load(path, environment=environment)
    declared = decls.state.get(SERVICE_ACCOUNT, name)
    if declared is None:
        raise UsageError(f"{address} is not declared under {path}")
    target = declared.meta.get("secret")
    if not target:
        raise UsageError(
            f"{address} declares no secret: store; declare where its secret goes first"
        )
    with connect(decls.config.endpoint) as admin:
        found = admin.find_service_account(name)
        if found is None:
            raise CertgovError(f"{address} does not exist on {canonical_api_root(admin.server)}")
        live = found.data
        credentials = Credentials(str(live["uuid"]), str(live["client_id"]), secret)
        proof = _prove(admin.server, credentials, address)
        server = admin.server
    record = SecretRecord(
        uuid=str(live["uuid"]),
        client_id=str(live["client_id"]),
        client_secret=secret,
        secret_created_at=str(live["secret_created_at"]),
        server_url=server,
    )
    with open_stores(decls) as stores:
        write_with_retry(stores[target["store"]], target["path"], record)
    return (
        f"stored the secret in use of {address} in {target['store']} at {target['path']} "
        f"({proof}); plan no longer rotates it for a missing record"
    )
