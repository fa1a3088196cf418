"""Temporal hide-and-rank splits: fit on the past, ask about the future.

A random split would let a recommender learn a consortium from its own later siblings (the same
partners re-apply together year after year), so every split here is by start date: projects that
start before ``cut`` are history, projects that start on or after it are test cases. Each test
project keeps half of its members visible (what a coordinator already has) and hides the rest
(who really joined); a recommender is judged by how high it ranks the hidden ones.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from domain.models import Membership, Partnership

#: Test projects need this many distinct members: half hidden, at least two visible.
MIN_MEMBERS = 4


@dataclass(frozen=True)
class TestCase:
    """One hide-and-rank question: given ``visible`` and the project's text, find ``hidden``.

    ``cold_hidden`` are the hidden members with no membership before the cut (newcomers).
    """

    partnership_id: str
    start: date
    visible: tuple[str, ...]
    hidden: tuple[str, ...]
    cold_hidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemporalSplit:
    """History partnerships (start < ``cut``) and the test cases after the cut."""

    cut: date
    end: date | None
    history: frozenset[str]  # partnership ids whose memberships the recommenders may see
    cases: tuple[TestCase, ...]
    left_out: dict[str, int] = field(default_factory=dict)  # reason → number of projects

    @property
    def cold_cases(self) -> tuple[TestCase, ...]:
        return tuple(c for c in self.cases if c.cold_hidden)


def hide_members(
    partnership_id: str, members: Iterable[str], seed: int = 0
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a consortium into (visible, hidden): ``n // 2`` hidden, the rest visible.

    The shuffle is seeded by ``seed`` *and* the project id, so a project's split does not depend on
    which other projects are in the run (``--max-test-projects`` samples keep the same splits).

    >>> hide_members("P1", ["a", "b", "c", "d", "e"], seed=0)[1].__len__()
    2
    """
    ordered = sorted(set(members))
    if len(ordered) < MIN_MEMBERS:
        raise ValueError(
            f"project {partnership_id!r} has {len(ordered)} members; hide-and-rank needs {MIN_MEMBERS}"
        )
    rng = np.random.default_rng([seed, zlib.crc32(partnership_id.encode("utf-8"))])
    order = rng.permutation(len(ordered))
    n_hidden = len(ordered) // 2
    hidden = tuple(sorted(ordered[i] for i in order[:n_hidden]))
    visible = tuple(sorted(ordered[i] for i in order[n_hidden:]))
    return visible, hidden


def temporal_split(
    partnerships: Sequence[Partnership],
    memberships: Sequence[Membership],
    cut: date,
    *,
    end: date | None = None,
    seed: int = 0,
    incomplete: Collection[str] = frozenset(),
    max_cases: int | None = None,
) -> TemporalSplit:
    """History before ``cut``; test cases from projects starting in ``[cut, end)``.

    Projects without a start date cannot be placed in time and are left out of both sides;
    ``incomplete`` projects (consortium only partly listed) are left out of the test cases but
    their memberships before the cut stay in history, since they did happen. ``max_cases`` keeps
    a seeded random sample (for quick runs), not the first projects, so the sample spans the period.
    """
    if end is not None and end <= cut:
        raise ValueError(f"the test period must end after it starts: cut {cut}, end {end}")
    members: dict[str, set[str]] = defaultdict(set)
    for m in memberships:
        members[m.partnership_id].add(m.org_id)
    history: set[str] = set()
    left_out: Counter[str] = Counter()
    candidates: list[Partnership] = []
    for p in partnerships:
        if p.start_date is None:
            left_out["no start date"] += 1
        elif p.start_date < cut:
            history.add(p.partnership_id)
        elif end is not None and p.start_date >= end:
            left_out["after the test period"] += 1
        elif p.partnership_id in incomplete:
            left_out["consortium incomplete"] += 1
        elif len(members.get(p.partnership_id, ())) < MIN_MEMBERS:
            left_out[f"fewer than {MIN_MEMBERS} members"] += 1
        else:
            candidates.append(p)
    candidates.sort(key=lambda p: (p.start_date or cut, p.partnership_id))
    if max_cases is not None and len(candidates) > max_cases:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(candidates), size=max_cases, replace=False))
        left_out["not sampled (--max-test-projects)"] += len(candidates) - max_cases
        candidates = [candidates[int(i)] for i in keep]
    seen_before = {m.org_id for m in memberships if m.partnership_id in history}
    cases = []
    for p in candidates:
        visible, hidden = hide_members(p.partnership_id, members[p.partnership_id], seed)
        assert p.start_date is not None
        cases.append(
            TestCase(
                p.partnership_id,
                p.start_date,
                visible,
                hidden,
                tuple(h for h in hidden if h not in seen_before),
            )
        )
    return TemporalSplit(
        cut=cut, end=end, history=frozenset(history), cases=tuple(cases), left_out=dict(left_out)
    )
