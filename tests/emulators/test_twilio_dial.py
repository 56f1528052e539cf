"""The Twilio emulator's ``<Dial>`` for warm hand-offs, driven by TwiML from the real twilio SDK:
``<Number url>`` whisper played to the callee before the bridge, and the Dial ``action`` with
``DialCallStatus`` per the dialled callee's script (answer, no-answer, busy, failed)."""
from __future__ import annotations

import pytest
from twilio.twiml.voice_response import VoiceResponse

from emulators.twilio import TwilioEmulator

from .agent_app import AgentApp

TOKEN = "test-auth-token"
MANAGER = "+15550008888"
WHISPER = "Fixline transfer: a guest at Seaside Cottage."


@pytest.fixture
async def twilio():
    async with TwilioEmulator(auth_token=TOKEN, verb_time_scale=0.05, dial_duration_s=0.2) as emu:
        yield emu
        assert emu.errors == []


def handoff_app() -> AgentApp:
    """/voice: the Dial; /voice2: the whisper (has ParentCallSid) or the action (has DialCallStatus)."""
    app = AgentApp(TOKEN)

    def answer() -> str:
        hook, response = app.webhooks[-1], VoiceResponse()
        if hook["path"] == "/voice":
            response.dial(action=app.url + "/voice2?step=action", timeout=2).number(
                MANAGER, url=app.url + "/voice2?step=whisper")
        elif "ParentCallSid" in hook:
            response.say(WHISPER)
        else:
            response.say("Back to you.")
            response.hangup()
        return str(response)

    app.twiml = answer
    return app


@pytest.mark.parametrize("dialled", ["answer", "no-answer", "busy", "failed"])
async def test_dial_whispers_then_bridges_or_reports_why_not(twilio, dialled):
    twilio.set_callee(MANAGER, {"dialled": dialled})
    async with handoff_app() as app:
        call = await twilio.place_inbound_call(to="+15550001111", from_="+15557654321", voice_url=app.url + "/voice")
        await call.wait(15)
    assert app.rejected == [], "every request was signed"
    kinds = [e.kind for e in call.timeline]
    action = [h for h in app.webhooks if "DialCallStatus" in h]
    if dialled == "answer":
        whisper = [h for h in app.webhooks if "ParentCallSid" in h]
        assert len(whisper) == 1 and whisper[0]["ParentCallSid"] == call.sid and whisper[0]["To"] == MANAGER
        assert whisper[0]["CallSid"] != call.sid and whisper[0]["Direction"] == "outbound-dial"
        assert [e.detail["text"] for e in call.events("dial_whisper")] == [WHISPER]
        assert kinds.index("dial_whisper") < kinds.index("dial_bridged")
        assert action[0]["DialCallStatus"] == "completed"
    else:
        assert not call.events("dial_whisper") and "dial_bridged" not in kinds
        assert not any("ParentCallSid" in h for h in app.webhooks), "nobody answered: no whisper fetched"
        assert action[0]["DialCallStatus"] == dialled
    assert len(action) == 1 and action[0]["CallSid"] == call.sid and action[0]["DialCallSid"].startswith("CA")
    assert "Back to you." in [e.detail["text"] for e in call.events("say")], "the action's TwiML continues the call"
    assert call.status == "completed"
