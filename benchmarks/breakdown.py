"""Where an unchanged plan's wall time goes: each step of `certgov plan` timed on its own, against
the floor of only reading the declaration files.

    python -m benchmarks.breakdown REPO --url URL --credentials FILE [--server-pid PID]

Each step is the best of `--repeat` runs in this process (the page cache warm, as for the plan
runs of the benchmark); the steps inside loading (reading, YAML, schemas) and inside reading live
state (the server's work, JSON parsing, building the State) are timed apart as well. With
`--server-pid`, the reference server's CPU seconds while the live state is read are counted (its
queries, serialisation and per-request work). The command line times `certgov plan` itself too
and prints one JSON object; `python -m benchmarks` records the same figures at its headline size.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.measure import child_env, python_module, run_process, time_calls

API = "/api/v1"
LISTS = (("ServiceAccount", "/service/service-accounts"), ("Policy", "/service/policies"))


def _best(fn: Callable[[], object], repeat: int) -> float:
    return round(time_calls(fn, repeat).best, 3)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child_seconds(argv: list[str], repeat: int) -> float:
    """Best wall time of a child process."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=child_env())
        samples.append(time.perf_counter() - start)
    return round(min(samples), 3)


def process_start(repeat: int) -> dict[str, float]:
    """The interpreter alone, then the CLI's imports (what every command pays first)."""
    return {
        "python_start": _child_seconds([sys.executable, "-c", "pass"], repeat),
        "cli_start": _child_seconds(python_module("certgov", "--version"), repeat),
    }


def loading(repo: Path, repeat: int) -> dict[str, Any]:
    """Reading the files (the floor), YAML with positions, the schemas, and the whole load
    as plan does it (with a forked reader from 1,000 files on) and in one process."""
    from certgov.declarations import load
    from certgov.declarations import loader as loader_module
    from certgov.declarations.config import CONFIG_FILE
    from certgov.declarations.schemas import validate
    from certgov.declarations.sources import DirectoryTree, select
    from certgov.declarations.yamlpos import load_documents
    from certgov.gcpause import gc_paused

    config = load(repo).config
    tree = DirectoryTree(repo)
    files = [CONFIG_FILE, *select(tree.files(), config.include, config.exclude, CONFIG_FILE)]

    def read_all() -> list[bytes]:
        return [(repo / rel).read_bytes() for rel in files]

    texts = [data.decode() for data in read_all()]

    def parse_all() -> list[Any]:
        with gc_paused():
            return [d.value for text in texts for d in load_documents(text)[0]]

    documents = parse_all()
    out: dict[str, Any] = {
        "files": len(files),
        "read_files": _best(read_all, repeat),
        "yaml": _best(parse_all, repeat),
        "schemas": _best(lambda: [validate(doc) for doc in documents], repeat),
        "load": _best(lambda: load(repo), repeat),
    }
    saved = loader_module.PARALLEL_FILES
    loader_module.PARALLEL_FILES = sys.maxsize
    try:
        out["load_one_process"] = _best(lambda: load(repo), repeat)
    finally:
        loader_module.PARALLEL_FILES = saved
    return out


