"""The options every command that talks to the API shares, and how they become a ClmClient.

    @click.command()
    @api_options
    def plan(url: str | None, credentials: str | None, parallelism: int, ...) -> None:
        with open_client(url, credentials, config.server, parallelism) as client: ...

The base URL comes from `--url`, else CERTGOV_URL, else `server:` in certgov.yaml; the
credentials from `--credentials FILE`, else CERTGOV_UUID, CERTGOV_CLIENT_ID and
CERTGOV_CLIENT_SECRET. With environments (`--env NAME`, or CERTGOV_ENV), the environment's
`server:` comes before CERTGOV_URL, and its `credentials_env` prefix names the variables; another
environment's API (the one a rollout waits for) is reached with its own settings only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
import httpx

from certgov.client import ClmClient, Credentials, canonical_api_root
from certgov.client.credentials import ENV_PREFIX, ENV_VARS, env_vars
from certgov.declarations.config import Endpoint
from certgov.errors import UsageError

ENV_URL = "CERTGOV_URL"
ENV_ENVIRONMENT = "CERTGOV_ENV"
DEFAULT_PARALLELISM = 8

F = TypeVar("F", bound=Callable[..., Any])


def api_options(command: F) -> F:
    """Add `--url`, `--credentials FILE` and `--parallelism N` to a click command."""
    command = click.option(
        "--parallelism",
        type=click.IntRange(1, 64),
        default=DEFAULT_PARALLELISM,
        show_default=True,
        help="Requests in flight at once when reading pages or applying independent changes.",
    )(command)
    command = click.option(
        "--credentials",
        "credentials",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help=f'JSON file {{"uuid", "client_id", "client_secret"}} [default: {", ".join(ENV_VARS)}]',
    )(command)
    command = click.option(
        "--url",
        "url",
        default=None,
        metavar="URL",
        help=f"Base URL of the CLM API [default: {ENV_URL}, else server: in certgov.yaml]",
    )(command)
    return command


def env_option(command: F) -> F:
    """Add `--env NAME` (default: CERTGOV_ENV) to a click command."""
    return click.option(
        "--env",
        "env",
        envvar=ENV_ENVIRONMENT,
        default=None,
        metavar="NAME",
        help=f"The environment of certgov.yaml to work on [default: {ENV_ENVIRONMENT}].",
    )(command)


ConfigServer = str | Endpoint | None


def _endpoint(config: ConfigServer) -> Endpoint:
    return config if isinstance(config, Endpoint) else Endpoint(config)


def _url_sources(
    url_opt: str | None, config: ConfigServer, environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Every place that names the API, in precedence order, checked."""
    endpoint = _endpoint(config)
    sources = [("--url", url_opt), (ENV_URL, environ.get(ENV_URL))]
    if endpoint.environment is None:
        sources.append(("server: in certgov.yaml", endpoint.server))
    else:
        where = f"server: of environment {endpoint.environment} in certgov.yaml"
        sources.insert(1, (where, endpoint.server))
    found = []
    for source, value in sources:
        if value and value.strip():
            parts = urlsplit(value.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise UsageError(f"{source}: {value.strip()!r} is not an http(s) URL")
            found.append((source, value.strip()))
    return found


def resolve_url(
    url_opt: str | None, config_server: ConfigServer, environ: Mapping[str, str] | None = None
) -> str:
    """The API's base URL: `--url`, else CERTGOV_URL, else certgov.yaml's `server` (with an
    environment: `--url`, else its `server`)."""
    found = _url_sources(url_opt, config_server, os.environ if environ is None else environ)
    if not found:
        raise UsageError(f"no API URL: pass --url, set {ENV_URL}, or set server: in certgov.yaml")
    return found[0][1]


def url_note(
    url_opt: str | None, config_server: ConfigServer, environ: Mapping[str, str] | None = None
) -> str | None:
    """When the places that name the API disagree: which one is used, and what the others say."""
    found = _url_sources(url_opt, config_server, os.environ if environ is None else environ)
    if len({canonical_api_root(url) for _, url in found}) < 2:
        return None
    (source, used), *others = found
    said = "; ".join(f"{where} says {url}" for where, url in others)
    return f"note: using the API at {used} from {source} ({said})"


def resolve_credentials(
    credentials_opt: str | None,
    environ: Mapping[str, str] | None = None,
    prefix: str | None = None,
) -> Credentials:
    """The credentials: `--credentials FILE`, else the CERTGOV_* environment variables (or
    those of the environment's `credentials_env` prefix)."""
    if credentials_opt:
        return Credentials.from_file(credentials_opt)
    found = Credentials.from_env(environ, prefix or ENV_PREFIX)
    if found is None:
        names = env_vars(prefix) if prefix else ENV_VARS
        raise UsageError(f"no credentials: pass --credentials FILE, or set {', '.join(names)}")
    return found


def open_client(
    url_opt: str | None,
    credentials_opt: str | None,
    config_server: ConfigServer,
    parallelism: int = DEFAULT_PARALLELISM,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ClmClient:
    """A ClmClient from the options; use it in a `with` block so the session is revoked.

    Where --url, CERTGOV_URL and certgov.yaml's server: disagree, says which one is used.
    """
    note = url_note(url_opt, config_server, environ)
    if note:
        click.echo(note, err=True)
    return ClmClient(
        resolve_url(url_opt, config_server, environ),
        resolve_credentials(credentials_opt, environ, _endpoint(config_server).credentials_env),
        parallelism=parallelism,
        transport=transport,
    )


def connector(
    url_opt: str | None, credentials_opt: str | None, parallelism: int, env: str | None
) -> Callable[[Endpoint], ClmClient]:
    """What the `run` functions call to reach an API: `--url` and `--credentials` apply to the
    command's own environment; another environment's API (a rollout's `after`) is reached
    with that environment's server and credentials only."""

    def connect(endpoint: Endpoint) -> ClmClient:
        if endpoint.environment is not None and endpoint.environment != env:
            return ClmClient(
                endpoint.server or "",
                resolve_credentials(None, prefix=endpoint.credentials_env),
                parallelism=parallelism,
            )
        return open_client(url_opt, credentials_opt, endpoint, parallelism)

    return connect
