"""The learned ranker: candidate generation, pairwise features, a logistic model, honest explanations.

Two stages, so a query stays fast at tens of thousands of organisations:

1. **Candidate generation** (:func:`candidate_pool`): the union of the organisations closest to the
   partnership text and to the members' profiles (vector top-k), those that worked with the current
   members before (graph neighbourhood, best Adamic–Adar first), the most active organisations of
   the members' countries (regional pool) and the most active overall.
2. **Ranking**: :data:`FEATURES` for each pooled candidate, scored by a linear model on
   standardised features. Its weights come from a logistic regression on *pairs* (a joiner and a
   non-joiner of the same partnership: which one joined?), then one more logistic fit calibrates the
   score to the log-odds of joining. The model stays linear in standardised features, so a score
   splits exactly into ``baseline + Σ_i w_i · (x_i − mean_i) / scale_i``, which is what
   :meth:`LearnedRecommender.explain` returns, one contribution per feature.

The model is fitted on hide-and-rank examples from *earlier* partnerships (see
:mod:`matching.evaluation.split`) and stored as plain JSON numbers (never pickle), so a stored
model can be read, diffed and reloaded safely.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError, NotFoundError
from matching.blas import single_threaded_blas
from matching.features import (
    REGION_TIERS,
    ProximitySignal,
    RegionSignal,
    candidate_mask,
    graph_proximity,
    reference_regions,
    regional_fit,
)
from matching.ranking_models import (
    Estimator,
    LinearModel,
    ScoringModel,
    TreeModel,
    TreeParams,
    check_estimator,
    model_from_dict,
)
from matching.recommender import _graph_evidence, _region_evidence, top_indices
from matching.snapshot import NO_REGION, TYPE_ORDER, Snapshot
from matching.types import Contribution, PartnershipQuery, Recommendation

FEATURES: tuple[str, ...] = (
    "text_partnership",  # cosine to the partnership text (members' centroid when it has none)
    "text_members_max",  # cosine to the most similar current member
    "text_members_mean",  # cosine to the members' centroid
    "graph_adamic_adar",  # log(1 + Adamic–Adar index to the members)
    "graph_common_members",  # share of current members it worked with before
    "graph_shared_partnerships",  # log(1 + partnerships shared with current members, counted per member)
    "graph_best_overlap",  # most current members met in one earlier partnership, as a share of them
    "graph_consortium_share",  # largest share of an earlier partnership's members that are current members
    "graph_recent_shared",  # log(1 + shared partnerships with current members, weighted by recency)
    "graph_group_repeat",  # log(1 + Σ over its earlier partnerships of overlap³ / size): reunions of several members
    "graph_group_overlap",  # log(1 + Σ overlap² / √size): the same, gentler on size
    "graph_group_repeat_recent",  # graph_group_repeat weighted by recency (two-year scale)
    "graph_random_walk",  # log(1 + 1000 · P(three-step walk member → partnership → it)), popularity-neutral
    "graph_confidence_max",  # max over current members of the share of the member's partnerships it joined
    "graph_confidence_sum",  # the same shares, summed over current members
    "graph_loyalty_max",  # max over current members of the share of its own partnerships shared with them
    "graph_loyalty",  # share of its partnerships shared with current members, counted per member
    "popularity",  # log(1 + partnerships)
    "recent_activity",  # log(1 + partnerships that started in the last two years of history)
    "no_history",  # 1 when it has no partnership at all
    "country_share",  # share of current members in its country
    "country_popularity",  # country_share × popularity: the active organisations of member countries
    "region_fit",  # NUTS closeness to the members' (or the scope's) regions, 0..1
    "type_share",  # share of current members of its stakeholder type
    "type_prior",  # log share of its stakeholder type among all memberships
    "sme",  # 1 SME, 0 not or unknown
    "coordinator_rate",  # share of its partnerships it coordinated
)
FORMAT = "pactmatch-learned-ranker"
FORMAT_VERSION = 2
RECENT_DAYS = 730
#: Recency weight of an earlier partnership: exp(−age / RECENCY_SCALE_DAYS), age counted back from
#: the newest start date in the history.
RECENCY_SCALE_DAYS = 365.0
#: The slower recency scale of ``graph_group_repeat_recent`` (consortia re-form over a funding cycle).
GROUP_RECENCY_SCALE_DAYS = 730.0


@dataclass(frozen=True)
class PoolSizes:
    """How many candidates each generator contributes (before the union removes duplicates)."""

    text: int = 300
    graph: int = 800
    country: int = 150
    popular: int = 100
    newcomers: int = 50  # organisations with no partnership yet, from the members' countries
    min_pool: int = 200  # when filters leave fewer, the best text matches inside the filters are added

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class SnapshotStats:
    """Per-snapshot quantities every query needs, computed once when a ranker is bound."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        pop = snapshot.org_popularity
        self.log_popularity = np.log1p(pop)
        self.no_history = (pop == 0).astype(np.float64)
        age = _partnership_age_days(snapshot)
        recent = (age <= RECENT_DAYS).astype(np.float32)
        self.log_recent = np.log1p(np.asarray(snapshot.membership @ recent).ravel().astype(np.float64))
        self.recency_weight = np.exp(-age / RECENCY_SCALE_DAYS)
        self.group_recency_weight = np.exp(-age / GROUP_RECENCY_SCALE_DAYS)
        # Both only ever divide: floored at 1 so empty partnerships and organisations divide safely.
        size = np.asarray(snapshot.membership.sum(axis=0)).ravel().astype(np.float64)
        self.partnership_size = np.maximum(size, 1.0)
        self.inv_popularity = 1.0 / np.maximum(pop, 1.0)
        coordinated = np.asarray(snapshot.coordinators.sum(axis=1)).ravel().astype(np.float64)
        self.coordinator_rate = coordinated * self.inv_popularity
        type_counts = np.bincount(snapshot.org_types, weights=pop, minlength=len(TYPE_ORDER))
        total = float(type_counts.sum())
        self.type_share_all = type_counts / total if total else np.full(len(TYPE_ORDER), 1 / len(TYPE_ORDER))
        self.log_type_prior = np.log(self.type_share_all + 1e-3)
        self.country = snapshot.org_regions[:, 0]
        self.sme = (snapshot.org_sme == 1).astype(np.float64)
        order = np.lexsort((np.arange(snapshot.n_orgs), -pop))
        self.popular_order = order[pop[order] > 0]
        # The regional pool: per country id, its organisations by decreasing activity.
        by_country: dict[int, list[int]] = {}
        for i in self.popular_order:
            c = int(self.country[i])
            if c != NO_REGION:
                by_country.setdefault(c, []).append(int(i))
        self.country_order = {c: np.asarray(v, dtype=np.int64) for c, v in by_country.items()}
        self.newcomers = np.flatnonzero(pop == 0)
        _ = snapshot.org_degree  # warm the Adamic–Adar degrees


