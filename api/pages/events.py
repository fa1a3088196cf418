"""The event organiser's journey: create an event → register attendees → set the request window and
oversee the attendees' requests → schedule → review, pin, veto or cancel meetings and re-schedule →
publish private agenda links (the attendees' own pages are in :mod:`api.pages.attendees`).

Everything goes through :class:`pactmatch.event_service.EventService` and
:class:`pactmatch.event_requests.RequestService`, the services the JSON routes and the CLI use.
Pinning a meeting makes its two attendees must-meet each other, vetoing it makes them no-thanks;
cancelling one that an accepted request confirmed takes the request off (both attendees are told),
so the next schedule drops the meeting; every other confirmed meeting is kept.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth import require
from api.csrf import FormCsrf
from api.deps import EventsDep
from api.pages import EMPTY_IS_NONE, PREFIX, region_choices, render
from api.rate_limits import Operation, limited
from api.routers.common import Offset
from api.routers.requests import RequestsDep
from domain.accounts import Actor
from domain.errors import FieldIssue, InvalidInputError, NotFoundError
from domain.events import AttendeeGroup, AttendeePatch, Event, EventCreate, SlotSpec
from domain.meeting_requests import MAX_MESSAGE, RequestState, RequestWindow
from domain.models import StakeholderType
from pactmatch.event_exports import summarise
from pactmatch.event_requests import RequestService
from pactmatch.event_service import EventService, StoreSelection
from pactmatch.filters import check_place
from pactmatch.importers.attendees import read_attendee_file
from pactmatch.permissions import Action, visible_events

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Organiser = Annotated[Actor, require(Action.MANAGE_EVENT, "event_id")]
PAGE = 25
MAX_UPLOAD = 5 * 1024 * 1024


@router.get("/events", response_class=HTMLResponse, name="events_page")
def events_page(
    request: Request, actor: Annotated[Actor, require(Action.LIST_EVENTS)], events: EventsDep
) -> Response:
    visible = visible_events(actor)
    listed = [e for e in events.list_events() if visible is None or e.event_id in visible]
    return render(request, "events.html.j2", actor, events=listed)


# -- creating an event ------------------------------------------------------------------------------
def _event_form(event: Event | None = None) -> dict[str, Any]:
    if event is None:
        return {"name": "", "date": "", "location": "", "first_slot": "09:00", "slots": "8", "duration": "20",
                "tables": "20", "cap": "6", "floor": "2", "groups": ""}  # fmt: skip
    first = event.slots[0]
    return {
        "name": event.name, "date": event.date.isoformat(), "location": event.location or "",
        "first_slot": first.start.strftime("%H:%M"), "slots": str(len(event.slots)),
        "duration": str(first.duration_minutes), "tables": str(event.tables), "cap": str(event.default_max_meetings),
        "floor": str(event.min_meetings),
        "groups": "\n".join(f"{g.group_id}:{','.join(g.meets)}" if g.meets else g.group_id for g in event.groups),
    }  # fmt: skip


@router.get("/events/new", response_class=HTMLResponse, name="new_event_page")
def new_event_page(request: Request, actor: Annotated[Actor, require(Action.CREATE_EVENT)]) -> Response:
    return render(request, "event_new.html.j2", actor, form=_event_form(), errors={})


@router.post("/events/new", response_class=HTMLResponse, name="create_event_page")
def create_event_page(
    request: Request,
    actor: Annotated[Actor, require(Action.CREATE_EVENT)],
    events: EventsDep,
    name: Annotated[str, Form(max_length=300)],
    day: Annotated[str, Form(alias="date", max_length=10)],
    location: Annotated[str, Form(max_length=500)] = "",
    first_slot: Annotated[str, Form(max_length=5)] = "09:00",
    slots: Annotated[str, Form(max_length=3)] = "8",
    duration: Annotated[str, Form(max_length=3)] = "20",
    tables: Annotated[str, Form(max_length=5)] = "20",
    cap: Annotated[str, Form(max_length=3)] = "6",
    floor: Annotated[str, Form(max_length=3)] = "2",
    groups: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Create the event; each field that does not validate is named next to its input."""
    form = {"name": name, "date": day, "location": location, "first_slot": first_slot, "slots": slots,
            "duration": duration, "tables": tables, "cap": cap, "floor": floor, "groups": groups}  # fmt: skip
    errors: dict[str, str] = {}
    try:
        start = time.fromisoformat(first_slot)
        minutes, count = int(duration), int(slots)
        if not 1 <= count <= 96 or not 5 <= minutes <= 480:
            raise ValueError
        specs = []
        at = datetime.combine(date.today(), start)
        for k in range(count):
            specs.append(SlotSpec(slot_id=f"s{k + 1}", start=at.time(), duration_minutes=minutes))
            at += timedelta(minutes=minutes)
            if at.date() != date.today() and k < count - 1:
                errors["slots"] = "the slots run past midnight: start earlier, or use fewer or shorter slots"
                break
    except ValueError:
        errors["slots"] = "give the first slot as HH:MM, 1 to 96 slots of 5 to 480 minutes"
        specs = []
    parsed_groups = []
    for line in groups.splitlines():
        if line.strip():
            group, _, meets = line.partition(":")
            parsed_groups.append(
                {"group_id": group.strip(), "meets": [m.strip() for m in meets.split(",") if m.strip()]}
            )
    if not errors:
        try:
            body = EventCreate.model_validate({
                "name": name, "date": day, "location": location or None, "slots": specs, "tables": tables,
                "default_max_meetings": cap, "min_meetings": floor, "groups": [AttendeeGroup(**g) for g in parsed_groups],
            })  # fmt: skip
            event = events.create_event(body, actor=actor)
        except ValidationError as exc:
            for e in exc.errors():
                message = str(e["msg"]).removeprefix("Value error, ")
                errors.setdefault(_form_field(str(e["loc"][0]) if e["loc"] else "", message), message)
        except InvalidInputError as exc:
            errors["name"] = str(exc)
        else:
            return RedirectResponse(
                f"{PREFIX}/events/{event.event_id}", status_code=status.HTTP_303_SEE_OTHER
            )
    return render(request, "event_new.html.j2", actor, 422, form=form, errors=errors)


