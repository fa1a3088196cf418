"""A persistent embedding cache keyed by (model name, text hash).

Re-imports, restarts and a second store (embedded and Bolt side by side) then embed nothing twice:
only texts the cache has never seen reach the encoder.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from embeddings.base import Encoder, text_hash


class EmbeddingCache:
    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model, text_hash))"
        )
        self._lock = threading.Lock()

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        found: dict[str, npt.NDArray[np.float32]] = {}
        with self._lock:
            for start in range(0, len(hashes), 900):
                chunk = list(hashes[start : start + 900])
                marks = ",".join("?" * len(chunk))
                for h, blob in self._conn.execute(
                    f"SELECT text_hash, vector FROM vectors WHERE model = ? AND text_hash IN ({marks})",  # nosec B608  (reviewed: only fixed names and ?-placeholders are formatted in; every value is a parameter)
                    [model, *chunk],
                ):
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: Sequence[tuple[str, npt.NDArray[np.float32]]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO vectors(model, text_hash, vector) VALUES (?, ?, ?)",
                    [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


def embed_texts(
    encoder: Encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None = None,
    *,
    batch_size: int = 256,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[npt.NDArray[np.float32], int]:
    """Embed ``texts`` through the cache; return the matrix and how many texts were newly encoded.

    Identical texts are encoded once. ``on_progress(n)`` is called as texts complete (cached ones
    immediately), which is what drives the CLI progress bar.

    Texts go to the encoder longest first, in batches of similar length: a transformer pads each
    batch to its longest text, and organisation texts range from a name to dozens of project
    titles. On 3,000 CORDIS organisation texts with MiniLM that halved the encoding time (48.6 →
    23.1 s on 2 cores; vectors equal to 2·10⁻⁷); sentence-transformers sorts only within the
    batch it is given.
    """
    hashes = [text_hash(t) for t in texts]
    cached = cache.get_many(encoder.name, sorted(set(hashes))) if cache is not None else {}
    if on_progress and cached:
        on_progress(sum(1 for h in hashes if h in cached))
    todo: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in cached and h not in todo:
            todo[h] = t
    fresh: dict[str, npt.NDArray[np.float32]] = {}
    pending = sorted(todo.items(), key=lambda item: len(item[1]), reverse=True)
    counts = {h: 0 for h in todo}
    for h in hashes:
        if h in counts:
            counts[h] += 1
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        vectors = encoder.encode([t for _, t in batch])
        items = [(h, vectors[i]) for i, (h, _) in enumerate(batch)]
        fresh.update(items)
        if cache is not None:
            cache.put_many(encoder.name, items)
        if on_progress:
            on_progress(sum(counts[h] for h, _ in batch))
    everything = {**cached, **fresh}
    dim = encoder.dim if not everything else next(iter(everything.values())).shape[0]
    matrix = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        matrix[i] = everything[h]
    return matrix, len(fresh)
