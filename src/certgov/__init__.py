"""certgov: the Zaita CLM's service accounts and certificate policies as code."""

from __future__ import annotations

from certgov.errors import CertgovError
from certgov.state import Resource, State

__version__ = "0.1.0"

__all__ = ["CertgovError", "Resource", "State", "__version__"]
