"""What every tool handler gets: the database, the embedder, the calendar, the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

from services.common.settings import Settings

from .embeddings import Embedder

if TYPE_CHECKING:
    from .calendar import RepairCalendar


@dataclass
class ToolContext:
    pool: asyncpg.Pool
    settings: Settings
    embedder: Embedder
    calendar: "RepairCalendar"
