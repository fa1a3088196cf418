"""Synthetic consortia with known structure, for tests and benchmarks at chosen sizes.

Organisations belong to communities (a topic in a country); projects draw most members from one
community, some from its topic abroad, and reuse partners of the community's earlier projects,
which is the structure real consortia have (repeat partners, shared topics, national clusters).
Real-data runs use the CORDIS files; this generator makes the same code testable offline and
scalable to any number of organisations (``bench/bench_ranker.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from domain.models import Membership, Organisation, Partnership, Role, StakeholderType

TOPICS = (
    ("battery", "cells", "storage", "lithium"), ("wind", "turbine", "offshore", "blade"),
    ("vaccine", "immune", "clinical", "antibody"), ("soil", "crop", "farming", "irrigation"),
    ("robot", "automation", "manipulator", "factory"), ("textile", "fibre", "fashion", "recycling"),
    ("tourism", "heritage", "museum", "visitors"), ("steel", "furnace", "hydrogen", "emissions"),
    ("software", "cloud", "security", "data"), ("bridge", "concrete", "building", "timber"),
)  # fmt: skip
COUNTRIES = ("DE", "FR", "IT", "ES", "NL", "BE", "PL", "AT", "SE", "PT", "EL", "FI")
TYPES = (
    StakeholderType.SME, StakeholderType.LARGE_EMPLOYER, StakeholderType.HIGHER_EDUCATION,
    StakeholderType.RESEARCH_ORGANISATION, StakeholderType.NATIONAL_PUBLIC_BODY, StakeholderType.CIVIL_SOCIETY_NGO,
)  # fmt: skip


@dataclass(frozen=True)
class SyntheticConsortia:
    organisations: list[Organisation]
    partnerships: list[Partnership]
    memberships: list[Membership]


def synthetic_consortia(
    n_orgs: int = 400,
    n_projects: int = 300,
    *,
    start: date = date(2014, 1, 1),
    years: int = 6,
    seed: int = 0,
    members: tuple[int, int] = (4, 9),
) -> SyntheticConsortia:
    """Organisations, projects (one start date each, spread over ``years``) and memberships."""
    rng = np.random.default_rng(seed)
    n_comm = len(TOPICS) * 3
    community = rng.integers(0, n_comm, n_orgs)
    topic = community % len(TOPICS)
    country = np.array([COUNTRIES[(c // len(TOPICS) * 5 + c) % len(COUNTRIES)] for c in community])
    types = rng.integers(0, len(TYPES), n_orgs)
    activity = rng.pareto(1.5, n_orgs) + 0.2  # a few very active organisations, as in real data
    orgs = []
    for i in range(n_orgs):
        words = TOPICS[topic[i]]
        t = TYPES[types[i]]
        orgs.append(
            Organisation(
                org_id=f"O{i:06d}",
                name=f"{words[i % 4].title()} {words[(i + 1) % 4]} {t.label} {i}",
                stakeholder_type=t,
                sme=t == StakeholderType.SME,
                country=str(country[i]),
            )
        )
    by_comm = [np.flatnonzero(community == c) for c in range(n_comm)]
    by_topic = [np.flatnonzero(topic == t) for t in range(len(TOPICS))]
    past: dict[int, list[int]] = {}
    partnerships, memberships = [], []
    days = years * 365
    for j in range(n_projects):
        c = int(rng.integers(0, n_comm))
        pool = by_comm[c]
        if len(pool) < 2:
            continue
        size = int(rng.integers(members[0], members[1] + 1))
        chosen: set[int] = set()
        reuse = past.get(c, [])
        if reuse:
            take = min(len(reuse), size // 2)
            chosen.update(int(x) for x in rng.choice(reuse, take, replace=False))
        w = activity[pool] / activity[pool].sum()
        chosen.update(int(x) for x in rng.choice(pool, min(len(pool), size), replace=False, p=w))
        abroad = by_topic[c % len(TOPICS)]
        chosen.update(int(x) for x in rng.choice(abroad, min(2, len(abroad)), replace=False))
        chosen_list = sorted(chosen)[: members[1] + 2]
        past.setdefault(c, []).extend(chosen_list)
        past[c] = past[c][-30:]
        words = TOPICS[c % len(TOPICS)]
        pid = f"P{j:06d}"
        partnerships.append(
            Partnership(
                partnership_id=pid,
                name=f"{words[0].upper()}-{j}",
                description=f"Advanced {words[j % 4]} and {words[(j + 2) % 4]} for European {words[(j + 1) % 4]}",
                start_date=start + timedelta(days=int(j * days / n_projects)),
            )
        )
        for n, i in enumerate(chosen_list):
            memberships.append(
                Membership(
                    org_id=orgs[i].org_id,
                    partnership_id=pid,
                    role=Role.COORDINATOR if n == 0 else Role.MEMBER,
                )
            )
    return SyntheticConsortia(orgs, partnerships, memberships)
