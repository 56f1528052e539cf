import pytest

from services.notifier import sse


def test_frame_round_trips_through_the_parser():
    data = sse.frame(b'{"a": 1}\nsecond line', event="incident.created", seq=42)
    assert data == b'id: 42\nevent: incident.created\ndata: {"a": 1}\ndata: second line\n\n'
    (message,) = sse.Parser().feed(data)
    assert (message.id, message.event, message.data) == ("42", "incident.created", '{"a": 1}\nsecond line')


def test_parser_handles_split_chunks_comments_and_retry():
    parser = sse.Parser()
    stream = sse.retry(3000) + sse.comment("ping") + sse.frame(b"x", event="e")
    messages = [m for i in range(len(stream)) for m in parser.feed(stream[i:i + 1])]
    assert messages[0].retry == 3000
    assert messages[1].comments == ["ping"] and messages[1].data is None
    assert (messages[2].event, messages[2].data, messages[2].id) == ("e", "x", None)


def test_event_names_cannot_inject_fields():
    with pytest.raises(ValueError):
        sse.frame(b"x", event="a\nid: 1")


@pytest.mark.parametrize(("header", "query", "expected"), [
    (None, {}, None),
    ("", {}, None),
    ("  ", {"since": ""}, None),
    ("17", {"since": "3"}, 17),
    (None, {"last_event_id": "5", "since": "3"}, 5),
    (None, {"since": "0"}, 0),
])
def test_resume_point_precedence(header, query, expected):
    assert sse.parse_resume_point(header, query) == expected


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "１２", "9" * 20, "0x10"])
def test_malformed_resume_points_are_rejected(bad):
    with pytest.raises(sse.BadResumePoint, match="non-negative integer"):
        sse.parse_resume_point(bad, {})