def _partnership_age_days(snapshot: Snapshot) -> npt.NDArray[np.float64]:
    """Days between each partnership's start and the newest start among partnerships with members.

    Undated partnerships count as old (infinitely so: recency weight 0); partnerships that start
    after the newest (a test project's empty column) count as age 0.
    """
    starts = snapshot.partnership_start
    used = np.asarray(snapshot.membership.sum(axis=0)).ravel() > 0
    dated = [d for d, u in zip(starts, used, strict=True) if d is not None and u]
    if not dated:
        return np.full(snapshot.n_partnerships, np.inf)
    newest = max(dated)
    return np.array(
        [max(0, (newest - d).days) if d is not None else np.inf for d in starts], dtype=np.float64
    )


@dataclass
class QueryContext:
    """Everything computed once per query and reused by feature extraction and explanations."""

    query: PartnershipQuery
    members: npt.NDArray[np.int64]  # visible members with a vector (for text features)
    text_reference: npt.NDArray[np.float32] | None
    text_source: str
    proximity: ProximitySignal
    overlap: npt.NDArray[np.float64]  # per partnership: how many current members it had
    country_share: npt.NDArray[np.float64]  # per country id in ``country_ids``
    country_ids: npt.NDArray[np.int32]
    type_share: npt.NDArray[np.float64]  # per stakeholder type: share of current members
    region: RegionSignal | None = None
    text_scores: npt.NDArray[np.float32] | None = None  # over all organisations, once computed


