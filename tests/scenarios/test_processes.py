"""The crash harness starts a service from environment variables: they must give back exactly
the settings the world gave the in-process service (else the killed service is not the same)."""

import dataclasses

from services.common.settings import Settings
from tests.support.services import settings_for

from .processes import environment


def test_the_environment_gives_back_the_same_settings(monkeypatch):
    settings = dataclasses.replace(settings_for(
        "outreach", outreach_executor_id="scn-1234", outreach_call_timeout_s=25.0, kb_embed_on_start=False,
        gemini_api_version="v1beta", nats_credentials_dir="/tmp/creds", overflow_mode="dial",
        dial_blocked_prefixes=""), http_port=4321)
    for name, value in environment(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env("outreach") == settings
