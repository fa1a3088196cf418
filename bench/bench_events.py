"""Benchmark: match-making schedules for 1,000, 5,000 and 200 attendees (prints figures, asserts nothing).

Attendees come from real CORDIS organisations when ``--data`` (default ``../shared/data/consortia``)
is present: a seeded sample of organisations with at least two titled projects, offers and wants
derived from their profiles exactly as ``pactmatch event register-from-store`` does, "met before"
from their shared projects. Otherwise they are synthetic (topics, types and regions drawn at
random). The run prints which.

Attendees' accepted requests are drawn so that about ``--request-share`` (30 %) of the meetings
come from them: each is a pair from one side's best candidates, at most half their cap per
attendee, passed to the scheduler as a must-hold meeting and a two-sided request, as the service
does. For 1,000 attendees, 8 slots and caps of 6 it reports the time by phase (target: under 30 s),
the objective against the LP bound (target: within 1 %), attendees below the floor where it is
reachable (target: none) and the comparison with a score-greedy baseline over *all* pairs; then the
same for ``--large`` attendees (5,000: report time and gap, goal within 1 % under 5 min), and the
time to schedule 200 attendees.

    .venv/bin/python bench/bench_events.py [--data ../shared/data/consortia] [--encoder hashing|minilm]
        [--attendees 1000] [--large 5000] [--request-share 0.3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from domain.events import Attendee, Event, TimeSlot
from domain.models import Organisation, StakeholderType
from embeddings import make_encoder
from matching.events import PairRules, Participants, Pin, ScheduleOptions, build_participants, plan_meetings
from matching.events.scoring import EdgeSet, PairScorer
from matching.events.selection import SelectionProblem, greedy
from pactmatch.event_profiles import partnership_title, profile_wishes


@dataclass
class Population:
    attendees: list[Attendee]
    met_before: set[tuple[int, int]]
    source: str


def make_event(n_slots: int, tables: int, cap: int, floor: int) -> Event:
    start = datetime(2025, 6, 3, 9, 0)
    return Event(
        event_id="bench",
        name="Benchmark brokerage",
        date=date(2025, 6, 3),
        slots=tuple(
            TimeSlot(slot_id=f"s{k + 1}", start=start + timedelta(minutes=25 * k), duration_minutes=20)
            for k in range(n_slots)
        ),
        tables=tables,
        default_max_meetings=cap,
        min_meetings=floor,
    )


def availability(rng: random.Random, n_slots: int, share: float) -> tuple[str, ...]:
    """Most attendees stay all day; some leave early or arrive late (a contiguous block)."""
    if rng.random() < share:
        return ()
    length = rng.randint(max(2, n_slots // 2), n_slots - 1)
    first = rng.randint(0, n_slots - length)
    return tuple(f"s{k + 1}" for k in range(first, first + length))


def cordis_population(data: Path, n: int, n_slots: int, seed: int) -> Population:
    from pactmatch.importers import read_cordis

    batch = read_cordis(data / "projects.csv", data / "participants.csv")
    orgs = {o.org_id: o for o in batch.organisations}
    projects = {p.partnership_id: p for p in batch.partnerships}
    by_org: dict[str, list[str]] = defaultdict(list)
    by_project: dict[str, list[str]] = defaultdict(list)
    for m in batch.memberships:
        by_org[m.org_id].append(m.partnership_id)
        by_project[m.partnership_id].append(m.org_id)
    eligible = sorted(
        o for o, ps in by_org.items() if sum(1 for p in ps if partnership_title(projects[p])) >= 2
    )
    rng = random.Random(seed)
    chosen = rng.sample(eligible, n)
    attendees = []
    for k, org_id in enumerate(chosen):
        org: Organisation = orgs[org_id]
        partner_types: Counter[StakeholderType] = Counter()
        partners = {o for p in by_org[org_id] for o in by_project[p] if o != org_id}
        partner_types.update(
            orgs[o].stakeholder_type for o in sorted(partners)
        )  # sorted: ties in a fixed order
        wishes = profile_wishes(org, [projects[p] for p in by_org[org_id]], partner_types)
        attendees.append(
            Attendee(
                attendee_id=f"a{k}",
                org_id=org_id,
                org_name=org.name,
                person="Delegate",
                stakeholder_type=org.stakeholder_type,
                country=org.country,
                nuts_codes=org.nuts_codes,
                offer=wishes.offer,
                want=wishes.want,
                wanted_types=wishes.wanted_types,
                availability=availability(rng, n_slots, 0.8),
            )
        )
    index = {a.org_id: i for i, a in enumerate(attendees)}
    met: set[tuple[int, int]] = set()
    for org_id, i in index.items():
        for p in by_org[org_id]:
            for other in by_project[p]:
                j = index.get(other)
                if j is not None and j != i:
                    met.add((min(i, j), max(i, j)))
    return Population(attendees, met, f"CORDIS: {n} of {len(eligible)} organisations with 2+ titled projects")


TOPICS = (
    "battery recycling", "hydrogen storage", "digital skills training", "welding apprenticeships", "tourism marketing",
    "textile circularity", "AI for healthcare", "green construction", "agri-food robotics", "cybersecurity upskilling",
    "offshore wind maintenance", "semiconductor design", "social economy inclusion", "electric vehicle repair",
    "3D printing for SMEs", "data science curricula", "heat pump installation", "cultural heritage digitisation",
)  # fmt: skip
REGIONS = (
    "BE10",
    "DE11",
    "DE21",
    "FR10",
    "ES51",
    "ITC4",
    "NL32",
    "PL91",
    "SE11",
    "PT17",
    "AT13",
    "CZ01",
    "EL30",
    "FI1B",
)


def synthetic_population(n: int, n_slots: int, seed: int) -> Population:
    rng = random.Random(seed)
    types = [t for t in StakeholderType if t != StakeholderType.OTHER]
    attendees = []
    for k in range(n):
        offer = " and ".join(rng.sample(TOPICS, 2))
        want = " and ".join(rng.sample(TOPICS, 2))
        attendees.append(
            Attendee(
                attendee_id=f"a{k}",
                org_id=f"org{k}",
                org_name=f"Organisation {k}",
                person="Delegate",
                stakeholder_type=rng.choice(types),
                nuts_codes=(rng.choice(REGIONS),),
                offer=f"We offer {offer}",
                want=f"We look for {want}",
                wanted_types=tuple(rng.sample(types, 3)) if rng.random() < 0.5 else (),
                wanted_regions=(rng.choice(REGIONS)[:2],) if rng.random() < 0.2 else (),
                availability=availability(rng, n_slots, 0.8),
            )
        )
    met = {(i, j) for i in range(n) for j in range(i + 1, min(n, i + 4)) if rng.random() < 0.3}
    return Population(attendees, met, "synthetic")


def full_greedy(scorer: PairScorer, caps: npt.NDArray[np.int64], capacity: int) -> tuple[float, int]:
    """Score-greedy over every allowed pair (not only the optimiser's candidates): the honest baseline."""
    us, vs, ss = [], [], []
    n = scorer.p.n
    for rows, scores, allowed in scorer.blocks():
        r, c = np.nonzero(allowed & (scores > 0) & (rows[:, None] < np.arange(n)[None, :]))
        us.append(rows[r])
        vs.append(c)
        ss.append(scores[r, c])
    edges = EdgeSet(
        np.concatenate(us).astype(np.int64), np.concatenate(vs).astype(np.int64), np.concatenate(ss)
    )
    full = SelectionProblem(
        n, edges, caps, np.zeros(n, dtype=np.int64), capacity, np.zeros(len(edges), dtype=bool)
    )
    chosen = greedy(full).chosen
    return float(edges.score[chosen].sum()), int(full.degrees(chosen).min())


def encode(
    encoder_name: str, attendees: list[Attendee]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float]:
    encoder = make_encoder(encoder_name)
    t0 = time.perf_counter()
    texts = [a.offer for a in attendees] + [a.want for a in attendees]
    vectors = encoder.encode(texts)
    for k, t in enumerate(texts):
        if not t.strip():
            vectors[k] = 0
    n = len(attendees)
    return vectors[:n], vectors[n:], time.perf_counter() - t0


def accepted_requests(
    p: Participants, rules: PairRules, share: float, meetings: int, rng: random.Random
) -> list[tuple[int, int]]:
    """Pairs standing for accepted requests: ``share × meetings`` of them, each drawn from one
    attendee's 20 best candidates, at most half their cap per attendee (they leave room for the
    scheduler's own suggestions, as on a real brokerage day)."""
    edges, _ = PairScorer(p, rules).candidate_edges(20)
    order = list(range(len(edges)))
    rng.shuffle(order)
    load = np.zeros(p.n, dtype=np.int64)
    picked: list[tuple[int, int]] = []
    for e in order:
        a, b = int(edges.u[e]), int(edges.v[e])
        if load[a] < p.caps[a] // 2 and load[b] < p.caps[b] // 2:
            picked.append((a, b))
            load[a] += 1
            load[b] += 1
            if len(picked) >= share * meetings:
                break
    return picked


def run(population: Population, offers: npt.NDArray[np.float32], wants: npt.NDArray[np.float32], event: Event,
        floor: int, baseline: bool, request_share: float) -> None:  # fmt: skip
    n = len(population.attendees)
    ids = [a.attendee_id for a in population.attendees]
    p, rules, _ = build_participants(event, population.attendees, offers, wants, population.met_before)
    # about n × 5.8 / 2 meetings at caps of 6 (what the run without requests schedules)
    accepted = accepted_requests(
        p, rules, request_share, int(n * 0.97 * event.default_max_meetings / 2), random.Random(1)
    )
    asked = [(ids[a], ids[b]) for a, b in accepted] + [(ids[b], ids[a]) for a, b in accepted]
    t0 = time.perf_counter()
    p, rules, _ = build_participants(
        event, population.attendees, offers, wants, population.met_before, asked=asked
    )
    t_build = time.perf_counter() - t0
    plan = plan_meetings(
        p, rules, event.tables, ScheduleOptions(floor=floor), [Pin(a, b) for a, b in accepted]
    )
    total = time.perf_counter() - t0
    st = plan.stats
    phases = ", ".join(f"{k} {v:.2f}" for k, v in st.seconds.items() if k != "total")
    print(
        f"  attendees {n}, slots {len(event.slots)}, tables {event.tables}, cap {event.default_max_meetings}, floor {floor}"
    )
    print(f"  time: {total:.2f} s (build {t_build:.2f}, {phases})")
    print(f"  solver {st.solver} ({st.status}); candidate edges {st.candidate_edges}, pricing rounds {st.pricing_rounds}; "
          f"slots: {st.slot_method}, unplaced after selection {st.unplaced_after_selection}; floors: {st.floor_method}")  # fmt: skip
    gap = st.gap_to_bound
    print(f"  objective {st.objective:.2f} (selection {st.selection_objective:.2f}) vs LP bound {st.lp_bound:.2f}: "
          f"gap {100 * gap:.3f} %" if gap is not None else "  no bound")  # fmt: skip
    held = {(min(m.a, m.b), max(m.a, m.b)) for m in plan.meetings}
    from_requests = sum(1 for a, b in accepted if (min(a, b), max(a, b)) in held)
    print(f"  meetings {st.meetings}, {from_requests} of them from {len(accepted)} accepted requests "
          f"({100 * from_requests / max(st.meetings, 1):.1f} %); dropped {len(plan.dropped)}")  # fmt: skip
    print(f"  per attendee min {st.min_meetings}, mean {st.mean_meetings:.2f}; below the floor {len(plan.unmatched)} "
          f"(below the floor where reachable: {st.below_target})")  # fmt: skip
    for reason, count in Counter(u.reason.split(":")[0] for u in plan.unmatched).most_common(4):
        print(f"    {count} × {reason}")
    if baseline:
        t1 = time.perf_counter()
        g_score, g_min = full_greedy(plan.scorer, p.caps, event.tables * len(event.slots))
        print(f"  greedy over all pairs ({time.perf_counter() - t1:.2f} s, before slotting, no requests held): score "
              f"{g_score:.2f}, min meetings {g_min}; optimiser score {st.score_total:.2f} = "
              f"{100 * (st.score_total / g_score - 1):+.2f} %, min meetings {st.min_meetings} vs {g_min}")  # fmt: skip
        print(f"  greedy over candidates (same penalised objective): {st.greedy_objective:.2f} vs optimiser "
              f"{st.objective:.2f} ({100 * (st.objective / st.greedy_objective - 1):+.2f} %), "
              f"min meetings {st.greedy_min_meetings} vs {st.min_meetings}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/consortia"
    )
    parser.add_argument(
        "--encoder", default="hashing", help="hashing (instant) or minilm (the product default)"
    )
    parser.add_argument("--attendees", type=int, default=1000)
    parser.add_argument("--large", type=int, default=5000, help="a second, larger run (0: none)")
    parser.add_argument("--request-share", type=float, default=0.3, help="meetings from accepted requests")
    parser.add_argument("--small", type=int, default=200, help="a run timed three times (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    n_slots, cap, floor = 8, 6, 2
    largest = max(args.attendees, args.large)
    t0 = time.perf_counter()
    if (args.data / "projects.csv").exists():
        population = cordis_population(args.data, largest, n_slots, args.seed)
    else:
        population = synthetic_population(largest, n_slots, args.seed)
    print(f"attendees: {population.source} (generated in {time.perf_counter() - t0:.1f} s); "
          f"{len(population.met_before)} met-before pairs; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    offers, wants, t_encode = encode(args.encoder, population.attendees)
    print(
        f"encoder {args.encoder}: {2 * len(population.attendees)} texts in {t_encode:.1f} s (not part of scheduling)"
    )

    for size, baseline in ((args.attendees, True), (args.large, False)):
        if not size:
            continue
        part = first(population, size)
        print(f"\n{size} attendees, {100 * args.request_share:.0f} % of the meetings from accepted requests")
        tables = size // 2  # room for everyone at once: tables are not the constraint here
        run(
            part,
            offers[:size],
            wants[:size],
            make_event(n_slots, tables, cap, floor),
            floor,
            baseline,
            args.request_share,
        )

    if not args.small:
        return
    small = first(population, args.small)
    print(f"\n{args.small} attendees (3 runs, no requests)")
    times = []
    for _ in range(3):
        t1 = time.perf_counter()
        p, rules, _ = build_participants(
            make_event(n_slots, args.small // 2, cap, floor), small.attendees, offers[: args.small], wants[: args.small],
            small.met_before,
        )  # fmt: skip
        plan = plan_meetings(p, rules, args.small // 2, ScheduleOptions(floor=floor))
        times.append(time.perf_counter() - t1)
    st = plan.stats
    print(
        f"  time: median {statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}; target < 5 s)"
    )
    gap = f"{100 * st.gap_to_bound:.3f} %" if st.gap_to_bound is not None else "n/a"
    print(f"  objective {st.objective:.2f} vs LP bound {st.lp_bound:.2f} (gap {gap}); greedy {st.greedy_objective:.2f}; "
          f"min meetings {st.min_meetings} (greedy {st.greedy_min_meetings})")  # fmt: skip


def first(population: Population, n: int) -> Population:
    """The first ``n`` attendees (the sample is random, so any prefix is one too)."""
    return Population(
        population.attendees[:n], {(i, j) for i, j in population.met_before if j < n}, population.source
    )


if __name__ == "__main__":
    main()
