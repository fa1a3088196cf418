r"""Cross-partnership synergies: which partnerships should work together, and why.

A pair ``(a, b)`` scores ``Σ_s w_s · signal_s`` over five signals, each in [0, 1]:

* ``text`` — cosine of the partnerships' text vectors (their agreement texts);
* ``members`` — bridging organisations: the Adamic–Adar index over shared members,
  :math:`x = \sum_{o \in S_a \cap S_b} 1 / \log \max(2, |P(o)|)` with ``|P(o)|`` the number of
  partnerships ``o`` is in (a member of everything bridges nothing), squashed as ``x / (1 + x)``;
* ``ecosystems`` — Jaccard overlap of the declared ecosystems;
* ``regions`` — overlap of the areas (declared scope, or where the members are when none is
  declared; a large-scale partnership without scope is the EU27), averaged over the NUTS levels
  both areas reach: :math:`\frac{1}{d+1}\sum_{l \le d} \frac{|A_l \cap B_l|}{\min(|A_l|, |B_l|)}`;
* ``complementarity`` — of the two partnerships' unmet target-mix requirements, the share the
  other side has members for.

Contributions ``w_s · signal_s`` add up to the score, as for candidate recommendations.

Scoring is exact and vectorised: for a block of partnerships the text signal against *every*
partnership is one dense BLAS product, and the other four signals are sparse products whose
arithmetic runs over the non-zeros only; each row keeps its top-k by ``argpartition``. At 30k
partnerships that is ~120 blocks of numpy/scipy work, never a Python loop over pairs.
Explanations (shared TF-IDF terms, bridging organisations, overlapping regions, what each side
brings) are computed for the kept pairs only.

Already-linked pairs — one derives from the other (``parent_id``) or they share many members — are
flagged, not hidden: they are often the most useful pairs to act on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError, NotFoundError
from domain.models import Ecosystem, PartnershipKind, StakeholderType
from domain.regions import EU27, RegionIndex, ancestors, nuts_country
from matching.gaps import CandidateRanker, member_type_counts, recommend_many
from matching.recommender import query_for_partnership
from matching.snapshot import ECOSYSTEM_ORDER, KIND_ORDER, NO_REGION, TYPE_ORDER, Snapshot
from matching.target_mix import TargetMix, default_target_mix
from matching.types import Contribution, Recommendation

SYNERGY_SIGNALS = ("text", "members", "ecosystems", "regions", "complementarity")
DEFAULT_SYNERGY_WEIGHTS: Mapping[str, float] = {
    "text": 0.35,
    "members": 0.20,
    "ecosystems": 0.15,
    "regions": 0.15,
    "complementarity": 0.15,
}
PAIR_KINDS = ("large_scale-large_scale", "large_scale-regional", "regional-regional")
MAX_TOP_K = 200
Progress = Callable[[str, int, int], None]
_MODEL = "synergy-v1"


def pair_kind(a: PartnershipKind, b: PartnershipKind) -> str:
    """``large_scale-regional`` etc.: the two kinds, sorted, so the pair kind has no direction."""
    first, second = sorted((a.value, b.value))
    return f"{first}-{second}"


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrgRef:
    org_id: str
    name: str
    stakeholder_type: StakeholderType


@dataclass(frozen=True)
class Recruit:
    """A member of one partnership that would fit the other (cross-partnership recruitment)."""

    org_id: str
    name: str
    stakeholder_type: StakeholderType
    from_partnership: str
    to_partnership: str
    recommendation: Recommendation


@dataclass(frozen=True)
class SynergyPair:
    a_id: str
    a_name: str
    a_kind: PartnershipKind
    b_id: str
    b_name: str
    b_kind: PartnershipKind
    score: float
    contributions: tuple[Contribution, ...]
    shared_terms: tuple[str, ...]
    bridges: tuple[OrgRef, ...]  # shared members (first few, most connected first)
    n_shared_members: int
    overlapping_regions: tuple[str, ...]  # NUTS codes both areas reach, deepest common level
    shared_ecosystems: tuple[Ecosystem, ...]
    a_brings: tuple[StakeholderType, ...]  # types a has and b lacks
    b_brings: tuple[StakeholderType, ...]
    a_fills: tuple[str, ...]  # b's unmet requirements a has members for (labels)
    b_fills: tuple[str, ...]
    linked: tuple[str, ...]  # why the pair is already linked (empty: not linked)
    recruits_for_a: tuple[Recruit, ...] = ()  # b's members that would fit a
    recruits_for_b: tuple[Recruit, ...] = ()
    model: str = _MODEL

    @property
    def kind(self) -> str:
        return pair_kind(self.a_kind, self.b_kind)


@dataclass(frozen=True)
class _Candidates:
    """Kept pairs of one block: row partnership, column partnership, per-signal values."""

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    signals: npt.NDArray[np.float64]  # (pairs × signals)


class SynergyFinder:
    """Partnership pairs that should work together, with explanations.

    Parameters
    ----------
    target_mix : TargetMix, optional
        For the complementarity signal (whose unmet requirements the other side can help with).
    top_k : int
        Partners kept per partnership.
    weights : mapping
        Must cover :data:`SYNERGY_SIGNALS` and sum to 1.
    pair_kinds : sequence of str, optional
        Keep only these pair kinds (e.g. ``large_scale-regional``); all by default.
    linked_min_shared, linked_share : int, float
        A pair sharing at least ``linked_min_shared`` members that are at least ``linked_share`` of
        the smaller partnership is flagged as already linked.
    recruits_per_pair : int
        Members of each side proposed to the other (needs a ranker in :meth:`fit`; 0 for none).
    block : int
        Partnerships scored per block (memory ≈ 3 × block × n × 8 bytes plus the sparse signals).

    Examples
    --------
    >>> finder = SynergyFinder(top_k=5).fit(snapshot, texts)  # doctest: +SKIP
    >>> [(p.b_id, round(p.score, 2)) for p in finder.for_partnership("RSP-1")]  # doctest: +SKIP
    """

    def __init__(
        self,
        target_mix: TargetMix | None = None,
        *,
        top_k: int = 10,
        weights: Mapping[str, float] = DEFAULT_SYNERGY_WEIGHTS,
        pair_kinds: Sequence[str] | None = None,
        linked_min_shared: int = 3,
        linked_share: float = 0.5,
        recruits_per_pair: int = 3,
        min_score: float = 0.0,
        block: int = 256,
    ) -> None:
        self.target_mix = target_mix
        self.top_k = top_k
        self.weights = dict(weights)
        self.pair_kinds = pair_kinds
        self.linked_min_shared = linked_min_shared
        self.linked_share = linked_share
        self.recruits_per_pair = recruits_per_pair
        self.min_score = min_score
        self.block = block

    # -- fit ------------------------------------------------------------------------------------
    def fit(
        self,
        snapshot: Snapshot,
        texts: Mapping[str, str] | None = None,
        ranker: CandidateRanker | None = None,
        *,
        region_index: RegionIndex | None = None,
    ) -> SynergyFinder:
        """Precompute the partnership-level matrices; ``texts`` maps partnership id → agreement text."""
        self._validate()
        s = snapshot
        self.snapshot_ = s
        self.ranker_ = ranker
        self.index_ = region_index or RegionIndex.default()
        self.mix_ = self.target_mix or default_target_mix()
        n = s.n_partnerships

        self.member_t_ = s.membership.T.tocsr()  # partnerships × orgs
        self.sizes_ = np.diff(self.member_t_.indptr).astype(np.float64)
        # Adamic–Adar weights: a shared member in many partnerships says little about any pair.
        weights = 1.0 / np.log(np.maximum(2.0, s.org_popularity))
        self.member_aa_ = (self.member_t_ @ sparse.diags(weights.astype(np.float32))).tocsr()
        vectors = s.partnership_vectors.astype(np.float32, copy=False)
        self.vectors_ = np.where(s.partnership_has_vector[:, None], vectors, 0.0).astype(np.float32)
        self.eco_ = s.partnership_ecosystems.astype(np.uint32)
        self.eco_count_ = np.bitwise_count(self.eco_).astype(np.float64)
        bits = (self.eco_[:, None] >> np.arange(len(ECOSYSTEM_ORDER), dtype=np.uint32)) & 1
        self.eco_matrix_ = sparse.csr_matrix(bits.astype(np.float32))
        self.kind_ = s.partnership_kinds.astype(np.int64)
        self._fit_regions()
        self._fit_composition()
        self._fit_terms(texts)
        self.allowed_kinds_ = self._allowed_kind_matrix()
        self.parent_index_ = np.array(
            [s.partnership_index.get(p, -1) if p else -1 for p in s.partnership_parent], dtype=np.int64
        )
        assert self.vectors_.shape[0] == n
        return self

    def _validate(self) -> None:
        if set(self.weights) != set(SYNERGY_SIGNALS) or abs(sum(self.weights.values()) - 1.0) > 1e-9:
            raise InvalidInputError(f"weights: must cover {', '.join(SYNERGY_SIGNALS)} and sum to 1")
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise InvalidInputError(f"top_k: must be 1 to {MAX_TOP_K}, got {self.top_k}")
        if not 0 <= self.recruits_per_pair <= 20:
            raise InvalidInputError(f"recruits_per_pair: must be 0 to 20, got {self.recruits_per_pair}")
        kinds = set(self.pair_kinds or ())
        valid = {pair_kind(a, b) for a in PartnershipKind for b in PartnershipKind}
        if kinds - valid:
            raise InvalidInputError(
                f"pair_kinds: unknown {', '.join(sorted(kinds - valid))}; expected some of {', '.join(sorted(valid))}"
            )

    def _fit_regions(self) -> None:
        """Per NUTS level, a binary (partnerships × codes) matrix of each partnership's area."""
        s = self.snapshot_
        large = KIND_ORDER.index(PartnershipKind.LARGE_SCALE)
        eu27 = tuple(nuts_country(c) for c in EU27)
        areas: list[set[str]] = []
        self.area_source_: list[str] = []
        for j in range(s.n_partnerships):
            scope = s.partnership_scope[j]
            if scope:
                codes, source = set(scope), "scope"
            elif int(s.partnership_kinds[j]) == large:
                codes, source = set(eu27), "EU27"
            else:
                codes, source = set(), "members"
                for i in s.members_of(j):
                    found = s.org_all_regions[int(i)]
                    if found:
                        codes.update(found)
                    elif s.org_regions[int(i), 0] != NO_REGION:
                        codes.add(s.regions.codes[int(s.org_regions[int(i), 0])])
            areas.append({a for c in codes for a in ancestors(c)})
            self.area_source_.append(source)
        self.areas_ = areas
        self.region_levels_: list[sparse.csr_matrix] = []
        for level in range(4):
            vocab: dict[str, int] = {}
            rows: list[int] = []
            cols: list[int] = []
            for j, area in enumerate(areas):
                for code in area:
                    if len(code) - 2 == level:
                        rows.append(j)
                        cols.append(vocab.setdefault(code, len(vocab)))
            matrix = sparse.csr_matrix(
                (np.ones(len(rows), dtype=np.float32), (rows, cols)),
                shape=(s.n_partnerships, max(1, len(vocab))),
            )
            self.region_levels_.append(matrix)
        # A level whose product would be dense (most pairs share a code, e.g. countries) multiplies
        # the block's sparse rows with a dense (codes × n) copy: sparse × sparse with a dense
        # result spends its time sorting indices.
        self.region_dense_: list[npt.NDArray[np.float32] | None] = []
        for matrix in self.region_levels_:
            per_code = np.diff(matrix.tocsc().indptr).astype(np.float64)
            density = float((per_code**2).sum()) / max(1.0, float(s.n_partnerships) ** 2)
            self.region_dense_.append(
                np.ascontiguousarray(matrix.T.toarray())
                if density > 0.02 and matrix.shape[1] <= 5000
                else None
            )
        self.region_sizes_ = np.stack([np.diff(m.indptr) for m in self.region_levels_], axis=1).astype(
            np.float64
        )
        has = self.region_sizes_ > 0
        self.region_depth_ = np.where(has.any(axis=1), 3 - np.argmax(has[:, ::-1], axis=1), -1).astype(
            np.int8
        )
        self.region_sizes_f32_ = self.region_sizes_.astype(np.float32)

    def _fit_composition(self) -> None:
        """Types present per partnership; unmet requirement groups and who could fill them."""
        s = self.snapshot_
        counts = member_type_counts(s)
        self.types_present_ = counts > 0
        groups: dict[frozenset[StakeholderType], int] = {}
        labels: dict[int, str] = {}
        unmet_rows: list[int] = []
        unmet_cols: list[int] = []
        self.unmet_labels_: list[list[tuple[int, str]]] = []
        for j, pid in enumerate(s.partnership_ids):
            mix = self.mix_.for_partnership(pid, KIND_ORDER[int(s.partnership_kinds[j])])
            n = int(counts[j].sum())
            mine: list[tuple[int, str]] = []
            for r in mix.requirements:
                have = int(sum(counts[j, TYPE_ORDER.index(t)] for t in r.types))
                if r.satisfied(have, n):
                    continue
                g = groups.setdefault(frozenset(r.types), len(groups))
                labels.setdefault(g, r.label)
                unmet_rows.append(j)
                unmet_cols.append(g)
                mine.append((g, r.label))
            self.unmet_labels_.append(mine)
        n_groups = max(1, len(groups))
        self.unmet_ = sparse.csr_matrix(
            (np.ones(len(unmet_rows), dtype=np.float32), (unmet_rows, unmet_cols)),
            shape=(s.n_partnerships, n_groups),
        )
        group_types = np.zeros((n_groups, len(TYPE_ORDER)), dtype=np.float32)
        for types, g in groups.items():
            for t in types:
                group_types[g, TYPE_ORDER.index(t)] = 1.0
        # can_fill[j, g]: partnership j has a member of one of group g's types
        self.can_fill_ = sparse.csr_matrix(
            (self.types_present_.astype(np.float32) @ group_types.T) > 0
        ).astype(np.float32)
        self.group_types_ = group_types
        # dense (groups × n) copies: a block's sparse rows times these is a cheap dense product
        self.unmet_t_ = np.ascontiguousarray(self.unmet_.T.toarray())
        self.can_fill_t_ = np.ascontiguousarray(self.can_fill_.T.toarray())
        self.n_unmet_ = np.diff(self.unmet_.indptr).astype(np.float64)

    def _fit_terms(self, texts: Mapping[str, str] | None) -> None:
        """TF-IDF over the agreement texts, only to name the themes two partnerships share."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        s = self.snapshot_
        docs = [
            (texts or {}).get(pid) or name
            for pid, name in zip(s.partnership_ids, s.partnership_names, strict=True)
        ]
        self.vectorizer_ = TfidfVectorizer(
            stop_words="english",
            sublinear_tf=True,
            min_df=1 if len(docs) < 50 else 2,
            # words in most texts ("skills", "partnership") say nothing about a pair
            max_df=0.5 if len(docs) >= 4 else 1.0,
            ngram_range=(1, 2),
            token_pattern=r"(?u)\b[^\W\d_][\w-]{2,}\b",  # nosec B106  (reviewed: a regular expression for words, not a password)
            dtype=np.float32,
        )
        try:
            self.tfidf_ = self.vectorizer_.fit_transform(docs).tocsr()
            self.terms_ = self.vectorizer_.get_feature_names_out()
        except ValueError:  # an empty vocabulary (no usable words at all)
            self.tfidf_ = sparse.csr_matrix((len(docs), 1), dtype=np.float32)
            self.terms_ = np.array([""], dtype=object)

    def _allowed_kind_matrix(self) -> npt.NDArray[np.bool_]:
        allowed = np.ones((len(KIND_ORDER), len(KIND_ORDER)), dtype=bool)
        if self.pair_kinds:
            wanted = set(self.pair_kinds)
            for a, ka in enumerate(KIND_ORDER):
                for b, kb in enumerate(KIND_ORDER):
                    allowed[a, b] = pair_kind(ka, kb) in wanted
        return allowed

    # -- scoring --------------------------------------------------------------------------------
    def signals_block(
        self, rows: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float32], list[sparse.csr_matrix | npt.NDArray[np.float32]]]:
        """Every signal of ``rows`` against every partnership.

        Text is dense (one BLAS product); members and ecosystems are sparse (len(rows) × n)
        matrices, since most pairs share neither, so their arithmetic runs over the non-zeros only;
        regions and complementarity are dense because most pairs share a country or a need.
        """
        n = self.snapshot_.n_partnerships
        text = np.zeros((len(rows), n), dtype=np.float32)
        if self.vectors_.shape[1]:
            np.clip(self.vectors_[rows] @ self.vectors_.T, 0.0, 1.0, out=text)
        return text, [
            self._members(rows),
            self._ecosystems(rows),
            self._regions(rows),
            self._complementarity(rows),
        ]

    def _members(self, rows: npt.NDArray[np.int64]) -> sparse.csr_matrix:
        """Adamic–Adar over shared members, squashed to [0, 1) as ``x / (1 + x)``."""
        aa = (self.member_aa_[rows] @ self.member_t_.T).tocsr()
        aa.data = aa.data / (1.0 + aa.data)
        return aa

    def _ecosystems(self, rows: npt.NDArray[np.int64]) -> sparse.csr_matrix:
        inter = (self.eco_matrix_[rows] @ self.eco_matrix_.T).tocoo()
        union = self.eco_count_[rows][inter.row] + self.eco_count_[inter.col] - inter.data
        return _csr(inter.data / union, inter.row, inter.col, (len(rows), self.snapshot_.n_partnerships))

    def _regions(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Area overlap per level, averaged over the levels both areas reach (dense: most pairs
        share a country, so each level is multiplied as a small dense matrix)."""
        n = self.snapshot_.n_partnerships
        depth_rows = self.region_depth_[rows]
        total = np.zeros((len(rows), n), dtype=np.float32)
        for level, matrix in enumerate(self.region_levels_):
            sizes = self.region_sizes_f32_[:, level]
            reach_rows = depth_rows >= level
            reach_cols = self.region_depth_ >= level
            if not reach_rows.any() or not reach_cols.any():
                continue
            dense = self.region_dense_[level]
            if dense is not None:
                # sparse rows × dense (codes × n): work ∝ the rows' few codes, not all codes
                common = np.asarray(matrix[rows] @ dense, dtype=np.float32)
                common /= np.maximum(np.minimum.outer(sizes[rows], sizes), np.float32(1.0))
                # both areas must reach the level: whole rows / columns drop out
                common[~reach_rows] = 0.0
                common[:, ~reach_cols] = 0.0
                total += common
            else:
                coo = (matrix[rows] @ matrix.T).tocoo()
                keep = reach_rows[coo.row] & reach_cols[coo.col]
                r, c = coo.row[keep], coo.col[keep]
                total[r, c] += coo.data[keep] / np.minimum(sizes[rows][r], sizes[c])
        levels = np.minimum.outer(depth_rows, self.region_depth_).astype(np.float32) + np.float32(1.0)
        np.divide(total, levels, out=total, where=levels > 0)
        return total

    def _complementarity(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Dense: most partnerships have some unmet requirement that most others could help with."""
        fills = np.asarray(self.unmet_[rows] @ self.can_fill_t_, dtype=np.float32)
        fills += np.asarray(self.can_fill_[rows] @ self.unmet_t_, dtype=np.float32)
        needs = np.add.outer(self.n_unmet_[rows].astype(np.float32), self.n_unmet_.astype(np.float32))
        out = np.zeros_like(fills)
        np.divide(fills, needs, out=out, where=needs > 0)
        return out

    def _keep(self, rows: npt.NDArray[np.int64], top_k: int) -> _Candidates:
        """Top ``top_k`` partners of each row (allowed pair kinds, not itself, score above the floor)."""
        text, others = self.signals_block(rows)
        w = [self.weights[name] for name in SYNERGY_SIGNALS]
        score = (w[0] * text).astype(np.float64)
        for wi, m in zip(w[1:], others, strict=True):
            if isinstance(m, np.ndarray):
                score += wi * m
            else:
                coo = m.tocoo()
                score[coo.row, coo.col] += wi * coo.data  # csr → coo has no duplicate cells
        local = np.arange(len(rows))
        score[local, rows] = -np.inf
        allowed = self.allowed_kinds_[self.kind_[rows]][:, self.kind_]
        score[~allowed] = -np.inf
        score[score <= self.min_score] = -np.inf
        k = min(top_k, score.shape[1])
        part = (
            np.argpartition(-score, k - 1, axis=1)[:, :k]
            if k < score.shape[1]
            else np.tile(np.arange(score.shape[1]), (len(rows), 1))
        )
        out_rows, out_cols = [], []
        for r in range(len(rows)):
            cols = part[r][np.isfinite(score[r, part[r]])]
            cols = cols[np.lexsort((cols, -score[r, cols]))]
            out_rows.append(np.full(len(cols), r, dtype=np.int64))
            out_cols.append(cols.astype(np.int64))
        rr = np.concatenate(out_rows) if out_rows else np.zeros(0, dtype=np.int64)
        cc = np.concatenate(out_cols) if out_cols else np.zeros(0, dtype=np.int64)
        signals = np.zeros((len(rr), len(SYNERGY_SIGNALS)))
        signals[:, 0] = text[rr, cc]
        for n, matrix in enumerate(others, start=1):
            if len(rr):
                signals[:, n] = (
                    np.asarray(matrix[rr, cc]).ravel() if sparse.issparse(matrix) else matrix[rr, cc]
                )
        return _Candidates(rows[rr], cc, signals)

    # -- public ---------------------------------------------------------------------------------
    def for_partnership(self, partnership_id: str, top_k: int | None = None) -> list[SynergyPair]:
        """The best partners of one partnership, best first, explained (``a`` is the partnership)."""
        j = self.snapshot_.partnership_index.get(partnership_id)
        if j is None:
            raise NotFoundError("partnership", partnership_id)
        kept = self._keep(np.array([j], dtype=np.int64), top_k or self.top_k)
        pairs = [
            self._explain(int(a), int(b), sig)
            for a, b, sig in zip(kept.rows, kept.cols, kept.signals, strict=True)
        ]
        return self._with_recruits(pairs)

    def all_pairs(self, progress: Progress | None = None) -> Iterator[SynergyPair]:
        """Every partnership's top-k partners, each unordered pair once, best first, explained lazily."""
        n = self.snapshot_.n_partnerships
        kept: list[_Candidates] = []
        if progress:
            progress("synergy scores", 0, n)
        for start in range(0, n, self.block):
            rows = np.arange(start, min(start + self.block, n), dtype=np.int64)
            kept.append(self._keep(rows, self.top_k))
            if progress:
                progress("synergy scores", int(rows[-1]) + 1, n)
        if not kept:
            return
        a = np.concatenate([c.rows for c in kept])
        b = np.concatenate([c.cols for c in kept])
        sig = np.concatenate([c.signals for c in kept])
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        _, first = np.unique(lo * n + hi, return_index=True)
        w = np.array([self.weights[name] for name in SYNERGY_SIGNALS])
        scores = sig[first] @ w
        order = first[np.lexsort((lo[first], -scores))]
        total = len(order)
        chunk = 256
        for start in range(0, total, chunk):
            part = order[start : start + chunk]
            pairs = [self._explain(int(lo[i]), int(hi[i]), sig[i]) for i in part]
            yield from self._with_recruits(pairs)
            if progress:
                progress("synergy explanations", min(start + chunk, total), total)

    # -- explanations ---------------------------------------------------------------------------
    def _explain(self, a: int, b: int, sig: npt.NDArray[np.float64]) -> SynergyPair:
        s = self.snapshot_
        contributions = tuple(
            Contribution(name, self.weights[name] * float(sig[n]), self._evidence(name, a, b, float(sig[n])))
            for n, name in enumerate(SYNERGY_SIGNALS)
        )
        shared = np.intersect1d(s.members_of(a), s.members_of(b), assume_unique=True)
        popular = shared[np.lexsort((shared, -s.org_popularity[shared]))][:5]
        bridges = tuple(
            OrgRef(s.org_ids[i], s.org_names[i], TYPE_ORDER[int(s.org_types[i])]) for i in popular
        )
        ta, tb = self.types_present_[a], self.types_present_[b]
        return SynergyPair(
            a_id=s.partnership_ids[a],
            a_name=s.partnership_names[a],
            a_kind=KIND_ORDER[int(s.partnership_kinds[a])],
            b_id=s.partnership_ids[b],
            b_name=s.partnership_names[b],
            b_kind=KIND_ORDER[int(s.partnership_kinds[b])],
            score=sum(c.value for c in contributions),
            contributions=contributions,
            shared_terms=self.shared_terms(a, b),
            bridges=bridges,
            n_shared_members=len(shared),
            overlapping_regions=self.overlapping_regions(a, b),
            shared_ecosystems=tuple(
                e for bit, e in enumerate(ECOSYSTEM_ORDER) if int(self.eco_[a] & self.eco_[b]) >> bit & 1
            ),
            a_brings=tuple(TYPE_ORDER[t] for t in np.flatnonzero(ta & ~tb)),
            b_brings=tuple(TYPE_ORDER[t] for t in np.flatnonzero(tb & ~ta)),
            a_fills=self._fills(a, b),
            b_fills=self._fills(b, a),
            linked=self.linked(a, b, len(shared)),
        )

    def shared_terms(self, a: int, b: int, top: int = 6) -> tuple[str, ...]:
        """The terms weighing most in both texts (largest product of TF-IDF weights)."""
        x = self.tfidf_
        ia, da = x.indices[x.indptr[a] : x.indptr[a + 1]], x.data[x.indptr[a] : x.indptr[a + 1]]
        ib, db = x.indices[x.indptr[b] : x.indptr[b + 1]], x.data[x.indptr[b] : x.indptr[b + 1]]
        common, pa, pb = np.intersect1d(ia, ib, assume_unique=True, return_indices=True)
        if not len(common):
            return ()
        weight = da[pa] * db[pb]
        order = np.lexsort((common, -weight))
        chosen: list[str] = []
        for i in order:
            term = str(self.terms_[common[i]])
            # a unigram already inside a chosen bigram adds nothing (and vice versa)
            if any(term in c.split() or c in term.split() for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == top:
                break
        return tuple(chosen)

    def overlapping_regions(self, a: int, b: int, top: int = 8) -> tuple[str, ...]:
        """Codes both areas contain, at the deepest level where they meet."""
        common = self.areas_[a] & self.areas_[b]
        if not common:
            return ()
        deepest = max(len(c) for c in common)
        return tuple(sorted(c for c in common if len(c) == deepest))[:top]

    def _fills(self, giver: int, taker: int) -> tuple[str, ...]:
        """Labels of ``taker``'s unmet requirements ``giver`` has members for."""
        row = self.can_fill_[giver]
        able = set(row.indices[row.data > 0].tolist())
        return tuple(label for g, label in self.unmet_labels_[taker] if g in able)

    def linked(self, a: int, b: int, n_shared: int) -> tuple[str, ...]:
        s = self.snapshot_
        reasons = []
        if self.parent_index_[b] == a:
            reasons.append(f"{s.partnership_ids[b]} derives from {s.partnership_ids[a]}")
        if self.parent_index_[a] == b:
            reasons.append(f"{s.partnership_ids[a]} derives from {s.partnership_ids[b]}")
        if self.parent_index_[a] >= 0 and self.parent_index_[a] == self.parent_index_[b]:
            reasons.append(f"both derive from {s.partnership_ids[int(self.parent_index_[a])]}")
        smaller = min(self.sizes_[a], self.sizes_[b])
        if n_shared >= self.linked_min_shared and smaller and n_shared / smaller >= self.linked_share:
            reasons.append(f"{n_shared} shared members ({n_shared / smaller:.0%} of the smaller partnership)")
        return tuple(reasons)

    def _evidence(self, name: str, a: int, b: int, value: float) -> str:
        s = self.snapshot_
        if name == "text":
            if not (s.partnership_has_vector[a] and s.partnership_has_vector[b]):
                return "no text embedding for one of the two"
            return f"agreement texts similarity {value:.2f}"
        if name == "members":
            if value <= 0:
                return "no shared members"
            shared = len(np.intersect1d(s.members_of(a), s.members_of(b), assume_unique=True))
            return f"{shared} shared member(s) (Adamic–Adar {value / (1.0 - value):.2f})"

        if name == "ecosystems":
            if not (self.eco_count_[a] and self.eco_count_[b]):
                return "ecosystems not declared on both sides"
            return f"ecosystem overlap (Jaccard) {value:.2f}"
        if name == "regions":
            if self.region_depth_[a] < 0 or self.region_depth_[b] < 0:
                return "no area known on one side"
            return f"area overlap {value:.2f} ({self.area_source_[a]} vs {self.area_source_[b]})"
        needs = int(self.n_unmet_[a] + self.n_unmet_[b])
        if not needs:
            return "neither side has unmet target-mix requirements"
        return f"can help with {round(value * needs)} of the {needs} unmet requirement(s) of the two"

    # -- recruitment ----------------------------------------------------------------------------
    def _with_recruits(self, pairs: list[SynergyPair]) -> list[SynergyPair]:
        """Members of each side that would fit the other, ranked by the candidate recommender."""
        if self.ranker_ is None or self.recruits_per_pair == 0 or not pairs:
            return pairs
        s = self.snapshot_
        # One query per partnership involved, one filter per partner it recruits from.
        wanted: dict[str, list[str]] = {}
        for p in pairs:
            wanted.setdefault(p.a_id, []).append(p.b_id)
            wanted.setdefault(p.b_id, []).append(p.a_id)
        takers = list(wanted)
        queries = [query_for_partnership(s, t) for t in takers]
        filters = [
            [
                CandidateFilters(org_ids=tuple(s.org_ids[i] for i in s.members_of(s.partnership_index[g])))
                for g in wanted[t]
            ]
            for t in takers
        ]
        found = recommend_many(self.ranker_, queries, filters, self.recruits_per_pair)
        lookup: dict[tuple[str, str], tuple[Recruit, ...]] = {}
        for taker, givers, lists in zip(takers, wanted.values(), found, strict=True):
            for giver, recs in zip(givers, lists, strict=True):
                lookup[(giver, taker)] = tuple(self._recruit(r, giver, taker) for r in recs)
        from dataclasses import replace

        return [
            replace(
                p,
                recruits_for_a=lookup.get((p.b_id, p.a_id), ()),
                recruits_for_b=lookup.get((p.a_id, p.b_id), ()),
            )
            for p in pairs
        ]

    def _recruit(self, rec: Recommendation, giver: str, taker: str) -> Recruit:
        s = self.snapshot_
        i = s.org_index[rec.org_id]
        return Recruit(rec.org_id, s.org_names[i], TYPE_ORDER[int(s.org_types[i])], giver, taker, rec)


def _csr(
    data: npt.NDArray[np.floating[Any]],
    row: npt.NDArray[np.int32],
    col: npt.NDArray[np.int32],
    shape: tuple[int, int],
) -> sparse.csr_matrix:
    return sparse.csr_matrix((data.astype(np.float32), (row, col)), shape=shape)
