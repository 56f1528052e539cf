"""Test connections to the secured bus, each as a named role (``harness`` = the test suite itself)."""

from __future__ import annotations

import os
from typing import Any

import nats
from nats.aio.client import Client as NATS

from services.common.bus import BusIdentity


def identity(role: str = "harness") -> BusIdentity:
    return BusIdentity(role, os.environ.get("NATS_CREDENTIALS_DIR", ""))


async def connect_as(role: str = "harness", url: str | None = None, **options: Any) -> NATS:
    return await nats.connect(url or os.environ["NATS_URL"], **identity(role).options(), **options)
