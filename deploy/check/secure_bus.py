"""The pod's nats-server as the cluster runs it: TLS on the client port and one NKey user per
service with the permissions of services/common/bus_permissions.py; the Secret files the
manifests mount (fixline-nats-credentials, nats-ca) are written for the containers."""

from __future__ import annotations

import os
from pathlib import Path

from emulators.tls import TlsBundle
from fixline.nats_auth import authorization_block, ensure_credentials, seed_path
from services.common.bus_permissions import ROLES

POD_USER = 10001  # runAsUser / fsGroup of every manifest


def secure_bus(state: Path) -> tuple[Path, dict[tuple[str, str], str]]:
    """Returns the directory to mount at /etc/nats (nats.conf, cert, key) and the Secret files."""
    conf_dir = state / "nats-server"
    credentials = state / "nats-credentials"
    public_keys = ensure_credentials(credentials)
    tls = TlsBundle.create(str(conf_dir), hosts=("127.0.0.1", "localhost"))
    (conf_dir / "nats.conf").write_text(
        'listen: "127.0.0.1:4222"\nhttp: "127.0.0.1:8222"\njetstream { store_dir: "/tmp/js" }\n'
        'tls { cert_file: "/etc/nats/cert.pem", key_file: "/etc/nats/key.pem" }\n'
        + authorization_block(public_keys))
    for path in [conf_dir, credentials, *conf_dir.iterdir(), *credentials.iterdir()]:
        os.chown(path, POD_USER, POD_USER)   # as the kubelet's fsGroup would
        path.chmod(0o750 if path.is_dir() else 0o440)
    files = {("fixline-nats-credentials", f"{role}.nk"): str(seed_path(credentials, role)) for role in ROLES}
    files[("nats-ca", "ca.crt")] = tls.ca_file
    return conf_dir, files
