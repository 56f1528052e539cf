"""Structured JSON logs with call/incident ids from context, and secrets scrubbed."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)
incident_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("incident_id", default=None)

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_SECRET_KEYS = ("token", "secret", "password", "api_key", "authorization", "signature")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, secrets: list[str]) -> None:
        super().__init__()
        self.service = service
        self.secrets = [s for s in secrets if len(s) >= 4]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, var in (("call_id", call_id_var), ("incident_id", incident_id_var)):
            if (value := var.get()) is not None:
                entry[name] = value
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = "[redacted]" if any(s in key.lower() for s in _SECRET_KEYS) else value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self._scrub(json.dumps(entry, default=str))

    def _scrub(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, "[redacted]")
        return line


def configure_logging(service: str, level: str = "INFO", secrets: list[str] | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service, secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiohttp.access", "websockets", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


@contextmanager
def log_context(call_id: str | None = None, incident_id: str | None = None) -> Iterator[None]:
    tokens = []
    if call_id is not None:
        tokens.append((call_id_var, call_id_var.set(call_id)))
    if incident_id is not None:
        tokens.append((incident_id_var, incident_id_var.set(incident_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
