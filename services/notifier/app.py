"""Wiring of the notifier service."""

from __future__ import annotations

from services.common.runtime import Runtime


class NotifierService:
    name = "notifier"
    needs_database = False

    def setup(self, rt: Runtime) -> None:
        pass

    async def start(self, rt: Runtime) -> None:
        pass

    async def drain(self, rt: Runtime) -> None:
        pass
