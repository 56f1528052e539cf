"""Wiring of the outreach service."""

from __future__ import annotations

from services.common.runtime import Runtime


class OutreachService:
    name = "outreach"
    needs_database = True

    def setup(self, rt: Runtime) -> None:
        pass

    async def start(self, rt: Runtime) -> None:
        pass

    async def drain(self, rt: Runtime) -> None:
        pass
