"""Twilio REST API (2010-04-01) Recordings resource, for recordings started on a live call.

- ``POST /Accounts/{AC}/Calls/{CA}/Recordings.json``: start recording an in-progress call
  (else 400 21220); ``RecordingChannels`` mono|dual, ``RecordingStatusCallback`` (+ ``Method``,
  ``Event`` — space-separated or repeated; default ``completed``).
- ``GET /Accounts/{AC}/Calls/{CA}/Recordings.json`` and ``/Accounts/{AC}/Recordings.json``: list.
- ``GET|DELETE /Accounts/{AC}/[Calls/{CA}/]Recordings/{RE}.json``: fetch, delete (204).
- ``GET /Accounts/{AC}/Recordings/{RE}.wav|.mp3``: the media (basic auth, as with "enforce HTTP
  auth on media URLs"). A WAV of what the call's media stream played (dual: the caller's channel
  is silence — the emulator keeps no caller audio); a short silent WAV when there is none. The
  ``.mp3`` is the same WAV bytes under ``audio/mpeg`` (no encoder here).

A recording ends with its call: status ``completed`` (or ``absent`` with no audio), and the
signed recording status callback is sent like Twilio's (``RecordingSid``, ``RecordingUrl``
without extension, ``RecordingStatus``, ``RecordingDuration``, ``RecordingChannels``, …).
"""
from __future__ import annotations

import datetime as dt
import io
import wave
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from .errors import twilio_error
from .webhooks import new_sid, rfc2822

# The emulator and its calls are typed ``Any`` here: naming them would join this module to the
# server/call import circle (tests/test_import_graph.py). A call has sid, account_sid, status,
# played_ulaw and log(); the emulator has calls, rest_requests, base_url and post_callback().
Call = Any
TwilioEmulator = Any

CALLBACK_EVENTS = ("in-progress", "completed", "absent")
SILENT_WAV_S = 0.5


@dataclass
class Recording:
    sid: str
    call: Call
    channels: int
    callback: str | None
    callback_method: str
    callback_events: tuple[str, ...]
    track: str = "both"
    status: str = "in-progress"
    date_created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    end_time: dt.datetime | None = None
    audio_offset: int = 0  # bytes of played audio before the recording started

    @property
    def duration_s(self) -> int:
        if self.end_time is None:
            return -1
        return max(0, int(round((self.end_time - self.date_created).total_seconds())))

    def uri(self, ext: str = ".json") -> str:
        return f"/2010-04-01/Accounts/{self.call.account_sid}/Recordings/{self.sid}{ext}"

    def to_json(self) -> dict[str, Any]:
        call = self.call
        return {"account_sid": call.account_sid, "api_version": "2010-04-01", "call_sid": call.sid,
                "conference_sid": None, "channels": self.channels, "date_created": rfc2822(self.date_created),
                "date_updated": rfc2822(self.end_time or self.date_created),
                "start_time": rfc2822(self.date_created), "duration": str(self.duration_s), "price": None,
                "price_unit": "USD", "sid": self.sid, "source": "StartCallRecordingAPI", "status": self.status,
                "error_code": None, "encryption_details": None, "track": self.track, "media_url": None,
                "uri": f"/2010-04-01/Accounts/{call.account_sid}/Calls/{call.sid}/Recordings/{self.sid}.json",
                "subresource_uris": {"add_on_results": self.uri("/AddOnResults.json"),
                                     "transcriptions": self.uri("/Transcriptions.json")}}


def wav_bytes(ulaw_played: bytes, channels: int) -> bytes:
    """PCM16 8 kHz WAV of the played audio; dual puts it on channel 2 beside a silent caller."""
    from .. import audio  # numpy-heavy; imported when media is asked for

    pcm = audio.ulaw_to_pcm16(ulaw_played) if ulaw_played else np.zeros(int(8000 * SILENT_WAV_S), np.int16)
    if channels == 2:
        pcm = np.column_stack([np.zeros_like(pcm), pcm]).reshape(-1)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()


