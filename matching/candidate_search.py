"""Finding a partnership's top candidates from a database's fixed reads, and knowing when it has.

A database store does not hold the graph in memory, so it cannot score every organisation. It
answers a few fixed reads instead (:class:`graph.base.CandidateReads`): the partnership's context,
its members' co-members, the vector index's nearest organisations, an exact text scan, the
organisations inside some regions, and the columns of organisations by key. Each of the four
heuristic signals has a source among them that yields candidates best first: text by the vector
index, graph by Adamic–Adar over the co-members, region by the regional listing; the type signal
needs none (its best value follows from the members). This is Fagin's threshold algorithm: once
the k-th best pooled score reaches what any organisation *not* read could score (each source's
next value, :class:`~matching.candidates.SignalBounds`), the pool provably holds the top k
(:func:`~matching.candidates.pool_is_exact`), and the list equals the one the snapshot path
computes over every organisation.

:class:`CandidateSearch` decides which read comes next and keeps the pool; it does no I/O, so it
is tested on tiny hand-made pools (``tests/matching/test_candidate_search.py``). The service runs
the loop::

    search = CandidateSearch(context, co_members, filters, goal)
    while (read := search.next_read()) is not None:
        search.add(read, <the store's answer to read>)
    features = search.features()

The first round reads ``pool_size`` candidates from each source. Most CORDIS queries settle there;
when one does not, the sources whose bound fails are widened once to ``widen_to`` (the linked
candidates above the graph bound that would settle it are read by key whenever that helps:
their Adamic–Adar values are known, only their columns are missing). A query that is still not
provably exact after that is answered anyway, from the widened pool.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.candidates import CandidateFilters, CandidateRow, PartnershipContext
from matching.candidates import (
    REGION_TIERS,
    CandidateFeatures,
    SignalBounds,
    adamic_adar_from_links,
    deepest_code,
    graph_bound_to_pass,
    pool_is_exact,
    reference_regions_from,
    select_top,
)
from matching.features import reference_vector
from matching.snapshot import NO_REGION, TYPE_ORDER, RegionVocabulary

TYPE_INDEX = {t: k for k, t in enumerate(TYPE_ORDER)}


# -- the reads a search asks for ----------------------------------------------------------------
@dataclass(frozen=True)
class ReadLinked:
    """The columns (and text similarity) of these co-members, by the store's keys."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class ReadNearest:
    """The vector index's ``k`` nearest organisations to the search vector."""

    k: int


@dataclass(frozen=True)
class ReadClosest:
    """An exact scan: the ``limit`` eligible organisations closest to the search vector (without a
    vector, any ``limit``); fewer come back only when fewer are eligible."""

    limit: int


@dataclass(frozen=True)
class ReadInside:
    """Up to ``limit`` eligible organisations inside ``regions``, closest to the search vector first."""

    regions: tuple[str, ...]
    limit: int


Read = ReadLinked | ReadNearest | ReadClosest | ReadInside


@dataclass(frozen=True)
class SearchGoal:
    """What a search has to settle: the top ``top_k`` under ``weights``, to within ``tolerance``
    (see :func:`~matching.candidates.pool_is_exact`), reading ``pool_size`` candidates per source
    first and at most ``widen_to`` per source when that does not settle it."""

    weights: Mapping[str, float]
    top_k: int
    tolerance: float = 0.0
    pool_size: int = 400
    widen_to: int = 1600

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.pool_size < 1:
            raise ValueError("top_k and pool_size must be ≥ 1")


