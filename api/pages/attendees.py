"""An attendee's pages, opened by their private agenda link (no account): the agenda with what changed
for them and their meeting requests, and the other attendees to ask for a meeting.

The signed link is the credential: every route here sits under ``/agenda/{token}`` with the
permission :attr:`Action.AGENDA_LINK`, and the services check the token (a link that no longer
opens anything is answered by :func:`api.pages.page_error` as such, never with a sign-in page).
Everything goes through :class:`pactmatch.event_requests.RequestService` and
:class:`pactmatch.event_service.EventService`, as the JSON routes under ``/agenda/{token}`` do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth import require
from api.deps import EventsDep
from api.pages import EMPTY_IS_NONE, PREFIX, render
from api.routers.common import Offset
from api.routers.requests import RequestsDep
from domain.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from domain.events import Agenda
from domain.meeting_requests import MAX_MESSAGE, RequestCreate, RequestState
from domain.models import StakeholderType
from pactmatch.event_requests import AttendeeQuery, RequestService
from pactmatch.event_service import EventService
from pactmatch.permissions import Action

router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[require(Action.AGENDA_LINK)])
Token = Annotated[str, Path(max_length=1000)]
PEOPLE = 10
REQUESTS = 20
NEWS = 10
#: What a page says after an action went through (the redirect names the action, never the text).
DONE = {
    "sent": "Your request was sent: they see it on their agenda page.",
    "accept": "You accepted the request: the meeting will be on your agenda once the organiser schedules.",
    "decline": "You declined the request: the schedule will not pair you.",
    "withdraw": "You withdrew your request.",
}


# -- the agenda ---------------------------------------------------------------------------------
def _agenda_page(
    request: Request,
    token: str,
    events: EventService,
    requests: RequestService,
    *,
    state: RequestState | None = None,
    direction: Literal["sent", "received"] | None = None,
    offset: int = 0,
    news: int = 0,
    done: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    holder = events.link_holder(token)
    agenda: Agenda | None
    try:
        agenda = events.agenda(holder.event_id, holder.attendee.attendee_id)
    except NotFoundError:  # not scheduled yet: requests come first
        agenda = None
    mine = requests.mine(token, state, direction)
    feed = requests.notifications(token)

    def url(**changed: Any) -> str:
        query = {"state": state or "", "direction": direction or "", "offset": offset, "news": news}
        return f"{PREFIX}/agenda/{token}?{urlencode({**query, **changed})}"

    return render(
        request, "attendee_agenda.html.j2", None, status_code, token=token, event=events.get_event(holder.event_id),
        me=holder.attendee, agenda=agenda, ics=f"/agenda/{token}?format=ics", allowance=requests.allowance(token),
        requests=mine[offset : offset + REQUESTS], requests_page={"total": len(mine), "offset": offset, "limit": REQUESTS},
        requests_url=lambda at: url(offset=at), feed=feed[news : news + NEWS],
        feed_page={"total": len(feed), "offset": news, "limit": NEWS}, feed_url=lambda at: url(news=at),
        filters={"state": state.value if state else "", "direction": direction or ""}, states=list(RequestState),
        done=DONE.get(done, ""), error=error,
    )  # fmt: skip


@router.get("/agenda/{token}", response_class=HTMLResponse, name="attendee_agenda_page")
def attendee_agenda_page(
    request: Request,
    token: Token,
    events: EventsDep,
    requests: RequestsDep,
    state: Annotated[RequestState | None, Query(), EMPTY_IS_NONE] = None,
    direction: Annotated[Literal["sent", "received"] | None, Query(), EMPTY_IS_NONE] = None,
    offset: Offset = 0,
    news: Offset = 0,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """An attendee's own agenda, opened by their private link (no account), with the calendar file,
    what changed for them (newest first) and their requests, sent and received, to answer."""
    return _agenda_page(
        request,
        token,
        events,
        requests,
        state=state,
        direction=direction,
        offset=offset,
        news=news,
        done=done,
    )


@router.post("/agenda/{token}/requests/{request_id}", name="answer_request_page")
def answer_request_page(
    request: Request,
    token: Token,
    request_id: Annotated[str, Path(max_length=200)],
    events: EventsDep,
    requests: RequestsDep,
    answer: Annotated[Literal["accept", "decline", "withdraw"], Form()],
) -> Response:
    """Accept or decline a request received, withdraw one sent; a refusal (the window closed, no
    room left, not yours to give) is said on the agenda page."""
    try:
        requests.answer(token, request_id, answer)
    except (ConflictError, PermissionDeniedError) as exc:
        status_code = 409 if isinstance(exc, ConflictError) else 403
        return _agenda_page(request, token, events, requests, error=str(exc), status_code=status_code)
    return RedirectResponse(
        f"{PREFIX}/agenda/{token}?{urlencode({'done': answer})}", status_code=status.HTTP_303_SEE_OTHER
    )


# -- people to meet -----------------------------------------------------------------------------------
def _people_form(
    q: str, group: str, stakeholder_type: str, country: str, request_state: str, sort: str, offset: int
) -> dict[str, Any]:
    return {"q": q, "group": group, "type": stakeholder_type, "country": country, "request": request_state,
            "sort": sort, "offset": offset}  # fmt: skip


def _people_page(
    request: Request,
    token: str,
    events: EventService,
    requests: RequestService,
    form: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    done: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    """The other attendees, filtered, best match first; ``errors`` and ``typed`` by attendee id
    (a request form that was refused shows why next to its field, with what was typed)."""
    holder = events.link_holder(token)
    event = events.get_event(holder.event_id)
    errors = dict(errors or {})
    country = form["country"].strip()
    if country and (len(country) != 2 or not country.isalpha()):
        errors["country"] = "give a two-letter country code, such as DE"
        country = ""
    known = {t.value: t for t in StakeholderType}
    query = AttendeeQuery(
        text=form["q"] or None, group=form["group"] or None, stakeholder_type=known.get(form["type"]),
        country=country or None, request=form["request"], sort=form["sort"], offset=form["offset"], limit=PEOPLE,
    )  # fmt: skip
    page = requests.others(token, query)

    def url(at: int) -> str:
        return f"{PREFIX}/agenda/{token}/people?{urlencode({**form, 'offset': at})}"

    return render(
        request, "attendee_people.html.j2", None, status_code if not errors.get("country") else 422,
        token=token, event=event, me=holder.attendee, cards=page.items,
        page={"total": page.total, "offset": page.offset, "limit": page.limit}, url=url, form=form,
        errors=errors, typed=typed or {}, allowance=requests.allowance(token), groups=event.group_ids(),
        types=list(StakeholderType), done=DONE.get(done, ""), error=error, max_message=MAX_MESSAGE,
    )  # fmt: skip


SortBy = Annotated[Literal["score", "name"], Query()]


@router.get("/agenda/{token}/people", response_class=HTMLResponse, name="attendee_people_page")
def attendee_people_page(
    request: Request,
    token: Token,
    events: EventsDep,
    requests: RequestsDep,
    q: Annotated[str, Query(max_length=200)] = "",
    group: Annotated[str, Query(max_length=200)] = "",
    stakeholder_type: Annotated[str, Query(alias="type", max_length=60)] = "",
    country: Annotated[str, Query(max_length=40)] = "",
    request_state: Annotated[Literal["any", "none", "sent", "received"], Query(alias="request")] = "any",
    sort: SortBy = "score",
    offset: Offset = 0,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The other attendees with the pair's reciprocal score and why to meet, filtered; each with a
    form to request a meeting, or the request between you."""
    form = _people_form(q, group, stakeholder_type, country, request_state, sort, offset)
    return _people_page(request, token, events, requests, form, done=done)


