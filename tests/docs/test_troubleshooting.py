"""The troubleshooting page names every error message certgov can raise (tools/messages.py)."""

from __future__ import annotations

from tools import messages


def test_the_troubleshooting_page_names_every_error_message() -> None:
    gaps = messages.missing()
    listed = "\n".join(f"  {m.file}:{m.line}: {m.error}: {m.template}" for m in gaps)
    assert gaps == [], (
        f"docs/troubleshooting.md lacks {len(gaps)} error message(s); run "
        f"python -m tools.messages and explain each on the page:\n{listed}"
    )


def test_a_page_without_a_message_is_reported() -> None:
    assert messages.missing(page="") != []
    page = " ".join(messages.PAGE.read_text(encoding="utf-8").replace("`", "").split())
    stale = next(m for m in messages.messages() if m.error == "StalePlanError")
    gaps = messages.missing(page=page.replace(stale.fragment, ""))
    assert stale in gaps
