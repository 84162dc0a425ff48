"""Back-testing with the engine in-process, a bounded sample confirmed by the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certgov.plan.model import Backtest, Change, Disagreement
from certgov.rules.request import parse_request
from certgov.run.backtest import Recent, backtest_change
from certgov.state import POLICY, policy_spec


def spec(bits: int) -> dict[str, Any]:
    return policy_spec(
        {
            "name": "Web",
            "matching_criteria": {"domains": ["*.web.example.com"]},
            "rules": [
                {
                    "action": "enforce_minimum_key_size",
                    "fail": "hard",
                    "values": {"minimum_bits": bits},
                }
            ],
        }
    )


def recent(name: str, size: int) -> Recent:
    request = {
        "action": "certificate.generate",
        "common_name": name,
        "sans": {"dns": [name]},
        "key": {"algorithm": "rsa", "size": size},
        "digest": "sha256",
        "validity_days": 90,
    }
    assert parse_request(request)[1] == []
    return Recent(request)


REQUESTS = [recent(f"small{i}.web.example.com", 2048) for i in range(30)] + [
    recent(f"big{i}.web.example.com", 4096) for i in range(70)
]
CHANGE = Change("update", POLICY, "Web", spec(2048), spec(3072))


class Server:
    """The dry run, counted; `lie` turns one request's new result into pass."""

    def __init__(self, lie: str | None = None) -> None:
        self.calls = 0
        self.lie = lie

    def __call__(self, request: Mapping[str, Any], policy: Mapping[str, Any] | None) -> str:
        self.calls += 1
        if policy is None:
            return "pass"
        bits = int(policy["rules"][0]["values"]["minimum_bits"])
        if request["common_name"] == self.lie:
            return "pass"
        return "block" if request["key"]["size"] < bits else "pass"


def test_every_request_is_evaluated_in_process_and_a_bounded_sample_by_the_server() -> None:
    server = Server()
    result = backtest_change(CHANGE, REQUESTS, 14, server, sample=20, parallelism=1)
    assert result == Backtest(
        days=14,
        requests=100,
        newly_warn=0,
        newly_block=30,
        examples=tuple(f"small{i}.web.example.com" for i in range(5)),
        sampled=20,
    )
    assert server.calls == 40  # two dry runs (old and new) per sampled request, no more


def test_a_disagreement_is_reported_and_the_figures_are_the_servers() -> None:
    server = Server(lie="small0.web.example.com")
    result = backtest_change(CHANGE, REQUESTS, 14, server, sample=20, parallelism=1)
    assert result.disagreements == (
        Disagreement("small0.web.example.com", "pass → block", "pass → pass"),
    )
    assert (result.requests, result.newly_block, result.sampled) == (20, 17, 20)


def test_requests_neither_policy_matches_are_not_evaluated() -> None:
    other = recent("api.other.example.com", 1024)
    server = Server()
    result = backtest_change(CHANGE, [other], 14, server)
    assert (result.requests, result.sampled, server.calls) == (0, 0, 0)


def test_a_request_the_engine_cannot_read_is_left_out_and_others_are_parsed_only_if_matched() -> (
    None
):
    unreadable = Recent({**REQUESTS[0].request, "key": {"algorithm": "rsa", "size": "big"}})
    other = recent("api.other.example.com", 1024)
    server = Server()
    result = backtest_change(CHANGE, [unreadable, *REQUESTS, other], 14, server, sample=20)
    assert (result.requests, result.newly_block) == (100, 30)
    assert "parsed" not in vars(other)  # a request neither policy matches is never parsed
