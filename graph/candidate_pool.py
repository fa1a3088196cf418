"""The candidates one database query has found so far, kept column by column.

A Bolt candidate query grows its pool in steps (the first pool, the graph bound settled, the
failing sources widened) and builds :class:`~matching.candidates.CandidateFeatures` from it
after each step, to test whether the pool holds the top k yet. Built from rows every time, that
cost grew with the pool *and* the number of steps: on CORDIS a widened pool holds ~4,000
candidates and was converted three to five times, tens of milliseconds of Python in the very
queries that make up the benchmark's tail. Here each row is converted once, when it arrives
(type index, region ids, Adamic–Adar, similarity), and a build only orders the columns.

Written by hand because it is the one place where the store's rows meet the scorer's arrays;
no library models "a growing table keyed by id, with one column overwritable".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from matching.candidates import CandidateFeatures, SignalBounds
from matching.snapshot import NO_REGION, TYPE_ORDER, RegionVocabulary

#: Stakeholder type value → its index in :data:`~matching.snapshot.TYPE_ORDER`.
TYPE_INDEX: Mapping[str, int] = {t.value: k for k, t in enumerate(TYPE_ORDER)}


@dataclass(frozen=True)
class PoolFrame:
    """What every candidate of one query shares: the partnership's side of the features."""

    member_ids: Sequence[str]
    member_names: Sequence[str]
    member_type_counts: npt.NDArray[np.int64]
    semantic_source: str  # "partnership text" | "members' profiles" | "none"
    reference_regions: tuple[str, ...]
    region_source: str
    allowed_types: tuple[int, ...]

    @classmethod
    def of(
        cls,
        member_ids: Sequence[str],
        member_names: Sequence[str],
        member_types: Sequence[str],
        *,
        semantic_source: str,
        reference_regions: tuple[str, ...],
        region_source: str,
        allowed_types: Sequence[str] = (),
    ) -> PoolFrame:
        counts = np.bincount([TYPE_INDEX[t] for t in member_types], minlength=len(TYPE_ORDER)).astype(
            np.int64
        )
        return cls(
            member_ids=member_ids,
            member_names=member_names,
            member_type_counts=counts,
            semantic_source=semantic_source,
            reference_regions=reference_regions,
            region_source=region_source,
            allowed_types=tuple(TYPE_INDEX[str(t)] for t in allowed_types),
        )


class CandidatePool:
    """Candidates by organisation id, from rows ``[org_id, name, stakeholder_type, region_path,
    element_id, ...]`` (:data:`graph.cypher.CANDIDATE_ROW`) and a text similarity each.

    Parameters
    ----------
    frame : PoolFrame
        The partnership's side, the same for every build.
    adamic_adar : Mapping[str, float]
        Adamic–Adar by element id (absent: 0), looked up once per candidate.
    vocab : RegionVocabulary, optional
        Shared with another pool of the same query, so region ids agree between their features.

    Examples
    --------
    >>> frame = PoolFrame.of([], [], [], semantic_source="partnership text", reference_regions=(), region_source="none")
    >>> pool = CandidatePool(frame, {"#1": 0.5})
    >>> pool.add(["b", "B", "sme", ["DE", "DE1"], "#2"], 0.2)
    >>> pool.add(["a", "A", "sme", None, "#1"], None)
    >>> pool.add(["b", "B", "sme", ["DE", "DE1"], "#2"], 0.3)  # seen again: the later similarity
    >>> f = pool.features(None)
    >>> f.org_ids, f.semantic.tolist(), f.adamic_adar.tolist()
    (['a', 'b'], [0.0, 0.3], [0.5, 0.0])
    """

    def __init__(
        self, frame: PoolFrame, adamic_adar: Mapping[str, float], vocab: RegionVocabulary | None = None
    ) -> None:
        self.frame = frame
        self.vocab = vocab if vocab is not None else RegionVocabulary()
        self._aa = adamic_adar
        self._at: dict[str, int] = {}
        self._ids: list[str] = []
        self._names: list[str] = []
        self._types: list[int] = []
        self._regions: list[int] = []  # four ids per candidate, flat
        self._eids: list[str] = []
        self._graph: list[float] = []
        self._sims: list[float] = []
        # Pools share few distinct region paths: their ids are worked out once per path.
        self._path_ids: dict[tuple[str, ...], tuple[int, int, int, int]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, org_id: object) -> bool:
        return org_id in self._at

    def add(self, row: Sequence[Any], sim: object) -> None:
        """Add one candidate; one already in takes ``sim`` (its columns are the same node's)."""
        org_id = str(row[0])
        at = self._at.get(org_id)
        if at is not None:
            self._sims[at] = _finite(sim)
            return
        self._at[org_id] = len(self._ids)
        self._ids.append(org_id)
        self._names.append(str(row[1]))
        self._types.append(TYPE_INDEX[str(row[2])])
        path = tuple(row[3] or ())
        ids = self._path_ids.get(path)
        if ids is None:
            levels = [self.vocab.id(code) if code else NO_REGION for code in path[:4]]
            levels += [NO_REGION] * (4 - len(levels))
            ids = self._path_ids[path] = (levels[0], levels[1], levels[2], levels[3])
        self._regions.extend(ids)
        eid = str(row[4])
        self._eids.append(eid)
        self._graph.append(self._aa.get(eid, 0.0))
        self._sims.append(_finite(sim))

    def element_id(self, org_id: str) -> str:
        return self._eids[self._at[org_id]]

    def element_ids(self) -> set[str]:
        return set(self._eids)

    def features(self, unseen: SignalBounds | None) -> CandidateFeatures:
        """The pool as features, ordered by organisation id (as the snapshot path orders them,
        so ties between equal scores go the same way)."""
        n = len(self._ids)
        order = (
            np.argsort(np.array(self._ids, dtype=str), kind="stable") if n else np.zeros(0, dtype=np.int64)
        )
        frame = self.frame
        sims = np.asarray(self._sims, dtype=np.float64)[order]
        return CandidateFeatures(
            org_ids=[self._ids[i] for i in order],
            names=[self._names[i] for i in order],
            types=np.asarray(self._types, dtype=np.int16)[order],
            regions=np.asarray(self._regions, dtype=np.int32).reshape(n, 4)[order],
            region_vocab=self.vocab,
            semantic=np.clip(sims, 0.0, 1.0) if frame.semantic_source != "none" else np.zeros(n),
            semantic_source=frame.semantic_source,
            adamic_adar=np.asarray(self._graph, dtype=np.float64)[order],
            links=sparse.csr_matrix((n, len(frame.member_ids)), dtype=np.float32),
            member_ids=frame.member_ids,
            member_names=frame.member_names,
            reference_regions=frame.reference_regions,
            region_source=frame.region_source,
            member_type_counts=frame.member_type_counts,
            unseen=unseen,
            allowed_types=frame.allowed_types,
        )


def _finite(value: object) -> float:
    """A similarity as a float: missing or not finite (no vector) counts as 0."""
    if value is None:
        return 0.0
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else 0.0
