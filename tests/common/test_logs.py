import json
import logging

from services.common.logs import JsonFormatter, log_context
from services.common.settings import Settings


def _format(formatter: JsonFormatter, msg: str, **extra) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(formatter.format(record))


def test_call_and_incident_ids_come_from_context():
    formatter = JsonFormatter("bridge", [])
    with log_context(call_id="CA123", incident_id="inc-9"):
        entry = _format(formatter, "frame dropped")
    assert entry["call_id"] == "CA123" and entry["incident_id"] == "inc-9"
    assert entry["service"] == "bridge" and entry["msg"] == "frame dropped"
    assert "call_id" not in _format(formatter, "outside")


def test_secrets_never_reach_logs():
    secret = "sk-very-secret-token-123"
    formatter = JsonFormatter("ingress", [secret])
    line = json.dumps(_format(formatter, f"bad auth with {secret}", auth_token="abc", detail=secret))
    assert secret not in line and "abc" not in line
    assert "[redacted]" in line


def test_public_view_hides_secrets_and_passwords(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tok-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db:5432/fixline")
    view = Settings.from_env("ingress").public_view()
    assert view["twilio_auth_token"] == "<set>"
    assert "hunter2" not in str(view)
