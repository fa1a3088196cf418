"""The candidate search's plan, on tiny hand-made pools, and its exactness against brute force.

``MemoryReads`` answers the fixed reads of :class:`graph.base.CandidateReads` the way a database
does, over a few organisations held in Python: it is the reference the search is checked against.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from domain.candidates import CandidateFilters, CandidateRow, ContextMember, PartnershipContext
from domain.models import StakeholderType as T
from matching.candidate_search import (
    CandidateSearch,
    Read,
    ReadClosest,
    ReadInside,
    ReadLinked,
    ReadNearest,
    SearchGoal,
)
from matching.candidates import heuristic_scores, heuristic_signals, pool_is_exact, select_top
from matching.recommender import DEFAULT_WEIGHTS

W = DEFAULT_WEIGHTS


def path(code: str) -> tuple[str, ...]:
    return tuple(code[: lv + 2] if lv <= len(code) - 2 else "" for lv in range(4))


@dataclass
class Org:
    org_id: str
    kind: T = T.SME
    code: str = "DE111"
    vector: npt.NDArray[np.float32] | None = None
    partnerships: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"#{self.org_id}"


class MemoryReads:
    """Answers candidate reads over ``orgs`` exactly as the database's statements do."""

    def __init__(
        self, orgs: list[Org], partnership: str, vector: npt.NDArray[np.float32] | None = None
    ) -> None:
        self.orgs = {o.org_id: o for o in orgs}
        self.by_key = {o.key: o for o in orgs}
        self.pid, self.vector = partnership, vector
        self.index_works = True

    def context(self, scope: tuple[str, ...] = ()) -> PartnershipContext:
        members = sorted(
            (o for o in self.orgs.values() if self.pid in o.partnerships), key=lambda o: o.org_id
        )
        return PartnershipContext(
            self.pid,
            scope,
            self.vector,
            tuple(
                ContextMember(
                    o.org_id,
                    o.key,
                    o.org_id,
                    o.kind,
                    path(o.code),
                    None if self.vector is not None else o.vector,
                )
                for o in members
            ),
        )

    def co_members(self, member_ids: list[str]) -> dict[str, list[str]]:
        out = {}
        for z in member_ids:
            mine = self.orgs[z].partnerships
            keys = [o.key for o in self.orgs.values() if o.org_id != z and o.partnerships & mine]
            if keys:
                out[z] = keys
        return out

    def _ok(self, o: Org, f: CandidateFilters) -> bool:
        return (
            o.org_id not in f.exclude_org_ids
            and (not f.org_ids or o.org_id in f.org_ids)
            and (not f.stakeholder_types or o.kind in f.stakeholder_types)
            and (not f.regions or any(o.code.startswith(r) for r in f.regions))
        )

    def _row(
        self, o: Org, vector: npt.NDArray[np.float32] | None, f: CandidateFilters, missing: float | None
    ) -> CandidateRow:
        sim = 0.0 if vector is None else (missing if o.vector is None else float(o.vector @ vector))
        return CandidateRow(o.org_id, o.key, o.org_id, o.kind, path(o.code), sim, self._ok(o, f))

    def _best(self, rows: list[CandidateRow], limit: int) -> list[CandidateRow]:
        return sorted(rows, key=lambda r: (-(r.similarity or 0.0), r.org_id))[:limit]

    def answer(self, search: CandidateSearch, read: Read) -> list[CandidateRow] | None:
        v, f = search.vector, search.read_filters
        everyone = [self._row(o, v, f, -2.0) for o in self.orgs.values()]
        match read:
            case ReadLinked(keys):
                return [self._row(self.by_key[k], v, f, None) for k in keys]
            case ReadNearest(k):
                if not self.index_works:
                    return None
                return self._best([r for r in everyone if self.orgs[r.org_id].vector is not None], k)
            case ReadClosest(limit):
                return self._best([r for r in everyone if r.eligible], limit)
            case ReadInside(regions, limit):
                inside = [
                    r
                    for r in everyone
                    if r.eligible and any(self.orgs[r.org_id].code.startswith(c) for c in regions)
                ]
                return self._best(inside, limit)
        raise AssertionError(read)


