"""``make scenarios``: every story in ``cases/`` end to end through the real services on the
emulators; each asserts the final state it expects (see ``story.observe`` for the keys)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from . import cases
from .conftest import RESULTS
from .story import observe, play, settle

CASES = sorted(m.name for m in pkgutil.iter_modules(cases.__path__))


@pytest.mark.parametrize("case", CASES)
async def test_scenario(world, case):
    scenario = importlib.import_module(f"{cases.__name__}.{case}").SCENARIO
    run = await play(world, scenario)
    try:
        got = await settle(world, run)
    finally:
        if scenario.after:
            await scenario.after(world, run)
    RESULTS.append((scenario.name, _show(scenario.expect), _show(got), got == scenario.expect))
    if got != scenario.expect:
        detail = await observe(world, run, {"open_calls", "stages", "vendors", "guest_end_reasons"})
        pytest.fail(f"{scenario.story}\nexpected {scenario.expect}\ngot      {got}\nmore     {detail}")


def _show(state: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in state.items())
