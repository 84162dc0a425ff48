"""The text renderer, compared whole."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from certgov.plan import Facts, KindOptions, PlanOptions, plan
from certgov.plan.document import PlanDocument, build_document
from certgov.render import text
from certgov.state import POLICY, SERVICE_ACCOUNT, State
from tests.plan.helpers import account, policy, with_meta
from tests.plan.test_document import SOURCE, sample_document

NOW = Facts(now=datetime(2026, 6, 1, tzinfo=UTC))


def render(document: PlanDocument, *, color: bool = False) -> str:
    out = io.StringIO()
    text.render(document, out, color=color)
    return out.getvalue()


def test_text_shows_creates_updates_and_the_summary_line() -> None:
    assert render(sample_document()) == (
        "Target: http://clm\n"
        "Compared: ServiceAccount live, Policy live\n"
        "\n"
        "Risks for a security review:\n"
        "  ServiceAccount/ci: account created: scopes read; from any address; never expires\n"
        "\n"
        "certgov will perform the following actions:\n"
        "\n"
        "  # Policy/base will be updated in place\n"
        "  ~ Policy/base\n"
        '      ~ description: "" → "changed"\n'
        "\n"
        "  # ServiceAccount/ci will be created\n"
        "  + ServiceAccount/ci\n"
        '      + name: "ci"\n'
        '      + description: ""\n'
        '      + scopes: ["read"]\n'
        "      + ip_allowlist: []\n"
        "      + expires_at: (none)\n"
        "      + enabled: true\n"
        "      + client_secret: (sensitive: generated on apply, stored in local at clm/ci)\n"
        "      steps: create → store the generated secret\n"
        "\n"
        "Plan: 1 to create, 1 to update, 0 to delete.\n"
        "Also: 1 unmanaged (not declared; pruned only if manage says so).\n"
    )


def test_text_shows_renames_disables_and_deletes() -> None:
    desired = State.build([with_meta(account("new"), previous_names=["old"])])
    live = State.build(
        [
            account("old", live=True),
            account("stray", live=True),
            policy("gone", live=True, is_enabled=False),
        ]
    )
    opts = PlanOptions(
        manage={SERVICE_ACCOUNT: KindOptions("disable"), POLICY: KindOptions("delete")}
    )
    doc = build_document(plan(desired, live, NOW, opts), server=None, source=SOURCE, created_at="x")
    assert render(doc) == (
        "Target: (no server)\n"
        "Compared: ServiceAccount live, Policy live\n"
        "\n"
        "Risks for a security review:\n"
        "  Policy/gone: policy removed: none of its rules applies\n"
        "  ServiceAccount/stray: account disabled: it can no longer log in\n"
        "\n"
        "certgov will perform the following actions:\n"
        "\n"
        "  # Policy/gone will be deleted\n"
        "  # (not declared)\n"
        "  - Policy/gone\n"
        '      - name: "gone"\n'
        '      - description: ""\n'
        "      - enabled: false\n"
        '      - matching_criteria: {"action": "certificate.generate", "domains": ["example.com"]}\n'
        "      - rules:\n"
        '          - {"action": "disable_wildcard", "fail": "hard"}\n'
        "\n"
        "  # ServiceAccount/new will be renamed\n"
        "  # (previously named 'old')\n"
        "  > ServiceAccount/new\n"
        '      ~ name: "old" → "new"\n'
        "\n"
        "  # ServiceAccount/stray will be disabled\n"
        "  # (not declared)\n"
        "  ~ ServiceAccount/stray\n"
        "      ~ enabled: true → false\n"
        "\n"
        "Plan: 0 to create, 0 to update, 1 to delete, 1 to rename, 1 to disable.\n"
        "Also: 2 unmanaged (not declared; pruned only if manage says so).\n"
    )


def test_text_says_when_there_is_nothing_to_do() -> None:
    state = State.build([account("ci")])
    live = State.build([account("ci", live=True)])
    doc = build_document(
        plan(state, live, NOW, PlanOptions()), server=None, source=SOURCE, created_at="x"
    )
    assert render(doc) == (
        "Target: (no server)\n"
        "Compared: ServiceAccount live, Policy live\n"
        "\n"
        "No changes. The live tenant matches the declarations.\n"
        "Also: 1 unchanged.\n"
    )


def test_text_colours_markers_only_when_asked() -> None:
    coloured = render(sample_document(), color=True)
    plain = render(sample_document())
    assert re.sub(r"\x1b\[\d+m", "", coloured) == plain
    assert [line for line in coloured.splitlines() if line.startswith("\x1b")] == [
        "\x1b[31m  ServiceAccount/ci: account created: scopes read; from any address; never "
        "expires\x1b[0m",
        "\x1b[33m  ~ Policy/base\x1b[0m",
        '\x1b[33m      ~ description: "" → "changed"\x1b[0m',
        "\x1b[32m  + ServiceAccount/ci\x1b[0m",
        '\x1b[32m      + name: "ci"\x1b[0m',
        '\x1b[32m      + description: ""\x1b[0m',
        '\x1b[32m      + scopes: ["read"]\x1b[0m',
        "\x1b[32m      + ip_allowlist: []\x1b[0m",
        "\x1b[32m      + expires_at: (none)\x1b[0m",
        "\x1b[32m      + enabled: true\x1b[0m",
        "\x1b[32m      + client_secret: (sensitive: generated on apply, stored in local at clm/ci)\x1b[0m",
    ]
