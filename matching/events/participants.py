"""Attendees of an event as arrays, plus the pair rules (vetoes, requests, met before, groups).

Everything the optimiser reads about attendee ``i`` sits in row ``i`` of a numpy array, so that
scoring 1,000 × 1,000 pairs is a handful of matrix operations. Requests, vetoes and
"met before" pairs are sparse symmetric matrices (few pairs, any row slice is cheap).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.events import Attendee, Event
from domain.regions import nuts_country
from matching.snapshot import ECOSYSTEM_ORDER, TYPE_ORDER, RegionVocabulary, ecosystem_mask, region_levels


@dataclass(frozen=True, eq=False)
class Participants:
    """Row ``i`` of every array describes attendee ``i`` (``ids[i]``)."""

    ids: list[str]
    org_ids: list[str]
    names: list[str]  # organisation names, used in explanations
    offer_texts: list[str]
    want_texts: list[str]
    offer_vectors: npt.NDArray[np.float32]  # (n, d), L2-normalised, zero rows for empty texts
    want_vectors: npt.NDArray[np.float32]
    types: npt.NDArray[np.int16]  # index into TYPE_ORDER
    ecosystems: npt.NDArray[np.uint32]  # bit mask over ECOSYSTEM_ORDER
    regions: npt.NDArray[np.int32]  # (n, 4) region ids of the primary code at levels 0..3
    region_vocab: RegionVocabulary
    wanted_types: npt.NDArray[np.uint32]  # bit mask over TYPE_ORDER
    wanted_ecosystems: npt.NDArray[np.uint32]
    wanted_regions: list[tuple[str, ...]]
    groups: npt.NDArray[np.int16]  # index into the event's groups, -1 without groups
    available: npt.NDArray[np.bool_]  # (n, slots)
    caps: npt.NDArray[np.int64]  # effective cap: min(max meetings, available slots)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def n_slots(self) -> int:
        return int(self.available.shape[1])


@dataclass(frozen=True, eq=False)
class PairRules:
    """Who may not meet, who asked to meet, who met before: symmetric sparse (n × n) matrices.

    ``requests[i, j]`` counts the sides that asked for the meeting (1 or 2); ``vetoes`` and
    ``met_before`` are 1 where the pair is excluded. ``group_allowed[g, h]`` says whether groups
    ``g`` and ``h`` may meet (``None`` when the event has no groups).
    """

    requests: sparse.csr_matrix
    vetoes: sparse.csr_matrix
    met_before: sparse.csr_matrix
    group_allowed: npt.NDArray[np.bool_] | None = None
    requested_by: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)


def pair_matrix(
    n: int, pairs: Iterable[tuple[int, int]], values: Iterable[float] | None = None
) -> sparse.csr_matrix:
    """A symmetric (n × n) matrix with ``value`` at (i, j) and (j, i); duplicates are summed."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    value_iter = iter(values) if values is not None else None
    for i, j in pairs:
        v = next(value_iter) if value_iter is not None else 1.0
        if i == j:
            continue
        rows += [i, j]
        cols += [j, i]
        vals += [v, v]
    m = sparse.csr_matrix((np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n, n))
    m.sum_duplicates()
    return m


def met_before_pairs(org_rows: sparse.spmatrix) -> set[tuple[int, int]]:
    """Pairs of attendees already working together: co-members of at least one partnership.

    ``org_rows`` is the (attendees × partnerships) slice of the snapshot's membership matrix (a
    zero row for an organisation the snapshot does not know); one sparse product finds every pair.
    Attendees of the same organisation are added by :func:`build_participants` itself.
    """
    m = sparse.csr_matrix(org_rows, dtype=np.float32)
    m.data[:] = 1.0
    co = (m @ m.T).tocoo()
    return {(int(i), int(j)) for i, j in zip(co.row, co.col, strict=True) if i < j}


def _resolve(
    refs: Sequence[str], by_id: dict[str, int], by_org: dict[str, list[int]]
) -> tuple[list[int], list[str]]:
    """Attendee indices for references given as attendee ids or, failing that, org ids."""
    found: list[int] = []
    unknown: list[str] = []
    for ref in refs:
        if ref in by_id:
            found.append(by_id[ref])
        elif ref in by_org:
            found.extend(by_org[ref])
        else:
            unknown.append(ref)
    return found, unknown


