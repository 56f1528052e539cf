import pytest

from services.common.stream_parameters import MAX_PARTS, PARAMETER_LIMIT, join_parameter, split_parameter


@pytest.mark.parametrize("length", [0, 1, 490, 491, 1200, 3000])
def test_split_values_fit_twilio_and_join_back(length):
    value = "".join(chr(97 + i % 26) for i in range(length))
    parts = split_parameter("briefing", value)
    assert all(len(name) + len(part) <= PARAMETER_LIMIT for name, part in parts)
    assert join_parameter(dict(parts), "briefing") == value


def test_overlong_values_are_cut_not_sent_as_too_many_parameters():
    parts = split_parameter("briefing", "x" * 10_000)
    assert len(parts) == MAX_PARTS
    assert len(join_parameter(dict(parts), "briefing")) < 10_000
