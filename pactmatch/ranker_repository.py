"""Where the fitted learned ranker lives: one artifact saved with the store, as plain JSON.

Plain JSON numbers (and LightGBM's own text format for trees), never pickle: a store file must
never be able to run code when it is opened.
"""

from __future__ import annotations

import hashlib
import json
import logging

from domain.errors import InvalidInputError
from graph.base import GraphStore
from matching.learned import LearnedRecommender

log = logging.getLogger(__name__)


class RankerRepository:
    """Saves, loads and vets the learned ranker of one store."""

    ARTIFACT = "ranker.json"

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def raw(self) -> bytes | None:
        return self.store.get_artifact(self.ARTIFACT)

    def fingerprint(self) -> str:
        """A hash of the stored ranker ("" without one): what tells a cache it was replaced
        (``pactmatch fit`` saves a new one while the API runs, and artifact writes leave the store
        version alone)."""
        raw = self.raw()
        return hashlib.sha256(raw).hexdigest() if raw else ""

    def save(self, ranker: LearnedRecommender) -> None:
        payload = ranker.to_dict(fitted_on="store")
        self.store.put_artifact(self.ARTIFACT, json.dumps(payload, indent=1).encode("utf-8"))

    def load(self) -> LearnedRecommender | None:
        """The stored learned ranker, or None when there is none (a corrupt one is an error)."""
        raw = self.raw()
        return None if raw is None else self.parse(raw)

    @classmethod
    def parse(cls, raw: bytes) -> LearnedRecommender:
        """A learned ranker from its stored JSON bytes; ``InvalidInputError`` for anything else."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"stored {cls.ARTIFACT} is not valid JSON: {exc}") from exc
        return LearnedRecommender.from_dict(data)

    def usable(self, encoder_model: str) -> LearnedRecommender | None:
        """The stored learned ranker if there is one, it parses, and it was fitted with ``encoder_model``.

        The one place that decides whether the learned ranker is served: a corrupt artifact or one
        fitted with another encoder (whose cosines mean something else) falls back to the heuristic.
        """
        raw = self.raw()
        if raw is None:
            return None
        try:
            learned = self.parse(raw)
        except InvalidInputError as exc:
            log.warning("ignoring the stored ranker: %s; serving the heuristic ranker", exc)
            return None
        fitted_with = learned.meta_.get("encoder_model")
        if fitted_with != encoder_model:
            log.info(
                "stored ranker was fitted with encoder %r, not %r: heuristic ranker",
                fitted_with,
                encoder_model,
            )
            return None
        return learned
