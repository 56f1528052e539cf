"""The BidiGenerateContent WebSocket endpoint (aiohttp): handshake, auth, model check,
resumption, lifetime/goAway, and the frame loop feeding a ``LiveSession``.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from . import protocol as p
from .scenario import Scenario
from .session import LiveSession, SessionState

if TYPE_CHECKING:
    from .server import GeminiEmulator

LIVE_PATH = re.compile(
    r"^/+(?:[^?]*?/)?ws/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)"
    r"\.GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)(?:\?.*)?$")
HANDLE_TTL_S = 2 * 3600
SETUP_TIMEOUT_S = 10.0


@dataclass
class _Snapshot:
    state: SessionState
    step_index: int
    history_len: int
    expires: float


class HandleStore:
    """Resumption handles -> conversation snapshots (valid 2 h, like Gemini API)."""

    def __init__(self) -> None:
        self._handles: dict[str, _Snapshot] = {}

    def issue(self, state: SessionState, step_index: int) -> str:
        handle = "h-" + secrets.token_urlsafe(18)
        self._handles[handle] = _Snapshot(state, step_index, len(state.history),
                                          time.monotonic() + HANDLE_TTL_S)
        return handle

    def resume(self, handle: str) -> SessionState | None:
        snap = self._handles.get(handle)
        if snap is None or snap.expires < time.monotonic():
            return None
        snap.state.step_index = snap.step_index
        del snap.state.history[snap.history_len:]
        return snap.state


class _WsOutbox:
    def __init__(self, ws: web.WebSocketResponse, binary: bool = True):
        self.ws, self.binary = ws, binary

    async def send(self, msg: dict) -> None:
        if self.ws.closed:
            return
        data = json.dumps(msg)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await (self.ws.send_bytes(data.encode()) if self.binary else self.ws.send_str(data))

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=p.truncate_reason(reason).encode())


def _api_key(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return (request.headers.get("x-goog-api-key") or request.query.get("key")
            or request.query.get("access_token")
            or (auth[len("Token "):] if auth.startswith("Token ") else None))


async def _first_frame(ws: web.WebSocketResponse) -> tuple[str, object]:
    msg = await asyncio.wait_for(ws.receive(), SETUP_TIMEOUT_S)
    if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        raise p.ProtocolError()
    return p.parse_frame(msg.data)


class LiveEndpoint:
    def __init__(self, emulator: "GeminiEmulator"):
        self.emu = emulator
        self.handles = HandleStore()

    async def handle(self, request: web.Request, version: str) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        outbox = _WsOutbox(ws, binary=self.emu.binary_frames)
        try:
            session = await self._open(request, ws, outbox, version)
        except p.ProtocolError as err:
            self.emu.rejected.append((err.code, err.reason))
            await outbox.close(err.code, err.reason)
            return ws
        except asyncio.TimeoutError:
            await outbox.close(1007, p.REASON_INVALID)
            return ws
        try:
            await self._serve(ws, session)
        finally:
            session.state.connected = False
        return ws

    async def _open(self, request, ws, outbox, version: str) -> LiveSession:
        kind, body = await _first_frame(ws)
        if kind != "setup":
            raise p.ProtocolError()
        if _api_key(request) != self.emu.api_key:
            raise p.ProtocolError(1007, p.REASON_BAD_KEY)
        cfg = p.parse_setup(body)
        if cfg.model_id not in self.emu.models:
            raise p.ProtocolError(1008, p.model_not_found_reason(cfg.model, version))
        state = self._state_for(request, cfg)
        session = LiveSession(cfg, state, outbox, self.handles.issue,
                              abort_audio_during_blocking_call=self.emu.abort_audio_during_blocking_call)
        state.connected = True
        self.emu._register(session, request)
        await session.send(p.setup_complete())
        return session

    def _state_for(self, request: web.Request, cfg: p.SetupConfig) -> SessionState:
        if cfg.resume_handle:
            state = self.handles.resume(cfg.resume_handle)
            if state is None:
                raise p.ProtocolError(1008, p.REASON_ENTITY_NOT_FOUND)
            if state.connected:
                raise p.ProtocolError(1011, p.REASON_INTERNAL)
            return state
        scenario = self.emu._pick_scenario(request.headers.get("x-emulator-scenario"), cfg)
        return SessionState(id="sess-" + secrets.token_hex(6), scenario=Scenario.load(scenario))

    async def _serve(self, ws: web.WebSocketResponse, session: LiveSession) -> None:
        tasks = [asyncio.create_task(self._guard(session, session.run())),
                 asyncio.create_task(self._guard(session, self._lifetime(session)))]
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    kind, body = p.parse_frame(msg.data)
                    await session.handle(kind, body)
                except p.ProtocolError as err:
                    await session.close(err.code, err.reason)
                    break
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _guard(self, session: LiveSession, coro) -> None:
        """An emulator bug becomes a 1011 close (and is recorded), never a hang."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded for the tests
            self.emu.errors.append(exc)
            await session.close(1011, p.REASON_INTERNAL)

    async def _lifetime(self, session: LiveSession) -> None:
        scenario = session.state.scenario
        after = self.emu.connection_lifetime_s or scenario.go_away_after_s
        if not after:
            return
        left = self.emu.go_away_time_left_s or scenario.go_away_time_left_s
        await asyncio.sleep(after)
        await session.send(p.go_away(left))
        await asyncio.sleep(left)
        await session.close(1011, p.REASON_DEADLINE)
