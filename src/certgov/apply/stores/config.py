"""Build secret stores from the `secret_stores` section of `certgov.yaml`.

```yaml
secret_stores:
  local:  {type: file, path: .certgov-secrets}
  pass:   {type: command, command: [./bin/store-secret], timeout: 30s}
  vault:  {type: vault, url: "https://vault.example:8200", mount: secret}
  aws:    {type: aws, region: eu-west-1, prefix: certgov/}
  azure:  {type: azure-keyvault, vault_url: "https://myvault.vault.azure.net"}
  gcp:    {type: gcp-secret-manager, project: my-project}
```

Every problem of every entry is collected and raised at once as a `DeclarationError` whose
fields are `secret_stores.<name>.<key>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certgov.apply.stores.aws import AwsStore
from certgov.apply.stores.azure import AzureKeyVaultStore
from certgov.apply.stores.base import SecretStore
from certgov.apply.stores.command import CommandStore
from certgov.apply.stores.file import FileStore
from certgov.apply.stores.gcp import GcpSecretManagerStore
from certgov.apply.stores.vault import VaultStore
from certgov.errors import ProblemCollector

DEFAULT_TIMEOUT = 30.0
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    None: 1.0,
}


def parse_duration(value: Any) -> float:
    """Seconds from `30s`, `500ms`, `2m`, `1h`, `1d`, `1w` or a number of seconds; must be > 0."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30s")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION_RE.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(f"{value!r} is not a duration such as 30s, 500ms or 2m")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


@dataclass
class _Fields:
    """Typed access to one entry's keys, recording a problem for each bad one."""

    name: str
    config: Mapping[str, Any]
    problems: ProblemCollector

    def _add(self, key: str, message: str) -> None:
        self.problems.add(None, f"secret_stores.{self.name}.{key}", message)

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.config.get(key, default)
        if value is None:
            if required:
                self._add(key, "is required")
            return ""
        if not isinstance(value, str) or (required and not value):
            self._add(key, "must be a non-empty string" if required else "must be a string")
            return ""
        return value

    def optional_string(self, key: str) -> str | None:
        if self.config.get(key) is None:
            return None
        return self.string(key, required=True) or None

    def url(self, key: str, *, required: bool, tls: bool = False) -> str | None:
        value = self.string(key, required=True) if required else self.optional_string(key)
        if value and not re.match(r"https://[^/\s]+" if tls else r"https?://[^/\s]+", value):
            self._add(key, f"{value!r} is not an {'' if tls else 'http:// or '}https:// URL")
        return value

    def argv(self, key: str) -> list[str]:
        value = self.config.get(key)
        if value is None:
            self._add(key, "is required")
            return []
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(arg, str) and arg for arg in value)
        ):
            self._add(key, "must be a non-empty list of non-empty strings (the argv)")
            return []
        return list(value)

    def duration(self, key: str) -> float:
        value = self.config.get(key)
        if value is None:
            return DEFAULT_TIMEOUT
        try:
            return parse_duration(value)
        except ValueError as exc:
            self._add(key, str(exc))
            return DEFAULT_TIMEOUT

    def only(self, allowed: set[str]) -> None:
        for key in sorted(set(self.config) - allowed - {"type"}):
            self._add(str(key), f"unknown setting (allowed: {', '.join(sorted(allowed))})")


def _file(fields: _Fields, root: Path) -> Callable[[], SecretStore]:
    fields.only({"path"})
    folder = root / fields.string("path", ".certgov-secrets", required=True)
    return lambda: FileStore(fields.name, folder)


def _command(fields: _Fields, root: Path) -> Callable[[], SecretStore]:
    fields.only({"command", "timeout"})
    argv = fields.argv("command")
    timeout = fields.duration("timeout")
    return lambda: CommandStore(fields.name, argv, timeout=timeout, cwd=root)


def _vault(fields: _Fields, root: Path) -> Callable[[], SecretStore]:
    fields.only({"url", "mount", "approle_mount", "timeout"})
    url = fields.url("url", required=True) or ""
    mount = fields.string("mount", "secret", required=True)
    approle_mount = fields.string("approle_mount", "approle", required=True)
    timeout = fields.duration("timeout")
    return lambda: VaultStore(
        fields.name, url=url, mount=mount, approle_mount=approle_mount, timeout=timeout
    )


def _aws(fields: _Fields, root: Path) -> Callable[[], SecretStore]:
    fields.only({"region", "prefix", "endpoint_url", "timeout"})
    region = fields.string("region", required=True)
    prefix = fields.string("prefix", "")
    endpoint_url = fields.url("endpoint_url", required=False)
    timeout = fields.duration("timeout")
    return lambda: AwsStore(
        fields.name, region=region, prefix=prefix, endpoint_url=endpoint_url, timeout=timeout
    )


def _azure(fields: _Fields, root: Path) -> Callable[[], SecretStore]:
    fields.only({"vault_url", "timeout"})
    # https only: the SDK sends no token over plain http.
    vault_url = fields.url("vault_url", required=True, tls=True) or ""
    timeout = fields.duration("timeout")
    return lambda: AzureKeyVaultStore(fields.name, vault_url=vault_url, timeout=timeout)


def _gcp(fields: _Fields, root: Path) -> Callable[[], SecretStore]:
    fields.only({"project", "endpoint", "timeout"})
    project = fields.string("project", required=True)
    endpoint = fields.url("endpoint", required=False)
    timeout = fields.duration("timeout")
    return lambda: GcpSecretManagerStore(
        fields.name, project=project, endpoint=endpoint, timeout=timeout
    )


_BUILDERS: dict[str, Callable[[_Fields, Path], Callable[[], SecretStore]]] = {
    "file": _file,
    "command": _command,
    "vault": _vault,
    "aws": _aws,
    "azure-keyvault": _azure,
    "gcp-secret-manager": _gcp,
}
STORE_TYPES = tuple(sorted(_BUILDERS))


def _check(
    name: str, config: Any, root: Path, problems: ProblemCollector
) -> Callable[[], SecretStore] | None:
    """Validate one entry; return how to build it, or None when it has problems."""
    if not isinstance(config, Mapping):
        problems.add(None, f"secret_stores.{name}", "must be a mapping with a `type`")
        return None
    kind = config.get("type")
    builder = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        problems.add(
            None,
            f"secret_stores.{name}.type",
            f"unknown store type {kind!r} (expected one of: {', '.join(STORE_TYPES)})",
        )
        return None
    before = len(problems.problems)
    make = builder(_Fields(name, config, problems), root)
    return make if len(problems.problems) == before else None


def build_store(name: str, config: Mapping[str, Any], *, root: Path) -> SecretStore:
    """The store described by `secret_stores.<name>`; relative paths are under `root`."""
    return build_stores({name: config}, root)[name]


def build_stores(configs: Mapping[str, Mapping[str, Any]], root: Path) -> dict[str, SecretStore]:
    """Every store of the `secret_stores` section, after checking all of them."""
    problems = ProblemCollector()
    makers = {name: _check(name, config, root, problems) for name, config in configs.items()}
    problems.raise_if_any()
    # raise_if_any passed, so every entry has its builder.
    return {name: make() for name, make in makers.items() if make is not None}
