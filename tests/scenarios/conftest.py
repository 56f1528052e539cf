"""One story world per session of the suite; the results table printed at the end."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from fixline.db.provision import provision_database

from .world import StoryWorld, story_world

RESULTS: list[tuple[str, str, str, bool]] = []


@pytest.fixture(scope="module")
async def scenario_database(stack) -> str:
    return await provision_database(stack.database_url, f"fixline_scenarios_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
async def world(scenario_database, nats_url) -> AsyncIterator[StoryWorld]:
    async with story_world(scenario_database, nats_url) as w:
        yield w


def _cell(value: object, width: int = 70) -> str:
    text = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def pytest_terminal_summary(terminalreporter) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'scenario':<34} {'pass':<5} expected / got")
    write("-" * 120)
    for name, expected, got, ok in RESULTS:
        write(f"{name:<34} {'yes' if ok else 'NO':<5} expected: {expected}")
        if not ok:
            write(f"{'':<40} got:      {got}")
    write(f"{sum(r[3] for r in RESULTS)}/{len(RESULTS)} scenarios pass")