@router.post("/agenda/{token}/requests", response_class=HTMLResponse, name="send_request_page")
def send_request_page(
    request: Request,
    token: Token,
    events: EventsDep,
    requests: RequestsDep,
    to: Annotated[str, Form(max_length=200)],
    message: Annotated[str, Form(max_length=20 * MAX_MESSAGE)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
    group: Annotated[str, Form(max_length=200)] = "",
    stakeholder_type: Annotated[str, Form(alias="type", max_length=60)] = "",
    country: Annotated[str, Form(max_length=40)] = "",
    request_state: Annotated[Literal["any", "none", "sent", "received"], Form(alias="request")] = "any",
    sort: Annotated[Literal["score", "name"], Form()] = "score",
    offset: Annotated[int, Form(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Ask another attendee to meet, with a short message (asked for here: it is what the other
    reads first); a refusal is shown next to the message, which is kept."""
    form = _people_form(q, group, stakeholder_type, country, request_state, sort, offset)
    text = message.strip()
    problem = ""
    if not text:
        problem = "write a short message saying why you would like to meet"
    elif len(text) > MAX_MESSAGE:
        problem = f"at most {MAX_MESSAGE} characters, this one has {len(text)}: shorten it"
    else:
        try:
            requests.send(token, RequestCreate(to=to, message=text))
        except (ConflictError, InvalidInputError) as exc:
            problem = str(exc)
        except ValidationError:  # not an attendee id at all (the form's hidden field was changed)
            problem = "there is no such attendee at this event"
        else:
            target = f"{PREFIX}/agenda/{token}/people?{urlencode({**form, 'done': 'sent'})}"
            return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return _people_page(
        request, token, events, requests, form, errors={to: problem}, typed={to: message},
        error=f"The request was not sent: {problem}", status_code=422 if not text or len(text) > MAX_MESSAGE else 409,
    )  # fmt: skip