NO_FILTERS = CandidateFilters()


def run(
    reads: MemoryReads, goal: SearchGoal, filters: CandidateFilters = NO_FILTERS, scope: tuple[str, ...] = ()
) -> CandidateSearch:
    context = reads.context(scope)
    search = CandidateSearch(context, reads.co_members([m.org_id for m in context.members]), filters, goal)
    while (read := search.next_read()) is not None:
        search.add(read, reads.answer(search, read))
    return search


def brute_force_top(
    reads: MemoryReads, goal: SearchGoal, filters: CandidateFilters, scope: tuple[str, ...]
) -> list[tuple[str, float]]:
    """Every eligible organisation read into one pool and scored: the answer the search must find."""
    context = reads.context(scope)
    everyone = CandidateSearch(context, reads.co_members([m.org_id for m in context.members]), filters, goal)
    everyone.add(
        ReadLinked(()),
        [reads._row(o, everyone.vector, everyone.read_filters, -2.0) for o in reads.orgs.values()],
    )
    features = everyone.features()
    rows, scores = select_top(features, goal.weights, goal.top_k)
    return [(features.org_ids[int(i)], float(s)) for i, s in zip(rows, scores, strict=True)]


def unit(*xs: float) -> npt.NDArray[np.float32]:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


# -- the first reads ---------------------------------------------------------------------------------
def small_world() -> list[Org]:
    return [
        Org("m1", T.VET_PROVIDER, "DE111", unit(1, 0), {"P", "Q"}),
        Org("m2", T.SME, "DE112", unit(1, 1), {"P", "R"}),
        Org("a", T.SME, "DE113", unit(1, 0.1), {"Q", "R"}),  # co-member of both members
        Org("b", T.TRADE_UNION, "FR101", unit(0, 1), {"Q"}),  # of m1 only
        Org("c", T.SME, "DE212", unit(1, 0.2)),  # no history
    ]


def test_the_first_reads_take_each_source_and_adamic_adar_is_worked_out_by_hand() -> None:
    reads = MemoryReads(small_world(), "P", vector=unit(1, 0))
    context = reads.context(("DE111",))
    search = CandidateSearch(
        context, reads.co_members(["m1", "m2"]), CandidateFilters(), SearchGoal(W, 2, pool_size=5)
    )
    # |N(m1)| = 3 (m2, a, b), |N(m2)| = 2 (m1, a): a is linked to both, b to m1 only.
    assert search.adamic_adar == pytest.approx(
        {"#a": 1 / math.log(3) + 1 / math.log(2), "#b": 1 / math.log(3)}
    )
    assert search.by_aa == ["#a", "#b"]
    assert search.read_filters.exclude_org_ids == ("m1", "m2")
    first = [search.next_read() for _ in range(3)]
    # k: the pool plus the members and the excluded (no restricting filter), at least 50.
    assert first == [ReadLinked(("#a", "#b")), ReadNearest(50), ReadInside(("DE111",), 6)]


@pytest.mark.parametrize(
    ("filters", "vector", "expected"),
    [
        (CandidateFilters(), unit(1, 0), ReadNearest(max(50, 200 + 2 + 1))),
        (CandidateFilters(stakeholder_types=(T.SME,)), unit(1, 0), ReadNearest(400)),  # restricting: 2n
        (CandidateFilters(org_ids=("a", "c")), unit(1, 0), ReadClosest(200)),  # a list: scan it
        (CandidateFilters(), None, ReadClosest(200)),  # no text reference
    ],
)
def test_the_text_read_fits_the_filters(
    filters: CandidateFilters, vector: npt.NDArray[np.float32] | None, expected: Read
) -> None:
    world = small_world()
    if vector is None:
        for o in world:
            o.vector = None
    reads = MemoryReads(world, "P", vector=vector)
    filters = CandidateFilters(**{**filters.__dict__, "exclude_org_ids": ("x",)})
    search = CandidateSearch(
        reads.context(), reads.co_members(["m1", "m2"]), filters, SearchGoal(W, 2, pool_size=200)
    )
    reads_made = [search.next_read(), search.next_read()]
    assert reads_made[1] == expected


