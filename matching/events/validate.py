"""Invariants every schedule must satisfy, checked independently of how it was built.

The scheduler runs these on its own output (a violated invariant is a bug, never a result to hand
to an organiser), and the property tests run them on random events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matching.events.participants import PairRules, Participants


@dataclass(frozen=True)
class PlacedMeeting:
    a: int
    b: int
    slot: int
    table: int


def schedule_violations(
    participants: Participants, rules: PairRules, tables: int, meetings: Sequence[PlacedMeeting]
) -> list[str]:
    """Human-readable violations (empty list when the schedule is valid)."""
    p = participants
    out: list[str] = []
    per_slot_person: Counter[tuple[int, int]] = Counter()
    per_slot: Counter[int] = Counter()
    tables_used: Counter[tuple[int, int]] = Counter()
    degree: Counter[int] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    for m in meetings:
        a, b, s = m.a, m.b, m.slot
        pair = (min(a, b), max(a, b))
        pairs[pair] += 1
        if a == b:
            out.append(f"{p.ids[a]} meets themselves")
        if not 0 <= s < p.n_slots:
            out.append(f"meeting {p.ids[a]}–{p.ids[b]} has no valid slot ({s})")
            continue
        if not 1 <= m.table <= tables:
            out.append(f"meeting {p.ids[a]}–{p.ids[b]} at table {m.table} outside 1..{tables}")
        per_slot_person[(a, s)] += 1
        per_slot_person[(b, s)] += 1
        per_slot[s] += 1
        tables_used[(s, m.table)] += 1
        degree[a] += 1
        degree[b] += 1
        for x in (a, b):
            if not p.available[x, s]:
                out.append(f"{p.ids[x]} is not available in slot {s}")
        requested = rules.requests[a, b] > 0
        if rules.vetoes[a, b] > 0:
            out.append(f"{p.ids[a]}–{p.ids[b]}: a 'no thanks' pair was scheduled")
        if rules.met_before[a, b] > 0 and not requested:
            out.append(f"{p.ids[a]}–{p.ids[b]}: already work together and did not ask to meet")
        if rules.group_allowed is not None:
            ga, gb = int(p.groups[a]), int(p.groups[b])
            if ga < 0 or gb < 0 or not rules.group_allowed[ga, gb]:
                out.append(f"{p.ids[a]}–{p.ids[b]}: their groups may not meet")
    for (x, s), count in per_slot_person.items():
        if count > 1:
            out.append(f"{p.ids[x]} has {count} meetings in slot {s}")
    for s, count in per_slot.items():
        if count > tables:
            out.append(f"slot {s} has {count} meetings for {tables} tables")
    for (s, t), count in tables_used.items():
        if count > 1:
            out.append(f"table {t} is used {count} times in slot {s}")
    for x, count in degree.items():
        if count > int(p.caps[x]):
            out.append(f"{p.ids[x]} has {count} meetings, above the cap of {int(p.caps[x])}")
    for (a, b), count in pairs.items():
        if count > 1:
            out.append(f"{p.ids[a]}–{p.ids[b]} meet {count} times")
    return out


def degrees(n: int, meetings: Sequence[PlacedMeeting]) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    for m in meetings:
        out[m.a] += 1
        out[m.b] += 1
    return out
