"""The `certgov` command line: thin commands and the one error boundary."""

from __future__ import annotations

from certgov.cli.main import cli, main

__all__ = ["cli", "main"]
