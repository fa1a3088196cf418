"""Candidate features and the heuristic scorer over them, whatever produced the candidates.

Two candidate sources exist. The snapshot path (:class:`~matching.recommender.HeuristicRecommender`)
computes the signals of *every* organisation from the in-memory snapshot; a database path (the
Neo4j store's ``candidate_features``) computes them in Cypher for a candidate pool only, so a
query never needs the whole graph in memory. Both hand the scorer a :class:`CandidateFeatures`,
and :func:`rank_candidates` / :func:`explain_candidate` turn it into
:class:`~matching.types.Recommendation` objects with one set of formulas and evidence texts,
which is what makes the two paths give the same answers.

``score = Σ_s w_s · signal_s`` over

* ``semantic``: cosine of the candidate's embedding to the partnership text (or the members'
  centroid), clipped to [0, 1];
* ``graph``: Adamic–Adar index ``AA`` to the members over co-membership, squashed ``AA / (1 + AA)``;
* ``region``: :data:`REGION_TIERS` by the deepest region shared with the reference regions;
* ``type``: ``1 − share of the candidate's stakeholder type among the members``.

A pool is exact when no organisation outside it can beat the ``k``-th score: with upper bounds of
each signal over the unseen organisations (:class:`SignalBounds`, a threshold-algorithm bound in
the sense of Fagin et al.), :func:`pool_is_exact` checks that, and
:class:`~matching.candidate_search.CandidateSearch` reads more while it fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import sparse

from matching.snapshot import NO_REGION, TYPE_ORDER, RegionVocabulary
from matching.types import Contribution, Recommendation

#: Regional fit by the level of the deepest region a candidate shares with the reference regions.
#: Inside a reference region counts fully; sharing only the country counts a quarter.
REGION_TIERS: Mapping[int, float] = {3: 1.0, 2: 0.75, 1: 0.5, 0: 0.25}
_TIER_BY_LEVEL = np.array([0.0, *[REGION_TIERS[lv] for lv in (0, 1, 2, 3)]])  # index: level + 1

SIGNALS = ("semantic", "graph", "region", "type")


@dataclass(frozen=True)
class SignalBounds:
    """Upper bounds of the signals of the eligible organisations that are *not* in a pool.

    ``semantic`` is a clipped cosine, ``adamic_adar`` a raw Adamic–Adar value and ``region`` a
    regional-fit value (a tier of :data:`REGION_TIERS`); the type signal's bound follows from the
    members' type counts and the allowed types, so it is computed, not stored.
    """

    semantic: float
    adamic_adar: float
    region: float = 1.0


@dataclass(frozen=True, eq=False)
class CandidateFeatures:
    """Everything the heuristic scorer needs about ``n`` candidates for one partnership.

    Per candidate (row ``i``): ``org_ids[i]``, ``names[i]``, ``types[i]`` (index into
    :data:`~matching.snapshot.TYPE_ORDER`), ``regions[i]`` (ids in ``region_vocab`` of the
    primary code's ancestors at NUTS levels 0..3, ``NO_REGION`` where absent), ``semantic[i]``
    (clipped cosine), ``adamic_adar[i]`` (raw value) and ``links`` row ``i`` (shared partnerships
    with each member, the graph evidence; columns follow ``member_ids``/``member_names``).

    Per partnership: the semantic reference (``semantic_source``), the reference regions and
    their source, and the members' stakeholder-type counts.

    ``eligible`` masks candidates out (the snapshot path passes every organisation and masks
    members and filtered ones; a database pool holds eligible candidates only). ``unseen`` bounds
    the signals of eligible organisations outside the set; ``None`` means there are none.
    """

    org_ids: Sequence[str]
    names: Sequence[str]
    types: npt.NDArray[np.int16]
    regions: npt.NDArray[np.int32]
    region_vocab: RegionVocabulary
    semantic: npt.NDArray[np.float64]
    semantic_source: str  # "partnership text" | "members' profiles" | "none"
    adamic_adar: npt.NDArray[np.float64]
    links: sparse.csr_matrix
    member_ids: Sequence[str]
    member_names: Sequence[str]
    reference_regions: tuple[str, ...]
    region_source: str  # "scope" | "members" | "none"
    member_type_counts: npt.NDArray[np.int64]
    eligible: npt.NDArray[np.bool_] | None = None
    unseen: SignalBounds | None = None
    allowed_types: tuple[int, ...] = ()  # type filter (TYPE_ORDER indices); empty: all types

    def __post_init__(self) -> None:
        n = len(self.org_ids)
        sizes = {
            "names": len(self.names),
            "types": len(self.types),
            "regions": self.regions.shape[0],
            "semantic": len(self.semantic),
            "adamic_adar": len(self.adamic_adar),
            "links": self.links.shape[0],
        }
        wrong = {k: v for k, v in sizes.items() if v != n}
        if wrong:
            raise ValueError(f"candidate features disagree on the number of candidates ({n}): {wrong}")
        if not self.links.shape[1] == len(self.member_names) == len(self.member_ids):
            raise ValueError(
                f"links has {self.links.shape[1]} columns for {len(self.member_ids)} member ids "
                f"and {len(self.member_names)} names"
            )

    @property
    def n_candidates(self) -> int:
        return len(self.org_ids)

    @property
    def n_members(self) -> int:
        return int(self.member_type_counts.sum())


@dataclass(frozen=True)
class HeuristicSignals:
    """The four signal values (each in [0, 1]) of every candidate, plus the region level."""

    semantic: npt.NDArray[np.float64]
    graph: npt.NDArray[np.float64]
    region: npt.NDArray[np.float64]
    region_level: npt.NDArray[np.int8]  # deepest shared level, 3 also when inside; -1 none
    type: npt.NDArray[np.float64]


# -- pure helpers shared with matching.features ----------------------------------------------
def region_levels(
    regions: npt.NDArray[np.int32], vocab: RegionVocabulary, references: Sequence[str]
) -> npt.NDArray[np.int8]:
    """Deepest NUTS level each row shares with ``references`` (3 when inside one; -1 none).

    ``regions`` holds, per row, the vocabulary ids of a code's ancestors at levels 0..3.
    """
    level = np.full(regions.shape[0], -1, dtype=np.int8)
    if not references:
        return level
    # Inside a reference region (at that region's own level) counts as the deepest match.
    for lv in range(4):
        inside = [vocab.lookup(c) for c in references if len(c) - 2 == lv]
        inside = [i for i in inside if i != NO_REGION]
        if inside:
            level[np.isin(regions[:, lv], inside)] = 3
    # Otherwise the deepest shared ancestor.
    for lv in (2, 1, 0):
        shared = {vocab.lookup(c[: lv + 2]) for c in references if len(c) - 2 > lv}
        shared.discard(NO_REGION)
        if shared:
            hit = np.isin(regions[:, lv], list(shared)) & (level < lv)
            level[hit] = lv
    return level


def region_tier(level: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
    """Regional-fit value of each level (-1 → 0)."""
    values: npt.NDArray[np.float64] = _TIER_BY_LEVEL[level.astype(np.int64) + 1]
    return values


def deepest_code(path: Sequence[str | None]) -> str | None:
    """The deepest non-empty code of a level 0..3 path (``["DE", "DE1", "", ""]`` → ``DE1``)."""
    return next((c for c in reversed(list(path)) if c), None)


def reference_regions_from(
    scope: Sequence[str], member_codes: Sequence[str | None]
) -> tuple[tuple[str, ...], str]:
    """The partnership's declared scope, else the (deepest) regions its members are in."""
    if scope:
        return tuple(scope), "scope"
    codes = sorted({c for c in member_codes if c})
    return tuple(codes), ("members" if codes else "none")


def adamic_adar_from_links(links: Sequence[tuple[str, int, Sequence[str]]]) -> dict[str, float]:
    r"""Adamic–Adar index of each linked candidate from per-member neighbourhoods.

    ``links`` holds, per member ``z``, ``(z, |N(z)|, candidates linked to z)``, where ``|N(z)|``
    counts *all* of ``z``'s distinct co-members (also members and filtered-out organisations).

    .. math:: AA(c, P) = \sum_{z \in N(c) \cap S} 1 / \log \max(2, |N(z)|)

    the formula of :func:`matching.features.graph_proximity`. Members are summed in id order so
    the floating-point result does not depend on the order a database returned them in.
    """
    aa: dict[str, float] = {}
    for _, degree, linked in sorted(links, key=lambda link: link[0]):
        weight = 1.0 / math.log(max(2, int(degree)))
        for c in linked:
            aa[c] = aa.get(c, 0.0) + weight
    return aa


def type_values(
    types: npt.NDArray[np.int16], member_type_counts: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """1 − (share of each candidate's stakeholder type among the members); 1 without members."""
    n = int(member_type_counts.sum())
    share = member_type_counts / n if n else np.zeros(len(TYPE_ORDER))
    values: npt.NDArray[np.float64] = 1.0 - share[types.astype(np.int64)]
    return values


def squash(adamic_adar: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``AA / (1 + AA)``: an unbounded index mapped into [0, 1)."""
    values: npt.NDArray[np.float64] = adamic_adar / (1.0 + adamic_adar)
    return values


# -- scoring ----------------------------------------------------------------------------------
def heuristic_signals(features: CandidateFeatures) -> HeuristicSignals:
    level = region_levels(features.regions, features.region_vocab, features.reference_regions)
    return HeuristicSignals(
        semantic=np.asarray(features.semantic, dtype=np.float64),
        graph=squash(np.asarray(features.adamic_adar, dtype=np.float64)),
        region=region_tier(level),
        region_level=level,
        type=type_values(features.types, features.member_type_counts),
    )


def heuristic_scores(signals: HeuristicSignals, weights: Mapping[str, float]) -> npt.NDArray[np.float64]:
    scores: npt.NDArray[np.float64] = (
        weights["semantic"] * signals.semantic
        + weights["graph"] * signals.graph
        + weights["region"] * signals.region
        + weights["type"] * signals.type
    )
    return scores


def top_indices(
    scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], top_k: int
) -> npt.NDArray[np.int64]:
    """Indices of the ``top_k`` highest masked scores, best first (ties broken by index)."""
    allowed = np.flatnonzero(mask)
    if top_k <= 0 or len(allowed) == 0:
        return np.zeros(0, dtype=np.int64)
    sub = scores[allowed]
    part: npt.NDArray[np.int64]
    if len(allowed) > top_k:
        # argpartition picks *some* of the scores tied with the k-th: take the lowest indices.
        kth = sub[np.argpartition(-sub, top_k - 1)[top_k - 1]]
        above = np.flatnonzero(sub > kth)
        part = np.concatenate([above, np.flatnonzero(sub == kth)[: top_k - len(above)]])
    else:
        part = np.arange(len(allowed))
    order = np.lexsort((allowed[part], -sub[part]))
    chosen: npt.NDArray[np.int64] = allowed[part[order]]
    return chosen


def select_top(
    features: CandidateFeatures,
    weights: Mapping[str, float],
    top_k: int,
    mask: npt.NDArray[np.bool_] | None = None,
    signals: HeuristicSignals | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rows of the ``top_k`` best eligible candidates (best first) and their scores.

    Ties are broken by row order; both candidate sources order rows by organisation id, so ties
    resolve the same way. ``mask`` narrows ``features.eligible`` further (one filter of a batch).
    """
    signals = signals or heuristic_signals(features)
    scores = heuristic_scores(signals, weights)
    allowed = np.ones(features.n_candidates, dtype=bool) if features.eligible is None else features.eligible
    if mask is not None:
        allowed = allowed & mask
    rows = top_indices(scores, allowed, top_k)
    return rows, scores[rows]


def rank_candidates(
    features: CandidateFeatures,
    weights: Mapping[str, float],
    top_k: int,
    model: str,
    mask: npt.NDArray[np.bool_] | None = None,
    signals: HeuristicSignals | None = None,
) -> list[Recommendation]:
    """The ``top_k`` best eligible candidates, best first, each with its explanation."""
    signals = signals or heuristic_signals(features)
    rows, _ = select_top(features, weights, top_k, mask, signals)
    return [explain_candidate(features, int(i), weights, model, signals) for i in rows]


def explain_candidate(
    features: CandidateFeatures,
    i: int,
    weights: Mapping[str, float],
    model: str,
    signals: HeuristicSignals | None = None,
) -> Recommendation:
    """Candidate ``i``'s score as four contributions that add up to it, each with evidence."""
    sig = signals or heuristic_signals(features)
    contributions = (
        Contribution(
            "semantic",
            weights["semantic"] * float(sig.semantic[i]),
            semantic_evidence(features.semantic_source, float(sig.semantic[i])),
        ),
        Contribution(
            "graph",
            weights["graph"] * float(sig.graph[i]),
            graph_evidence(features.links, features.member_names, i),
        ),
        Contribution(
            "region",
            weights["region"] * float(sig.region[i]),
            region_evidence(
                int(sig.region_level[i]),
                features.regions[i],
                features.region_vocab,
                features.reference_regions,
                features.region_source,
            ),
        ),
        Contribution(
            "type",
            weights["type"] * float(sig.type[i]),
            type_evidence(int(features.types[i]), features.member_type_counts),
        ),
    )
    return Recommendation(
        org_id=features.org_ids[i],
        score=sum(c.value for c in contributions),
        contributions=contributions,
        model=model,
    )


def unseen_score_bound(features: CandidateFeatures, weights: Mapping[str, float]) -> float | None:
    """The highest score an eligible organisation outside the pool could have (None: none exist)."""
    return None if features.unseen is None else _score_bound(features, weights, features.unseen)


def _score_bound(features: CandidateFeatures, weights: Mapping[str, float], bounds: SignalBounds) -> float:
    allowed = list(features.allowed_types) or list(range(len(TYPE_ORDER)))
    type_bound = float(type_values(np.asarray(allowed, dtype=np.int16), features.member_type_counts).max())
    aa = bounds.adamic_adar
    return (
        weights["semantic"] * min(1.0, max(0.0, bounds.semantic))
        + weights["graph"] * aa / (1.0 + aa)
        + weights["region"] * bounds.region
        + weights["type"] * type_bound
    )


def graph_bound_to_pass(
    features: CandidateFeatures,
    weights: Mapping[str, float],
    top_scores: Sequence[float],
    top_k: int,
    tolerance: float = 0.0,
) -> float | None:
    """The largest Adamic–Adar bound on the unseen with which :func:`pool_is_exact` would pass.

    With ``g`` the room the other signals' bounds leave below the ``k``-th score (plus
    ``tolerance``), the graph term ``w · AA / (1 + AA)`` must stay within it: ``AA ≤ q / (1 − q)``
    for ``q = g / w`` (``inf`` when ``q ≥ 1``). A source that adds every linked candidate above
    that value to the pool settles it. ``None`` when no value would do: the other bounds fail on
    their own, or the pool holds fewer than ``top_k``.
    """
    bounds = features.unseen
    if bounds is None or len(top_scores) < top_k or top_k < 1:
        return None
    kth = float(top_scores[top_k - 1])
    room = kth - _score_bound(features, weights, replace(bounds, adamic_adar=0.0))
    room = room + tolerance if tolerance > 0 else room - 2e-12  # pool_is_exact is strict at ε = 0
    if room < 0:
        return None
    share = room / weights["graph"] if weights["graph"] > 0 else math.inf
    return math.inf if share >= 1 else share / (1.0 - share)


def pool_is_exact(
    features: CandidateFeatures,
    weights: Mapping[str, float],
    top_scores: Sequence[float],
    top_k: int,
    tolerance: float = 0.0,
) -> bool:
    """True when no organisation outside the pool could enter the top ``top_k`` (threshold test).

    ``top_scores`` are the pool's best scores, best first. With ``tolerance`` ε > 0 the test
    passes when the bound exceeds the ``k``-th score by at most ε; the list may then differ from
    the exact one, but the score at every rank is within ε of the exact score at that rank (an
    unseen organisation that belongs at rank r scores at most the bound ≤ s_k + ε ≤ s_r + ε).
    Strict at ε = 0: an unseen organisation with an equal score might win the tie.
    """
    bound = unseen_score_bound(features, weights)
    if bound is None:
        return True
    if len(top_scores) < top_k:
        return False
    kth = float(top_scores[top_k - 1])
    return kth + tolerance >= bound if tolerance > 0 else kth > bound + 1e-12


# -- evidence ---------------------------------------------------------------------------------
def with_graph_evidence(
    features: CandidateFeatures, rows: Sequence[int], partnerships: Mapping[str, set[str]]
) -> CandidateFeatures:
    """``features`` with the graph evidence of ``rows`` filled in: how many partnerships each of
    those candidates shares with each member, from ``partnerships`` (organisation id → the
    partnerships it belongs to, in any identifiers that are the same for everyone)."""
    triples = [
        (i, j, len(shared))
        for i in rows
        for j, member in enumerate(features.member_ids)
        if (shared := partnerships.get(features.org_ids[i], set()) & partnerships.get(member, set()))
    ]
    rows_, cols, counts = zip(*triples, strict=True) if triples else ((), (), ())
    links = sparse.csr_matrix(
        (
            np.asarray(counts, dtype=np.float32),
            (np.asarray(rows_, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
        ),
        shape=features.links.shape,
    )
    return replace(features, links=links)


def semantic_evidence(source: str, value: float) -> str:
    if source == "none":
        return "no text embedding to compare with"
    return f"text similarity {value:.2f} to the {source}"


def graph_evidence(links: sparse.csr_matrix, member_names: Sequence[str], i: int) -> str:
    """The members a candidate shares most partnerships with, named (ties: member order)."""
    start, end = links.indptr[i], links.indptr[i + 1]
    indices, data = links.indices[start:end], links.data[start:end]
    if len(indices) == 0:
        return "no earlier collaboration with current members"
    order = np.lexsort((indices, -data))[:3]
    named = "; ".join(
        f"{member_names[int(col)]} ({int(n)} shared)"
        for col, n in zip(indices[order], data[order], strict=True)
    )
    return f"worked with {len(indices)} current member(s) in other partnerships, e.g. {named}"


def region_evidence(
    level: int,
    row: npt.NDArray[np.int32],
    vocab: RegionVocabulary,
    references: Sequence[str],
    source: str,
) -> str:
    if source == "none":
        return "the partnership has no regions to compare with"
    if level < 0:
        return f"outside the {source} regions"
    from domain.regions import RegionIndex

    index = RegionIndex.default()
    if level == 3:
        code = next(
            c for c in references if (rid := vocab.lookup(c)) != NO_REGION and row[min(len(c) - 2, 3)] == rid
        )
        return f"inside {code} {index.label(code)} ({source})"
    code = vocab.codes[int(row[level])]
    what = "same country" if level == 0 else f"same NUTS {level}"
    return f"{what} as the {source}: {code} {index.label(code)}"


def type_evidence(type_index: int, member_type_counts: npt.NDArray[np.int64]) -> str:
    label = TYPE_ORDER[type_index].label
    have = int(member_type_counts[type_index])
    if have == 0:
        return f"the partnership has no {label} yet"
    return f"{label}: already {have} of {int(member_type_counts.sum())} members"
