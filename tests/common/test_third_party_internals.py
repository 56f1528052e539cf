"""Private parts of third-party packages that Fixline uses, checked so an upgrade that moves
them fails here, loudly and by name, instead of in a call.

- google-genai: ``AsyncSession._ws`` and ``_live_converters._LiveServerMessage_from_mldev``
  (services/bridge/live_fast.py, the per-frame audio path);
- aiohttp: ``WebSocketResponse._post_start`` and its compiled ``WebSocketDataQueue``
  (services/bridge/twilio_socket.py, caller frames forwarded as they are parsed);
- DBOS: ``dbos._dbos._dbos_global_instance`` and the instance's ``_workflow_tasks``
  (services/outreach/engine.py, launch-once and shutdown).

Upgrading either package: bump the pin in pyproject.toml and constraints.txt together, then make
these pass (or replace the private route with a public one).
"""

import inspect
import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARDED = ("google-genai", "dbos", "aiohttp")


def _pins(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] for m in re.finditer(r'^\s*"?([A-Za-z0-9_.-]+)==([^";\s]+)', text, re.M)}


@pytest.mark.parametrize("package", GUARDED)
def test_the_installed_version_is_the_pinned_one_in_both_files(package):
    constraints = _pins((ROOT / "constraints.txt").read_text())
    project = _pins((ROOT / "pyproject.toml").read_text())
    assert project.get(package) == constraints.get(package), f"{package}: pin it exactly in pyproject.toml too"
    assert version(package) == constraints[package], f"{package} {version(package)} installed, " \
        f"{constraints[package]} pinned: re-check the private attributes this file guards"


class _Socket:
    async def send(self, frame: str) -> None: ...
    async def recv(self, decode: bool = False) -> bytes: ...


def test_genai_session_keeps_its_websocket_in_ws():
    from google.genai import live

    from services.bridge import live_fast

    socket = _Socket()
    session = live.AsyncSession(api_client=None, websocket=socket)  # type: ignore[arg-type]
    assert session._ws is socket, "google-genai moved AsyncSession._ws: live_fast would fall back to the slow path"
    assert live_fast.available(session)


def test_genai_private_converter_still_turns_a_frame_into_a_message():
    from google.genai import _live_converters, errors

    from services.bridge import live_fast

    assert callable(getattr(_live_converters, "_LiveServerMessage_from_mldev", None))
    message = live_fast._sdk_message(json.dumps({"setupComplete": {}, "usageMetadata": {"totalTokenCount": 7}}))
    assert message.setup_complete is not None and message.usage_metadata.total_token_count == 7
    assert list(inspect.signature(errors.APIError.raise_error).parameters)[:3] == \
        ["status_code", "response_json", "response"]


def test_dbos_global_instance_and_workflow_tasks_are_where_engine_reads_them():
    from dbos import _dbos as dbos_internals

    assert hasattr(dbos_internals, "_dbos_global_instance"), "DBOS moved _dbos_global_instance (engine.launch)"
    init = inspect.getsource(dbos_internals.DBOS.__init__)
    assert "self._workflow_tasks" in init, "DBOS no longer keeps _workflow_tasks (engine.shutdown)"


def test_aiohttp_post_start_is_the_one_twilio_socket_copies():
    import hashlib

    from aiohttp import web_ws
    from aiohttp._websocket import reader

    source = inspect.getsource(web_ws.WebSocketResponse._post_start)
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == POST_START_3_14_5, \
        "aiohttp changed WebSocketResponse._post_start: re-copy it into twilio_socket.TwilioSocket"
    # the compiled queue, whose feed_data (cpdef) the C reader dispatches to a Python override
    assert reader.WebSocketDataQueue.__module__.endswith("reader_c")


POST_START_3_14_5 = "5537cb3f2ecae6ed"
