"""TwiML answers, built with the SDK's ``VoiceResponse`` (escaping and attribute names done for us)."""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import Connect, Stream, VoiceResponse

from services.common.media_token import TOKEN_PARAMETER
from services.common.stream_parameters import split_parameter

VOICE = "Polly.Joanna"
LANGUAGE = "en-US"
UNKNOWN_NUMBER_MESSAGE = ("Sorry, this number is not connected to a property we look after. "
                          "Please check the number and try again. Goodbye.")
CALL_OVER_MESSAGE = "Sorry, this call can no longer be connected. Goodbye."
RECORDING_NOTICE = "This call is recorded to keep a record of your request."


@dataclass(frozen=True)
class StreamTarget:
    """Where and how the bridge picks up the call. The signed ``token`` carries the whole call
    context (``services.common.media_token``); ``call_id`` is informational only (the bridge
    ignores every parameter but the token)."""

    url: str
    status_callback: str
    call_id: str
    token: str

    def parameters(self) -> dict[str, str]:
        return {"call_id": self.call_id, **dict(split_parameter(TOKEN_PARAMETER, self.token))}


def connect_stream(target: StreamTarget, *, recording_notice: bool = False) -> str:
    """``<Connect><Stream>``; with ``recording_notice`` the caller first hears that the call is recorded."""
    response = VoiceResponse()
    if recording_notice:
        response.say(RECORDING_NOTICE, voice=VOICE, language=LANGUAGE)
    connect = Connect()
    stream = Stream(url=target.url, name=target.call_id, status_callback=target.status_callback,
                    status_callback_method="POST")
    for name, value in target.parameters().items():
        stream.parameter(name=name, value=value)
    connect.append(stream)
    response.append(connect)
    return str(response)


def say_and_hang_up(message: str) -> str:
    response = VoiceResponse()
    response.say(message, voice=VOICE, language=LANGUAGE)
    response.hangup()
    return str(response)


def say_and_dial(message: str, number: str) -> str:
    response = VoiceResponse()
    response.say(message, voice=VOICE, language=LANGUAGE)
    response.dial().number(number)
    return str(response)


def overflow(mode: str, message: str, dial_number: str) -> str:
    """The polite answer when no bridge can take the call: message + hang up, or message + fallback."""
    if mode == "dial":
        return say_and_dial(message, dial_number)
    return say_and_hang_up(message)
