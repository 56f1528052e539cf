"""``make run``'s console: one readable line per log event on a terminal, the JSON lines
otherwise, and no DBOS chatter either way."""

from __future__ import annotations

import asyncio
import json
import sys

from fixline.console import Console
from fixline.supervisor import pump

EVENT = {"ts": "2026-12-06T07:30:55.067Z", "level": "info", "service": "outreach",
         "logger": "fixline.outreach.engine", "msg": "DBOS launched", "executor_id": "outreach-0",
         "settings": {"a": 1, "b": 2}, "note": "two words"}
DBOS_MIGRATION = "07:30:54 [    INFO] (dbos:_migration.py:255) Applying DBOS system database schema migration 110"
DBOS_WARNING = "07:30:54 [ WARNING] (dbos:_sys_db_postgres.py:97) Could not connect to postgres database"


def test_a_json_event_is_one_readable_line_on_a_terminal():
    line = Console(pretty=True).render("outreach", json.dumps(EVENT))
    assert line == ('07:30:55.067 outreach  INFO  DBOS launched  executor_id=outreach-0 settings={2 keys} '
                    'note="two words"')


def test_an_exception_keeps_its_traceback_indented_under_the_line():
    event = {**EVENT, "level": "error", "msg": "boom", "exc": "Traceback (most recent call last):\nValueError: x"}
    text = Console(pretty=True).render("tools", json.dumps(event))
    first, *rest = text.splitlines()
    assert first.startswith("07:30:55.067 outreach  ERROR boom")
    assert rest == ["    Traceback (most recent call last):", "    ValueError: x"]


def test_json_mode_passes_the_services_lines_through():
    raw = json.dumps(EVENT)
    assert Console(pretty=False).render("outreach", raw + "\n") == raw


def test_dbos_chatter_is_dropped_and_its_warnings_kept():
    for pretty in (True, False):
        console = Console(pretty=pretty)
        assert console.render("outreach", DBOS_MIGRATION) is None
        assert console.render("outreach", "") is None
        kept = console.render("outreach", DBOS_WARNING)
        assert "Could not connect to postgres database" in kept
    assert json.loads(Console(pretty=False).render("outreach", DBOS_WARNING))["level"] == "warning"
    assert " WARNING Could not connect" in Console(pretty=True).render("outreach", DBOS_WARNING).replace("  ", " ")


def test_text_that_is_not_json_is_shown_not_lost():
    assert Console(pretty=False).render("bridge", "Segmentation fault") == "Segmentation fault"
    assert Console(pretty=True).render("bridge", "Segmentation fault").endswith("bridge    Segmentation fault")


async def test_the_supervisor_pumps_a_real_process_through_the_console(capsys):
    script = (f"import json, sys; print({json.dumps(json.dumps(EVENT))}); print({DBOS_MIGRATION!r}); "
              "print('plain text', file=sys.stderr)")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    await pump(proc.stdout, "outreach", Console(pretty=True))
    await proc.wait()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("07:30:55.067 outreach  INFO  DBOS launched")
    assert lines[1].endswith("outreach  plain text")
