import pytest

from services.common.settings import DEFAULT_PORTS, Settings, environment_variables


def test_every_field_reads_the_variable_of_its_name(monkeypatch):
    monkeypatch.setenv("GEMINI_VOICE", "Schedar")
    monkeypatch.setenv("PLAYBACK_LEAD_MS", "250")
    monkeypatch.setenv("SSE_MAX_CLIENTS", "12")
    monkeypatch.setenv("KB_EMBED_ON_START", "false")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://voice.example.com/")
    s = Settings.from_env("tools")
    assert (s.gemini_voice, s.playback_lead_ms, s.sse_max_clients, s.kb_embed_on_start) == (
        "Schedar", 250.0, 12, False)
    assert s.public_base_url == "https://voice.example.com"


def test_ports_per_service_then_http_port_then_default(monkeypatch):
    assert Settings.from_env("notifier").http_port == DEFAULT_PORTS["notifier"]
    monkeypatch.setenv("HTTP_PORT", "9000")
    assert Settings.from_env("notifier").http_port == 9000
    monkeypatch.setenv("NOTIFIER_PORT", "9100")
    assert Settings.from_env("notifier").http_port == 9100


def test_set_but_empty_strings_mean_off_and_empty_numbers_mean_default(monkeypatch):
    monkeypatch.setenv("OUTBOUND_MACHINE_DETECTION", "")
    monkeypatch.setenv("MAX_CALLS", "")
    monkeypatch.setenv("OVERFLOW_MESSAGE", "")
    s = Settings.from_env("ingress")
    assert s.outbound_machine_detection == ""
    assert s.max_calls == Settings.max_calls
    assert s.overflow_message == Settings.overflow_message


@pytest.mark.parametrize(("name", "value"),
                         [("MAX_CALLS", "lots"), ("DRAIN_TIMEOUT_S", "ten"), ("INGRESS_PORT", "80a")])
def test_malformed_numbers_are_a_clear_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} must be"):
        Settings.from_env("ingress")


def test_environment_variables_cover_every_setting():
    names = environment_variables()
    assert {"NATS_URL", "GEMINI_API_KEY", "MAX_CALLS", "BRIDGE_PORT", "HTTP_PORT"} <= set(names)
    assert names["MAX_CALLS"] == 200 and "SERVICE" not in names
