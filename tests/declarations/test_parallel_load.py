"""A large folder's files are shared with a forked process, a chunk at a time: the same
Declarations, the same problems, in the same order, as reading every file in this one."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from certgov.declarations import load, loader
from certgov.errors import DeclarationError
from tests.declarations.helpers import write_repo

ACCOUNT = """\
apiVersion: certgov/v1
kind: ServiceAccount
name: {name}
scopes: [read]
ip_allowlist: [192.0.2.{n}]
"""
POLICY = """\
apiVersion: certgov/v1
kind: Policy
name: Policy {n}
matching_criteria: {{action: certificate.generate, domains: ["*.p{n}.example.com"]}}
rules:
  - {{action: enforce_minimum_key_size, fail: hard, values: {{minimum_bits: "3072"}}}}
"""


def _repo(root: Path, broken: dict[int, str] | None = None) -> Path:
    files = {}
    for n in range(12):
        text = ACCOUNT.format(name=f"svc-{n:02d}", n=n) if n % 2 else POLICY.format(n=n)
        files[f"objects/{n:02d}.yaml"] = (broken or {}).get(n, text)
    return write_repo(root, files)


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """PARALLEL_FILES lowered so that 12 files fork, two files a chunk; the files read in this
    process recorded, and each chunk read slowly in either process, so that each surely takes
    some (quick, the child could take them all while this process starts the git question)."""
    if threading.active_count() > 1:
        pytest.skip("another thread is running: the loader reads everything in this process")
    monkeypatch.setattr(loader, "PARALLEL_FILES", 4)
    monkeypatch.setattr(loader, "_CHUNK", 2)
    here: list[str] = []
    declared = loader._Load.declared
    this_process = os.getpid()

    def recording(self: loader._Load, files: list[str]) -> list[loader.Declared]:
        if os.getpid() == this_process:
            here.extend(files)
        time.sleep(0.2)
        return declared(self, files)

    monkeypatch.setattr(loader._Load, "declared", recording)
    return here


def _resources(decls: loader.Declarations) -> list[tuple[str, str, Any, Any]]:
    return [(r.kind, r.name, r.spec, dict(r.meta)) for r in decls.state]


def _sequential(monkeypatch: pytest.MonkeyPatch, path: Path) -> loader.Declarations:
    with monkeypatch.context() as m:
        m.setattr(loader, "PARALLEL_FILES", 10**9)
        return load(path)


def test_forked_load_gives_the_same_declarations(
    tmp_path: Path, forked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path / "repo")
    parallel = load(root)
    assert 2 <= len(forked) < 12  # some chunks here, the others elsewhere
    forked.clear()
    sequential = _sequential(monkeypatch, root)
    assert len(forked) == 12
    assert _resources(parallel) == _resources(sequential)
    assert (parallel.files, parallel.digest) == (sequential.files, sequential.digest)
    assert len(parallel.state) == 12


def test_forked_load_reports_the_same_problems(
    tmp_path: Path, forked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One problem in each half, one of them found only by the checks after the schema.
    broken = {
        1: ACCOUNT.format(name="svc-01", n=1).replace("scopes: [read]", "scopes: [root]"),
        10: POLICY.format(n=10).replace('"3072"', '"1024"'),
        11: ACCOUNT.format(name="svc-01", n=11),  # a second svc-01
    }
    root = _repo(tmp_path / "repo", broken)
    with pytest.raises(DeclarationError) as parallel:
        load(root)
    assert 2 <= len(forked) < 12
    with pytest.raises(DeclarationError) as sequential:
        _sequential(monkeypatch, root)
    assert str(parallel.value) == str(sequential.value)
    assert len(parallel.value.problems) == 3


def _dies() -> None:
    """The child's work: take a chunk, then die before answering."""
    assert loader._inherited is not None
    _, chunks, taken = loader._inherited
    next(loader._next_chunks(taken, len(chunks)))
    os._exit(3)


def test_when_the_child_dies_its_chunks_are_read_here(
    tmp_path: Path, forked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path / "repo")
    monkeypatch.setattr(loader, "_declared_elsewhere", _dies)
    parallel = load(root)
    assert sorted(forked) == [f"objects/{n:02d}.yaml" for n in range(12)]
    assert _resources(parallel) == _resources(_sequential(monkeypatch, root))
