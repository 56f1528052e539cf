"""NKey credentials for every bus role and the nats-server ``authorization`` block built
from the permission table (``services.common.bus_permissions``).

``make run`` and the test stack generate the seeds into the state dir (one ``<role>.nk``
per role, mode 0600); the server config holds only public keys.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import nkeys
from nacl.signing import SigningKey

from services.common.bus_permissions import ROLES, Role


def seed_path(credentials_dir: Path, role: str) -> Path:
    return credentials_dir / f"{role}.nk"


# The test suite's own connection: it plays the outside world (forges events, fakes a
# tools service, reads every stream). Only the test stack adds it; never ``make run``.
HARNESS = Role("harness", publish=(">",), subscribe=(">",), responds=True)


def ensure_credentials(credentials_dir: Path, roles: tuple[str, ...] = tuple(ROLES)) -> dict[str, str]:
    """A seed per role (kept if present); returns role -> public key."""
    credentials_dir.mkdir(parents=True, exist_ok=True)
    credentials_dir.chmod(0o700)
    public: dict[str, str] = {}
    for role in roles:
        path = seed_path(credentials_dir, role)
        if not path.exists():
            seed = nkeys.encode_seed(bytes(SigningKey.generate()), nkeys.PREFIX_BYTE_USER)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(seed)
        public[role] = nkeys.from_seed(path.read_bytes()).public_key.decode()
    return public


def _user(role: Role, public_key: str) -> dict[str, object]:
    permissions: dict[str, object] = {"publish": {"allow": list(role.publish)},
                                      "subscribe": {"allow": list(role.subscribe)}}
    if role.responds:
        permissions["allow_responses"] = True
    return {"nkey": public_key, "permissions": permissions}


def authorization_block(public_keys: dict[str, str]) -> str:
    """``authorization { users = [...] }`` for nats-server (JSON values are valid NATS config)."""
    return f"authorization {{\n  users = {json.dumps(users(public_keys), indent=2)}\n}}\n"


def credentials_acting_as(credentials_dir: Path, role: str, key_of: str) -> Path:
    """A directory where ``<role>.nk`` is ``key_of``'s seed: runs a service with another
    role's permissions (tests and benches that point the notifier at a stream of their own)."""
    alias = credentials_dir.parent / f"{key_of}-as-{role}"
    alias.mkdir(mode=0o700, exist_ok=True)
    target = seed_path(alias, role)
    if not target.exists():
        shutil.copy(seed_path(credentials_dir, key_of), target)
    return alias


def markdown_table() -> str:
    """The permission table as docs/security.md shows it (a test keeps the two equal)."""
    rows = ["| role | may publish | may subscribe | answers requests |", "|---|---|---|---|"]
    for role in ROLES.values():
        publish = "<br>".join(f"`{p}`" for p in role.publish)
        subscribe = "<br>".join(f"`{p}`" for p in role.subscribe)
        rows.append(f"| {role.name} | {publish} | {subscribe} | {'yes' if role.responds else 'no'} |")
    return "\n".join(rows) + "\n"


def users(public_keys: dict[str, str]) -> list[dict[str, object]]:
    known = {**ROLES, HARNESS.name: HARNESS}
    return [_user(known[name], key) for name, key in public_keys.items()]


def write_kubernetes(out: Path, namespace: str = "fixline") -> list[Path]:
    """Seeds as a Secret (each pod mounts only its own key) and the NATS chart values with the
    matching users; both stay out of git. Re-running keeps the seeds in ``out/credentials``."""
    public = ensure_credentials(out / "credentials")
    seeds = {f"{role}.nk": seed_path(out / "credentials", role).read_text() for role in ROLES}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "fixline-nats-credentials", "namespace": namespace}, "stringData": seeds}
    values = {"config": {"merge": {"authorization": {"users": users(public)}}}}
    written = [out / "nats-credentials.secret.yaml", out / "nats-auth.values.yaml"]
    for path, document in zip(written, (secret, values), strict=True):
        path.write_text(json.dumps(document, indent=2) + "\n")  # JSON is valid YAML
        path.chmod(0o600)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fixline.nats_auth", description=__doc__)
    parser.add_argument("command", choices=["table", "k8s"])
    parser.add_argument("--out", type=Path, default=Path(".state/k8s-nats"), help="k8s: where to write")
    args = parser.parse_args(argv)
    if args.command == "table":
        print(markdown_table(), end="")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for path in write_kubernetes(args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
