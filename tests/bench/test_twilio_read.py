"""The Twilio-read lever bench runs both paths to the end (every message counted once)."""

from bench import twilio_read


def test_both_paths_deliver_every_message():
    medians = twilio_read.main(["--rounds", "1", "--messages", "200"])
    assert set(medians) == {"receive() loop", "tap"} and all(us > 0 for us in medians.values())
