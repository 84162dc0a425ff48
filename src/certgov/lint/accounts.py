"""Checks of service accounts: CG001-CG008 and CG013."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from certgov.lint.catalogue import (
    EXPIRY_WARNING_DAYS,
    MAX_ROTATE_AFTER_DAYS,
    SUGGEST_IPV4_PREFIX,
    SUGGEST_IPV6_PREFIX,
    WIDEST_IPV4_PREFIX,
    WIDEST_IPV6_PREFIX,
)
from certgov.lint.context import LintContext
from certgov.lint.model import Finding
from certgov.rules.accounts import normalise_ip_entry
from certgov.state import SERVICE_ACCOUNT, Resource

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _accounts(ctx: LintContext) -> list[Resource]:
    return ctx.state.of_kind(SERVICE_ACCOUNT)


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def admin_scope(ctx: LintContext) -> Iterator[Finding]:
    """CG001."""
    for account in _accounts(ctx):
        if "admin" in account.spec["scopes"]:
            index = list(ctx.raw(account)["scopes"]).index("admin")
            yield ctx.finding(
                "CG001",
                account,
                f"scopes[{index}]",
                f"{account.address} has the admin scope; grant write or read unless it"
                " administers service accounts",
            )


def no_expiry(ctx: LintContext) -> Iterator[Finding]:
    """CG002."""
    for account in _accounts(ctx):
        if account.spec["expires_at"] is None:
            yield ctx.finding(
                "CG002",
                account,
                "name",
                f"{account.address} never expires; set expires_at to when it should be reviewed",
            )


def empty_allowlist(ctx: LintContext) -> Iterator[Finding]:
    """CG003."""
    for account in _accounts(ctx):
        if not account.spec["ip_allowlist"]:
            yield ctx.finding(
                "CG003",
                account,
                "ip_allowlist",
                f"{account.address} accepts logins from any address; list its callers'"
                " addresses or ranges in ip_allowlist",
            )


def _entries(ctx: LintContext, account: Resource) -> list[tuple[int, Network]]:
    """The declared allowlist entries with their index in the file."""
    raw = ctx.raw(account).get("ip_allowlist") or []
    return [(i, ipaddress.ip_network(normalise_ip_entry(str(e)))) for i, e in enumerate(raw)]


def _covering(nets: list[Network]) -> Network:
    """The smallest network holding every one of `nets`."""
    net = nets[0]
    while not all(n.subnet_of(net) for n in nets):  # type: ignore[arg-type]
        net = net.supernet()
    return net


def single_addresses(ctx: LintContext) -> Iterator[Finding]:
    """CG004: two or more single addresses inside one /24 (IPv4) or /64 (IPv6)."""
    for account in _accounts(ctx):
        groups: dict[Network, list[tuple[int, Network]]] = defaultdict(list)
        for index, net in _entries(ctx, account):
            if net.prefixlen == net.max_prefixlen:
                narrowest = SUGGEST_IPV4_PREFIX if net.version == 4 else SUGGEST_IPV6_PREFIX
                groups[net.supernet(new_prefix=narrowest)].append((index, net))
        for singles in groups.values():
            if len(singles) < 2:
                continue
            cover = _covering([n for _, n in singles])
            extra = cover.num_addresses - len(singles)
            admits = (
                "exactly those addresses"
                if extra == 0
                else f"and {extra} more address{'' if extra == 1 else 'es'}"
            )
            yield ctx.finding(
                "CG004",
                account,
                f"ip_allowlist[{singles[0][0]}]",
                f"{account.address} lists {len(singles)} single IPv{cover.version} addresses"
                f" that {cover} covers ({admits}); list that range instead",
                key=str(cover),
            )


def wide_ranges(ctx: LintContext) -> Iterator[Finding]:
    """CG005."""
    for account in _accounts(ctx):
        for index, net in _entries(ctx, account):
            widest = WIDEST_IPV4_PREFIX if net.version == 4 else WIDEST_IPV6_PREFIX
            if net.prefixlen >= widest:
                continue
            what = "every address" if net.prefixlen == 0 else f"wider than /{widest}"
            yield ctx.finding(
                "CG005",
                account,
                f"ip_allowlist[{index}]",
                f"{account.address} allows {net} ({what}); list the ranges its callers use",
                key=str(net),
            )


def is_local_server(server: str | None) -> bool:
    """Whether `server:` names this machine: unset, `localhost`, or a loopback address."""
    if not server:
        return True
    host = (urlsplit(server).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secret_store(ctx: LintContext) -> Iterator[Finding]:
    """CG006."""
    config = ctx.declarations.config
    local = is_local_server(config.server)
    for account in _accounts(ctx):
        secret = account.meta.get("secret")
        if not secret:
            yield ctx.finding(
                "CG006",
                account,
                "name",
                f"{account.address} declares no secret.store; name a store from certgov.yaml"
                " so its secret can be rotated, then store the secret in use with"
                f" `certgov secret adopt {account.address}` so that plan does not rotate it",
            )
            continue
        store = config.secret_stores.get(secret["store"]) or {}
        if store.get("type") == "file" and not local:
            yield ctx.finding(
                "CG006",
                account,
                "secret.store",
                f"{account.address} keeps its secret in the file store {secret['store']!r}"
                f" while server is {config.server}; use a secrets manager store",
            )


def rotation(ctx: LintContext) -> Iterator[Finding]:
    """CG007."""
    for account in _accounts(ctx):
        secret = account.meta.get("secret")
        seconds = secret.get("rotate_after_seconds") if secret else None
        if seconds is None:
            yield ctx.finding(
                "CG007",
                account,
                "secret" if secret else "name",
                f"{account.address} has no secret.rotate_after; set one, e.g. 90d",
            )
        elif seconds > MAX_ROTATE_AFTER_DAYS * 86400:
            days = seconds // 86400
            yield ctx.finding(
                "CG007",
                account,
                "secret.rotate_after",
                f"{account.address} rotates its secret only every {days} days; set"
                f" rotate_after to {MAX_ROTATE_AFTER_DAYS}d or less",
            )


def shared(ctx: LintContext) -> Iterator[Finding]:
    """CG008: a secret path used twice, or twins by scopes, allowlist and description."""
    by_path: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    by_shape: dict[tuple[str, ...], list[Resource]] = defaultdict(list)
    for account in _accounts(ctx):
        secret = account.meta.get("secret")
        if secret:
            by_path[(secret["store"], secret["path"])].append(account)
        spec = account.spec
        shape = (
            ",".join(spec["scopes"]),
            ",".join(spec["ip_allowlist"]),
            spec["description"],
        )
        by_shape[shape].append(account)
    for (store, path), group in by_path.items():
        first = group[0]
        for other in group[1:]:
            yield ctx.finding(
                "CG008",
                other,
                "secret.path",
                f"{other.address} writes its secret to {store}:{path} like {first.address};"
                " give each account its own path",
                key=f"path:{store}:{path}",
            )
    for group in by_shape.values():
        first = group[0]
        for other in group[1:]:
            yield ctx.finding(
                "CG008",
                other,
                "name",
                f"{other.address} has the same scopes, ip_allowlist and description as"
                f" {first.address}; one integration should have one account",
                key=f"shape:{first.name}",
            )


def expires_soon(ctx: LintContext) -> Iterator[Finding]:
    """CG013."""
    for account in _accounts(ctx):
        expires = account.spec["expires_at"]
        if expires is None:
            continue
        when = datetime.fromisoformat(expires)
        left = when - ctx.now
        if left.days >= EXPIRY_WARNING_DAYS:
            continue
        day = when.date().isoformat()
        if left.total_seconds() <= 0:
            text = f"{account.address} expired on {day}; extend expires_at or remove the account"
        else:
            text = (
                f"{account.address} expires on {day}, in {_days(left.days)};"
                " extend expires_at or move its integration to a replacement"
            )
        yield ctx.finding("CG013", account, "expires_at", text)


CHECKS = (
    admin_scope,
    no_expiry,
    empty_allowlist,
    single_addresses,
    wide_ranges,
    secret_store,
    rotation,
    shared,
    expires_soon,
)
