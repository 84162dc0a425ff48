"""The naive baseline: read live state the way Terraform's refresh does, one GET per object
after one list of ids, with the same client and server, then plan with the same pure planner.

Run as a process, like `certgov plan`, so that both are timed the same way:

    python -m benchmarks.naive REPO --url URL --credentials FILE [--parallelism 8] [--count-file F]
"""

from __future__ import annotations

import argparse
import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from certgov.client import ClmClient, Credentials
from certgov.client.clm import POLICIES, SERVICE_ACCOUNTS
from certgov.client.live import live_resource
from certgov.state import POLICY, SERVICE_ACCOUNT, Resource, State

# Terraform refreshes with -parallelism=10 by default; certgov reads pages 8 at a time.
DEFAULT_PARALLELISM = 8


def _ids(client: ClmClient) -> list[tuple[str, Any]]:
    """The ids of every object (Terraform has them in its state file: this is the list)."""
    accounts = client.list_all(SERVICE_ACCOUNTS)
    policies = client.list_all(POLICIES)
    return [(SERVICE_ACCOUNT, a["uuid"]) for a in accounts] + [(POLICY, p["id"]) for p in policies]


def _fetch(client: ClmClient, kind: str, object_id: Any) -> Resource:
    if kind == SERVICE_ACCOUNT:
        result = client.get_service_account(str(object_id))
    else:
        result = client.get_policy(int(object_id))
    return live_resource(kind, {**result.data, "etag": result.etag})


def read_live_naive(client: ClmClient, parallelism: int = DEFAULT_PARALLELISM) -> State:
    """Live state from one GET per object, `parallelism` at a time."""
    ids = _ids(client)
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="naive") as pool:
        resources = list(pool.map(lambda pair: _fetch(client, *pair), ids))
    return State.build(resources)


def naive_plan(path: str, url: str, credentials: str, parallelism: int) -> dict[str, Any]:
    """Everything `certgov plan` does, but reading live state naively; answers the summary and
    the request count."""
    from certgov.declarations import load
    from certgov.plan import Facts, plan
    from certgov.plan.document import build_document
    from certgov.render import text
    from certgov.run.facts import open_stores, store_facts
    from certgov.run.plan import plan_options

    decls = load(path)
    with (
        open_stores(decls) as stores,
        ClmClient(url, Credentials.from_file(credentials), parallelism=parallelism) as client,
    ):
        live = read_live_naive(client, parallelism)
        when = datetime.now(UTC).replace(microsecond=0)
        facts = Facts(now=when, store_records=store_facts(decls.state, stores))
        the_plan = plan(decls.state, live, facts, plan_options(decls.config))
        document = build_document(
            the_plan,
            server=client.server,
            source={"path": path, "git_commit": decls.git_commit, "digest": decls.digest},
            created_at=when.isoformat(),
        )
        text.render(document, io.StringIO())
    # close() revoked the session: that request is counted too.
    return {"requests": client.request_count, "summary": the_plan.summary()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.naive")
    parser.add_argument("path")
    parser.add_argument("--url", required=True)
    parser.add_argument("--credentials", required=True)
    parser.add_argument("--parallelism", type=int, default=DEFAULT_PARALLELISM)
    parser.add_argument("--count-file")
    args = parser.parse_args(argv)
    result = naive_plan(args.path, args.url, args.credentials, args.parallelism)
    if args.count_file:
        with open(args.count_file, "w", encoding="utf-8") as out:
            json.dump(result, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
