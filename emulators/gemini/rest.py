"""REST routes of the Gemini emulator: embeddings, generateContent and Google error JSON."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import protocol as p
from .textgen import embed, example_for

if TYPE_CHECKING:
    from .server import GeminiEmulator

REST_PATH = re.compile(
    r"^/+(?:[^?]*?/)?(v1|v1beta|v1alpha)/models/([^/:?]+):"
    r"(batchEmbedContents|embedContent|generateContent)(?:\?.*)?$")
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
                504: "DEADLINE_EXCEEDED"}
DEFAULT_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}
DEFAULT_EMBED_DIM = 3072


def google_error(status: int, message: str, details: list | None = None) -> web.Response:
    body = {"error": {"code": status, "message": message,
                      "status": STATUS_NAMES.get(status, "UNKNOWN")}}
    if details:
        body["error"]["details"] = details
    return web.json_response(body, status=status)


def _bad_key() -> web.Response:
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}
    return google_error(400, p.REASON_BAD_KEY, [info])


@dataclass
class Rule:
    """A scripted generateContent answer: first rule whose ``match`` occurs in the prompt."""

    match: str | None = None
    json: Any = None
    text: str | None = None
    times: int | None = None


@dataclass
class RestScript:
    rules: list[Rule] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    def take_rule(self, prompt: str) -> Rule | None:
        for rule in self.rules:
            if rule.match is None or re.search(rule.match, prompt, re.I):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None


def _prompt_text(body: dict) -> str:
    texts = []
    for content in p.get(body, "contents") or []:
        texts += [p.get(part, "text") or "" for part in p.get(content, "parts") or []]
    return "\n".join(texts)


class RestEndpoint:
    def __init__(self, emulator: "GeminiEmulator"):
        self.emu = emulator

    async def handle(self, request: web.Request, version: str, model: str, method: str) -> web.Response:
        if request.method != "POST":
            return google_error(404, f"Method {request.method} not allowed.")
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return google_error(400, "Invalid JSON payload received.")
        self.emu.rest_requests.append({"method": method, "model": model, "version": version, "body": body})
        if (request.headers.get("x-goog-api-key") or request.query.get("key")) != self.emu.api_key:
            return _bad_key()
        if self.emu.rest.failures:
            status, message = self.emu.rest.failures.pop(0)
            return google_error(status, message or DEFAULT_MESSAGES.get(status, "Error."))
        if not isinstance(body, dict):
            return google_error(400, "Invalid JSON payload received.")
        return self._route(method, model, version, body)

    def _route(self, method: str, model: str, version: str, body: dict) -> web.Response:
        is_embed = "embedding" in model
        if method == "generateContent" and (is_embed or not model.startswith("gem")):
            return self._not_found(model, version, method)
        if method != "generateContent" and not is_embed:
            return self._not_found(model, version, method)
        if method == "batchEmbedContents":
            return self._batch_embed(body)
        if method == "embedContent":
            return self._embed(body)
        return self._generate(model, body)

    @staticmethod
    def _not_found(model: str, version: str, method: str) -> web.Response:
        return google_error(404, f"models/{model} is not found for API version {version}, or is not "
                                 f"supported for {method}. Call ListModels to see the list of "
                                 "available models and their supported methods.")

    @staticmethod
    def _vector(req: dict) -> dict:
        content = p.get(req, "content") or {}
        text = " ".join(p.get(part, "text") or "" for part in p.get(content, "parts") or [])
        dim = int(p.get(req, "output_dimensionality") or DEFAULT_EMBED_DIM)
        if not text.strip():
            raise ValueError("* BatchEmbedContentsRequest.requests[0].content: contents must not be empty")
        if not 1 <= dim <= DEFAULT_EMBED_DIM:
            raise ValueError("outputDimensionality must be between 1 and 3072")
        return {"values": embed(text, dim)}

    def _batch_embed(self, body: dict) -> web.Response:
        requests = p.get(body, "requests")
        if not isinstance(requests, list) or not requests or len(requests) > 100:
            return google_error(400, "* BatchEmbedContentsRequest.requests: must contain 1-100 requests")
        try:
            return web.json_response({"embeddings": [self._vector(r) for r in requests]})
        except ValueError as err:
            return google_error(400, str(err))

    def _embed(self, body: dict) -> web.Response:
        try:
            return web.json_response({"embedding": self._vector(body)})
        except ValueError as err:
            return google_error(400, str(err))

    def _answer(self, body: dict) -> str:
        gen = p.get(body, "generation_config") or {}
        rule = self.emu.rest.take_rule(_prompt_text(body))
        if rule is not None and rule.json is not None:
            return json.dumps(rule.json(_prompt_text(body)) if callable(rule.json) else rule.json)
        if rule is not None and rule.text is not None:
            return rule.text
        schema = p.get(gen, "response_json_schema") or p.get(gen, "response_schema")
        if p.get(gen, "response_mime_type") == "application/json":
            return json.dumps(example_for(schema) if isinstance(schema, dict) else {})
        return "This is an emulated response."

    def _generate(self, model: str, body: dict) -> web.Response:
        if not p.get(body, "contents"):
            return google_error(400, "* GenerateContentRequest.contents: contents is not specified")
        text = self._answer(body)
        prompt_tokens = max(1, len(_prompt_text(body)) // 4)
        out_tokens = max(1, len(text) // 4)
        return web.json_response({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out_tokens,
                              "totalTokenCount": prompt_tokens + out_tokens},
            "modelVersion": model, "responseId": secrets.token_urlsafe(12),
        })