def build_participants(
    event: Event,
    attendees: Sequence[Attendee],
    offer_vectors: npt.NDArray[np.float32],
    want_vectors: npt.NDArray[np.float32],
    met_before: Iterable[tuple[int, int]] = (),
    asked: Iterable[tuple[str, str]] = (),
    declined: Iterable[tuple[str, str]] = (),
) -> tuple[Participants, PairRules, list[str]]:
    """Arrays and pair rules for ``attendees`` of ``event``; also returns warnings (unknown refs).

    ``met_before`` pairs (e.g. co-members of a partnership) and attendees of the same organisation
    count as having met: excluded unless one of them asks. ``asked`` and ``declined`` are
    ``(attendee id, attendee id)`` pairs from the attendees' own requests: the first asked to meet
    the second (as a ``must_meet`` would), or declined to (as a ``no_thanks`` would); pairs naming
    an attendee no longer registered are ignored. An attendee's effective cap is ``min(max_meetings or the event default, available slots)``:
    nobody can have two meetings in one slot.
    """
    n = len(attendees)
    if offer_vectors.shape[0] != n or want_vectors.shape[0] != n:
        raise ValueError("one offer and one want vector per attendee")
    slot_index = event.slot_index
    group_index = {g: k for k, g in enumerate(event.group_ids())}
    vocab = RegionVocabulary()
    regions = np.full((n, 4), -1, dtype=np.int32)
    available = np.zeros((n, len(event.slots)), dtype=bool)
    caps = np.zeros(n, dtype=np.int64)
    for i, a in enumerate(attendees):
        primary = a.nuts_codes[0] if a.nuts_codes else (nuts_country(a.country) if a.country else None)
        regions[i] = region_levels(primary, vocab)
        if a.availability:
            available[i, [slot_index[s] for s in a.availability if s in slot_index]] = True
        else:
            available[i, :] = True
        cap = event.default_max_meetings if a.max_meetings is None else a.max_meetings
        caps[i] = min(cap, int(available[i].sum()))
    for a in attendees:  # register wanted codes so that region tests are id compares
        for code in a.wanted_regions:
            for level in range(min(len(code) - 2, 3) + 1):
                vocab.id(code[: level + 2])

    participants = Participants(
        ids=[a.attendee_id for a in attendees],
        org_ids=[a.org_id for a in attendees],
        names=[a.org_name for a in attendees],
        offer_texts=[a.offer for a in attendees],
        want_texts=[a.want for a in attendees],
        offer_vectors=np.asarray(offer_vectors, dtype=np.float32),
        want_vectors=np.asarray(want_vectors, dtype=np.float32),
        types=np.array([TYPE_ORDER.index(a.stakeholder_type) for a in attendees], dtype=np.int16),
        ecosystems=np.array([ecosystem_mask(a.ecosystems) for a in attendees], dtype=np.uint32),
        regions=regions,
        region_vocab=vocab,
        wanted_types=np.array(
            [sum(1 << TYPE_ORDER.index(t) for t in a.wanted_types) for a in attendees], dtype=np.uint32
        ),
        wanted_ecosystems=np.array(
            [sum(1 << ECOSYSTEM_ORDER.index(e) for e in a.wanted_ecosystems) for a in attendees],
            dtype=np.uint32,
        ),
        wanted_regions=[a.wanted_regions for a in attendees],
        groups=np.array([group_index.get(a.group or "", -1) for a in attendees], dtype=np.int16),
        available=available,
        caps=caps,
    )

    warnings: list[str] = []
    by_id = {a.attendee_id: i for i, a in enumerate(attendees)}
    by_org: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(attendees):
        by_org[a.org_id].append(i)
    requested_by: dict[tuple[int, int], set[int]] = defaultdict(set)
    veto_pairs: set[tuple[int, int]] = set()
    for i, a in enumerate(attendees):
        wanted, unknown = _resolve(a.must_meet, by_id, by_org)
        for ref in unknown:
            warnings.append(f"{a.attendee_id}: must_meet {ref!r} is not registered; ignored")
        for j in wanted:
            if j != i:
                requested_by[(min(i, j), max(i, j))].add(i)
        vetoed, unknown = _resolve(a.no_thanks, by_id, by_org)
        for ref in unknown:
            warnings.append(f"{a.attendee_id}: no_thanks {ref!r} is not registered; ignored")
        for j in vetoed:
            if j != i:
                veto_pairs.add((min(i, j), max(i, j)))
    for who, whom in asked:
        if who in by_id and whom in by_id and who != whom:
            i, j = by_id[who], by_id[whom]
            requested_by[(min(i, j), max(i, j))].add(i)
    for who, whom in declined:
        if who in by_id and whom in by_id and who != whom:
            i, j = by_id[who], by_id[whom]
            veto_pairs.add((min(i, j), max(i, j)))
    for pair in sorted(set(requested_by) & veto_pairs):
        a_id, b_id = attendees[pair[0]].attendee_id, attendees[pair[1]].attendee_id
        warnings.append(f"request to meet between {a_id} and {b_id} ignored: one of them said 'no thanks'")
    group_allowed = None
    if event.groups:
        ids = event.group_ids()
        group_allowed = np.array([[event.groups_may_meet(g, h) for h in ids] for g in ids], dtype=bool)
    same_org = {
        (a, b) for members in by_org.values() for k, a in enumerate(members) for b in members[k + 1 :]
    }
    rules = PairRules(
        requests=pair_matrix(n, requested_by.keys(), (float(len(v)) for v in requested_by.values())),
        vetoes=pair_matrix(n, veto_pairs),
        met_before=pair_matrix(n, {(min(i, j), max(i, j)) for i, j in met_before} | same_org),
        group_allowed=group_allowed,
        requested_by={k: tuple(sorted(v)) for k, v in requested_by.items()},
    )
    rules.vetoes.data[:] = 1.0
    rules.met_before.data[:] = 1.0
    return participants, rules, warnings