# -- the pool -------------------------------------------------------------------------------------
class CandidatePool:
    """The candidates read so far, by organisation id, each row converted once when it arrives.

    Written by hand because it is where a store's rows meet the scorer's arrays; a search builds
    :class:`~matching.candidates.CandidateFeatures` from it after each step, and a widened pool
    holds thousands of rows.

    Examples
    --------
    >>> from domain.models import StakeholderType as T
    >>> pool = CandidatePool({"#1": 0.5})
    >>> pool.add(CandidateRow("b", "#2", "B", T.SME, ("DE", "DE1", "", ""), 0.2))
    >>> pool.add(CandidateRow("a", "#1", "A", T.SME, ("", "", "", ""), None))
    >>> pool.add(CandidateRow("b", "#2", "B", T.SME, ("DE", "DE1", "", ""), 0.3))  # seen again
    >>> ids, _, _, regions, sims, aa = pool.columns()
    >>> ids, sims.tolist(), aa.tolist()
    (['a', 'b'], [0.0, 0.3], [0.5, 0.0])
    """

    def __init__(self, adamic_adar: Mapping[str, float]) -> None:
        self.vocab = RegionVocabulary()
        self._aa = adamic_adar
        self._at: dict[str, int] = {}
        self._ids: list[str] = []
        self._names: list[str] = []
        self._types: list[int] = []
        self._regions: list[int] = []  # four ids per candidate, flat
        self._graph: list[float] = []
        self._sims: list[float] = []
        # Pools share few distinct region paths: their ids are worked out once per path.
        self._path_ids: dict[tuple[str, ...], tuple[int, ...]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, row: CandidateRow) -> None:
        """Add one candidate; one already in takes the new similarity (the same node's columns)."""
        at = self._at.get(row.org_id)
        if at is not None:
            self._sims[at] = _finite(row.similarity)
            return
        self._at[row.org_id] = len(self._ids)
        self._ids.append(row.org_id)
        self._names.append(row.name)
        self._types.append(TYPE_INDEX[row.stakeholder_type])
        ids = self._path_ids.get(row.region_path)
        if ids is None:
            levels = [self.vocab.id(code) if code else NO_REGION for code in row.region_path[:4]]
            ids = self._path_ids[row.region_path] = (*levels, *[NO_REGION] * (4 - len(levels)))
        self._regions.extend(ids)
        self._graph.append(self._aa.get(row.key, 0.0))
        self._sims.append(_finite(row.similarity))

    def columns(
        self,
    ) -> tuple[
        list[str],
        list[str],
        npt.NDArray[np.int16],
        npt.NDArray[np.int32],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        """Ids, names, types, region ids, similarities and Adamic–Adar values, ordered by id (as the
        snapshot path orders organisations, so ties between equal scores resolve the same way)."""
        n = len(self._ids)
        order = np.argsort(np.array(self._ids, dtype=str), kind="stable") if n else np.zeros(0, np.int64)
        return (
            [self._ids[i] for i in order],
            [self._names[i] for i in order],
            np.asarray(self._types, dtype=np.int16)[order],
            np.asarray(self._regions, dtype=np.int32).reshape(n, 4)[order],
            np.asarray(self._sims, dtype=np.float64)[order],
            np.asarray(self._graph, dtype=np.float64)[order],
        )


def _finite(value: float | None) -> float:
    """A similarity as a float: missing or not finite (no embedding) counts as 0."""
    return value if value is not None and math.isfinite(value) else 0.0


# -- the search -----------------------------------------------------------------------------------
class CandidateSearch:
    """The reads that find one partnership's top candidates, and the pool they filled.

    Parameters
    ----------
    context : PartnershipContext
        The partnership's scope, text embedding and members (the store's first read).
    co_members : Mapping[str, Sequence[str]]
        Each member's co-members across all partnerships, as store keys (members included).
    filters : CandidateFilters
        Who may be proposed; members never are (:attr:`read_filters` adds them to the exclusions).
    goal : SearchGoal
    """

    def __init__(
        self,
        context: PartnershipContext,
        co_members: Mapping[str, Sequence[str]],
        filters: CandidateFilters,
        goal: SearchGoal,
    ) -> None:
        self.goal = goal
        members = context.members
        self.member_ids = [m.org_id for m in members]
        self.read_filters = replace(filters, exclude_org_ids=(*filters.exclude_org_ids, *self.member_ids))
        member_vectors = [m.vector for m in members if m.vector is not None]
        found = reference_vector(
            context.vector,
            np.stack(member_vectors).astype(np.float32) if member_vectors else None,
        )
        #: What candidates' texts are compared with (``None``: nothing to compare with).
        self.vector: npt.NDArray[np.float32] | None = None
        self.semantic_source = "none"
        if found is not None:
            self.vector, self.semantic_source = found
        self.refs, self.region_source = reference_regions_from(
            context.scope_regions, [deepest_code(m.region_path) for m in members]
        )
        self.member_names = [m.name for m in members]
        self.member_type_counts = np.bincount(
            [TYPE_INDEX[m.stakeholder_type] for m in members], minlength=len(TYPE_ORDER)
        ).astype(np.int64)
        self.allowed_types = tuple(TYPE_INDEX[t] for t in filters.stakeholder_types)
        member_keys = {m.key for m in members}
        # |N(z)| counts every co-member (members too); only non-members are candidates.
        self.adamic_adar = adamic_adar_from_links(
            [
                (z, len(keys), [c for c in keys if c not in member_keys])
                for z, keys in co_members.items()
                if keys
            ]
        )
        # Best first, ties by key: a stable sort by key, then by value (reverse keeps ties in order).
        self.by_aa = sorted(self.adamic_adar)
        self.by_aa.sort(key=self.adamic_adar.__getitem__, reverse=True)
        self.pool = CandidatePool(self.adamic_adar)
        self.reads: list[Read] = []  # every read made, in order (what the service logs)
        self._linked = 0  # how many of by_aa have been read
        self._complete = False  # every eligible organisation is in the pool
        self._semantic = 1.0  # bound on the text similarity of organisations not read
        self._region = 1.0  # bound on their regional fit
        #: Whether the first reads did not settle the search and sources were widened.
        self.widened = self._filled = False
        #: Whether the pool provably holds the top k (to within the goal's tolerance): set when
        #: :meth:`next_read` found nothing left to read for that reason.
        self.settled = False
        self._queue = self._first_reads()

    # -- the plan -------------------------------------------------------------------------------
    def _first_reads(self) -> list[Read]:
        n = self.goal.pool_size
        reads: list[Read] = []
        if self.by_aa:
            reads.append(self._linked_read(n))
        reads.append(self._text_read(n))
        if not self.refs:
            self._region = 0.0  # no reference regions: nobody has a regional fit
        else:
            # NUTS 2/3 references hold few organisations and are always listed; countries and
            # NUTS 1 regions (often thousands) only when widening needs them.
            listed = tuple(c for c in self.refs if len(c) - 2 >= 2)
            if listed:
                reads.append(ReadInside(listed, n + 1))
        return reads

    def _linked_read(self, count: int) -> ReadLinked:
        keys = tuple(self.by_aa[self._linked : self._linked + count])
        self._linked += len(keys)
        return ReadLinked(keys)

    def _text_read(self, n: int) -> ReadNearest | ReadClosest:
        """The index's nearest ``n`` eligible: without a restricting filter only members and
        excluded organisations are ineligible, so ``n`` plus those always suffice; a restricting
        filter may reject any share, so twice ``n`` are asked for (the exact scan answers when even
        they fall short). An explicit organisation list or no vector: the exact scan at once."""
        f = self.read_filters
        if self.vector is None or f.org_ids:
            return ReadClosest(n)
        restricting = f.countries or f.regions or f.stakeholder_types or f.sme_only or f.ecosystems
        k = 2 * n if restricting else n + len(f.exclude_org_ids)
        return ReadNearest(min(max(k, 50), 10_000))

    def next_read(self) -> Read | None:
        """The next read to make, or ``None`` when the pool holds the answer (or cannot grow)."""
        if self._queue:
            read = self._queue.pop(0)
            self.reads.append(read)
            return read
        if self._complete:
            self.settled = True
            return None
        features = self.features()
        goal = self.goal
        _, scores = select_top(features, goal.weights, goal.top_k)
        top = scores.tolist()
        if pool_is_exact(features, goal.weights, top, goal.top_k, goal.tolerance):
            self.settled = True
            return None
        # Reading linked candidates by key is cheap next to any other widening: settle the graph
        # bound whenever the other bounds leave it room.
        floor = graph_bound_to_pass(features, goal.weights, top, goal.top_k, goal.tolerance)
        if floor is not None:
            end = self._linked
            while end < len(self.by_aa) and self.adamic_adar[self.by_aa[end]] > floor:
                end += 1
            if end > self._linked:
                return self._then(self._linked_read(end - self._linked))
        if not self.widened:
            self.widened = True
            self._queue = self._widening_reads(features, top)
            if self._queue:
                return self.next_read()
        if not self._filled and self._linked < len(self.by_aa):
            # Still not provably exact: the answer is approximate, so let it draw on the
            # best-connected candidates too, as many as a widened source holds.
            self._filled = True
            want = goal.widen_to - min(self._linked, goal.widen_to)
            if want > 0:
                return self._then(self._linked_read(want))
        return None

    def _then(self, read: Read) -> Read:
        self.reads.append(read)
        return read

    def _widening_reads(self, features: CandidateFeatures, top: list[float]) -> list[Read]:
        """Widen, once, only the sources whose bounds keep the pool from settling.

        Judged optimistically for the graph bound (reading linked candidates by key can always
        lower it to 0): the regional listing takes every reference region (countries and NUTS 1
        too) when the regional bound fails, and the text source goes deeper only when its bound
        fails even with the regional bound at what that listing can reach.
        """
        goal, unseen = self.goal, features.unseen
        assert unseen is not None
        wide = goal.widen_to
        reads: list[Read] = []
        best_region = self._region
        if self._region == 1.0 and self.refs:
            reads.append(ReadInside(self.refs, wide + 1))
            best_region = max(
                (REGION_TIERS[min(len(c) - 2, 3) - 1] for c in self.refs if len(c) > 2), default=0.0
            )
        optimistic = replace(unseen, adamic_adar=0.0, region=best_region)
        if self.vector is not None and not pool_is_exact(
            replace(features, unseen=optimistic), goal.weights, top, goal.top_k, goal.tolerance
        ):
            reads.append(self._text_read(wide))
        return reads

    # -- the answers ----------------------------------------------------------------------------
    def add(self, read: Read, rows: Sequence[CandidateRow] | None) -> None:
        """Take the store's answer to ``read`` (``None``: the vector index could not answer)."""
        match read:
            case ReadLinked():
                for row in rows or ():
                    if row.eligible:
                        self.pool.add(row)
            case ReadNearest(k):
                self._add_nearest(k, rows)
            case ReadClosest(limit):
                self._add_closest(limit, rows or ())
            case ReadInside(regions, limit):
                self._add_inside(regions, limit, rows or ())

    def _add_nearest(self, k: int, rows: Sequence[CandidateRow] | None) -> None:
        """Enough eligible hits from a non-exhausted index: they join the pool and the lowest hit
        bounds everyone else's similarity. Otherwise (no index, a filter starving it, or a small
        graph) the exact scan answers instead."""
        n = self.goal.pool_size if not self.widened else self.goal.widen_to
        eligible = [r for r in rows or () if r.eligible]
        if rows is None or len(rows) < k or len(eligible) < n:
            self._queue.insert(0, ReadClosest(n))
            return
        for row in eligible:
            self.pool.add(row)
        self._semantic = max(0.0, min(_finite(r.similarity) for r in rows))  # hits are not promised sorted

    def _add_closest(self, limit: int, rows: Sequence[CandidateRow]) -> None:
        if len(rows) < limit:  # every eligible organisation came back
            for row in rows:
                self.pool.add(row)
            self._complete = True
        elif self.vector is not None:
            for row in rows:
                self.pool.add(row)
            self._semantic = max(0.0, min(_finite(r.similarity) for r in rows))
        else:
            # Without a text reference nobody has a text signal, and these rows are merely the
            # first by id: they settle nothing.
            self._semantic = 0.0

    def _add_inside(self, regions: tuple[str, ...], limit: int, rows: Sequence[CandidateRow]) -> None:
        """The first ``limit - 1`` join (one more was asked for to tell a cut-off). Once everyone
        inside every reference is in, no one else shares more than the level above them."""
        for row in rows[: limit - 1]:
            self.pool.add(row)
        if len(rows) < limit and len(regions) == len(self.refs):
            self._region = max(
                (REGION_TIERS[min(len(c) - 2, 3) - 1] for c in regions if len(c) > 2), default=0.0
            )

    def features(self) -> CandidateFeatures:
        """The pool as the heuristic scorer's features, with the bounds on everyone not read."""
        ids, names, types, regions, sims, aa = self.pool.columns()
        unseen = None
        if not self._complete:
            best_unread = (
                self.adamic_adar[self.by_aa[self._linked]] if self._linked < len(self.by_aa) else 0.0
            )
            unseen = SignalBounds(semantic=self._semantic, adamic_adar=best_unread, region=self._region)
        n = len(ids)
        return CandidateFeatures(
            org_ids=ids,
            names=names,
            types=types,
            regions=regions,
            region_vocab=self.pool.vocab,
            semantic=np.clip(sims, 0.0, 1.0) if self.semantic_source != "none" else np.zeros(n),
            semantic_source=self.semantic_source,
            adamic_adar=aa,
            links=sparse.csr_matrix((n, len(self.member_ids)), dtype=np.float32),
            member_ids=self.member_ids,
            member_names=self.member_names,
            reference_regions=self.refs,
            region_source=self.region_source,
            member_type_counts=self.member_type_counts,
            unseen=unseen,
            allowed_types=self.allowed_types,
        )