def test_without_a_vector_of_its_own_the_members_centroid_is_the_reference() -> None:
    reads = MemoryReads(small_world(), "P", vector=None)
    search = CandidateSearch(
        reads.context(), reads.co_members(["m1", "m2"]), CandidateFilters(), SearchGoal(W, 2)
    )
    assert search.semantic_source == "members' profiles"
    np.testing.assert_allclose(search.vector, unit(1 + 1 / math.sqrt(2), 1 / math.sqrt(2)), rtol=1e-6)


# -- answers that change the plan ----------------------------------------------------------------------
def test_an_index_that_cannot_answer_is_replaced_by_the_exact_scan() -> None:
    reads = MemoryReads(small_world(), "P", vector=unit(1, 0))
    reads.index_works = False
    search = run(reads, SearchGoal(W, 2, pool_size=5))
    kinds = [type(r) for r in search.reads]
    assert kinds[:3] == [ReadLinked, ReadNearest, ReadClosest]
    assert search.settled  # the scan returned fewer than asked: every eligible organisation is in
    assert search.features().unseen is None


def test_a_scan_that_returns_fewer_than_asked_completes_the_pool() -> None:
    reads = MemoryReads(small_world(), "P", vector=unit(1, 0))
    search = run(reads, SearchGoal(W, 2, pool_size=5), filters=CandidateFilters(org_ids=("a", "c")))
    features = search.features()
    assert features.unseen is None and sorted(features.org_ids) == ["a", "c"] and search.settled


def test_a_regional_listing_cut_off_leaves_the_regional_bound_at_one() -> None:
    world = [Org("m", T.SME, "DE111", unit(1, 0), {"P"})] + [
        Org(f"o{i}", T.SME, "DE111", unit(1, i)) for i in range(4)
    ]
    reads = MemoryReads(world, "P", vector=unit(1, 0))
    search = CandidateSearch(reads.context(("DE111",)), {}, CandidateFilters(), SearchGoal(W, 1, pool_size=2))
    nearest, inside = search.next_read(), search.next_read()
    assert isinstance(nearest, ReadNearest) and inside == ReadInside(("DE111",), 3)
    search.add(inside, reads.answer(search, inside))  # 4 inside, 3 asked for: cut off
    assert search.features().unseen is not None and search.features().unseen.region == 1.0
    listed = CandidateSearch(reads.context(("DE111",)), {}, CandidateFilters(), SearchGoal(W, 1, pool_size=5))
    listed.next_read()
    read = listed.next_read()
    assert read is not None
    listed.add(read, reads.answer(listed, read))  # all 4: others share at most DE11
    assert listed.features().unseen is not None and listed.features().unseen.region == 0.75


def test_linked_candidates_above_the_graph_bound_are_read_before_any_source_widens() -> None:
    # m's partners: h1..h6, each in one partnership with m only; vectors far from the text.
    world = [Org("m", T.SME, "FR101", unit(1, 0), {"P", *[f"Q{i}" for i in range(6)]})]
    world += [Org(f"h{i}", T.TRADE_UNION, "FR102", unit(0, 1), {f"Q{i}"}) for i in range(6)]
    world += [Org(f"t{i}", T.SME, "IT111", unit(1, 0.01 * i)) for i in range(10)]  # close texts, unlinked
    reads = MemoryReads(world, "P", vector=unit(1, 0))
    goal = SearchGoal(W, 3, pool_size=2, widen_to=4)
    search = run(reads, goal)
    linked = [r for r in search.reads if isinstance(r, ReadLinked)]
    assert linked[0] == ReadLinked(("#h0", "#h1"))  # the first pool
    assert len(linked) >= 2 and not any(
        isinstance(r, ReadNearest) and r.k > 50 for r in search.reads[: search.reads.index(linked[1])]
    )
    assert [i for i, _ in brute_force_top(reads, goal, CandidateFilters(), ())] == [
        search.features().org_ids[int(i)] for i in select_top(search.features(), W, 3)[0]
    ]