def _pages(url: str, credentials: Path) -> dict[str, list[bytes]]:
    """The raw bodies of every page of both lists, as the client asks for them."""
    creds = json.loads(credentials.read_text())
    out: dict[str, list[bytes]] = {}
    with httpx.Client(base_url=url + API, timeout=60) as http:
        token = http.post("/service-account/auth", json=creds).json()["session"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for kind, path in LISTS:
            out[kind], page, total = [], 1, 1
            while page <= total:
                answer = http.get(path, params={"page": page, "per_page": 100}, headers=headers)
                out[kind].append(answer.content)
                total = answer.json()["meta"]["total_pages"]
                page += 1
        http.post("/service-account/auth/revoke", headers=headers)
    return out


def live_reading(
    url: str, credentials: Path, server_pid: int | None, repeat: int
) -> tuple[dict[str, Any], Any]:
    """Reading live state as plan does, the server's CPU meanwhile, and the client's parts:
    parsing the pages' JSON and building the State from it. Answers the live State too."""
    from certgov.client import ClmClient, Credentials
    from certgov.client.live import live_resource, read_live_state
    from certgov.gcpause import gc_paused
    from certgov.state import State

    out: dict[str, Any] = {}
    holder: dict[str, Any] = {}
    with ClmClient(url, Credentials.from_file(credentials)) as client:
        client.logged_in()
        cpu_before = _cpu_seconds(server_pid) if server_pid else 0.0
        out["live_read"] = _best(lambda: holder.update(live=read_live_state(client)), repeat)
        if server_pid:
            cpu = _cpu_seconds(server_pid) - cpu_before
            out["live_read_server_cpu"] = round(cpu / repeat, 3)
    bodies = _pages(url, credentials)
    out["live_pages"] = sum(len(pages) for pages in bodies.values())
    out["live_bytes"] = sum(len(page) for pages in bodies.values() for page in pages)

    def parse_pages() -> dict[str, list[Any]]:
        with gc_paused():
            return {k: [i for p in ps for i in json.loads(p)["data"]] for k, ps in bodies.items()}

    items = parse_pages()

    def build() -> State:
        with gc_paused():
            return State.build([live_resource(k, obj) for k, objs in items.items() for obj in objs])

    out["live_json"] = _best(parse_pages, repeat)
    out["live_build"] = _best(build, repeat)
    return out, holder["live"]


def overlapped(repo: Path, url: str, credentials: Path, repeat: int) -> dict[str, float]:
    """Loading while the live tenant and the file store's records are read on threads, as plan
    does (`loaded_with_tenant`): all of it, in wall time."""
    from certgov.client import ClmClient, Credentials
    from certgov.declarations.config import Endpoint
    from certgov.run.plan import loaded_with_tenant

    def connect(endpoint: Endpoint) -> ClmClient:
        return ClmClient(url, Credentials.from_file(credentials))

    def loaded() -> None:
        with loaded_with_tenant(str(repo), connect):
            pass

    return {"load_and_live_read": _best(loaded, repeat)}


def planning(repo: Path, live: Any, url: str, repeat: int) -> dict[str, float]:
    """The store records' meta, the pure planner, and the document with its text rendering."""
    from certgov.declarations import load
    from certgov.plan import Facts, plan
    from certgov.plan.document import build_document
    from certgov.render import text
    from certgov.run.facts import file_store_records, open_stores, store_facts
    from certgov.run.plan import plan_options

    decls = load(repo)
    out: dict[str, float] = {}
    with open_stores(decls) as stores:
        out["store_facts"] = _best(lambda: store_facts(decls.state, stores), repeat)
        records = store_facts(decls.state, stores)
    configs, root = decls.config.secret_stores, decls.root
    out["store_walk"] = _best(lambda: file_store_records(configs, root), repeat)
    now = datetime.now(UTC).replace(microsecond=0)
    facts = Facts(now=now, store_records=records)
    options = plan_options(decls.config)
    out["planner"] = _best(lambda: plan(decls.state, live, facts, options), repeat)
    the_plan = plan(decls.state, live, facts, options)
    source = {"path": str(repo), "git_commit": None, "digest": decls.digest}

    def document_and_text() -> None:
        document = build_document(the_plan, server=url, source=source, created_at=now.isoformat())
        text.render(document, io.StringIO())

    out["document_render"] = _best(document_and_text, repeat)
    return out


def breakdown(
    repo: Path, url: str, credentials: Path, server_pid: int | None, repeat: int
) -> dict[str, Any]:
    """Every step's figure, in seconds (best of `repeat`)."""
    out: dict[str, Any] = {**process_start(repeat), **loading(repo, repeat)}
    live_figures, live = live_reading(url, credentials, server_pid, repeat)
    out.update(live_figures)
    out.update(overlapped(repo, url, credentials, repeat))
    out.update(planning(repo, live, url, repeat))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.breakdown")
    parser.add_argument("repo", type=Path)
    parser.add_argument("--url", required=True)
    parser.add_argument("--credentials", required=True, type=Path)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result = breakdown(args.repo, args.url, args.credentials, args.server_pid, args.repeat)
    plan_argv = python_module(
        "certgov", "plan", str(args.repo), "--url", args.url, "--credentials",
        str(args.credentials), "--no-color",
    )  # fmt: skip
    runs = sorted(run_process(plan_argv).seconds for _ in range(args.repeat))
    result["certgov_plan"] = round(runs[len(runs) // 2], 3)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
