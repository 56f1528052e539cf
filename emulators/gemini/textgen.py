"""Pure helpers for the REST routes: deterministic "semantic-ish" embeddings and
schema-conforming example JSON for ``generateContent`` with a response schema.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

SYNONYMS = {
    "faucet": "tap", "drip": "leak", "dripping": "leak", "leaking": "leak", "leaky": "leak",
    "toilet": "loo", "ac": "aircon", "conditioning": "aircon", "heater": "heat",
    "heating": "heat", "fridge": "refrigerator", "wifi": "internet", "broken": "broke",
    "plumber": "plumbing", "electrician": "electrical", "lock": "locks", "key": "locks",
}
_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(word: str) -> str:
    word = SYNONYMS.get(word, word)
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return SYNONYMS.get(word[: -len(suffix)], word[: -len(suffix)])
    return word


def _features(text: str) -> list[tuple[str, float]]:
    words = [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())]
    feats = [("w:" + w, 1.0) for w in words]
    feats += [(f"b:{a}_{b}", 0.5) for a, b in zip(words, words[1:], strict=False)]
    for w in words:
        padded = f"#{w}#"
        feats += [("c:" + padded[i:i + 3], 0.25) for i in range(len(padded) - 2)]
    return feats


def _slot(feature: str, dim: int) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return h % dim, 1.0 if (h >> 63) & 1 else -1.0


def embed(text: str, dim: int = 3072) -> list[float]:
    """L2-normalised hashed n-gram features: same text -> same vector; shared words and
    word pieces -> high cosine similarity."""
    vec = np.zeros(dim)
    for feature, weight in _features(text):
        idx, sign = _slot(feature, dim)
        vec[idx] += sign * weight
    norm = float(np.linalg.norm(vec))
    if norm == 0:
        vec[0], norm = 1.0, 1.0
    return [round(float(x), 7) for x in vec / norm]


# ---------------------------------------------------------------- schema examples


def _resolve(schema: dict, defs: dict) -> dict:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _resolve(defs.get(ref.rsplit("/", 1)[-1], {}), defs)
    for key in ("anyOf", "any_of", "oneOf"):
        options = [o for o in schema.get(key) or [] if (o.get("type") or "").lower() != "null"]
        if options:
            return _resolve(options[0], defs)
    return schema


def _scalar(kind: str, schema: dict, name: str) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    if kind in ("integer",):
        return int(schema.get("minimum", 1) or 1)
    if kind == "number":
        return float(schema.get("minimum", 1.0) or 1.0)
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2026-12-01T10:00:00Z"
    return f"example {name}".strip()


def example_for(schema: dict, defs: dict | None = None, name: str = "") -> Any:
    """A value conforming to an OpenAPI-subset (``type: OBJECT``) or JSON Schema."""
    defs = defs if defs is not None else {**schema.get("$defs", {}), **schema.get("definitions", {})}
    schema = _resolve(schema, defs)
    kind = schema.get("type")
    kind = (kind[0] if isinstance(kind, list) else kind or "object").lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: example_for(v, defs, k) for k, v in props.items()}
    if kind == "array":
        return [example_for(schema.get("items") or {"type": "string"}, defs, name)]
    return _scalar(kind, schema, name)
