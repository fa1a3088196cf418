"""What the API routes and the CLI commands call on the services, beyond the store's own reads."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInputError, NotFoundError
from domain.events import AttendeeCreate, EventCreate
from domain.models import Organisation, Role
from graph.base import OrganisationFilter
from pactmatch.event_service import EventService
from pactmatch.mapping import MappingService
from pactmatch.service import PactmatchService
from tests.conftest import EVENT_ORGS, TEST_ACTOR, member, org, partnership


@pytest.fixture
def service(hashing_service: PactmatchService) -> PactmatchService:
    hashing_service.store.import_batch(
        [org("a", country="GR"), org("b")], [partnership("p")], [member("a", "p", "coordinator")]
    )
    return hashing_service


def test_listing_checks_the_filter_the_user_typed(service: PactmatchService) -> None:
    page = service.list_organisations(OrganisationFilter(country="el"), 0, 10)
    assert [o.org_id for o in page.items] == ["a"]
    with pytest.raises(InvalidInputError, match=r"^country: "):
        service.list_organisations(OrganisationFilter(country="XX"), 0, 10)


def test_memberships_from_either_side_and_unknown_ids(service: PactmatchService) -> None:
    assert [m.partnership_id for m in service.memberships_of("a")] == ["p"]
    assert service.memberships_of("b") == []
    assert [m.org_id for m in service.members("p")] == ["a"]
    with pytest.raises(NotFoundError, match="organisation 'zz'"):
        service.memberships_of("zz")
    with pytest.raises(NotFoundError, match="partnership 'zz'"):
        service.members("zz")


def test_put_member_names_the_unknown_partnership_first_and_says_when_it_added(
    service: PactmatchService,
) -> None:
    with pytest.raises(NotFoundError, match="partnership ' zz'"):
        service.put_member(" zz", "no such org", Role.MEMBER, actor=TEST_ACTOR)
    with pytest.raises(NotFoundError, match="organisation 'zz'"):
        service.put_member("p", "zz", Role.MEMBER, actor=TEST_ACTOR)
    membership, added = service.put_member("p", "b", Role.MEMBER, actor=TEST_ACTOR)
    assert added and membership.org_id == "b"
    assert service.put_member("p", "b", Role.COORDINATOR, actor=TEST_ACTOR)[1] is False


def test_batch_gap_reports_name_unknown_partnerships_before_they_are_queued(
    service: PactmatchService,
) -> None:
    mapping = MappingService(service)
    mapping.check_partnership_ids(None)
    mapping.check_partnership_ids(["p"])
    with pytest.raises(InvalidInputError, match=r"unknown partnership\(s\): zz") as info:
        mapping.check_partnership_ids(["p", "zz"])
    assert [i.field for i in info.value.issues] == ["partnership_ids"]


def test_event_attendees_found_by_group_and_text_and_events_listed_with_their_state(
    hashing_service: PactmatchService,
) -> None:
    hashing_service.store.import_batch([Organisation.model_validate(o) for o in EVENT_ORGS])
    events = EventService(hashing_service)
    slots = [{"start": f"{9 + i:02d}:00"} for i in range(3)]
    groups = [{"group_id": "g", "meets": ["h"]}, {"group_id": "h"}]
    event = {
        "event_id": "e",
        "name": "E",
        "date": "2025-06-03",
        "slots": slots,
        "tables": 2,
        "groups": groups,
    }
    events.create_event(EventCreate.model_validate(event), actor=TEST_ACTOR)
    for org_id, person, group in (("u1", "Ann", "g"), ("s1", "Bob", "h"), ("v1", "Cy", "g")):
        events.register("e", AttendeeCreate(org_id=org_id, person=person, group=group), actor=TEST_ACTOR)
    assert [a.person for a in events.find_attendees("e", group="g")] == ["Ann", "Cy"]
    assert [a.person for a in events.find_attendees("e", text="RECYCLING")] == ["Bob"]
    assert [a.person for a in events.find_attendees("e", group="g", text="ann")] == ["Ann"]
    assert [(e.event_id, n, s) for e, n, s in events.overview()] == [("e", 3, None)]
    with pytest.raises(NotFoundError, match="schedule of event 'e'"):
        events.outcome("e")
    schedule = events.schedule_with(
        "e", keep_previous=True, floor=None, time_limit=5, mip_rel_gap=0.01, solver="greedy", actor=TEST_ACTOR
    )
    stored_event, attendees, stored, requests = events.outcome("e")
    assert stored == schedule and len(attendees) == 3 and stored_event.event_id == "e" and requests == []
    # Ann and Cy may meet only Bob: below the floor, which defaults to the event's min_meetings
    assert {u.attendee_id: u.floor for u in schedule.unmatched} == {
        a.attendee_id: stored_event.min_meetings for a in attendees if a.person != "Bob"
    }
    assert events.overview()[0][2] == schedule
