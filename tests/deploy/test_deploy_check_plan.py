"""make deploy-check starts each container from the rendered manifest: the translation of a
Deployment into podman options is checked here offline (podman itself runs in deploy-check)."""

from __future__ import annotations

import sys

import pytest

from .manifests import ROOT, by_kind

sys.path.insert(0, str(ROOT / "deploy" / "check"))
from manifest_pods import ManifestError, plan  # noqa: E402

SECRETS = {"fixline-secrets": {"GEMINI_API_KEY": "g", "TWILIO_AUTH_TOKEN": "t", "MEDIA_TOKEN_SECRET": "m",
                               "DASHBOARD_TOKEN": "d", "DATABASE_URL": "postgresql://fixline@db/fixline"}}
NATS_FILES = {("fixline-nats-credentials", f"{role}.nk"): f"/k/{role}.nk"
              for role in ("ingress", "bridge", "tools", "notifier", "outreach")} | {("nats-ca", "ca.crt"): "/k/ca.crt"}


def test_the_bridge_container_as_the_manifest_declares_it(rendered):
    deployments = by_kind(rendered["base"], "Deployment")
    configmaps = by_kind(rendered["base"], "ConfigMap")
    bridge = plan(deployments["bridge"], configmaps, SECRETS, NATS_FILES, "img")
    assert bridge.command == ["python", "-m", "services.bridge"]
    assert {"--user=10001:10001", "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges",
            f"--memory={2 * 1024 ** 3}", "--cpus=2", f"--tmpfs=/tmp:rw,mode=1777,size={64 * 1024 ** 2}"} <= set(bridge.args)
    assert bridge.env["MEDIA_TOKEN_SECRET"] == "m" and bridge.env["DRAIN_TIMEOUT_S"] == "840"
    assert bridge.env["NATS_STREAM_REPLICAS"] == configmaps["fixline-config"]["data"]["NATS_STREAM_REPLICAS"]
    assert "DATABASE_URL" not in bridge.env
    assert (bridge.grace_s, bridge.pre_stop_sleep_s) == (900, 10)
    assert bridge.probe_port("readinessProbe") == 8081


def test_secret_keys_and_volumes(rendered, tmp_path):
    deployments = by_kind(rendered["base"], "Deployment")
    configmaps = by_kind(rendered["base"], "ConfigMap")
    notifier = plan(deployments["notifier"], configmaps, SECRETS, NATS_FILES, "img")
    assert "--volume=/k/notifier.nk:/var/run/secrets/fixline/nats/notifier.nk:ro" in notifier.args
    assert not any("bridge.nk" in arg for arg in notifier.args)   # items: only its own key
    assert "DASHBOARD_TOKENS" not in notifier.env          # optional key, absent: skipped like the kubelet
    assert notifier.env["DATABASE_URL"] == SECRETS["fixline-secrets"]["DATABASE_URL"]
    account = tmp_path / "sa.json"
    tools = plan(deployments["tools"], configmaps, SECRETS,
                 {**NATS_FILES, ("fixline-google", "service-account.json"): str(account)}, "img")
    assert f"--volume={account}:/var/run/secrets/fixline/google/service-account.json:ro" in tools.args
    with pytest.raises(ManifestError, match="Secret fixline-secrets has no key"):
        plan(deployments["bridge"], configmaps, {"fixline-secrets": {}}, NATS_FILES, "img")
    without_own_key = {k: v for k, v in NATS_FILES.items() if k != ("fixline-nats-credentials", "bridge.nk")}
    with pytest.raises(ManifestError, match=r"fixline-nats-credentials has no files for \['bridge.nk'\]"):
        plan(deployments["bridge"], configmaps, SECRETS, without_own_key, "img")
