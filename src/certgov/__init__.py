"""certgov: the Zaita CLM's service accounts and certificate policies as code."""

from __future__ import annotations

from certgov.errors import CertgovError
from certgov.state import Resource, State
from certgov.version import __version__

__all__ = ["CertgovError", "Resource", "State", "__version__"]
