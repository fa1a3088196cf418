"""Text encoders behind one protocol, plus a persistent embedding cache.

Heavy libraries (torch, sentence-transformers) are imported only when an encoder is first used,
so that the API and CLI start fast and a store can be queried without loading a model.
"""

from embeddings.base import Encoder, l2_normalise, text_hash
from embeddings.cache import EmbeddingCache, embed_texts
from embeddings.registry import DEFAULT_ENCODER, make_encoder

__all__ = [
    "DEFAULT_ENCODER",
    "EmbeddingCache",
    "Encoder",
    "embed_texts",
    "l2_normalise",
    "make_encoder",
    "text_hash",
]