class RecordingsApi:
    def __init__(self, emu: TwilioEmulator, auth) -> None:
        self.emu = emu
        self._auth = auth
        self.recordings: dict[str, Recording] = {}
        self.deleted: list[str] = []

    def routes(self) -> list[web.RouteDef]:
        acct = "/2010-04-01/Accounts/{account}"
        call = acct + "/Calls/{call_sid}/Recordings"
        return [web.post(call + ".json", self.create), web.get(call + ".json", self.list),
                web.get(acct + "/Recordings.json", self.list),
                web.get(call + "/{sid}.json", self.fetch), web.delete(call + "/{sid}.json", self.delete),
                web.get(acct + "/Recordings/{sid}.json", self.fetch),
                web.delete(acct + "/Recordings/{sid}.json", self.delete),
                web.get(acct + "/Recordings/{sid}.wav", self.media),
                web.get(acct + "/Recordings/{sid}.mp3", self.media),
                web.get(acct + "/Recordings/{sid}", self.media)]

    def _not_found(self, request: web.Request) -> web.Response:
        return twilio_error(404, 20404, f"The requested resource {request.path} was not found")

    def _find(self, request: web.Request) -> Recording | None:
        rec = self.recordings.get(request.match_info["sid"])
        call_sid = request.match_info.get("call_sid")
        if rec is None or (call_sid is not None and rec.call.sid != call_sid):
            return None
        return rec

    async def create(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        call = self.emu.calls.get(request.match_info["call_sid"])
        if call is None:
            return self._not_found(request)
        form = await request.post()
        self.emu.rest_requests.append(("POST", request.path, form.copy()))
        if call.status != "in-progress":
            return twilio_error(400, 21220, "Requested resource is not eligible for recording",
                                detail=f"The call is {call.status}, not in-progress.")
        rec = self._new_recording(call, form)
        if isinstance(rec, web.Response):
            return rec
        self.recordings[rec.sid] = rec
        call.log("recording_started", recording_sid=rec.sid, channels=rec.channels)
        self._callback(rec)
        return web.json_response(rec.to_json(), status=201)

    def _new_recording(self, call: Call, form) -> Recording | web.Response:  # form: aiohttp's MultiDictProxy
        channels = form.get("RecordingChannels", "mono")
        if channels not in ("mono", "dual"):
            return twilio_error(400, 21222, f"Invalid RecordingChannels: {channels}")
        events = tuple(e for v in form.getall("RecordingStatusCallbackEvent", []) for e in v.split()) \
            or ("completed",)
        if unknown := [e for e in events if e not in CALLBACK_EVENTS]:
            return twilio_error(400, 21222, f"Invalid RecordingStatusCallbackEvent: {unknown[0]}")
        return Recording(sid=new_sid("RE"), call=call, channels=2 if channels == "dual" else 1,
                         callback=form.get("RecordingStatusCallback"),
                         callback_method=form.get("RecordingStatusCallbackMethod", "POST").upper(),
                         callback_events=events, track=form.get("RecordingTrack", "both"),
                         audio_offset=len(call.played_ulaw))

    async def list(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        call_sid = request.match_info.get("call_sid") or request.query.get("CallSid")
        recs = [r.to_json() for r in self.recordings.values() if call_sid is None or r.call.sid == call_sid]
        uri = request.path
        return web.json_response({"recordings": recs, "end": max(0, len(recs) - 1), "first_page_uri": uri,
                                  "next_page_uri": None, "page": 0, "page_size": 50,
                                  "previous_page_uri": None, "start": 0, "uri": uri})

    async def fetch(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        rec = self._find(request)
        return self._not_found(request) if rec is None else web.json_response(rec.to_json())

    async def delete(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        rec = self._find(request)
        if rec is None:
            return self._not_found(request)
        del self.recordings[rec.sid]
        self.deleted.append(rec.sid)
        self.emu.rest_requests.append(("DELETE", request.path, None))
        return web.Response(status=204)

    async def media(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        rec = self._find(request)
        if rec is None:
            return self._not_found(request)
        body = wav_bytes(rec.call.played_ulaw[rec.audio_offset:], rec.channels)
        mp3 = request.path.endswith(".mp3")
        return web.Response(body=body, content_type="audio/mpeg" if mp3 else "audio/x-wav")

    def call_ended(self, call: Call) -> None:
        """Every recording of ``call`` ends with it (status callback ``completed`` or ``absent``)."""
        for rec in self.recordings.values():
            if rec.call is call and rec.status == "in-progress":
                rec.end_time = dt.datetime.now(dt.timezone.utc)
                rec.status = "completed" if len(call.played_ulaw) > rec.audio_offset else "absent"
                self._callback(rec)

    def _callback(self, rec: Recording) -> None:
        if not rec.callback or rec.status not in rec.callback_events:
            return
        params = {"AccountSid": rec.call.account_sid, "CallSid": rec.call.sid, "RecordingSid": rec.sid,
                  "RecordingUrl": self.emu.base_url + rec.uri(""), "RecordingStatus": rec.status,
                  "RecordingDuration": str(max(0, rec.duration_s)), "RecordingChannels": str(rec.channels),
                  "RecordingStartTime": rfc2822(rec.date_created), "RecordingSource": "StartCallRecordingAPI",
                  "RecordingTrack": rec.track, "ErrorCode": "0"}
        self.emu.post_callback(rec.call, rec.callback, params, rec.callback_method, kind="recording")