def query_context(stats: SnapshotStats, query: PartnershipQuery) -> QueryContext:
    s = stats.snapshot
    members = np.asarray(query.member_indices, dtype=np.int64)
    with_vec = members[s.org_has_vector[members]] if len(members) else members
    reference, source = None, "none"
    if query.vector is not None and np.any(query.vector) and query.vector.shape[0] == s.org_vectors.shape[1]:
        reference, source = query.vector.astype(np.float32), "partnership text"
    elif len(with_vec):
        centroid = s.org_vectors[with_vec].mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            reference, source = (centroid / norm).astype(np.float32), "members' profiles"
    countries = stats.country[members] if len(members) else np.zeros(0, dtype=np.int32)
    countries = countries[countries != NO_REGION]
    ids, counts = np.unique(countries, return_counts=True)
    share = counts / len(members) if len(members) else counts.astype(np.float64)
    overlap = np.asarray(s.membership[members].sum(axis=0)).ravel().astype(np.float64)
    type_counts = np.bincount(s.org_types[members], minlength=len(TYPE_ORDER))
    return QueryContext(
        query=query,
        members=with_vec,
        text_reference=reference,
        text_source=source,
        proximity=graph_proximity(s, query),
        overlap=overlap,
        country_share=share.astype(np.float64),
        country_ids=ids.astype(np.int32),
        type_share=type_counts / max(1, len(members)),
    )


