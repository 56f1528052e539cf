"""What ``make run`` prints for the services' log lines.

The services always log one JSON object per line (what a log pipeline wants). On a terminal
the supervisor turns each into one readable line instead:

    07:30:55.067 outreach  INFO  DBOS launched  executor_id=outreach-0 application_version=outreach-v1

DBOS logs through a handler of its own, in its own text format; its INFO and DEBUG lines
(schema migrations, queue listeners, the Conductor link) are dropped, its warnings kept.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

DBOS_LINE = re.compile(r"^\d\d:\d\d:\d\d \[\s*(?P<level>[A-Z]+)\] \((?P<logger>dbos)[^)]*\) (?P<msg>.*)$")
QUIET_LEVELS = {"debug", "info"}
CORE_KEYS = ("ts", "level", "service", "logger", "msg", "exc")
LONG_VALUE = 80


@dataclass(frozen=True)
class Console:
    """``pretty``: one readable line per event; else the services' JSON lines as they are."""

    pretty: bool

    def render(self, service: str, line: str) -> str | None:
        """The console text for one line a service wrote; None drops it."""
        line = line.rstrip("\n")
        if not line.strip():
            return None
        dbos = DBOS_LINE.match(line)
        if dbos:
            return self._dbos(service, dbos)
        entry = _json_object(line)
        if entry is None:
            return f"{_clock(time.time())} {service:<9} {line}" if self.pretty else line
        return readable(entry) if self.pretty else line

    def _dbos(self, service: str, match: re.Match[str]) -> str | None:
        level = match["level"].lower()
        if level in QUIET_LEVELS:
            return None
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z", "level": level,
                 "service": service, "logger": "dbos", "msg": match["msg"]}
        return readable(entry) if self.pretty else json.dumps(entry)


def readable(entry: dict[str, Any]) -> str:
    ts = str(entry.get("ts", ""))
    clock = ts[11:23] if len(ts) >= 23 else ts
    head = f"{clock} {entry.get('service', '?'):<9} {str(entry.get('level', '')).upper():<5} {entry.get('msg', '')}"
    fields = " ".join(f"{key}={_short(value)}" for key, value in entry.items() if key not in CORE_KEYS)
    text = f"{head}  {fields}" if fields else head
    if entry.get("exc"):
        text += "\n" + "\n".join(f"    {line}" for line in str(entry["exc"]).splitlines())
    return text


def _short(value: object) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if " " in text and isinstance(value, str):
        text = json.dumps(text)
    return text if len(text) <= LONG_VALUE else text[:LONG_VALUE - 1] + "…"


def _json_object(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}"
