"""Baselines for hide-and-rank evaluation, and the adapter that puts product rankers beside them.

Every ranker here answers one question: the best ``k`` organisation indices among those ``mask``
allows, for a :class:`~matching.types.PartnershipQuery`. Ties are broken by popularity where a
baseline's own score ties a lot (co-membership scores are zero for most organisations), which
makes the baselines stronger, not weaker: the learned ranker has to beat their best form.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import numpy as np
import numpy.typing as npt

from matching.features import graph_proximity, semantic
from matching.recommender import HeuristicRecommender, top_indices
from matching.snapshot import NO_REGION, Snapshot
from matching.types import PartnershipQuery


class IndexRanker(Protocol):
    """What the harness runs: a name and ``rank(query, mask, k) -> org indices, best first``."""

    @property
    def name(self) -> str: ...

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]: ...


def _tiebreak(snapshot: Snapshot) -> npt.NDArray[np.float64]:
    """Popularity squashed into [0, 1): added to integer-like scores it only orders ties."""
    pop = snapshot.org_popularity
    return pop / (float(pop.max()) + 1.0) if len(pop) else pop


class RandomRanker:
    """Uniformly random order, seeded per query (what chance alone achieves)."""

    name = "random"

    def __init__(self, snapshot: Snapshot, seed: int = 0) -> None:
        self.snapshot, self.seed = snapshot, seed

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        rng = np.random.default_rng([self.seed, zlib.crc32(query.label.encode("utf-8"))])
        return top_indices(rng.random(self.snapshot.n_orgs), mask, k)


class PopularityRanker:
    """Most memberships first, whatever the partnership."""

    name = "popularity"

    def __init__(self, snapshot: Snapshot) -> None:
        self.scores = snapshot.org_popularity

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        return top_indices(self.scores, mask, k)


class CountryPopularityRanker:
    """Organisations of the members' countries first (the country with most members first), by popularity."""

    name = "same-country popularity"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.tiebreak = _tiebreak(snapshot)

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        country = self.snapshot.org_regions[:, 0]
        members = country[query.member_indices]
        ids, counts = np.unique(members[members != NO_REGION], return_counts=True)
        share = np.zeros(self.snapshot.n_orgs)
        for cid, n in zip(ids, counts, strict=True):
            share[country == cid] = float(n)
        return top_indices(share + self.tiebreak, mask, k)


class TextRanker:
    """Embedding similarity to the partnership text (the members' centroid when it has none)."""

    name = "text similarity"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        return top_indices(semantic(self.snapshot, query).values, mask, k)


class AdamicAdarRanker:
    """Co-membership: Adamic–Adar index to the visible members, ties by popularity."""

    name = "co-membership (Adamic-Adar)"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.tiebreak = _tiebreak(snapshot) * 1e-3
        _ = snapshot.org_degree

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        return top_indices(graph_proximity(self.snapshot, query).raw + self.tiebreak, mask, k)


class CommonNeighboursRanker:
    """Co-membership: number of visible members worked with before, ties by popularity."""

    name = "co-membership (common neighbours)"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.tiebreak = _tiebreak(snapshot)

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        links = graph_proximity(self.snapshot, query).links
        return top_indices(np.diff(links.indptr).astype(np.float64) + self.tiebreak, mask, k)


class HeuristicIndexRanker:
    """The product's heuristic scorer behind the harness interface."""

    def __init__(self, recommender: HeuristicRecommender) -> None:
        self.recommender = recommender
        self.name = recommender.name

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        scores, _ = self.recommender.score_all(query)
        return top_indices(scores, mask, k)


def baselines(snapshot: Snapshot, seed: int = 0) -> list[IndexRanker]:
    """All baselines, in the order the results table shows them."""
    return [
        RandomRanker(snapshot, seed),
        PopularityRanker(snapshot),
        CountryPopularityRanker(snapshot),
        TextRanker(snapshot),
        CommonNeighboursRanker(snapshot),
        AdamicAdarRanker(snapshot),
    ]
