"""The bus refuses anonymous and unknown clients, and each service role may publish and
subscribe only what ``bus_permissions.ROLES`` lists: probes generated from the table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import nkeys
import pytest
from nacl.signing import SigningKey

from fixline_proto import subjects
from fixline.nats_auth import markdown_table
from services.common.bus_permissions import ROLES, Role, inbox_prefix
from tests.support.bus import connect_as


def matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` is one or more."""
    want, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)


def _concrete(pattern: str) -> str:
    return ".".join("x1" if t == "*" else ("x1.x2" if t == ">" else t) for t in pattern.split("."))


def _probes() -> set[str]:
    """A concrete subject for every grant of every role, plus the sensitive ones by name."""
    probes = {_concrete(p) for role in ROLES.values() for p in (*role.publish, *role.subscribe)}
    probes |= {subjects.tool("get_vendor_code"), subjects.workflow_tool("schedule_repair"), subjects.CALLS_DIAL,
               subjects.call_control("c1"), subjects.event("p1", "incident.updated"), "events.p1.repair.scheduled",
               "$JS.API.STREAM.DELETE.EVENTS", "$JS.API.STREAM.PURGE.CALLS", "$JS.API.CONSUMER.CREATE.EVENTS"}
    return probes


def _denied(role: Role, grants: tuple[str, ...]) -> list[str]:
    return sorted(p for p in _probes() if not any(matches(g, p) for g in grants))


async def _violations(role: str, action: str, targets: list[str]) -> set[str]:
    reported: set[str] = set()

    async def on_error(exc: Exception) -> None:
        reported.add(str(exc))

    nc = await connect_as(role, error_cb=on_error)
    try:
        for subject in targets:
            if action == "publish":
                await nc.publish(subject, b"probe")
            else:
                await nc.subscribe(subject)
        await nc.flush()
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    return reported


@pytest.mark.parametrize("role", [r for r in ROLES if r != "harness"])
@pytest.mark.parametrize("action", ["publish", "subscribe"])
async def test_every_subject_outside_the_role_is_refused(nats_url, role, action):
    grants = ROLES[role].publish if action == "publish" else ROLES[role].subscribe
    denied = _denied(ROLES[role], grants)
    assert denied, "the probe set must contain subjects this role may not use"
    reported = await _violations(role, action, denied)
    verb = "publish to" if action == "publish" else "subscription to"
    text = "\n".join(reported)
    missing = [s for s in denied if f'permissions violation for {verb} "{s.lower()}"' not in text]
    assert missing == [], f"{role} was not refused {action} on {missing}"


@pytest.mark.parametrize("role", [r for r in ROLES if r != "harness"])
async def test_the_role_may_use_its_own_grants(nats_url, role):
    """Core subjects the role may use (streams and JetStream API excluded: their use is tested by the services)."""
    grants = ROLES[role]
    safe = [_concrete(p) for p in grants.subscribe]
    assert await _violations(role, "subscribe", safe) == set()
    plain = [_concrete(p) for p in grants.publish
             if not p.startswith(("$JS", subjects.EVENTS_PREFIX, "calls."))]
    assert await _violations(role, "publish", plain) == set()


async def test_no_role_reads_another_roles_replies(nats_url):
    reported = await _violations("notifier", "subscribe", [f"{inbox_prefix('bridge')}.x1", "_INBOX.x1"])
    assert len(reported) == 2


async def test_anonymous_clients_are_refused(nats_url):
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(nats_url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)


async def test_an_unknown_nkey_is_refused(nats_url, tmp_path: Path):
    seed = tmp_path / "stranger.nk"
    seed.write_bytes(nkeys.encode_seed(bytes(SigningKey.generate()), nkeys.PREFIX_BYTE_USER))
    with pytest.raises(Exception, match="(?i)authorization"):
        await nats.connect(nats_url, nkeys_seed=str(seed), allow_reconnect=False, max_reconnect_attempts=0,
                           connect_timeout=2)


def test_only_the_bridge_asks_call_tools_and_only_outreach_dials():
    def who(subject: str) -> set[str]:
        return {r.name for r in ROLES.values() if any(matches(p, subject) for p in r.publish)}

    assert who(subjects.tool("get_vendor_code")) == {"bridge"}
    assert who(subjects.workflow_tool("schedule_repair")) == {"outreach"}
    assert who(subjects.CALLS_DIAL) == {"outreach"}
    assert who(subjects.call_control("c1")) == {"operator"}
    assert who("events.p1.incident.updated") == {"tools"}
    assert who("events.p1.transcript.turn") == {"bridge"}


def test_the_matcher_follows_nats_wildcards():
    assert matches("a.*", "a.b") and not matches("a.*", "a.b.c") and matches("a.>", "a.b.c")
    assert not matches("a.>", "a") and matches("a.b", "a.b") and not matches("a.b", "a.c")


def test_docs_show_the_permission_table_as_it_is(repo_root):
    text = (repo_root / "docs" / "security.md").read_text()
    shown = text.split("<!-- permissions-table:start", 1)[1].split("-->", 1)[1].split("<!-- permissions-table:end")[0]
    assert shown.strip() == markdown_table().strip(), \
        "run: python -m fixline.nats_auth table and paste into docs/security.md"
