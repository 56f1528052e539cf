"""Twilio Media Streams codec: goldens, round trips, malformed input."""

from __future__ import annotations

import base64
import json

import msgspec
import pytest

from services.bridge.codecs import twilio
from services.bridge.codecs.twilio import (
    Clear,
    Connected,
    Dtmf,
    DtmfInfo,
    Mark,
    MarkInfo,
    Media,
    MediaFormat,
    MediaInfo,
    OutboundMark,
    OutboundMedia,
    OutboundMediaInfo,
    Start,
    StartInfo,
    Stop,
    StopInfo,
    TwilioCodecError,
)

ACCOUNT = "AC" + "1" * 32
CALL = "CA" + "2" * 32
STREAM = "MZ" + "3" * 32
AUDIO = bytes(range(160))
AUDIO_B64 = base64.b64encode(AUDIO).decode()

# Compact JSON in Twilio's documented field order, and the Struct it must decode to.
INBOUND_GOLDENS = {
    "connected": (
        '{"event":"connected","protocol":"Call","version":"1.0.0"}',
        Connected(protocol="Call", version="1.0.0"),
    ),
    "start": (
        '{"event":"start","sequenceNumber":"1","start":{"accountSid":"%s","streamSid":"%s","callSid":"%s",'
        '"tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},'
        '"customParameters":{"FirstName":"Jane","RemoteParty":"Bob"}},"streamSid":"%s"}'
        % (ACCOUNT, STREAM, CALL, STREAM),
        Start(
            sequence_number="1",
            start=StartInfo(
                account_sid=ACCOUNT,
                stream_sid=STREAM,
                call_sid=CALL,
                tracks=["inbound"],
                media_format=MediaFormat(encoding="audio/x-mulaw", sample_rate=8000, channels=1),
                custom_parameters={"FirstName": "Jane", "RemoteParty": "Bob"},
            ),
            stream_sid=STREAM,
        ),
    ),
    "media": (
        '{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"5",'
        '"payload":"%s"},"streamSid":"%s"}' % (AUDIO_B64, STREAM),
        Media(sequence_number="4", media=MediaInfo(track="inbound", chunk="2", timestamp="5", payload=AUDIO),
              stream_sid=STREAM),
    ),
    "dtmf": (
        '{"event":"dtmf","streamSid":"%s","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}' % STREAM,
        Dtmf(stream_sid=STREAM, sequence_number="5", dtmf=DtmfInfo(track="inbound_track", digit="1")),
    ),
    "mark": (
        '{"event":"mark","sequenceNumber":"4","streamSid":"%s","mark":{"name":"my label"}}' % STREAM,
        Mark(sequence_number="4", stream_sid=STREAM, mark=MarkInfo(name="my label")),
    ),
    "stop": (
        '{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"%s","callSid":"%s"},"streamSid":"%s"}'
        % (ACCOUNT, CALL, STREAM),
        Stop(sequence_number="5", stop=StopInfo(account_sid=ACCOUNT, call_sid=CALL), stream_sid=STREAM),
    ),
}

OUTBOUND_GOLDENS = {
    "media": (
        '{"event":"media","streamSid":"%s","media":{"payload":"%s"}}' % (STREAM, AUDIO_B64),
        OutboundMedia(stream_sid=STREAM, media=OutboundMediaInfo(payload=AUDIO)),
    ),
    "mark": (
        '{"event":"mark","streamSid":"%s","mark":{"name":"utt-42"}}' % STREAM,
        OutboundMark(stream_sid=STREAM, mark=MarkInfo(name="utt-42")),
    ),
    "clear": ('{"event":"clear","streamSid":"%s"}' % STREAM, Clear(stream_sid=STREAM)),
}


@pytest.mark.parametrize("event", INBOUND_GOLDENS)
def test_inbound_golden_decodes_and_reencodes_byte_for_byte(event: str) -> None:
    text, expected = INBOUND_GOLDENS[event]
    assert twilio.decode(text) == expected
    assert twilio.decode(text.encode()) == expected  # bytes frames too
    assert twilio.encode(expected) == text


