r"""Reciprocal pair scores for 1:1 meetings, with the contributions that explain them.

Interest of attendee ``i`` in meeting ``j`` (``i`` looks for what ``j`` offers) is a weighted sum of
the signals ``i`` expressed, each in [0, 1]:

* ``text``: cosine of ``i``'s *want* vector and ``j``'s *offer* vector (clipped at 0);
* ``type``: 1 when ``j``'s stakeholder type is one ``i`` asked for;
* ``region``: 1 when ``j`` lies inside a region ``i`` asked for, less for a shared parent region
  (the NUTS tiers of :data:`matching.features.REGION_TIERS`);
* ``ecosystem``: 1 when ``j`` works in an ecosystem ``i`` asked for.

Weights (:data:`SIGNAL_WEIGHTS`) are renormalised over the signals ``i`` expressed, so someone who
only names stakeholder types is scored on types alone; an attendee who expresses nothing is "open
to anyone" with interest :data:`OPEN_INTEREST`. The pair score is reciprocal,

.. math:: s_{ij} = \sqrt{I(i \to j)\, I(j \to i)} + b \cdot r_{ij}

the geometric mean of both directions (a one-sided match, where one side has no interest, scores
0) plus a bonus ``b`` per side that asked to meet (:data:`REQUEST_BONUS`). The geometric mean is
split over the directional contributions in proportion to their size,
``share_k = s · c_k / (I(i→j) + I(j→i))``, so the contributions of a pair add up to its score and
each meeting carries a short "why you should meet".

Scores are computed in row blocks (``block_size`` attendees × everyone), so memory stays at a few
megabytes per block even for several thousand attendees; for events up to ``cache_limit``
attendees (5,000, the most an event holds: 9 bytes a pair, 225 MB at that size, for the length of
a scheduling run) the blocks are kept, because candidate generation, LP pricing and the floor
stage read them again — recomputing them was two thirds of a 5,000-attendee run.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from domain.regions import RegionIndex
from matching.events.participants import PairRules, Participants
from matching.features import REGION_TIERS
from matching.snapshot import ECOSYSTEM_ORDER, NO_REGION, TYPE_ORDER

SIGNALS = ("text", "type", "region", "ecosystem")
SIGNAL_WEIGHTS: dict[str, float] = {"text": 0.6, "type": 0.2, "region": 0.1, "ecosystem": 0.1}
OPEN_INTEREST = 0.5
REQUEST_BONUS = 0.5

#: Why a pair may not meet, in the order a pair is attributed to one reason (for reports).
EXCLUSION_REASONS = ("no thanks", "group rules", "met before", "no common slot", "no capacity")


@dataclass(frozen=True)
class EdgeSet:
    """Undirected candidate meetings ``(u[k], v[k])`` with ``u < v`` and their scores."""

    u: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.u)

    @classmethod
    def empty(cls) -> EdgeSet:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    @classmethod
    def from_pairs(cls, pairs: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> EdgeSet:
        """From an (m, 2) array of pairs in any order; duplicates keep their first score."""
        if len(pairs) == 0:
            return cls.empty()
        lo = np.minimum(pairs[:, 0], pairs[:, 1]).astype(np.int64)
        hi = np.maximum(pairs[:, 0], pairs[:, 1]).astype(np.int64)
        keys = np.stack([lo, hi], axis=1)
        _, first = np.unique(keys, axis=0, return_index=True)
        first = np.sort(first)
        return cls(lo[first], hi[first], np.asarray(scores, dtype=np.float64)[first])

    def keys(self, n: int) -> npt.NDArray[np.int64]:
        """One integer per edge (``u * n + v``) for fast membership tests."""
        return self.u * n + self.v

    def concat(self, other: EdgeSet) -> EdgeSet:
        return EdgeSet(
            np.concatenate([self.u, other.u]),
            np.concatenate([self.v, other.v]),
            np.concatenate([self.score, other.score]),
        )


@dataclass(frozen=True)
class PairContribution:
    """One signal's share of a pair score; ``side`` ``a`` is the first attendee's interest."""

    signal: str
    side: str  # "a" | "b" | "both"
    value: float
    evidence: str


@dataclass
class PartnerCounts:
    """Per attendee: how many partners are compatible, with positive score, excluded by reason."""

    compatible: npt.NDArray[np.int64]
    positive: npt.NDArray[np.int64]
    excluded: dict[str, npt.NDArray[np.int64]]


class PairScorer:
    """Scores, compatibility and explanations for every pair of an event's attendees.

    Examples
    --------
    >>> scorer = PairScorer(participants, rules)  # doctest: +SKIP
    >>> edges, counts = scorer.candidate_edges(top_n=18)  # doctest: +SKIP
    >>> scorer.explain(0, 1)  # doctest: +SKIP
    """

    def __init__(
        self,
        participants: Participants,
        rules: PairRules,
        *,
        weights: dict[str, float] | None = None,
        block_size: int = 512,
        cache_limit: int = 5000,
    ) -> None:
        self.p = participants
        self.rules = rules
        self.weights = dict(weights or SIGNAL_WEIGHTS)
        if set(self.weights) != set(SIGNALS) or any(w < 0 for w in self.weights.values()):
            raise ValueError(f"weights must give a non-negative weight to each of {SIGNALS}")
        self.block_size = block_size
        self._cache: dict[int, tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]] | None = (
            {} if participants.n <= cache_limit else None
        )

    # -- per-attendee weights -------------------------------------------------------------------
    @cached_property
    def expressed(self) -> npt.NDArray[np.bool_]:
        """(n, 4): which signals each attendee expressed (a want text, types, regions, ecosystems)."""
        p = self.p
        has_text = np.abs(p.want_vectors).sum(axis=1) > 0
        has_regions = np.array([bool(r) for r in p.wanted_regions], dtype=bool)
        return np.stack([has_text, p.wanted_types != 0, has_regions, p.wanted_ecosystems != 0], axis=1)

    @cached_property
    def signal_weights(self) -> npt.NDArray[np.float64]:
        """(n, 4): weights renormalised over what each attendee expressed (rows of zeros when nothing)."""
        base = np.array([self.weights[s] for s in SIGNALS], dtype=np.float64)
        w = self.expressed * base[None, :]
        total = w.sum(axis=1, keepdims=True)
        out: npt.NDArray[np.float64] = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        return out

    @cached_property
    def open_to_anyone(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.signal_weights.sum(axis=1) == 0)

    # -- signals --------------------------------------------------------------------------------
    def _region_tiers(
        self, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = np.zeros((len(rows), len(cols)))
        vocab = self.p.region_vocab
        regions = self.p.regions[cols]
        for r, i in enumerate(rows):
            for code in self.p.wanted_regions[i]:
                level = min(len(code) - 2, 3)
                code_id = vocab.lookup(code)
                inside = (regions[:, level] == code_id) & (code_id != NO_REGION)
                best = np.where(inside, 1.0, 0.0)
                for lv in range(level - 1, -1, -1):
                    shared = regions[:, lv] == vocab.lookup(code[: lv + 2])
                    best = np.maximum(
                        best, np.where(shared & (regions[:, lv] != NO_REGION), REGION_TIERS[lv], 0.0)
                    )
                out[r] = np.maximum(out[r], best)
        return out

    def signals(self, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """(4, len(rows), len(cols)): raw signal values of ``rows`` wanting what ``cols`` offer."""
        p = self.p
        text = np.clip(p.want_vectors[rows] @ p.offer_vectors[cols].T, 0.0, 1.0).astype(np.float64)
        types = ((p.wanted_types[rows][:, None] >> p.types[cols].astype(np.uint32)[None, :]) & 1).astype(
            np.float64
        )
        eco = ((p.wanted_ecosystems[rows][:, None] & p.ecosystems[cols][None, :]) != 0).astype(np.float64)
        region = self._region_tiers(rows, cols)
        return np.stack([text, types, region, eco])

    def interest(self, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """I(i → j) for i in ``rows``, j in ``cols``: how much ``i`` wants what ``j`` offers, in [0, 1]."""
        sig = self.signals(rows, cols)
        w = self.signal_weights[rows]
        value = np.einsum("src,rs->rc", sig, w)
        value[self.open_to_anyone[rows]] = OPEN_INTEREST
        return np.asarray(value)

    # -- pairs ----------------------------------------------------------------------------------
    def blocks(
        self,
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]]:
        """``(rows, scores, allowed)`` per block of rows; scores are 0 where a pair is not allowed."""
        for start in range(0, self.p.n, self.block_size):
            rows = np.arange(start, min(start + self.block_size, self.p.n), dtype=np.int64)
            if self._cache is not None and start in self._cache:
                scores, allowed = self._cache[start]
            else:
                scores, allowed = self._block(rows)
                if self._cache is not None:
                    self._cache[start] = (scores, allowed)
            yield rows, scores, allowed

    def _block(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        everyone = np.arange(self.p.n, dtype=np.int64)
        forward = self.interest(rows, everyone)
        backward = self.interest(everyone, rows).T
        requests = self.rules.requests[rows].toarray()
        scores = np.sqrt(forward * backward) + REQUEST_BONUS * requests
        allowed, _ = self._allowed(rows, requests)
        scores[~allowed] = 0.0
        return scores, allowed

    def _allowed(
        self, rows: npt.NDArray[np.int64], requests: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.bool_], dict[str, npt.NDArray[np.bool_]]]:
        """Which pairs may meet, and the mask of pairs excluded by each reason (first reason wins)."""
        p, rules = self.p, self.rules
        n = p.n
        allowed = np.ones((len(rows), n), dtype=bool)
        allowed[np.arange(len(rows)), rows] = False
        masks: dict[str, npt.NDArray[np.bool_]] = {}

        def exclude(reason: str, mask: npt.NDArray[np.bool_]) -> None:
            hit = mask & allowed
            masks[reason] = hit
            allowed[hit] = False

        exclude("no thanks", rules.vetoes[rows].toarray() > 0)
        if rules.group_allowed is not None:
            g_rows, g_all = p.groups[rows], p.groups
            ok = np.zeros((len(rows), n), dtype=bool)
            valid = (g_rows[:, None] >= 0) & (g_all[None, :] >= 0)
            ok[valid] = rules.group_allowed[np.maximum(g_rows, 0)][:, np.maximum(g_all, 0)][valid]
            exclude("group rules", ~ok)
        exclude("met before", (rules.met_before[rows].toarray() > 0) & (requests == 0))
        common = p.available[rows].astype(np.int32) @ p.available.T.astype(np.int32)
        exclude("no common slot", common == 0)
        exclude("no capacity", (p.caps[rows][:, None] == 0) | (p.caps[None, :] == 0))
        return allowed, masks

    def rows(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Scores and allowed masks of ``rows`` against everyone (0 where a pair may not meet):
        what the floor stage reads for the few attendees it has to find partners for."""
        return self._block(np.asarray(rows, dtype=np.int64))

    def score(self, i: int, j: int) -> float:
        """The score of one pair (0 when it may not meet)."""
        scores, _ = self._block(np.array([i], dtype=np.int64))
        return float(scores[0, j])

    def pair_scores(self, u: npt.NDArray[np.int64], v: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Scores of the given pairs (vectorised over blocks)."""
        out = np.zeros(len(u))
        if not len(u):
            return out
        for rows, scores, _ in self.blocks():
            sel = (u >= rows[0]) & (u <= rows[-1])
            out[sel] = scores[u[sel] - rows[0], v[sel]]
        return out

    def candidate_edges(self, top_n: int) -> tuple[EdgeSet, PartnerCounts]:
        """Each attendee's ``top_n`` best compatible partners (positive score), plus every allowed
        requested pair; and per-attendee partner counts for the unmatched report."""
        n = self.p.n
        compatible = np.zeros(n, dtype=np.int64)
        positive = np.zeros(n, dtype=np.int64)
        excluded = {r: np.zeros(n, dtype=np.int64) for r in EXCLUSION_REASONS}
        pairs: list[npt.NDArray[np.int64]] = []
        for rows, scores, allowed in self.blocks():
            requests = self.rules.requests[rows].toarray()
            _, masks = self._allowed(rows, requests)
            for reason, mask in masks.items():
                excluded[reason][rows] = mask.sum(axis=1)
            compatible[rows] = allowed.sum(axis=1)
            good = allowed & (scores > 0)
            positive[rows] = good.sum(axis=1)
            ranked = np.where(good, scores, -1.0)
            k = min(top_n, n - 1)
            if k > 0:
                top = np.argpartition(-ranked, k - 1, axis=1)[:, :k] if k < n else np.argsort(-ranked, axis=1)
                r_idx = np.repeat(np.arange(len(rows)), top.shape[1])
                c_idx = top.ravel()
                keep = good[r_idx, c_idx]
                pairs.append(np.stack([rows[r_idx[keep]], c_idx[keep]], axis=1))
            req_r, req_c = np.nonzero((requests > 0) & allowed)
            pairs.append(np.stack([rows[req_r], req_c], axis=1))
        stacked = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
        edges = EdgeSet.from_pairs(stacked.astype(np.int64), np.zeros(len(stacked)))
        edges = EdgeSet(edges.u, edges.v, self.pair_scores(edges.u, edges.v))
        return edges, PartnerCounts(compatible, positive, excluded)

    def price(
        self,
        cap_duals: npt.NDArray[np.float64],
        floor_duals: npt.NDArray[np.float64],
        total_dual: float,
        known: EdgeSet,
        per_row: int = 10,
        tol: float = 1e-6,
    ) -> tuple[EdgeSet, float]:
        """Pairs outside ``known`` with positive LP reduced cost (column generation), and the sum of
        all positive reduced costs outside ``known``.

        For the selection LP of :mod:`matching.events.selection`, a pair's reduced cost is
        ``rc_ij = s_ij − y_i − y_j + f_i + f_j − t`` (``y`` the cap duals, ``f`` the floor duals, ``t``
        the dual of the room's capacity). By weak duality, the LP value over ``known`` plus
        ``Σ max(0, rc_ij)`` over every other pair bounds the LP over *all* pairs (each missing
        ``x_ij ≤ 1`` gets the dual ``max(0, rc_ij)``), so the returned excess turns a restricted LP
        into a valid bound for the full problem even before pricing has converged; when nothing
        is priced out the excess is 0 and the restricted LP is optimal for all pairs.
        """
        n = self.p.n
        known_keys = np.sort(known.keys(n))
        found: list[npt.NDArray[np.int64]] = []
        excess = 0.0
        for rows, scores, allowed in self.blocks():
            rc = (
                scores
                - cap_duals[rows][:, None]
                - cap_duals[None, :]
                + floor_duals[rows][:, None]
                + floor_duals[None, :]
            )
            rc = rc - total_dual
            ok = allowed & (scores > 0) & (rc > 0)
            ok &= rows[:, None] < np.arange(n)[None, :]  # each unordered pair once
            r_idx, c_idx = np.nonzero(ok)
            if not len(r_idx):
                continue
            u = rows[r_idx]
            keys = u * n + c_idx
            if len(known_keys):
                pos = np.minimum(np.searchsorted(known_keys, keys), len(known_keys) - 1)
                new = known_keys[pos] != keys
            else:
                new = np.ones(len(keys), dtype=bool)
            r_idx, c_idx, u = r_idx[new], c_idx[new], u[new]
            values = rc[r_idx, c_idx]
            excess += float(values.sum())
            big = values > tol
            r_idx, c_idx, u, values = r_idx[big], c_idx[big], u[big], values[big]
            if not len(u):
                continue
            # Keep the most violated per row, so one round cannot add a dense block.
            order = np.lexsort((-values, r_idx))
            r_sorted = r_idx[order]
            rank = np.arange(len(order)) - np.searchsorted(r_sorted, r_sorted)
            chosen = order[rank < per_row]
            found.append(np.stack([u[chosen], c_idx[chosen]], axis=1))
        if not found:
            return EdgeSet.empty(), excess
        pairs = np.concatenate(found).astype(np.int64)
        edges = EdgeSet.from_pairs(pairs, np.zeros(len(pairs)))
        return EdgeSet(edges.u, edges.v, self.pair_scores(edges.u, edges.v)), excess

    # -- explanations ---------------------------------------------------------------------------
    @cached_property
    def _tokens(self) -> tuple[list[list[str]], list[list[str]]]:
        """Words of every offer and want text, tokenised once for all explanations."""
        return [_words(t) for t in self.p.offer_texts], [_words(t) for t in self.p.want_texts]

    @cached_property
    def term_frequency(self) -> Counter[str]:
        """In how many attendees' texts each word occurs: rare shared words explain a match best."""
        counts: Counter[str] = Counter()
        for offer, want in zip(*self._tokens, strict=True):
            counts.update(set(offer) | set(want))
        return counts

    def _pair_signals(self, i: int, j: int) -> npt.NDArray[np.float64]:
        """The four raw signals of ``i`` wanting what ``j`` offers (scalar path of :meth:`signals`)."""
        p = self.p
        text = min(max(float(p.want_vectors[i] @ p.offer_vectors[j]), 0.0), 1.0)
        kind = float((int(p.wanted_types[i]) >> int(p.types[j])) & 1)
        region = float(self._region_tiers(np.array([i]), np.array([j]))[0, 0]) if p.wanted_regions[i] else 0.0
        eco = float((int(p.wanted_ecosystems[i]) & int(p.ecosystems[j])) != 0)
        return np.array([text, kind, region, eco])

    def _directional(self, i: int, j: int) -> list[tuple[str, float, str]]:
        """``(signal, weighted value, evidence)`` of ``i``'s interest in ``j``."""
        p = self.p
        if self.open_to_anyone[i]:
            return [("open", OPEN_INTEREST, f"{p.names[i]} is open to meeting anyone")]
        sig = self._pair_signals(i, j)
        w = self.signal_weights[i]
        out: list[tuple[str, float, str]] = []
        for k, name in enumerate(SIGNALS):
            value = float(w[k] * sig[k])
            if value <= 0:
                continue
            out.append((name, value, self._evidence(name, i, j, float(sig[k]))))
        return out

    def _evidence(self, signal: str, i: int, j: int, raw: float) -> str:
        p = self.p
        who, other = p.names[i], p.names[j]
        if signal == "text":
            offers, wants = self._tokens
            terms = _shared(wants[i], set(offers[j]), self.term_frequency)
            if terms:
                return f"{other} offers {', '.join(terms)}, which {who} looks for (similarity {raw:.2f})"
            return f'{other}\'s offer matches what {who} looks for: "{snippet(p.want_texts[i])}" (similarity {raw:.2f})'
        if signal == "type":
            return f"{other} is a {TYPE_ORDER[int(p.types[j])].label}, a type {who} asked to meet"
        if signal == "region":
            code = self._region_hit(i, j)
            return f"{other} is in {region_label(code)}, where {who} looks for partners"
        if signal == "ecosystem":
            shared = int(p.wanted_ecosystems[i]) & int(p.ecosystems[j])
            names = [e.label for b, e in enumerate(ECOSYSTEM_ORDER) if shared >> b & 1]
            return f"{other} works in {', '.join(names)}, an ecosystem {who} asked for"
        raise ValueError(f"unknown signal {signal!r}")

    def _region_hit(self, i: int, j: int) -> str:
        """The deepest region ``j`` shares with ``i``'s wishes (for the explanation)."""
        vocab, row = self.p.region_vocab, self.p.regions[j]
        best, best_level = "", -1
        for code in self.p.wanted_regions[i]:
            level = min(len(code) - 2, 3)
            for lv in range(level, -1, -1):
                if row[lv] != NO_REGION and row[lv] == vocab.lookup(code[: lv + 2]) and lv > best_level:
                    best, best_level = code[: lv + 2], lv
                    break
        return best

    def explain(self, a: int, b: int) -> list[PairContribution]:
        """Contributions to the score of pair (a, b), largest first; they add up to the score."""
        forward = self._directional(a, b)
        backward = self._directional(b, a)
        total_a = sum(v for _, v, _ in forward)
        total_b = sum(v for _, v, _ in backward)
        mean = float(np.sqrt(total_a * total_b))
        out: list[PairContribution] = []
        if mean > 0:
            scale = mean / (total_a + total_b)
            out += [PairContribution(s, "a", v * scale, e) for s, v, e in forward]
            out += [PairContribution(s, "b", v * scale, e) for s, v, e in backward]
        who = self.rules.requested_by.get((min(a, b), max(a, b)), ())
        if who:
            names = self.p.names
            if len(who) == 2:
                out.append(PairContribution("requested", "both", 2 * REQUEST_BONUS, "both asked to meet"))
            else:
                k = who[0]
                side = "a" if k == a else "b"
                other = b if k == a else a
                out.append(
                    PairContribution(
                        "requested", side, REQUEST_BONUS, f"{names[k]} asked to meet {names[other]}"
                    )
                )
        out.sort(key=lambda c: -c.value)
        return out


_WORD = re.compile(r"[^\W\d_][\w-]{3,}", re.UNICODE)
_EXTRA_STOP = frozenset(
    {"project", "projects", "partner", "partners", "looking", "offer", "offers", "offering"}
)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def shared_terms(want: str, offer: str, frequency: Counter[str] | None = None, limit: int = 4) -> list[str]:
    """Content words (4+ letters, no stop words) of ``want`` that also occur in ``offer``.

    A lexical hint to go with the embedding similarity: people trust "you both mention *battery
    recycling*" more than a number. With ``frequency`` (how many attendees use each word) the rarest
    shared words come first, since "data" or "research" is shared by half the room; otherwise they
    keep their order in ``want``.
    """
    return _shared(_words(want), set(_words(offer)), frequency, limit)


def _shared(
    want: list[str], offered: set[str], frequency: Counter[str] | None = None, limit: int = 4
) -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # lazy: sklearn is slow to import

    shared = [
        w
        for w in dict.fromkeys(want)
        if w in offered and w not in ENGLISH_STOP_WORDS and w not in _EXTRA_STOP
    ]
    if frequency is not None:
        shared.sort(key=lambda w: frequency.get(w, 0))  # stable: ties keep the want order
    return shared[:limit]


def snippet(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"


def region_label(code: str) -> str:
    if not code:
        return "a region"
    label = RegionIndex.default().label(code)
    return f"{label} ({code})" if label != code else code
