"""Throwaway Google service-account keys and RS256 JWT-bearer assertion verification."""
from __future__ import annotations

import base64
import json
import os
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token"


class InvalidGrant(ValueError):
    """Becomes ``{"error": "invalid_grant", "error_description": ...}`` (HTTP 400)."""


def make_service_account(token_uri: str, *, project_id: str = "fixline-test",
                         name: str = "fixline-calendar") -> dict[str, Any]:
    """A service-account JSON (as downloaded from Google Cloud) with a fresh RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    email = f"{name}@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account", "project_id": project_id,
        "private_key_id": secrets.token_hex(20), "private_key": pem, "client_email": email,
        "client_id": str(secrets.randbelow(10**21)), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
        "universe_domain": "googleapis.com",
    }


def write_service_account(info: dict[str, Any], path: str) -> str:
    with open(path, "w") as f:
        json.dump(info, f, indent=2)
    os.chmod(path, 0o600)
    return path


def public_key_of(info: dict[str, Any]) -> rsa.RSAPublicKey:
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    return key.public_key()  # type: ignore[return-value]


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _decode(assertion: str) -> tuple[dict, dict, bytes, bytes]:
    try:
        head, body, sig = assertion.split(".")
        return json.loads(_b64url(head)), json.loads(_b64url(body)), f"{head}.{body}".encode(), _b64url(sig)
    except ValueError as err:
        raise InvalidGrant("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe") from err


def verify_assertion(assertion: str, keys: dict[str, rsa.RSAPublicKey],
                     token_uri: str, now: float | None = None) -> dict[str, Any]:
    """Check an RS256 JWT-bearer assertion signed by a registered key; returns its claims."""
    header, claims, signed, signature = _decode(assertion)
    key = keys.get(header.get("kid", ""))
    if header.get("alg") != "RS256" or key is None:
        raise InvalidGrant("Invalid JWT Signature.")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as err:
        raise InvalidGrant("Invalid JWT Signature.") from err
    now = now if now is not None else time.time()
    if not (claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0)):
        raise InvalidGrant("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
    if claims.get("aud") not in (GOOGLE_TOKEN_AUD, token_uri):
        raise InvalidGrant("Invalid JWT: Failed audience check.")
    return claims