@pytest.mark.parametrize("event", OUTBOUND_GOLDENS)
def test_outbound_golden_round_trips(event: str) -> None:
    text, message = OUTBOUND_GOLDENS[event]
    assert twilio.encode(message) == text
    assert twilio.decode_outbound(text) == message


def test_outbound_helpers_produce_the_goldens() -> None:
    assert twilio.encode_media(STREAM, AUDIO) == OUTBOUND_GOLDENS["media"][0]
    assert twilio.encode_mark(STREAM, "utt-42") == OUTBOUND_GOLDENS["mark"][0]
    assert twilio.encode_clear(STREAM) == OUTBOUND_GOLDENS["clear"][0]
    assert isinstance(twilio.encode_media(STREAM, AUDIO), str)  # text frames, never binary


def test_mark_names_are_json_escaped() -> None:
    text = twilio.encode_mark(STREAM, 'say "hi"\n\\')
    assert json.loads(text)["mark"]["name"] == 'say "hi"\n\\'


def test_start_without_custom_parameters_defaults_to_empty() -> None:
    document = json.loads(INBOUND_GOLDENS["start"][0])
    del document["start"]["customParameters"]
    assert twilio.decode(json.dumps(document)).start.custom_parameters == {}


def test_unknown_extra_fields_are_ignored() -> None:
    document = json.loads(INBOUND_GOLDENS["media"][0])
    document["future"] = {"x": 1}
    document["media"]["extra"] = "y"
    assert twilio.decode(json.dumps(document)) == INBOUND_GOLDENS["media"][1]


def test_media_payload_size_is_not_assumed() -> None:
    document = json.loads(INBOUND_GOLDENS["media"][0])
    document["media"]["payload"] = base64.b64encode(bytes(800)).decode()
    assert len(twilio.decode(json.dumps(document)).media.payload) == 800


def test_messages_are_frozen() -> None:
    message = INBOUND_GOLDENS["media"][1]
    with pytest.raises(AttributeError):
        message.stream_sid = "other"  # type: ignore[misc]


def _media_with(*, drop: str = "", **changes: object) -> str:
    document = json.loads(INBOUND_GOLDENS["media"][0])
    document["media"].update(changes)
    document["media"].pop(drop, None)
    return json.dumps(document)


MALFORMED = {
    "bad json": ('{"event":"media",', "malformed"),
    "not an object": ("[1, 2]", "malformed"),
    "empty": ("", "malformed"),
    "unknown event": ('{"event":"hangup","streamSid":"MZ1"}', "Invalid value 'hangup'"),
    "outbound-only event": ('{"event":"clear","streamSid":"MZ1"}', "Invalid value 'clear'"),
    "no event": ('{"streamSid":"MZ1"}', "missing required field `event`"),
    "missing field": ('{"event":"mark","sequenceNumber":"4","streamSid":"MZ1"}', "missing required field `mark`"),
    "missing nested field": (_media_with(drop="payload"), "missing required field `payload` - at `$.media`"),
    "bad base64": (_media_with(payload="no+JhoaJ!!"), "Invalid base64"),
    "number instead of string": (
        INBOUND_GOLDENS["dtmf"][0].replace('"sequenceNumber":"5"', '"sequenceNumber":5'),
        "Expected `str`, got `int`",
    ),
    "oversize": (_media_with(payload="A" * twilio.MAX_MESSAGE_BYTES), "too large"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_input_raises_a_clear_error(case: str) -> None:
    text, fragment = MALFORMED[case]
    with pytest.raises(TwilioCodecError, match="Twilio message") as info:
        twilio.decode(text)
    assert fragment in str(info.value)


def test_codec_error_is_a_value_error_and_hides_msgspec() -> None:
    with pytest.raises(ValueError) as info:
        twilio.decode("{")
    assert not isinstance(info.value, msgspec.MsgspecError)
    assert info.value.__cause__ is None


def test_decoders_are_module_singletons() -> None:
    assert isinstance(twilio._inbound_decoder, msgspec.json.Decoder)
    assert isinstance(twilio._encoder, msgspec.json.Encoder)
