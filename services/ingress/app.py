"""Wiring of the ingress service."""

from __future__ import annotations

from services.common.runtime import Runtime


class IngressService:
    name = "ingress"
    needs_database = True

    def setup(self, rt: Runtime) -> None:
        pass

    async def start(self, rt: Runtime) -> None:
        pass

    async def drain(self, rt: Runtime) -> None:
        pass
