"""Service-account credentials: loaded from the bootstrap file or the environment, never shown.

The secret lives in this object's memory and nowhere else: `repr`/`str` hide it, and every error
raised while loading names the file or variable at fault, never its content.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from certgov.errors import UsageError

ENV_PREFIX = "CERTGOV_"
ENV_UUID = "CERTGOV_UUID"
ENV_CLIENT_ID = "CERTGOV_CLIENT_ID"
ENV_CLIENT_SECRET = "CERTGOV_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_VARS = (ENV_UUID, ENV_CLIENT_ID, ENV_CLIENT_SECRET)
FIELDS = ("uuid", "client_id", "client_secret")


def env_vars(prefix: str = ENV_PREFIX) -> tuple[str, str, str]:
    """The names of the variables that hold credentials: PREFIX + UUID, CLIENT_ID, CLIENT_SECRET."""
    return (f"{prefix}UUID", f"{prefix}CLIENT_ID", f"{prefix}CLIENT_SECRET")


@dataclass(frozen=True)
class Credentials:
    """What logs a service account in: its uuid, client_id and client_secret."""

    uuid: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"Credentials(uuid={self.uuid!r}, client_id={self.client_id!r}, client_secret='***')"

    __str__ = __repr__

    def login_body(self) -> dict[str, str]:
        """The body of `POST /service-account/auth`."""
        return {"uuid": self.uuid, "client_id": self.client_id, "client_secret": self.client_secret}

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Credentials:
        """Read the bootstrap file `{"uuid", "client_id", "client_secret"}`."""
        where = f"credentials file {os.fspath(path)}"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"{where}: cannot read it ({exc.strerror or type(exc).__name__})"
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            # The decoder's message names a position, never the document, so it is safe to show.
            raise UsageError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{where}: expected a JSON object with {', '.join(FIELDS)}")
        return cls._from_mapping(data, where, FIELDS)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX
    ) -> Credentials | None:
        """Read CERTGOV_UUID, CERTGOV_CLIENT_ID and CERTGOV_CLIENT_SECRET (or those of another
        prefix); None when none is set."""
        env = os.environ if environ is None else environ
        names = env_vars(prefix)
        values = {field: env.get(var, "") for field, var in zip(FIELDS, names, strict=True)}
        if not any(v.strip() for v in values.values()):
            return None
        return cls._from_mapping(values, "environment", names)

    @classmethod
    def _from_mapping(
        cls, data: Mapping[str, object], where: str, names: tuple[str, str, str]
    ) -> Credentials:
        missing = [
            name
            for field, name in zip(FIELDS, names, strict=True)
            if not isinstance(data.get(field), str) or not str(data.get(field)).strip()
        ]
        if missing:
            raise UsageError(f"{where}: missing or empty {', '.join(missing)}")
        uuid, client_id, secret = (str(data[field]).strip() for field in FIELDS)
        return cls(uuid=uuid, client_id=client_id, client_secret=secret)
