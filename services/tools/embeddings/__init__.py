"""Text embedders behind one interface: the local MiniLM int8 ONNX model and Gemini."""

from .base import Embedder, EmbeddingError
from .factory import make_embedder

__all__ = ["Embedder", "EmbeddingError", "make_embedder"]
