"""What the DBOS steps reach at run time: the pool, NATS, settings and the Gemini client.

DBOS is a process-wide singleton and steps are plain module functions, so the running
service installs its resources here at start and removes them at drain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.common.settings import Settings


@dataclass
class OutreachContext:
    pool: asyncpg.Pool
    nc: NATS
    js: JetStreamContext
    settings: Settings
    gemini: Any = None  # google.genai.Client, or None without GEMINI_API_KEY


_current: OutreachContext | None = None


def install(ctx: OutreachContext | None) -> None:
    global _current
    _current = ctx


def current() -> OutreachContext:
    if _current is None:
        raise RuntimeError("the outreach service is not running in this process")
    return _current
