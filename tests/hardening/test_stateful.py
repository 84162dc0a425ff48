"""A hypothesis state machine over the reference server's accounts and sessions (create,
update, regenerate, disable, enable, delete, login, verify, revoke, clock advance), driven
in-process through the ASGI app with a frozen clock. After every step the server matches a
small in-memory model, the step wrote exactly the audit events the model expects, and the
audit chain verifies.

Steps per run are bounded for CI; CERTGOV_STATEFUL_EXAMPLES raises the number of runs."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from certgov.server.audit import verify_chain
from tests.hardening.figures_record import record
from tests.server.conftest import FrozenClock, Harness, make_harness

ACCOUNTS = "/service/service-accounts"
VERIFY = "/service-account/auth/verify"
LOGIN = "/service-account/auth"
NAMES = st.sampled_from(["ci", "deploy", "audit", "backup"])
SESSION_HOURS = 24


@dataclass
class Account:
    uuid: str
    login: dict[str, str]
    active: bool = True
    spec: tuple[str, str] = ("", "")  # (scope, description): an identical PUT changes nothing
    old_secrets: list[str] = field(default_factory=list)
    failures: int = 0


@dataclass
class Session:
    token: str
    account: str  # uuid: a name may be deleted and made again
    issued: float  # model hours since the start
    revoked: bool = False
    ended: bool = False  # the account was disabled (and maybe enabled again) or deleted


class ServerModel(RuleBasedStateMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.clock = FrozenClock()
        self.h: Harness = make_harness(f"sqlite:///{self.folder.name}/model.db", self.clock)
        self.hours = 0.0
        self.accounts: dict[str, Account] = {}
        self.live_sessions: list[Session] = []
        self.expected_events = len(self.h.events())
        self.admin = self._admin()

    def _admin(self) -> httpx.Client:
        self.expected_events += 1  # its login
        return self.h.as_admin()

    def teardown(self) -> None:
        self.h.close()
        self.folder.cleanup()

    def step(self, events: int) -> None:
        self.expected_events += events
        record("stateful steps", 1)

    # -- accounts ------------------------------------------------------------------------------

    @rule(name=NAMES, scope=st.sampled_from(["read", "write", "admin"]))
    def create(self, name: str, scope: str) -> None:
        body = {"name": name, "scopes": [scope], "ip_allowlist": ["127.0.0.1"]}
        answer = self.admin.post(ACCOUNTS, json=body)
        if name in self.accounts:
            assert (answer.status_code, answer.json()["error"]["code"]) == (409, "CONFLICT")
            self.step(0)
            return
        assert answer.status_code == 201, answer.text
        data = answer.json()
        login = {"uuid": data["data"]["uuid"], **data["credentials"]}
        self.accounts[name] = Account(data["data"]["uuid"], login, spec=(scope, ""))
        self.step(1)

    @precondition(lambda self: self.accounts)
    @rule(data=st.data(), description=st.text(max_size=20))
    def update(self, data: st.DataObject, description: str) -> None:
        name = data.draw(st.sampled_from(sorted(self.accounts)))
        body = {
            "name": name,
            "scopes": ["read"],
            "description": description,
            "ip_allowlist": ["127.0.0.1"],
        }
        answer = self.admin.put(f"{ACCOUNTS}/{self.accounts[name].uuid}", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["description"] == description
        account = self.accounts[name]
        changed = account.spec != ("read", description)
        account.spec = ("read", description)
        self.step(1 if changed else 0)

    @precondition(lambda self: self.accounts)
    @rule(data=st.data())
    def regenerate(self, data: st.DataObject) -> None:
        account = self.accounts[data.draw(st.sampled_from(sorted(self.accounts)))]
        answer = self.admin.post(f"{ACCOUNTS}/{account.uuid}/regenerate-secret")
        assert answer.status_code == 200, answer.text
        account.old_secrets.append(account.login["client_secret"])
        account.login = {**account.login, **answer.json()["credentials"]}
        self.step(1)

    @precondition(lambda self: any(a.active for a in self.accounts.values()))
    @rule(data=st.data())
    def disable(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n, a in self.accounts.items() if a.active)))
        answer = self.admin.post(f"{ACCOUNTS}/{self.accounts[name].uuid}/disable")
        assert (answer.status_code, answer.json()["data"]["is_active"]) == (200, False)
        self.accounts[name].active = False
        # Disabling ends the account's sessions for good: enabling does not revive them.
        for session in self.live_sessions:
            if session.account == self.accounts[name].uuid:
                session.ended = True
        self.step(1)

    @precondition(lambda self: any(not a.active for a in self.accounts.values()))
    @rule(data=st.data())
    def enable(self, data: st.DataObject) -> None:
        names = sorted(n for n, a in self.accounts.items() if not a.active)
        name = data.draw(st.sampled_from(names))
        answer = self.admin.post(f"{ACCOUNTS}/{self.accounts[name].uuid}/enable")
        assert (answer.status_code, answer.json()["data"]["is_active"]) == (200, True)
        self.accounts[name].active = True
        self.step(1)

    @precondition(lambda self: self.accounts)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.accounts)))
        answer = self.admin.delete(f"{ACCOUNTS}/{self.accounts.pop(name).uuid}")
        assert answer.status_code == 200, answer.text
        self.step(1)

    # -- sessions ------------------------------------------------------------------------------

    @precondition(lambda self: self.accounts)
    @rule(target=sessions, data=st.data())
    def login(self, data: st.DataObject) -> Session | None:
        name = data.draw(st.sampled_from(sorted(self.accounts)))
        account = self.accounts[name]
        answer = self.h.client().post(LOGIN, json=account.login)
        self.step(1)  # success or failure, a login is one audit event
        if not account.active:
            assert (answer.status_code, answer.json()["error"]["code"]) == (
                401,
                "SERVICE_ACCOUNT_INACTIVE",
            )
            return None
        assert answer.status_code == 200, answer.text
        session = Session(answer.json()["session"]["token"], account.uuid, self.hours)
        self.live_sessions.append(session)
        return session

    @precondition(
        lambda self: any(a.old_secrets and a.failures < 2 for a in self.accounts.values())
    )
    @rule(data=st.data())
    def login_with_an_old_secret(self, data: st.DataObject) -> None:
        names = sorted(n for n, a in self.accounts.items() if a.old_secrets and a.failures < 2)
        account = self.accounts[data.draw(st.sampled_from(names))]
        stale = {**account.login, "client_secret": account.old_secrets[-1]}
        answer = self.h.client().post(LOGIN, json=stale)
        assert (answer.status_code, answer.json()["error"]["code"]) == (
            401,
            "INVALID_CREDENTIALS",
        )
        account.failures += 1
        self.step(1)

    def expected_verify(self, session: Session) -> str | None:
        account = next((a for a in self.accounts.values() if a.uuid == session.account), None)
        if session.revoked or account is None:
            return "INVALID_SESSION"
        if not account.active:
            return "SERVICE_ACCOUNT_INACTIVE"
        if session.ended:
            return "INVALID_SESSION"
        if self.hours - session.issued >= SESSION_HOURS:
            return "SESSION_EXPIRED"
        return None

    @rule(session=sessions)
    def verify(self, session: Session | None) -> None:
        if session is None:
            return
        answer = self.h.client(token=session.token).get(VERIFY)
        expected = self.expected_verify(session)
        if expected is None:
            assert answer.status_code == 200, answer.text
        else:
            assert (answer.status_code, answer.json()["error"]["code"]) == (401, expected)
        self.step(0)

    @rule(session=consumes(sessions))
    def revoke(self, session: Session | None) -> None:
        if session is None:
            return
        answer = self.h.client(token=session.token).post("/service-account/auth/revoke")
        expected = self.expected_verify(session)
        if expected is None:
            assert answer.status_code == 200, answer.text
            self.step(1)
        else:
            assert (answer.status_code, answer.json()["error"]["code"]) == (401, expected)
            self.step(0)
        session.revoked = True

    @rule(hours=st.sampled_from([1, 6, 23, 25]))
    def advance_clock(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        self.hours += hours
        self.admin = self._admin()
        self.step(0)

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def audit_matches_and_chain_verifies(self) -> None:
        with self.h.store.transaction() as tx:
            events = list(tx.audit.in_order())
            assert verify_chain(events, self.h.audit_key, tx.audit.head()) is None
        assert len(events) == self.expected_events, [e["type"] for e in events[-3:]]

    @invariant()
    def accounts_match(self) -> None:
        answer = self.admin.get(ACCOUNTS, params={"per_page": 100})
        live = {a["name"]: a["is_active"] for a in answer.json()["data"] if a["name"] != "root"}
        assert live == {n: a.active for n, a in self.accounts.items()}


ServerModel.TestCase.settings = settings(
    max_examples=int(os.environ.get("CERTGOV_STATEFUL_EXAMPLES", "12")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
    # Shrinking a long stateful failure can take minutes; the failing steps are printed anyway.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
TestServerModel = ServerModel.TestCase
