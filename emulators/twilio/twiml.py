"""Pure TwiML (voice) parsing into a list of verbs the carrier executes."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

SUPPORTED = {"Say", "Pause", "Hangup", "Reject", "Redirect", "Dial", "Connect", "Play", "Gather", "Start"}


class TwimlError(ValueError):
    """Document parse failure (Twilio error 12100) or invalid verb content (12200)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StreamSpec:
    url: str
    name: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    status_callback: str | None = None
    status_callback_method: str = "POST"


@dataclass(frozen=True)
class Verb:
    name: str
    text: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    numbers: tuple[str, ...] = ()
    stream: StreamSpec | None = None
    number_attrs: tuple[dict[str, str], ...] = ()  # each <Dial><Number>'s attributes (url: the whisper)


def _stream(el: ET.Element) -> StreamSpec:
    url = el.get("url", "")
    if not url:
        raise TwimlError(12200, "<Stream> requires a url attribute")
    params: dict[str, str] = {}
    for p in el.findall("Parameter"):
        name, value = p.get("name", ""), p.get("value", "")
        if len(name) + len(value) >= 500:
            raise TwimlError(12200, "<Parameter> name+value must be under 500 characters")
        params[name] = value
    return StreamSpec(url=url, name=el.get("name"), parameters=params,
                      status_callback=el.get("statusCallback"),
                      status_callback_method=el.get("statusCallbackMethod", "POST").upper())


def _verb(el: ET.Element) -> Verb:
    attrs = dict(el.attrib)
    text = (el.text or "").strip()
    if el.tag == "Connect":
        stream = el.find("Stream")
        if stream is None:
            raise TwimlError(12200, "<Connect> needs a <Stream> child")
        return Verb("Connect", attrs=attrs, stream=_stream(stream))
    if el.tag == "Dial":
        numbers = tuple((n.text or "").strip() for n in el if n.tag in ("Number", "Client", "Sip"))
        number_attrs = tuple(dict(n.attrib) for n in el if n.tag in ("Number", "Client", "Sip"))
        return Verb("Dial", attrs=attrs, numbers=numbers or ((text,) if text else ()), number_attrs=number_attrs)
    if el.tag == "Start":
        stream = el.find("Stream")
        return Verb("Start", attrs=attrs, stream=_stream(stream) if stream is not None else None)
    return Verb(el.tag, text=text, attrs=attrs)


@dataclass
class TwimlSource:
    """Where a call's next TwiML comes from: a URL to fetch, or the document itself."""

    url: str | None = None
    method: str = "POST"
    twiml: str | None = None


def parse_twiml(document: str) -> list[Verb]:
    try:
        root = ET.fromstring(document.strip())
    except ET.ParseError as err:
        raise TwimlError(12100, f"Document parse failure: {err}") from err
    if root.tag != "Response":
        raise TwimlError(12100, "Document root must be <Response>")
    verbs = []
    for el in root:
        if el.tag not in SUPPORTED:
            raise TwimlError(12200, f"Unsupported TwiML verb <{el.tag}>")
        verbs.append(_verb(el))
    return verbs
