"""The markdown renderer: whole outputs, and the comment size limit."""

from __future__ import annotations

from datetime import UTC, datetime

from certgov.plan import Facts, KindOptions, PlanOptions, plan
from certgov.plan.document import PlanDocument, Target, build_document
from certgov.render import markdown
from certgov.state import POLICY, State
from tests.plan.helpers import account, policy
from tests.plan.test_document import SOURCE, sample_document

NOW = Facts(now=datetime(2026, 6, 1, tzinfo=UTC))


def test_markdown_of_a_plan_with_changes() -> None:
    doc = sample_document()
    fp = doc.fingerprint[:19]
    assert markdown.render_text(doc, marker="<!-- certgov:plan:repo -->") == (
        "<!-- certgov:plan:repo -->\n"
        "### certgov plan\n\n"
        "**Target: http://clm** · Compared: ServiceAccount live, Policy live\n\n"
        "**Risks for a security review** (1):\n\n"
        "- `ServiceAccount/ci` **account created**: scopes read; from any address; never "
        "expires\n\n"
        f"**1 to create, 1 to update, 0 to delete** · plan `{fp}…`\n\n"
        "<details><summary>✏️ <b>update</b> <code>Policy/base</code></summary>\n\n"
        "| field | before | after |\n|---|---|---|\n"
        '| `description` | `""` | `"changed"` |\n\n'
        "</details>\n"
        "<details open><summary>🆕 <b>create</b> <code>ServiceAccount/ci</code></summary>\n\n"
        "| field | value |\n|---|---|\n"
        '| `name` | `"ci"` |\n'
        '| `description` | `""` |\n'
        '| `scopes` | `["read"]` |\n'
        "| `ip_allowlist` | `[]` |\n"
        "| `expires_at` | `(none)` |\n"
        "| `enabled` | `true` |\n"
        "| `client_secret` | _(sensitive: generated on apply, stored in local at clm/ci)_ |\n\n"
        "Steps: create → store the generated secret\n\n"
        "</details>\n"
        "\n0 unchanged · 1 unmanaged · 0 ignored\n\n"
        f"Changes fingerprint (apply on merge checks it): `{doc.changes_fingerprint}`\n"
    )


def test_markdown_without_changes_is_one_line() -> None:
    state = State.build([account("ci")])
    doc = build_document(
        plan(state, State.build([account("ci", live=True)]), NOW, PlanOptions()),
        server=None,
        source=SOURCE,
        created_at="x",
    )
    fp = doc.fingerprint[:19]
    assert markdown.render_text(doc) == (
        "### certgov plan\n\n"
        "**Target: (no server)** · Compared: ServiceAccount live, Policy live\n\n"
        f"No changes · plan `{fp}…`\n"
    )


def big_document() -> PlanDocument:
    desired = State.build([policy(f"p{i:05}", description="x" * 40) for i in range(5000)])
    live = State.build(
        [policy(f"p{i:05}", live=True) for i in range(4900)]
        + [policy(f"z{i:03}", live=True) for i in range(100)]
    )
    opts = PlanOptions(manage={POLICY: KindOptions("delete")})
    return build_document(
        plan(desired, live, NOW, opts), server=None, source=SOURCE, created_at="x"
    )


def test_markdown_of_5000_changes_fits_and_keeps_every_disable() -> None:
    doc = big_document()
    assert len(doc.changes) == 5100
    body = markdown.render_text(doc, details_url="https://ci.example/artifacts/1")
    assert len(body) <= markdown.COMMENT_LIMIT
    disables = [line for line in body.splitlines() if line.startswith("> - **disable**")]
    assert disables == [f"> - **disable** `Policy/z{i:03}`" for i in range(100)]
    kept = body.count("<details")
    (note,) = [line for line in body.splitlines() if "left out" in line]
    assert note == (
        f"_{5100 - kept} of 5100 change details left out to fit the comment limit. "
        "The full plan: https://ci.example/artifacts/1_"
    )
    assert body.endswith(
        "\n0 unchanged · 100 unmanaged · 0 ignored\n\n"
        f"Changes fingerprint (apply on merge checks it): `{doc.changes_fingerprint}`\n"
    )


def test_markdown_truncation_is_deterministic() -> None:
    doc = big_document()
    assert markdown.render_text(doc) == markdown.render_text(doc)


def test_markdown_of_an_environments_plan_names_it_in_the_heading() -> None:
    state = State.build([account("ci")])
    doc = build_document(
        plan(state, State.build([account("ci", live=True)]), NOW, PlanOptions()),
        server="http://staging.clm",
        source=SOURCE,
        created_at="x",
        target=Target("http://staging.clm/api/v1", "staging"),
    )
    fp = doc.fingerprint[:19]
    assert markdown.render_text(doc) == (
        "### certgov plan: staging\n\n"
        "**Target: http://staging.clm/api/v1 (environment staging)** · Compared: ServiceAccount "
        "live, Policy live\n\n"
        f"No changes · plan `{fp}…`\n"
    )