#: The form field of each EventCreate field (the others are named in the message).
_FIELDS = {"name": "name", "date": "date", "tables": "tables", "default_max_meetings": "cap",
           "min_meetings": "floor", "groups": "groups", "slots": "slots", "location": "location"}  # fmt: skip


def _form_field(loc: str, message: str) -> str:
    """Where to show an error: its field, or for a rule across fields the one its message names."""
    if loc in _FIELDS:
        return _FIELDS[loc]
    for word, field in (("min_meetings", "floor"), ("group", "groups"), ("slot", "slots")):
        if word in message:
            return field
    return "name"


# -- an event and its attendees ------------------------------------------------------------------------
def _window_form(window: RequestWindow) -> dict[str, str]:
    def local(at: datetime | None) -> str:
        return at.strftime("%Y-%m-%dT%H:%M") if at else ""

    return {"opens_at": local(window.opens_at), "closes_at": local(window.closes_at),
            "max_open": str(window.max_open_per_attendee)}  # fmt: skip


def _event_page(
    request: Request,
    event_id: str,
    actor: Actor,
    events: EventService,
    requests: RequestService,
    *,
    q: str = "",
    offset: int = 0,
    registered: int = -1,
    rejected: str = "",
    window_saved: bool = False,
    window_form: dict[str, str] | None = None,
    window_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    event = events.get_event(event_id)
    attendees = events.find_attendees(event_id, None, q or None)
    try:
        schedule = events.get_schedule(event_id)
    except NotFoundError:
        schedule = None
    states = Counter(i.request.state for i in requests.requests(event_id))

    def url(at: int) -> str:
        return f"{PREFIX}/events/{event_id}?{urlencode({'q': q, 'offset': at})}"

    return render(
        request, "event.html.j2", actor, status_code, event=event, attendees=attendees[offset : offset + PAGE],
        page={"total": len(attendees), "offset": offset, "limit": PAGE}, url=url, q=q, schedule=schedule,
        registered=registered, rejected=[r for r in rejected.split("\n") if r], types=list(StakeholderType),
        regions=region_choices(), request_states=states, window_state=event.request_window.state_at(event.local_now()),
        window_form=window_form or _window_form(event.request_window), window_errors=window_errors or {},
        window_saved=window_saved,
    )  # fmt: skip


@router.get("/events/{event_id}", response_class=HTMLResponse, name="event_page")
def event_page(
    request: Request,
    event_id: str,
    actor: Organiser,
    events: EventsDep,
    requests: RequestsDep,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Offset = 0,
    registered: int = -1,
    rejected: Annotated[str, Query(max_length=20_000)] = "",
    window_saved: bool = False,
) -> Response:
    return _event_page(
        request, event_id, actor, events, requests, q=q, offset=offset, registered=registered, rejected=rejected,
        window_saved=window_saved,
    )  # fmt: skip


@router.post("/events/{event_id}/request-window", response_class=HTMLResponse, name="request_window_page")
def request_window_page(
    request: Request,
    event_id: str,
    actor: Organiser,
    events: EventsDep,
    requests: RequestsDep,
    opens_at: Annotated[str, Form(max_length=40)] = "",
    closes_at: Annotated[str, Form(max_length=40)] = "",
    max_open: Annotated[str, Form(max_length=10)] = "20",
) -> Response:
    """When attendees may send and answer requests (local times of the event), and how many each
    may have pending or accepted; a field that does not validate is named next to its input."""
    form = {"opens_at": opens_at, "closes_at": closes_at, "max_open": max_open}
    try:
        window = RequestWindow.model_validate(
            {"opens_at": opens_at or None, "closes_at": closes_at or None, "max_open_per_attendee": max_open}
        )
    except ValidationError as exc:
        fields = {"opens_at": "opens_at", "closes_at": "closes_at", "max_open_per_attendee": "max_open"}
        errors: dict[str, str] = {}
        for e in exc.errors():
            message = str(e["msg"]).removeprefix("Value error, ")
            errors.setdefault(fields.get(str(e["loc"][0]) if e["loc"] else "", "closes_at"), message)
        return _event_page(
            request,
            event_id,
            actor,
            events,
            requests,
            window_form=form,
            window_errors=errors,
            status_code=422,
        )
    requests.set_window(event_id, window, actor=actor)
    return RedirectResponse(
        f"{PREFIX}/events/{event_id}?window_saved=true#requests-h", status_code=status.HTTP_303_SEE_OTHER
    )


def _after_registration(event_id: str, registered: int, errors: list[FieldIssue]) -> Response:
    report = "\n".join(f"{e.field}: {e.message}" for e in errors[:50])
    query = urlencode({"registered": registered, "rejected": report})
    return RedirectResponse(f"{PREFIX}/events/{event_id}?{query}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/events/{event_id}/upload", name="upload_attendees", dependencies=[FormCsrf])
async def upload_attendees(
    event_id: str, actor: Organiser, events: EventsDep, attendees: Annotated[UploadFile, File()]
) -> Response:
    """Register attendees from a CSV or JSON file: good rows registered, bad rows listed by row and field."""
    suffix = ".json" if (attendees.filename or "").lower().endswith(".json") else ".csv"
    data = await attendees.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _after_registration(event_id, 0, [FieldIssue("file", f"larger than {MAX_UPLOAD // 2**20} MB")])
    with tempfile.TemporaryDirectory(prefix="pactmatch-upload-") as folder:
        path = FilePath(folder) / f"attendees{suffix}"  # the upload's name is a label, never a path
        path.write_bytes(data)
        bodies, row_errors = read_attendee_file(path)
    report = events.register_many(event_id, bodies, actor=actor) if bodies else None
    errors = [FieldIssue(e.field or "row", str(e)) for e in row_errors]
    return _after_registration(
        event_id, len(report.registered) if report else 0, errors + (report.errors if report else [])
    )


@router.post("/events/{event_id}/from-store", name="register_from_store_page")
def register_from_store_page(
    event_id: str,
    actor: Organiser,
    events: EventsDep,
    country: Annotated[str, Form(max_length=60)] = "",
    region: Annotated[str, Form(max_length=120)] = "",
    stakeholder_type: Annotated[str, Form(max_length=60)] = "",
    limit: Annotated[int, Form(ge=1, le=5000)] = 50,
) -> Response:
    """Register the store's most active organisations that pass the filters."""
    try:
        place = check_place(
            country or None, region.split(" ", 1)[0] if region else None, country_field="country"
        )
    except InvalidInputError as exc:
        return _after_registration(event_id, 0, exc.issues or [FieldIssue("region", str(exc))])
    known = {t.value: t for t in StakeholderType}
    selection = StoreSelection(
        country=place[0], region=place[1], stakeholder_type=known.get(stakeholder_type), limit=limit
    )
    report = events.register_from_store(event_id, selection, actor=actor)
    return _after_registration(event_id, len(report.registered), report.errors)


# -- scheduling and reviewing ------------------------------------------------------------------------------
@router.post("/events/{event_id}/schedule", name="schedule_page_run")
def schedule_page_run(
    event_id: str, actor: Organiser, _limit: Annotated[None, limited(Operation.SCHEDULE)], events: EventsDep
) -> Response:
    """Schedule (or re-schedule, keeping confirmed meetings) and show the result."""
    events.schedule_with(
        event_id,
        keep_previous=True,
        floor=None,
        time_limit=60.0,
        mip_rel_gap=0.005,
        solver="milp",
        actor=actor,
    )
    return RedirectResponse(f"{PREFIX}/events/{event_id}/schedule", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/events/{event_id}/schedule", response_class=HTMLResponse, name="schedule_page")
def schedule_page(
    request: Request,
    event_id: str,
    actor: Organiser,
    events: EventsDep,
    cancelled: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The slot × table grid, each meeting's why, who is below the floor and why; a meeting that an
    accepted request confirmed can be cancelled (the request taken off) as well as pinned or vetoed."""
    event, attendees, schedule, requests = events.outcome(event_id)
    names = {a.attendee_id: a.label for a in attendees}
    grid = {(m.slot_id, m.table): m for m in schedule.meetings}
    accepted = {
        frozenset((r.sender, r.recipient)): r.request_id for r in requests if r.state == RequestState.ACCEPTED
    }
    behind = {m.meeting_id: accepted.get(frozenset((m.attendee_a, m.attendee_b))) for m in schedule.meetings}
    return render(
        request, "schedule.html.j2", actor, event=event, schedule=schedule, grid=grid, names=names,
        tables=range(1, event.tables + 1), behind=behind, cancelled=cancelled, max_note=MAX_MESSAGE,
    )  # fmt: skip


@router.post("/events/{event_id}/meetings/{meeting_id}", name="meeting_action")
def meeting_action(
    event_id: str,
    meeting_id: str,
    actor: Organiser,
    events: EventsDep,
    action: Annotated[str, Form(pattern="^(pin|veto)$")],
) -> Response:
    """Pin a meeting (the two must meet) or veto it (they never will); re-scheduling applies it."""
    meeting = next((m for m in events.get_schedule(event_id).meetings if m.meeting_id == meeting_id), None)
    if meeting is None:
        raise NotFoundError("meeting", meeting_id)
    _pin_or_veto(events, event_id, meeting.attendee_a, meeting.attendee_b, action, actor)
    return RedirectResponse(f"{PREFIX}/events/{event_id}/schedule", status_code=status.HTTP_303_SEE_OTHER)


def _pin_or_veto(events: EventService, event_id: str, a: str, b: str, action: str, actor: Actor) -> None:
    """``pin``: ``a`` and ``b`` must meet each other; ``veto``: each has the other as "no thanks"."""
    for me, other in ((a, b), (b, a)):
        current = events.get_attendee(event_id, me)
        field = "must_meet" if action == "pin" else "no_thanks"
        values = tuple(dict.fromkeys((*(getattr(current, field) or ()), other)))
        undo = "no_thanks" if action == "pin" else "must_meet"
        kept = tuple(v for v in getattr(current, undo) or () if v != other)
        events.update_attendee(
            event_id, me, AttendeePatch.model_validate({field: values, undo: kept}), actor=actor
        )


# -- attendees' requests ----------------------------------------------------------------------------------
@router.get("/events/{event_id}/requests", response_class=HTMLResponse, name="event_requests_page")
def event_requests_page(
    request: Request,
    event_id: str,
    actor: Organiser,
    events: EventsDep,
    requests: RequestsDep,
    state: Annotated[RequestState | None, Query(), EMPTY_IS_NONE] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Offset = 0,
    cancelled: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Every request of the event, newest first, filtered by state and by attendee, each open one
    with a cancel form; the same list as CSV from the API."""
    event = events.get_event(event_id)
    items = requests.requests(event_id, state, text=q or None)

    def url(at: int) -> str:
        return (
            f"{PREFIX}/events/{event_id}/requests?{urlencode({'state': state or '', 'q': q, 'offset': at})}"
        )

    csv = f"/events/{event_id}/requests?{urlencode({'format': 'csv', **({'state': state.value} if state else {})})}"
    return render(
        request, "event_requests.html.j2", actor, event=event, items=items[offset : offset + PAGE],
        page={"total": len(items), "offset": offset, "limit": PAGE}, url=url, state=state.value if state else "",
        q=q, states=list(RequestState), csv=csv, cancelled=cancelled, max_note=MAX_MESSAGE,
    )  # fmt: skip


@router.post("/events/{event_id}/requests/{request_id}/cancel", name="cancel_request_page")
def cancel_request_page(
    event_id: str,
    request_id: Annotated[str, Path(max_length=200)],
    actor: Organiser,
    events: EventsDep,
    requests: RequestsDep,
    note: Annotated[str, Form(max_length=MAX_MESSAGE)] = "",
    keep_apart: Annotated[bool, Form()] = False,
    back: Annotated[Literal["requests", "schedule"], Form()] = "requests",
) -> Response:
    """Take a pending or accepted request off, with a note both attendees read; a meeting it had
    confirmed is dropped by the next re-scheduling (from the grid: ``back=schedule``). The
    scheduler may pair the two again unless ``keep_apart`` also vetoes the pair, which is what
    cancelling a meeting on the grid does unless the organiser unticks it."""
    cancelled = requests.cancel(event_id, request_id, note.strip(), actor=actor)
    if keep_apart:
        _pin_or_veto(events, event_id, cancelled.request.sender, cancelled.request.recipient, "veto", actor)
    target = (
        f"{PREFIX}/events/{event_id}/schedule?{urlencode({'cancelled': request_id})}"
        if back == "schedule"
        else f"{PREFIX}/events/{event_id}/requests?{urlencode({'cancelled': request_id})}"
    )
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/events/{event_id}/summary", response_class=HTMLResponse, name="event_summary_page")
def event_summary_page(request: Request, event_id: str, actor: Organiser, events: EventsDep) -> Response:
    event, attendees, schedule, requests = events.outcome(event_id)
    summary = summarise(event, attendees, schedule, requests)
    return render(request, "event_summary.html.j2", actor, event=event, s=summary)


# -- publishing: private agenda links ------------------------------------------------------------------------
@router.get("/events/{event_id}/links", response_class=HTMLResponse, name="agenda_links_page")
def agenda_links_page(request: Request, event_id: str, actor: Organiser, events: EventsDep) -> Response:
    """Every attendee's private agenda link, to send them (made now; older ones keep working until revoked)."""
    event = events.get_event(event_id)
    base = str(request.base_url).rstrip("/")
    links = [
        {"attendee": a, "url": f"{base}{PREFIX}/agenda/{token}", "expires": expires}
        for a, token, expires in events.agenda_links(event_id, actor=actor)
    ]
    return render(request, "agenda_links.html.j2", actor, event=event, links=links)
