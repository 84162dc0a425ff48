"""CG012: which text looks like a client secret, which files are scanned, and masking."""

from __future__ import annotations

from pathlib import Path

from certgov.lint.secrets import files_to_scan, scan, scan_text
from tests.lint.helpers import commit_all, write_repo

SECRET = "Zx81" * 16
CLIENT_ID = "svc_" + "k3" * 16


def found(text: str) -> list[str]:
    return [f"{f.location.line}:{f.location.col} {f.message}" for f in scan_text("f.txt", text)]


def test_a_secret_next_to_the_keyword() -> None:
    assert found(f"CLIENT_SECRET={SECRET}\n") == [
        "1:15 f.txt holds a client secret <64 characters, masked>; remove it, regenerate the"
        " secret and keep it in a secret store"
    ]


def test_a_secret_two_lines_below_the_keyword() -> None:
    assert found(f"client-secret: |\n  # the value\n  {SECRET}\n") == [
        "3:3 f.txt holds a client secret <64 characters, masked>; remove it, regenerate the"
        " secret and keep it in a secret store"
    ]


def test_a_secret_near_a_client_id() -> None:
    assert found(f"id {CLIENT_ID}\n\n\nkey {SECRET}\n") == [
        "4:5 f.txt holds a client secret <64 characters, masked> next to client id svc_k3k3…;"
        " remove it, regenerate the secret and keep it in a secret store"
    ]


def test_sixty_four_characters_alone_are_not_a_secret() -> None:
    assert found(f"digest {SECRET}\n\n\nclient_secret is elsewhere\n") == []


def test_longer_or_shorter_runs_are_not_secrets() -> None:
    assert found(f"client_secret={SECRET}A\nclient_secret={SECRET[:63]}\n") == []


def test_the_value_appears_in_no_finding_field() -> None:
    findings = list(scan_text("f.txt", f"client_secret: {SECRET}\n"))
    assert len(findings) == 1
    assert SECRET not in repr(findings[0].to_json())


def test_fingerprint_survives_moving_the_line() -> None:
    one = next(iter(scan_text("f.txt", f"client_secret: {SECRET}\n")))
    two = next(iter(scan_text("f.txt", f"\n\nclient_secret: {SECRET}\n")))
    assert (one.location.line, two.location.line) == (1, 3)
    assert one.fingerprint == two.fingerprint


def test_only_tracked_files_are_scanned_in_git(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", {"tracked.txt": f"client_secret={SECRET}\n"})
    (root / "untracked.txt").write_text(f"client_secret={SECRET}\n")
    assert [f.location.file for f in scan(root)] == ["tracked.txt"]


def test_tracked_hidden_files_are_scanned(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path / "repo", {".certgov-secrets/a.json": f'{{"client_secret": "{SECRET}"}}'}
    )
    assert [f.location.file for f in scan(root)] == [".certgov-secrets/a.json"]


def test_a_subfolder_is_scanned_with_paths_from_the_repository_root(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path / "repo",
        {
            "infra/certgov/notes.txt": f"client_secret={SECRET}\n",
            "other/x.txt": f"client_secret={SECRET}\n",
        },
    )
    assert [f.location.file for f in scan(root / "infra" / "certgov")] == [
        "infra/certgov/notes.txt"
    ]


def test_deleted_binary_and_large_files_are_skipped(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path / "repo",
        {"gone.txt": f"client_secret={SECRET}\n", "big.txt": "x", "bin.dat": "x"},
    )
    commit_all(root)
    (root / "gone.txt").unlink()
    (root / "bin.dat").write_bytes(b"\0client_secret=" + SECRET.encode())
    (root / "big.txt").write_text(f"client_secret={SECRET}\n" + "x" * (5 * 1024 * 1024))
    assert list(scan(root)) == []


def test_outside_git_every_visible_file_is_scanned(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(f"client_secret={SECRET}\n")
    (tmp_path / ".hidden").write_text(f"client_secret={SECRET}\n")
    assert files_to_scan(tmp_path) == (tmp_path.resolve(), ["a.txt"])
    assert [f.location.file for f in scan(tmp_path)] == ["a.txt"]
