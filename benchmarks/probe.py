"""Run the certgov CLI unchanged and write how many HTTP requests its clients sent.

    python -m benchmarks.probe COUNT_FILE plan REPO --url URL --credentials FILE

The CLI's output is not touched: the count is read from `ClmClient.request_count` when each
client closes (after the session is revoked, so the revoke is counted) and written as JSON to
COUNT_FILE when the command ends.
"""

from __future__ import annotations

import json
import sys

from certgov.client import ClmClient


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    count_file, cli_args = args[0], args[1:]
    counts = {"requests": 0, "logins": 0, "clients": 0}
    original_close = ClmClient.close

    def counting_close(self: ClmClient) -> None:
        already = self._closed
        original_close(self)
        if not already:
            counts["requests"] += self.request_count
            counts["logins"] += self.login_count
            counts["clients"] += 1

    ClmClient.close = counting_close  # type: ignore[method-assign]
    from certgov.cli import cli

    code = 0
    try:
        cli.main(args=cli_args, prog_name="certgov", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        ClmClient.close = original_close  # type: ignore[method-assign]
        with open(count_file, "w", encoding="utf-8") as out:
            json.dump({**counts, "exit_code": code}, out)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