def member_country_share(ctx: QueryContext, countries: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
    """For each country id, the share of the query's current members located there (0 elsewhere)."""
    if not len(ctx.country_ids):
        return np.zeros(len(countries))
    pos = np.clip(np.searchsorted(ctx.country_ids, countries), 0, len(ctx.country_ids) - 1)
    return np.where(ctx.country_ids[pos] == countries, ctx.country_share[pos], 0.0)


def candidate_pool(
    stats: SnapshotStats, ctx: QueryContext, mask: npt.NDArray[np.bool_], sizes: PoolSizes = PoolSizes()
) -> npt.NDArray[np.int64]:
    """Union of the candidate generators, restricted to ``mask`` (sorted org indices).

    Only one pass over all organisation vectors (the text top-k): at 40k × 384 float32 that pass is
    memory-bound and is the most expensive step of a query, so the members' profiles are compared
    on the pool only.
    """
    s = stats.snapshot
    parts: list[npt.NDArray[np.int64]] = []
    if ctx.text_reference is not None:
        ctx.text_scores = s.org_vectors @ ctx.text_reference
        parts.append(top_indices(ctx.text_scores.astype(np.float64), mask, sizes.text))
    raw = ctx.proximity.raw
    linked = np.flatnonzero((raw > 0) & mask)
    if len(linked) > sizes.graph:
        linked = linked[np.argpartition(-raw[linked], sizes.graph - 1)[: sizes.graph]]
    parts.append(linked.astype(np.int64))
    # Each member country contributes in proportion to its share of the members.
    for cid, share in zip(ctx.country_ids, ctx.country_share, strict=True):
        order = stats.country_order.get(int(cid))
        if order is not None:
            want = max(10, round(sizes.country * float(share)))
            head = order[: want * 2]
            parts.append(head[mask[head]][:want])
    head = stats.popular_order[: sizes.popular * 2]
    parts.append(head[mask[head]][: sizes.popular])
    parts.append(_newcomer_pool(stats, ctx, mask, sizes.newcomers))
    # A flag array, not np.unique: one O(n) pass is cheaper than hashing a few thousand ids.
    flags = np.zeros(s.n_orgs, dtype=bool)
    for part in parts:
        flags[part] = True
    pool = np.flatnonzero(flags)
    if len(pool) < sizes.min_pool:
        fill = ctx.text_scores.astype(np.float64) if ctx.text_scores is not None else stats.log_popularity
        pool = np.union1d(pool, top_indices(fill, mask, sizes.min_pool))
    return pool.astype(np.int64)


def _newcomer_pool(
    stats: SnapshotStats, ctx: QueryContext, mask: npt.NDArray[np.bool_], size: int
) -> npt.NDArray[np.int64]:
    """Organisations with no partnership yet, from the members' countries, members' types first.

    No other generator can find them (they have no links and no activity), yet a coordinator
    may want fresh partners (the ``min_newcomer_share`` quota picks from these). Ordered by the
    share of current members in their country plus 0.3 × the share of their stakeholder type.
    """
    fresh = stats.newcomers[mask[stats.newcomers]]
    if not size or not len(fresh) or not len(ctx.country_ids):
        return np.zeros(0, dtype=np.int64)
    share = member_country_share(ctx, stats.country[fresh])
    score = share + 0.3 * ctx.type_share[stats.snapshot.org_types[fresh]]
    fresh, score = fresh[share > 0], score[share > 0]
    if len(fresh) > size:
        keep = np.lexsort((fresh, -score))[:size]
        fresh = fresh[keep]
    return fresh.astype(np.int64)


def pair_features(
    stats: SnapshotStats, ctx: QueryContext, pool: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The (len(pool) × len(FEATURES)) feature matrix for one query."""
    s = stats.snapshot
    n = len(pool)
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if n == 0:
        return x
    col = {name: f for f, name in enumerate(FEATURES)}
    vecs = s.org_vectors[pool]
    if ctx.text_reference is not None:
        x[:, col["text_partnership"]] = vecs @ ctx.text_reference
    if len(ctx.members):
        member_vecs = s.org_vectors[ctx.members]
        x[:, col["text_members_max"]] = (vecs @ member_vecs.T).max(axis=1)
        centroid = member_vecs.mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            x[:, col["text_members_mean"]] = vecs @ (centroid / norm)
    prox = ctx.proximity
    n_members = max(1, len(ctx.query.member_indices))
    links = prox.links[pool]
    x[:, col["graph_adamic_adar"]] = np.log1p(prox.raw[pool])
    x[:, col["graph_common_members"]] = np.diff(links.indptr) / n_members
    shared = np.asarray(links.sum(axis=1)).ravel()  # per candidate: partnerships shared, per member
    x[:, col["graph_shared_partnerships"]] = np.log1p(shared)
    rows = s.membership[pool]  # (pool × partnerships): the candidates' own earlier partnerships
    if rows.nnz:
        overlap = rows.multiply(ctx.overlap[None, :]).tocsr()
        x[:, col["graph_best_overlap"]] = overlap.max(axis=1).toarray().ravel() / n_members
        x[:, col["graph_consortium_share"]] = (
            rows.multiply((ctx.overlap / stats.partnership_size)[None, :])
            .tocsr()
            .max(axis=1)
            .toarray()
            .ravel()
        )
        x[:, col["graph_recent_shared"]] = np.log1p(overlap @ stats.recency_weight)
        _group_features(stats, ctx, rows, x, col)
    _member_link_features(stats, ctx, pool, links, shared, x, col)
    x[:, col["popularity"]] = stats.log_popularity[pool]
    x[:, col["recent_activity"]] = stats.log_recent[pool]
    x[:, col["no_history"]] = stats.no_history[pool]
    x[:, col["country_share"]] = member_country_share(ctx, stats.country[pool])
    x[:, col["country_popularity"]] = x[:, col["country_share"]] * x[:, col["popularity"]]
    x[:, col["region_fit"]] = _region_fit_pool(s, ctx.query, pool)
    types = s.org_types[pool]
    x[:, col["type_share"]] = ctx.type_share[types]
    x[:, col["type_prior"]] = stats.log_type_prior[types]
    x[:, col["sme"]] = stats.sme[pool]
    x[:, col["coordinator_rate"]] = stats.coordinator_rate[pool]
    return x


def _group_features(
    stats: SnapshotStats,
    ctx: QueryContext,
    rows: Any,
    x: npt.NDArray[np.float64],
    col: dict[str, int],
) -> None:
    """Features of the earlier partnerships that brought several current members together.

    Consortia re-form: a partnership that had three of the current members is a much stronger hint
    about its other members than three partnerships with one member each. Overlap is raised to a
    power and divided by size (a large partnership is a weaker hint about any one of its members).
    ``rows`` are the pool's rows of the membership matrix.
    """
    size = stats.partnership_size
    ov = ctx.overlap
    repeat = ov**3 / size
    x[:, col["graph_group_repeat"]] = np.log1p(rows @ repeat)
    x[:, col["graph_group_overlap"]] = np.log1p(rows @ (ov**2 / np.sqrt(size)))
    x[:, col["graph_group_repeat_recent"]] = np.log1p(rows @ (repeat * stats.group_recency_weight))
    members = ctx.query.member_indices
    if len(members):
        # P3 random walk (Cooper et al. 2014): member → one of its partnerships → one of that
        # partnership's members, each step uniform. Scaled by 1000 before the log so typical
        # probabilities (1e-4..1e-1) spread out.
        step = np.asarray(stats.snapshot.membership[members].T @ stats.inv_popularity[members]).ravel()
        x[:, col["graph_random_walk"]] = np.log1p(1000.0 * (rows @ (step / size)))


def _member_link_features(
    stats: SnapshotStats,
    ctx: QueryContext,
    pool: npt.NDArray[np.int64],
    links: Any,
    shared: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    col: dict[str, int],
) -> None:
    """Association-rule style shares from the (pool × members) counts of shared partnerships.

    ``confidence``: of a member's partnerships, the share the candidate was in (how much the member
    relies on it); ``loyalty``: of the candidate's partnerships, the share with that member (how much
    it relies on the member). Adamic–Adar counts neither direction's base rate.
    """
    members = ctx.query.member_indices
    if not len(members) or links.nnz == 0:
        return
    conf = links.multiply(stats.inv_popularity[members][None, :]).tocsr()
    x[:, col["graph_confidence_max"]] = conf.max(axis=1).toarray().ravel()
    x[:, col["graph_confidence_sum"]] = np.asarray(conf.sum(axis=1)).ravel()
    own = stats.inv_popularity[pool]
    x[:, col["graph_loyalty_max"]] = links.max(axis=1).toarray().ravel() * own
    x[:, col["graph_loyalty"]] = shared * own


def _region_fit_pool(
    s: Snapshot, query: PartnershipQuery, pool: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """:func:`matching.features.regional_fit` values for the pool only (same tiers, same rules)."""
    refs, _ = reference_regions(s, query)
    level = np.full(len(pool), -1, dtype=np.int8)
    if refs:
        regions = s.org_regions[pool]
        for lv in range(4):
            inside = [s.regions.lookup(c) for c in refs if len(c) - 2 == lv]
            inside = [i for i in inside if i != NO_REGION]
            if inside:
                level[np.isin(regions[:, lv], inside)] = 3
        for lv in (2, 1, 0):
            shared = {s.regions.lookup(c[: lv + 2]) for c in refs if len(c) - 2 > lv}
            shared.discard(NO_REGION)
            if shared:
                level[np.isin(regions[:, lv], list(shared)) & (level < lv)] = lv
    tiers = np.array([0.0, *[REGION_TIERS[lv] for lv in (0, 1, 2, 3)]])
    return tiers[level.astype(np.int64) + 1]


def training_rows(
    stats: SnapshotStats,
    examples: Sequence[tuple[PartnershipQuery, npt.NDArray[np.int64]]],
    sizes: PoolSizes,
    negatives_per_case: int,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64], TrainingReport]:
    """Features, labels (1 = hidden member) and example numbers of pooled candidates, as the ranker sees them.

    Every hidden member that candidate generation finds is kept; of the rest, up to
    ``negatives_per_case`` random pool members per example. Hidden members outside the pool are
    not rows (the ranker can never rank them) but count in the report's pool recall.
    """
    blocks: list[npt.NDArray[np.float64]] = []
    labels: list[npt.NDArray[np.float64]] = []
    groups: list[npt.NDArray[np.int64]] = []
    report = TrainingReport()
    n_orgs = stats.snapshot.n_orgs
    with single_threaded_blas():
        for n, (query, hidden) in enumerate(examples):
            ctx = query_context(stats, query)
            mask = np.ones(n_orgs, dtype=bool)
            mask[query.member_indices] = False
            pool = candidate_pool(stats, ctx, mask, sizes)
            is_pos = np.isin(pool, hidden)
            neg = np.flatnonzero(~is_pos)
            if len(neg) > negatives_per_case:
                neg = rng.choice(neg, negatives_per_case, replace=False)
            keep = np.concatenate([np.flatnonzero(is_pos), neg])
            blocks.append(pair_features(stats, ctx, pool[keep]))
            labels.append(is_pos[keep].astype(np.float64))
            groups.append(np.full(len(keep), n, dtype=np.int64))
            report.cases += 1
            report.hidden += len(hidden)
            report.positives_in_pool += int(is_pos.sum())
            if progress and (n % 50 == 0 or n == len(examples) - 1):
                progress(n + 1, len(examples))
    x = np.vstack(blocks) if blocks else np.zeros((0, len(FEATURES)))
    y = np.concatenate(labels) if labels else np.zeros(0)
    g = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    return x, y, g, report


@dataclass
class TrainingReport:
    cases: int = 0
    rows: int = 0
    positives: int = 0
    positives_in_pool: int = 0
    hidden: int = 0

    @property
    def pool_recall(self) -> float:
        return self.positives_in_pool / self.hidden if self.hidden else 0.0


class LearnedRecommender:
    """Rank candidates with a model fitted on hide-and-rank examples (ranking trees by default).

    Parameters
    ----------
    pool : PoolSizes
        Candidate generation sizes.
    estimator : {"lgbm", "logreg"}
        ``lgbm``: LightGBM trees with a ranking objective, explained by TreeSHAP; ``logreg``: a pairwise logistic
        regression calibrated to log-odds (the first model; kept as the simpler, fully linear option).
    negatives_per_case : int, optional
        Non-member pool candidates sampled per training case (all hidden members in the pool are
        kept); 400 for trees, 150 for the logistic model by default.
    C : float
        Inverse regularisation strength of the logistic regression.
    trees : TreeParams
        LightGBM settings.
    seed : int
        Seeds the negative sampling and the trees' row and column subsampling.

    Examples
    --------
    >>> ranker = LearnedRecommender().fit(history, queries)  # doctest: +SKIP
    >>> ranker.bind(current).recommend(query_for_partnership(current, "P1"), top_k=5)  # doctest: +SKIP
    """

    model_: ScoringModel
    training_: TrainingReport
    meta_: dict[str, object]
    snapshot_: Snapshot
    stats_: SnapshotStats

    def __init__(
        self,
        pool: PoolSizes | None = None,
        *,
        estimator: Estimator | str = "lgbm",
        negatives_per_case: int | None = None,
        C: float = 1.0,
        trees: TreeParams | None = None,
        seed: int = 0,
    ) -> None:
        self.pool = pool or PoolSizes()
        self.estimator: Estimator = check_estimator(str(estimator))
        default_negatives = 400 if self.estimator == "lgbm" else 150
        self.negatives_per_case = negatives_per_case or default_negatives
        self.C = C
        self.trees = trees or TreeParams()
        self.seed = seed
        self.meta_ = {}

    @property
    def name(self) -> str:
        """The model's name in candidate lists and reports (features changed in v2)."""
        return f"learned-{self.estimator}-v{FORMAT_VERSION}"

    # -- fitting --------------------------------------------------------------------------------
    def fit(
        self,
        snapshot: Snapshot,
        examples: Sequence[tuple[PartnershipQuery, npt.NDArray[np.int64]]],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> LearnedRecommender:
        """Learn from ``(query, hidden member indices)`` pairs on a *history* snapshot.

        The snapshot must not contain the examples' hidden memberships (build it with
        :func:`matching.evaluation.data.history_snapshot`); the ranker ends up bound to it.
        """
        if not examples:
            raise InvalidInputError(
                "the learned ranker needs at least one training example (a partnership with 4+ members)"
            )
        stats = SnapshotStats(snapshot)
        rng = np.random.default_rng(self.seed)
        x, y, groups, report = training_rows(
            stats, examples, self.pool, self.negatives_per_case, rng, progress
        )
        report.rows, report.positives = len(y), int(y.sum())
        if report.positives == 0 or report.positives == report.rows:
            raise InvalidInputError("the training examples need both joined and not-joined candidates")
        if self.estimator == "lgbm":
            self.model_ = TreeModel.fit(FEATURES, x, y, groups, self.seed, self.trees)
        else:
            self.model_ = LinearModel.fit(FEATURES, x, y, groups, rng, self.C)
        self.training_ = report
        self._bind(snapshot, stats)
        return self

    def bind(self, snapshot: Snapshot) -> LearnedRecommender:
        """A copy with the same weights, ranking on another snapshot (e.g. the store's current one)."""
        self._check_fitted()
        other = LearnedRecommender(
            self.pool, estimator=self.estimator, negatives_per_case=self.negatives_per_case, C=self.C,
            trees=self.trees, seed=self.seed,
        )  # fmt: skip
        other.model_ = self.model_
        other.training_ = getattr(self, "training_", TrainingReport())
        other.meta_ = dict(getattr(self, "meta_", {}))
        other._bind(snapshot, SnapshotStats(snapshot))
        return other

    def _bind(self, snapshot: Snapshot, stats: SnapshotStats) -> None:
        self.snapshot_ = snapshot
        self.stats_ = stats

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("LearnedRecommender is not fitted: call fit() or from_dict() first")

    # -- ranking --------------------------------------------------------------------------------
    def score_pool(
        self, query: PartnershipQuery, mask: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], QueryContext]:
        """Pool indices, their features and their scores (log-odds) for one query."""
        self._check_fitted()
        # One query's matrix products are small or memory-bound: BLAS threads only add
        # synchronisation (measured 6 ms → 0.1 ms for a 1,100 × 512 product on 2 busy cores).
        with single_threaded_blas():
            ctx = query_context(self.stats_, query)
            pool = candidate_pool(self.stats_, ctx, mask, self.pool)
            x = pair_features(self.stats_, ctx, pool)
            return pool, x, self.model_.decision(x), ctx

    def rank(self, query: PartnershipQuery, mask: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
        """The best ``k`` organisation indices among ``mask`` (evaluation and diversity re-ranking)."""
        pool, _, scores, _ = self.score_pool(query, mask)
        local = top_indices(scores, np.ones(len(pool), dtype=bool), k)
        return pool[local]

    def recommend(
        self, query: PartnershipQuery, top_k: int = 10, filters: CandidateFilters | None = None
    ) -> list[Recommendation]:
        """The ``top_k`` best candidates, best first, each with its per-feature explanation."""
        mask = candidate_mask(self.snapshot_, query, filters or CandidateFilters())
        pool, x, scores, ctx = self.score_pool(query, mask)
        local = top_indices(scores, np.ones(len(pool), dtype=bool), top_k)
        if len(local) == 0:
            return []  # filters left nobody (and LightGBM cannot explain zero rows)
        # One attribution call for the whole list: TreeSHAP per call has a fixed cost per tree.
        baselines, parts = self.model_.explain(x[local])
        return [
            self._explain(int(pool[i]), x[i], ctx, float(baselines[n]), parts[n]) for n, i in enumerate(local)
        ]

    def explain(self, query: PartnershipQuery, org_id: str) -> Recommendation:
        """One organisation's score and its per-feature contributions, pooled or not."""
        self._check_fitted()
        i = self.snapshot_.org_index.get(org_id)
        if i is None:
            raise NotFoundError("organisation", org_id)
        ctx = query_context(self.stats_, query)
        x = pair_features(self.stats_, ctx, np.array([i], dtype=np.int64))
        baselines, parts = self.model_.explain(x)
        return self._explain(i, x[0], ctx, float(baselines[0]), parts[0])

    def _explain(
        self,
        i: int,
        x: npt.NDArray[np.float64],
        ctx: QueryContext,
        baseline: float,
        parts: npt.NDArray[np.float64],
    ) -> Recommendation:
        """The recommendation of pool member ``i`` from its features and their attribution."""
        what = (
            "average log-odds of joining for a typical candidate"
            if self.estimator == "logreg"
            else "the model's average score over the candidates it was trained on"
        )
        contributions = [Contribution("baseline", baseline, what)]
        contributions += [
            Contribution(name, float(parts[f]), self._evidence(name, i, float(x[f]), ctx))
            for f, name in enumerate(FEATURES)
        ]
        return Recommendation(
            org_id=self.snapshot_.org_ids[i],
            score=float(sum(c.value for c in contributions)),
            contributions=tuple(contributions),
            model=self.name,
        )

    def _evidence(self, feature: str, i: int, value: float, ctx: QueryContext) -> str:
        s = self.snapshot_
        n_members = len(ctx.query.member_indices)
        if feature == "text_partnership":
            return (
                "no text to compare with"
                if ctx.text_source == "none"
                else f"text similarity {value:.2f} to the {ctx.text_source}"
            )
        if feature == "text_members_max":
            if not len(ctx.members):
                return "no member profiles to compare with"
            sims = s.org_vectors[ctx.members] @ s.org_vectors[i]
            best = int(ctx.members[int(np.argmax(sims))])
            return f"most similar current member: {s.org_names[best]} ({value:.2f})"
        if feature == "text_members_mean":
            return f"similarity {value:.2f} to the members' average profile"
        if feature == "graph_adamic_adar":
            return _graph_evidence(s, ctx.proximity, i)
        if feature == "graph_common_members":
            return f"worked before with {round(value * max(1, n_members))} of {n_members} current members"
        if feature == "graph_best_overlap":
            return f"met up to {round(value * n_members)} of the {n_members} current members in one earlier partnership"
        if feature == "graph_consortium_share":
            return f"in an earlier partnership whose members were {value:.0%} current members"
        if feature == "graph_recent_shared":
            return f"recency-weighted partnerships shared with current members: {math.expm1(value):.1f}"
        if feature in ("graph_group_repeat", "graph_group_overlap", "graph_group_repeat_recent"):
            own = s.partnerships_of(i)
            most = float(ctx.overlap[own].max()) if len(own) else 0.0
            recent = " (recent ones weigh more)" if feature == "graph_group_repeat_recent" else ""
            return (
                f"was in an earlier partnership with {round(most)} of the {n_members} current members{recent}"
            )
        if feature == "graph_random_walk":
            return f"reachable from the current members through shared partnerships (walk score {math.expm1(value):.1f})"
        if feature == "graph_confidence_max":
            return f"took part in up to {value:.0%} of a current member's partnerships"
        if feature == "graph_confidence_sum":
            return f"share of current members' partnerships it took part in, summed over members: {value:.2f}"
        if feature == "graph_loyalty_max":
            return f"up to {value:.0%} of its partnerships were with one current member"
        if feature == "graph_loyalty":
            return f"its partnerships shared with current members, per member and partnership: {value:.2f}"
        if feature == "coordinator_rate":
            return f"coordinated {value:.0%} of its partnerships"
        if feature == "graph_shared_partnerships":
            return f"{round(math.expm1(value))} earlier partnership(s) shared with current members"
        if feature == "popularity":
            return f"member of {round(math.expm1(value))} partnership(s)"
        if feature == "recent_activity":
            return f"{round(math.expm1(value))} partnership(s) started in the last two years"
        if feature == "no_history":
            return "no earlier partnership" if value else "has earlier partnerships"
        if feature == "country_share":
            country = _country_label(s, i)
            return f"{round(value * n_members)} of {n_members} current members are in {country}"
        if feature == "country_popularity":
            return f"activity weighted by the members' share of its country ({value:.2f})"
        if feature == "region_fit":
            if ctx.region is None:
                ctx.region = regional_fit(s, ctx.query)
            return _region_evidence(s, ctx.region, i)
        if feature == "type_share":
            label = TYPE_ORDER[int(s.org_types[i])].label
            return f"{round(value * n_members)} of {n_members} current members are {label}s"
        if feature == "type_prior":
            label = TYPE_ORDER[int(s.org_types[i])].label
            share = float(self.stats_.type_share_all[int(s.org_types[i])])
            return f"{label}s hold {share:.0%} of all memberships"
        if feature == "sme":
            return {1: "an SME", 0: "not an SME", -1: "SME status unknown"}[int(s.org_sme[i])]
        return ""  # pragma: no cover - every feature is listed above

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self, **meta: object) -> dict[str, object]:
        """JSON-safe state: the model, pool sizes, training summary, ``meta``."""
        self._check_fitted()
        report = getattr(self, "training_", TrainingReport())
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "estimator": self.estimator,
            "features": list(FEATURES),
            **self.model_.to_dict(),
            "pool": self.pool.as_dict(),
            "training": {**report.__dict__, "pool_recall": report.pool_recall},
            "meta": {**getattr(self, "meta_", {}), **meta},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnedRecommender:
        """Rebuild from :meth:`to_dict` output; bind it to a snapshot before ranking."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidInputError(f"not a {FORMAT} document")
        if data.get("format_version") != FORMAT_VERSION:
            raise InvalidInputError(
                f"ranker format version {data.get('format_version')!r}, expected {FORMAT_VERSION}"
                " (refit with `pactmatch fit`)"
            )
        if tuple(data.get("features", ())) != FEATURES:
            raise InvalidInputError(
                f"the stored ranker uses features {data.get('features')}, this version {list(FEATURES)}"
            )
        model = model_from_dict(data.get("estimator"), FEATURES, data)
        try:
            pool = PoolSizes(**{k: int(v) for k, v in dict(data.get("pool") or {}).items()})
        except TypeError as exc:
            raise InvalidInputError(f"ranker field 'pool': {exc}") from exc
        out = cls(pool, estimator=model.kind)
        out.model_ = model
        training = dict(data.get("training") or {})
        out.training_ = TrainingReport(**{k: int(training.get(k, 0)) for k in TrainingReport().__dict__})
        out.meta_ = dict(data.get("meta") or {})
        return out

    @property
    def weights(self) -> dict[str, float]:
        """How much the model leans on each feature (for reports).

        The logistic model's weight on the standardised scale; the trees' share of the total split gain.
        """
        self._check_fitted()
        return self.model_.importance()


def _country_label(s: Snapshot, i: int) -> str:
    cid = int(s.org_regions[i, 0])
    return s.regions.codes[cid] if cid != NO_REGION else "an unknown country"


__all__ = [
    "FEATURES",
    "LearnedRecommender",
    "PoolSizes",
    "SnapshotStats",
    "candidate_pool",
    "pair_features",
    "query_context",
]
