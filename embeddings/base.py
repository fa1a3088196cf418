"""The ``Encoder`` protocol and the helpers every adapter shares."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors (so a dot product is the cosine)."""

    @property
    def name(self) -> str:
        """Stable model identifier; embeddings are stored and cached under it."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Shape ``(len(texts), dim)``, rows of unit length (zero rows for empty texts)."""
        ...


def l2_normalise(matrix: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Row-normalise, leaving all-zero rows at zero instead of dividing by zero."""
    arr = np.asarray(matrix, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: npt.NDArray[np.float32] = (arr / norms).astype(np.float32, copy=False)
    return out


def text_hash(text: str) -> str:
    """Cache key of a text (sha256, hex, 32 characters)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