def test_a_failing_text_bound_widens_the_vector_search_once_and_may_stay_unsettled() -> None:
    """150 SMEs just closer to the text than 50 VET providers, which the SME partnership lacks:
    the index's nearest are all SMEs, and however deep it reads (here up to 61), a VET provider
    could still score higher than every SME, until the pool reaches them."""
    world = [Org("m", T.SME, "DE111", unit(1, 0, 0), {"P"})]
    world += [Org(f"s{i:03d}", T.SME, "DE111", unit(1, 0.001 * i, 0)) for i in range(150)]
    world += [Org(f"v{i:02d}", T.VET_PROVIDER, "DE111", unit(1, 0.2, 0.001 * i)) for i in range(50)]
    reads = MemoryReads(world, "P", vector=unit(1, 0, 0))
    search = run(reads, SearchGoal(W, 5, pool_size=3, widen_to=60), scope=("DE111",))
    assert [r.k for r in search.reads if isinstance(r, ReadNearest)] == [50, 61]
    assert [r.limit for r in search.reads if isinstance(r, ReadInside)] == [4, 61]
    assert not search.settled


# -- exactness against brute force ------------------------------------------------------------------
def random_world(seed: int) -> tuple[list[Org], tuple[str, ...], CandidateFilters]:
    rng = random.Random(seed)
    codes = ["DE111", "DE112", "DE121", "DE212", "FR101", "FR102", "IT111"]
    kinds = [T.SME, T.VET_PROVIDER, T.HIGHER_EDUCATION, T.LARGE_EMPLOYER]
    orgs = []
    for i in range(rng.randint(20, 60)):
        vec = None if rng.random() < 0.1 else unit(*(rng.gauss(0, 1) for _ in range(4)))
        orgs.append(Org(f"o{i:02d}", rng.choice(kinds), rng.choice(codes), vec))
    for q in range(rng.randint(5, 15)):
        for o in rng.sample(orgs, rng.randint(2, 6)):
            o.partnerships.add(f"Q{q}")
    for o in rng.sample(orgs, rng.randint(1, 5)):
        o.partnerships.add("P")
    scope = rng.choice([(), ("DE11",), ("DE111", "FR1"), ("DE",)])
    filters = rng.choice(
        [CandidateFilters(), CandidateFilters(stakeholder_types=(T.SME,)), CandidateFilters(regions=("DE",))]
    )
    return orgs, scope, filters


@pytest.mark.parametrize("seed", range(60))
def test_a_settled_search_finds_exactly_the_brute_force_top(seed: int) -> None:
    orgs, scope, filters = random_world(seed)
    reads = MemoryReads(orgs, "P", vector=unit(1, 1, 0, 0) if seed % 3 else None)
    goal = SearchGoal(W, 5, pool_size=3, widen_to=12)
    search = run(reads, goal, filters, scope)
    features = search.features()
    rows, scores = select_top(features, W, 5)
    got = [(features.org_ids[int(i)], float(s)) for i, s in zip(rows, scores, strict=True)]
    expected = brute_force_top(reads, goal, filters, scope)
    if search.settled:
        assert pool_is_exact(features, W, scores.tolist(), 5)
        assert [i for i, _ in got] == [i for i, _ in expected]
    # settled or not, nobody in the list is a member or filtered out, and no score is over-stated
    assert [s for _, s in got] == pytest.approx(
        [s for _, s in expected][: len(got)], abs=1e-9
    ) or not search.settled
    scored = dict(expected)
    assert all(org_id not in {m for m in search.member_ids} for org_id, _ in got)
    assert all(score <= scored.get(org_id, score) + 1e-9 for org_id, score in got)
    # scoring the pool is the scorer of the snapshot path (one set of formulas)
    np.testing.assert_allclose(heuristic_scores(heuristic_signals(features), W)[rows], scores)


def test_most_random_searches_settle() -> None:
    settled = 0
    for seed in range(60):
        orgs, scope, filters = random_world(seed)
        reads = MemoryReads(orgs, "P", vector=unit(1, 1, 0, 0))
        settled += run(reads, SearchGoal(W, 5, pool_size=3, widen_to=12), filters, scope).settled
    assert settled >= 45
