"""Whole expected outputs that many tests share: the opening lines of a text plan."""

from __future__ import annotations

from certgov.client import canonical_api_root

NO_CHANGES = "No changes. The live tenant matches the declarations."


def plan_head(url: str, compared: str = "ServiceAccount live, Policy live") -> str:
    """The target and coverage lines every text plan opens with, and the blank line after."""
    return f"Target: {canonical_api_root(url)}\nCompared: {compared}\n\n"


def no_changes(url: str, also: str) -> str:
    """The whole text plan of a tenant that matches its declarations."""
    return f"{plan_head(url)}{NO_CHANGES}\nAlso: {also}.\n"


QUICKSTART_SERVER = "http://127.0.0.1:8200"


def url_note(url: str, config_server: str = QUICKSTART_SERVER) -> str:
    """What commands print when --url and certgov.yaml's server: name different APIs."""
    return f"note: using the API at {url} from --url (server: in certgov.yaml says {config_server})"
