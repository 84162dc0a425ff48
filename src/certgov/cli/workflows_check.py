"""The `certgov-workflows` pre-commit hook: GitHub workflow files and their certgov calls.

Run `python -m certgov.cli.workflows_check FILE...`. The calls are checked against the real
click commands, which is why the hook lives with the CLI and not in `certgov.gitops`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from certgov.cli.main import cli
from certgov.gitops.workflows import check_file, schema_check


def main(argv: Sequence[str] | None = None) -> int:
    """The pre-commit hook: schema-check the files, then check their certgov calls."""
    files = list(sys.argv[1:] if argv is None else argv)
    if not files:
        return 0
    status, output = schema_check(files)
    if status:
        print(output, file=sys.stderr)
    failed = bool(status)
    for path in files:
        for invocation, finding in check_file(path, cli):
            failed = True
            print(f"{invocation.file}: {invocation.where}: {finding.message}", file=sys.stderr)
            print(f"  in: {invocation}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())  # pragma: no cover - run by `python -m` in a subprocess test
