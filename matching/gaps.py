"""Membership-gap mapping: what a partnership lacks, and who could fill each gap.

Three kinds of gap, each computed from the snapshot alone:

* **composition** — a requirement of the partnership's target mix (:mod:`matching.target_mix`)
  that its members do not meet, e.g. "no VET provider";
* **geography** — a region of the partnership's scope with no member in it (for a large-scale
  partnership: an EU country, its scope defaulting to the EU27);
* **sector** — an ecosystem the partnership declares that no member works in.

For each gap the recommender is asked for candidates under the filters that describe the gap
(stakeholder types, region, ecosystem). When nothing fits inside the partnership's area the search
is relaxed step by step (scope → the scope's countries → anywhere) and the report says so, rather
than returning an empty list without a word.

The batch path (:meth:`GapMapper.reports`) works in chunks of partnerships so that a ranker with
``recommend_batch`` computes the text signal of a whole chunk in one matrix product.

Examples
--------
>>> mapper = GapMapper(candidates_per_gap=3).fit(snapshot, HeuristicRecommender().fit(snapshot))  # doctest: +SKIP
>>> [g.label for g in mapper.report("RSP-ES51").gaps]  # doctest: +SKIP
['VET providers', 'trade unions and/or chambers of commerce or other economic representative groups']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError, NotFoundError
from domain.models import Ecosystem, PartnershipKind, StakeholderType
from domain.regions import EU27, RegionIndex, ancestors, iso_country_of_nuts, nuts_country, nuts_level
from matching.features import candidate_mask
from matching.recommender import query_for_partnership
from matching.snapshot import ECOSYSTEM_ORDER, KIND_ORDER, NO_REGION, TYPE_ORDER, Snapshot
from matching.target_mix import Requirement, TargetMix, default_target_mix
from matching.types import PartnershipQuery, Recommendation

GapCategory = Literal["composition", "geography", "sector"]
Progress = Callable[[str, int, int], None]
MAX_CANDIDATES_PER_GAP = 50


class CandidateRanker(Protocol):
    """What gap mapping needs from a fitted recommender (the service's ranker satisfies it)."""

    @property
    def name(self) -> str: ...

    def recommend(
        self, query: PartnershipQuery, top_k: int = 10, filters: CandidateFilters | None = None
    ) -> list[Recommendation]: ...


@runtime_checkable
class BatchRanker(Protocol):
    """A ranker that can answer many queries × filters at once (see ``HeuristicRecommender``)."""

    name: str

    def recommend_batch(
        self,
        queries: Sequence[PartnershipQuery],
        filters: Sequence[Sequence[CandidateFilters]],
        top_k: int = 10,
    ) -> list[list[list[Recommendation]]]: ...


def recommend_many(
    ranker: CandidateRanker,
    queries: Sequence[PartnershipQuery],
    filters: Sequence[Sequence[CandidateFilters]],
    top_k: int,
) -> list[list[list[Recommendation]]]:
    """``out[q][f]``: the ranker's list for query ``q`` under its ``f``-th filter (batched when it can)."""
    if isinstance(ranker, BatchRanker):
        return ranker.recommend_batch(queries, filters, top_k)
    return [[ranker.recommend(q, top_k, f) for f in fl] for q, fl in zip(queries, filters, strict=True)]


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequirementStatus:
    requirement: Requirement
    count: int  # members of any of the requirement's types
    share: float  # count / members
    satisfied: bool
    needed: int  # newcomers of these types needed before it is satisfied


@dataclass(frozen=True)
class Composition:
    """The partnership's stakeholder types against its target mix."""

    n_members: int
    type_counts: tuple[int, ...]  # per TYPE_ORDER
    requirements: tuple[RequirementStatus, ...]
    mix_origin: str
    mix_label: str

    @property
    def shares(self) -> tuple[float, ...]:
        n = self.n_members
        return tuple(c / n if n else 0.0 for c in self.type_counts)


@dataclass(frozen=True)
class RegionCoverage:
    """One region of the scope (at the chosen level) and the members inside it, by type."""

    code: str
    label: str
    members: int
    type_counts: tuple[int, ...]  # per TYPE_ORDER


@dataclass(frozen=True)
class GeographicCoverage:
    level: int | None  # None: the scope's codes as declared
    basis: str  # where the units come from, in words
    units: tuple[RegionCoverage, ...]
    unlocated_members: int  # members with no region or country at all

    @property
    def missing(self) -> tuple[RegionCoverage, ...]:
        return tuple(u for u in self.units if u.members == 0)


@dataclass(frozen=True)
class SectorCoverage:
    ecosystems: tuple[tuple[Ecosystem, int], ...]  # declared ecosystems, members working in each
    members_with_ecosystems: int  # members that declare any ecosystem at all

    @property
    def missing(self) -> tuple[Ecosystem, ...]:
        if self.members_with_ecosystems == 0:
            return ()  # nothing is known about the members' sectors: no evidence of a gap
        return tuple(e for e, n in self.ecosystems if n == 0)


@dataclass(frozen=True)
class GapCandidate:
    org_id: str
    name: str
    stakeholder_type: StakeholderType
    region: str | None  # deepest known NUTS code (or country)
    recommendation: Recommendation

    @property
    def score(self) -> float:
        return self.recommendation.score


@dataclass(frozen=True)
class SearchStep:
    """One attempt at finding candidates for a gap: the filters and what they mean in words."""

    filters: CandidateFilters
    where: str


@dataclass(frozen=True)
class Gap:
    category: GapCategory
    key: str  # requirement id, region code or ecosystem value
    label: str
    detail: str
    search: str  # where the candidates were found, including any relaxation
    filters: CandidateFilters  # the filters that produced ``candidates``
    candidates: tuple[GapCandidate, ...]


@dataclass(frozen=True)
class GapReport:
    partnership_id: str
    name: str
    kind: PartnershipKind
    n_members: int
    composition: Composition
    geography: GeographicCoverage
    sectors: SectorCoverage
    gaps: tuple[Gap, ...]
    model: str

    def gaps_of(self, category: GapCategory) -> tuple[Gap, ...]:
        return tuple(g for g in self.gaps if g.category == category)


@dataclass(frozen=True)
class _PendingGap:
    category: GapCategory
    key: str
    label: str
    detail: str
    steps: tuple[SearchStep, ...]


# -- pure analyses -------------------------------------------------------------------------------
def composition(
    type_counts: Sequence[int], requirements: Sequence[Requirement], origin: str, label: str
) -> Composition:
    """Each requirement's count, share and status, from the members' type counts (``TYPE_ORDER``)."""
    counts = tuple(int(c) for c in type_counts)
    n = sum(counts)
    statuses = []
    for r in requirements:
        count = sum(counts[TYPE_ORDER.index(t)] for t in r.types)
        statuses.append(
            RequirementStatus(r, count, count / n if n else 0.0, r.satisfied(count, n), r.needed(count, n))
        )
    return Composition(n, counts, tuple(statuses), origin, label)


def is_extra_regio(code: str, index: RegionIndex) -> bool:
    """Eurostat's "Extra-Regio" pseudo-regions (``DEZ``, ``DEZZ`` …) hold no organisations."""
    return index.label(code).startswith("Extra-Regio")


def scope_units(
    scope: Sequence[str], kind: PartnershipKind, level: int | None, index: RegionIndex
) -> tuple[list[str], str]:
    """The regions a partnership should have members in, and how they were chosen.

    A large-scale partnership without a scope covers the EU27 and is checked country by country
    unless a level is asked for. Otherwise the declared scope codes are the units; with ``level``
    they are expanded to (or, when deeper, replaced by their ancestor at) that NUTS level.
    """
    basis = "declared scope"
    codes = list(scope)
    if kind == PartnershipKind.LARGE_SCALE:
        if not codes:
            codes, basis = (
                [nuts_country(c) for c in EU27],
                "EU27 (large-scale partnership without a declared scope)",
            )
        if level is None:
            level = 0
    if not codes:
        return [], "no scope declared"
    if level is None:
        return list(dict.fromkeys(codes)), basis
    units: dict[str, None] = {}
    for code in codes:
        if nuts_level(code) >= level:
            units.setdefault(code[: level + 2], None)
        else:
            for region in index.descendants(code, level):
                if not is_extra_regio(region.code, index):
                    units.setdefault(region.code, None)
    return list(units), f"{basis} at NUTS level {level}"


def _org_codes(snapshot: Snapshot, i: int) -> tuple[str, ...]:
    """An organisation's NUTS codes, or its country when it has none."""
    codes = snapshot.org_all_regions[i]
    if codes:
        return codes
    country = int(snapshot.org_regions[i, 0])
    return (snapshot.regions.codes[country],) if country != NO_REGION else ()


def _deepest_code(snapshot: Snapshot, i: int) -> str | None:
    row = snapshot.org_regions[i]
    for lv in (3, 2, 1, 0):
        if row[lv] != NO_REGION:
            return snapshot.regions.codes[int(row[lv])]
    return None


def geographic_coverage(
    snapshot: Snapshot, j: int, level: int | None, index: RegionIndex
) -> GeographicCoverage:
    """Members per region of partnership ``j``'s scope, by stakeholder type."""
    kind = KIND_ORDER[int(snapshot.partnership_kinds[j])]
    units, basis = scope_units(snapshot.partnership_scope[j], kind, level, index)
    members = snapshot.members_of(j)
    if kind == PartnershipKind.LARGE_SCALE and level is None:
        level = 0
    counts = {u: np.zeros(len(TYPE_ORDER), dtype=np.int64) for u in units}
    unlocated = 0
    for i in members:
        codes = _org_codes(snapshot, int(i))
        if not codes:
            unlocated += 1
            continue
        inside = {a for c in codes for a in ancestors(c)} & counts.keys()
        for unit in inside:
            counts[unit][snapshot.org_types[i]] += 1
    coverage = tuple(
        RegionCoverage(u, index.label(u), int(c.sum()), tuple(int(x) for x in c)) for u, c in counts.items()
    )
    return GeographicCoverage(level, basis, coverage, unlocated)


def sector_coverage(snapshot: Snapshot, j: int) -> SectorCoverage:
    """Members working in each ecosystem partnership ``j`` declares."""
    members = snapshot.members_of(j)
    masks = snapshot.org_ecosystems[members]
    declared = int(snapshot.partnership_ecosystems[j])
    rows = []
    for bit, eco in enumerate(ECOSYSTEM_ORDER):
        if declared >> bit & 1:
            rows.append((eco, int(np.count_nonzero(masks & np.uint32(1 << bit)))))
    return SectorCoverage(tuple(rows), int(np.count_nonzero(masks)))


def member_type_counts(snapshot: Snapshot) -> npt.NDArray[np.int64]:
    """(partnerships × types) member counts, one sparse product for every partnership."""
    onehot = sparse.csr_matrix(
        (np.ones(snapshot.n_orgs), (np.arange(snapshot.n_orgs), snapshot.org_types.astype(np.int64))),
        shape=(snapshot.n_orgs, len(TYPE_ORDER)),
    )
    counts: npt.NDArray[np.int64] = np.asarray((snapshot.membership.T @ onehot).todense()).astype(np.int64)
    return counts


# -- the estimator -------------------------------------------------------------------------------
class GapMapper:
    """Gap reports for one partnership or all of them.

    Parameters
    ----------
    target_mix : TargetMix, optional
        Requirements per kind / partnership; the shipped handbook defaults when omitted.
    level : int, optional
        NUTS level (0–3) at which scope coverage is checked; by default the scope's own codes
        (countries for a large-scale partnership).
    candidates_per_gap : int
        How many candidates to propose per gap (0 for none, which is much faster in batch).
    region_index : RegionIndex, optional
    chunk : int
        Partnerships per ranker batch in :meth:`reports`.
    """

    def __init__(
        self,
        target_mix: TargetMix | None = None,
        *,
        level: int | None = None,
        candidates_per_gap: int = 5,
        region_index: RegionIndex | None = None,
        chunk: int = 64,
    ) -> None:
        self.target_mix = target_mix
        self.level = level
        self.candidates_per_gap = candidates_per_gap
        self.region_index = region_index
        self.chunk = chunk

    def fit(self, snapshot: Snapshot, ranker: CandidateRanker) -> GapMapper:
        if self.level is not None and not 0 <= self.level <= 3:
            raise InvalidInputError(f"level: NUTS level must be 0 to 3, got {self.level}")
        if not 0 <= self.candidates_per_gap <= MAX_CANDIDATES_PER_GAP:
            raise InvalidInputError(
                f"candidates_per_gap: must be 0 to {MAX_CANDIDATES_PER_GAP}, got {self.candidates_per_gap}"
            )
        self.snapshot_ = snapshot
        self.ranker_ = ranker
        self.mix_ = self.target_mix or default_target_mix()
        self.index_ = self.region_index or RegionIndex.default()
        self.type_counts_ = member_type_counts(snapshot)
        return self

    # -- public ---------------------------------------------------------------------------------
    def report(self, partnership_id: str) -> GapReport:
        if partnership_id not in self.snapshot_.partnership_index:
            raise NotFoundError("partnership", partnership_id)
        return next(self.reports([partnership_id]))

    def reports(
        self, partnership_ids: Iterable[str] | None = None, progress: Progress | None = None
    ) -> Iterator[GapReport]:
        """Reports in the order of ``partnership_ids`` (all partnerships by default), lazily."""
        s = self.snapshot_
        ids = list(s.partnership_ids if partnership_ids is None else partnership_ids)
        for pid in ids:
            if pid not in s.partnership_index:
                raise NotFoundError("partnership", pid)
        total = len(ids)
        if progress:
            progress("gap reports", 0, total)
        for start in range(0, total, self.chunk):
            part = ids[start : start + self.chunk]
            yield from self._chunk(part)
            if progress:
                progress("gap reports", min(start + self.chunk, total), total)

    # -- internals ------------------------------------------------------------------------------
    def _chunk(self, ids: Sequence[str]) -> list[GapReport]:
        s = self.snapshot_
        analysed = []
        for pid in ids:
            j = s.partnership_index[pid]
            kind = KIND_ORDER[int(s.partnership_kinds[j])]
            mix = self.mix_.for_partnership(pid, kind)
            comp = composition(self.type_counts_[j], mix.requirements, mix.origin, mix.label)
            geo = geographic_coverage(s, j, self.level, self.index_)
            sectors = sector_coverage(s, j)
            pending = self._pending(j, kind, comp, geo, sectors)
            analysed.append((pid, j, kind, comp, geo, sectors, pending))

        # One ranker call for every gap of every partnership in the chunk.
        with_gaps = [a for a in analysed if a[6]]
        found: dict[str, list[list[list[Recommendation]]]] = {}
        if with_gaps and self.candidates_per_gap > 0:
            queries = [query_for_partnership(s, a[0]) for a in with_gaps]
            filters = [[step.filters for g in a[6] for step in g.steps] for a in with_gaps]
            flat = recommend_many(self.ranker_, queries, filters, self.candidates_per_gap)
            for a, lists in zip(with_gaps, flat, strict=True):
                per_gap: list[list[list[Recommendation]]] = []
                pos = 0
                for g in a[6]:
                    per_gap.append(lists[pos : pos + len(g.steps)])
                    pos += len(g.steps)
                found[a[0]] = per_gap

        reports = []
        for pid, j, kind, comp, geo, sectors, pending in analysed:
            gaps = tuple(
                self._resolve(g, found[pid][n] if pid in found else None) for n, g in enumerate(pending)
            )
            reports.append(
                GapReport(
                    partnership_id=pid,
                    name=s.partnership_names[j],
                    kind=kind,
                    n_members=comp.n_members,
                    composition=comp,
                    geography=geo,
                    sectors=sectors,
                    gaps=gaps,
                    model=self.ranker_.name,
                )
            )
        return reports

    def _resolve(self, gap: _PendingGap, lists: list[list[Recommendation]] | None) -> Gap:
        """The first search step that found anyone; the note says which steps came up empty."""
        if lists is None:
            return Gap(
                gap.category,
                gap.key,
                gap.label,
                gap.detail,
                "candidates not requested",
                gap.steps[0].filters,
                (),
            )
        empty: list[str] = []
        for step, recs in zip(gap.steps, lists, strict=True):
            if recs:
                where = step.where if not empty else f"{step.where} (none found {'; none '.join(empty)})"
                return Gap(
                    gap.category, gap.key, gap.label, gap.detail, where, step.filters, self._candidates(recs)
                )
            empty.append(step.where)
        return Gap(
            gap.category,
            gap.key,
            gap.label,
            gap.detail,
            f"no candidate {' or '.join(empty)}",
            gap.steps[-1].filters,
            (),
        )

    def _candidates(self, recs: Sequence[Recommendation]) -> tuple[GapCandidate, ...]:
        s = self.snapshot_
        out = []
        for r in recs:
            i = s.org_index[r.org_id]
            out.append(
                GapCandidate(
                    r.org_id, s.org_names[i], TYPE_ORDER[int(s.org_types[i])], _deepest_code(s, i), r
                )
            )
        return tuple(out)

    def _pending(
        self,
        j: int,
        kind: PartnershipKind,
        comp: Composition,
        geo: GeographicCoverage,
        sectors: SectorCoverage,
    ) -> list[_PendingGap]:
        """The gaps of partnership ``j`` with their candidate search plans (strict → relaxed)."""
        s = self.snapshot_
        scope = s.partnership_scope[j]
        ecosystems = tuple(
            e for b, e in enumerate(ECOSYSTEM_ORDER) if int(s.partnership_ecosystems[j]) >> b & 1
        )
        area = self._area_steps(scope, kind)
        pending: list[_PendingGap] = []
        for st in comp.requirements:
            if st.satisfied:
                continue
            r = st.requirement
            types = " / ".join(t.label for t in r.types)
            detail = _requirement_detail(st, comp.n_members)
            steps: list[SearchStep] = []
            for flt, where in area:
                if ecosystems and kind == PartnershipKind.LARGE_SCALE:
                    steps.append(
                        SearchStep(
                            replace(flt, stakeholder_types=r.types, ecosystems=ecosystems),
                            f"{types} in {_eco_words(ecosystems)} {where}",
                        )
                    )
                steps.append(SearchStep(replace(flt, stakeholder_types=r.types), f"{types} {where}"))
            pending.append(_PendingGap("composition", r.id, r.label, detail, _dedupe(steps)))
        for unit in geo.missing:
            steps = []
            if ecosystems:
                steps.append(
                    SearchStep(
                        CandidateFilters(regions=(unit.code,), ecosystems=ecosystems),
                        f"in {unit.code} {unit.label} working in {_eco_words(ecosystems)}",
                    )
                )
            steps.append(SearchStep(CandidateFilters(regions=(unit.code,)), f"in {unit.code} {unit.label}"))
            what = "country" if nuts_level(unit.code) == 0 else f"NUTS {nuts_level(unit.code)} region"
            pending.append(
                _PendingGap(
                    "geography",
                    unit.code,
                    f"{unit.code} {unit.label}",
                    f"no member in this {what} of the {geo.basis}",
                    tuple(steps),
                )
            )
        for eco in sectors.missing:
            steps = [
                SearchStep(replace(flt, ecosystems=(eco,)), f"working in {eco.label} {where}")
                for flt, where in area
            ]
            pending.append(
                _PendingGap(
                    "sector",
                    eco.value,
                    eco.label,
                    f"declared ecosystem with none of the {sectors.members_with_ecosystems} members "
                    "that state their ecosystems working in it",
                    _dedupe(steps),
                )
            )
        return pending

    def _area_steps(self, scope: Sequence[str], kind: PartnershipKind) -> list[tuple[CandidateFilters, str]]:
        """Where to look for candidates, strictest first: the scope, its countries, anywhere."""
        steps: list[tuple[CandidateFilters, str]] = []
        if scope:
            steps.append(
                (
                    CandidateFilters(regions=tuple(scope)),
                    f"in the scope ({', '.join(scope[:6])}{'…' if len(scope) > 6 else ''})",
                )
            )
            countries = tuple(dict.fromkeys(iso_country_of_nuts(c) for c in scope))
            if any(nuts_level(c) > 0 for c in scope):
                steps.append((CandidateFilters(countries=countries), f"in {', '.join(countries)}"))
        elif kind == PartnershipKind.LARGE_SCALE:
            steps.append((CandidateFilters(countries=EU27), "in the EU27"))
        steps.append((CandidateFilters(), "anywhere"))
        return steps


def _dedupe(steps: Sequence[SearchStep]) -> tuple[SearchStep, ...]:
    seen: dict[CandidateFilters, SearchStep] = {}
    for step in steps:
        seen.setdefault(step.filters, step)
    return tuple(seen.values())


def _eco_words(ecosystems: Sequence[Ecosystem]) -> str:
    return " / ".join(e.label for e in ecosystems)


def _requirement_detail(st: RequirementStatus, n_members: int) -> str:
    r = st.requirement
    want = []
    if r.min_count:
        want.append(f"at least {r.min_count}")
    if r.min_share:
        want.append(f"at least {r.min_share:.0%} of the members")
    have = f"has {st.count} of {n_members} members" + (f" ({st.share:.0%})" if n_members else "")
    return f"target: {' and '.join(want)} {' / '.join(t.label for t in r.types)}; {have}; {st.needed} more needed"


# -- stakeholder mapping for a region ------------------------------------------------------------
@dataclass(frozen=True)
class OrgRef:
    org_id: str
    name: str
    region: str | None


@dataclass(frozen=True)
class TypeRow:
    stakeholder_type: StakeholderType
    organisations: int
    unaffiliated: int  # in no partnership at all
    examples: tuple[OrgRef, ...]  # unaffiliated organisations of this type, by name


@dataclass(frozen=True)
class PartnershipPresence:
    partnership_id: str
    name: str
    kind: PartnershipKind
    in_scope: bool  # the declared scope contains or lies inside the region
    members_in_region: int


@dataclass(frozen=True)
class RegionView:
    code: str
    label: str
    level: int
    organisations: int
    unaffiliated: int
    by_type: tuple[TypeRow, ...]
    partnerships: tuple[PartnershipPresence, ...]
    partnerships_total: int


def region_stakeholders(
    snapshot: Snapshot,
    code: str,
    *,
    index: RegionIndex | None = None,
    examples_per_type: int = 20,
    max_partnerships: int = 50,
) -> RegionView:
    """Stakeholder mapping for one NUTS region (``code`` already normalised).

    Organisations located in the region, by stakeholder type, with those that belong to no
    partnership named; and the partnerships that cover the region, through their declared scope or
    through members located there (scope first, then by members in the region).
    """
    index = index or RegionIndex.default()
    empty = PartnershipQuery(member_indices=np.zeros(0, dtype=np.int64))
    inside = candidate_mask(snapshot, empty, CandidateFilters(regions=(code,)))
    popularity = snapshot.org_popularity
    rows = []
    for t, stakeholder in enumerate(TYPE_ORDER):
        of_type = inside & (snapshot.org_types == t)
        lonely = np.flatnonzero(of_type & (popularity == 0))
        named = sorted(lonely.tolist(), key=lambda i: (snapshot.org_names[i].lower(), snapshot.org_ids[i]))
        examples = tuple(
            OrgRef(snapshot.org_ids[i], snapshot.org_names[i], _deepest_code(snapshot, i))
            for i in named[:examples_per_type]
        )
        rows.append(TypeRow(stakeholder, int(of_type.sum()), len(lonely), examples))

    in_region = np.asarray(snapshot.membership[inside].sum(axis=0)).ravel().astype(np.int64)
    eu = iso_country_of_nuts(code) in EU27
    large_scale = KIND_ORDER.index(PartnershipKind.LARGE_SCALE)
    # A large-scale partnership without a declared scope covers the EU27; the others cover their
    # scope. Only the (few) scoped partnerships are tested one by one: a loop over every
    # partnership cost ~270 ms per region on a CORDIS store.
    in_scope = (snapshot.partnership_kinds == large_scale) & eu
    scoped = snapshot.scoped_partnerships
    in_scope[scoped] = [
        any(c.startswith(code) or code.startswith(c) for c in snapshot.partnership_scope[j]) for j in scoped
    ]
    present = np.flatnonzero(in_scope | (in_region > 0))
    order = present[np.lexsort((present, -in_region[present], ~in_scope[present]))]
    partnerships = tuple(
        PartnershipPresence(
            snapshot.partnership_ids[j],
            snapshot.partnership_names[j],
            KIND_ORDER[int(snapshot.partnership_kinds[j])],
            bool(in_scope[j]),
            int(in_region[j]),
        )
        for j in order[:max_partnerships]
    )
    return RegionView(
        code=code,
        label=index.label(code),
        level=nuts_level(code),
        organisations=int(inside.sum()),
        unaffiliated=int((inside & (popularity == 0)).sum()),
        by_type=tuple(rows),
        partnerships=partnerships,
        partnerships_total=len(present),
    )
