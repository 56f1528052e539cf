"""``python -m fixline.nats_auth k8s``: the Secret and the NATS chart values agree with each
other and with the permission table, and a second run keeps the keys."""

from __future__ import annotations

import json

import nkeys

from fixline.nats_auth import main
from services.common.bus_permissions import ROLES


def test_kubernetes_credentials_match_the_table(tmp_path):
    out = tmp_path / "k8s"
    main(["k8s", "--out", str(out)])
    secret = json.loads((out / "nats-credentials.secret.yaml").read_text())
    values = json.loads((out / "nats-auth.values.yaml").read_text())
    users = values["config"]["merge"]["authorization"]["users"]
    assert set(secret["stringData"]) == {f"{role}.nk" for role in ROLES}
    by_key = {u["nkey"]: u for u in users}
    for role, spec in ROLES.items():
        public = nkeys.from_seed(secret["stringData"][f"{role}.nk"].encode()).public_key.decode()
        permissions = by_key[public]["permissions"]
        assert permissions["publish"]["allow"] == list(spec.publish)
        assert permissions["subscribe"]["allow"] == list(spec.subscribe)
        assert permissions.get("allow_responses", False) == spec.responds
    assert "harness" not in json.dumps(values) and len(users) == len(ROLES)
    assert oct((out / "nats-credentials.secret.yaml").stat().st_mode & 0o777) == "0o600"
    main(["k8s", "--out", str(out)])
    assert json.loads((out / "nats-credentials.secret.yaml").read_text()) == secret
