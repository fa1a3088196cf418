"""``pactmatch event ...``: match-making events from the command line.

A thin layer over :class:`pactmatch.event_service.EventService`::

    pactmatch event create --name "Skills brokerage" --date 2025-06-03 --start 09:00 --slots 8 --tables 150
    pactmatch event register-from-store skills-brokerage-2025-06-03 --country BE --limit 300
    pactmatch event schedule skills-brokerage-2025-06-03
    pactmatch event agenda skills-brokerage-2025-06-03 ATTENDEE --format ics --output me.ics
    pactmatch event summary skills-brokerage-2025-06-03 --format html --output summary.html
    pactmatch event export skills-brokerage-2025-06-03 --out exports/

No ``from __future__ import annotations`` here: Typer reads the option types at definition time,
and the shared options (``StoreOption`` ...) are imported inside :func:`register`.
"""

import json
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer
from rich.table import Table

from domain.errors import FieldIssue, InvalidInputError
from domain.events import AttendeeCreate, AttendeeGroup, Event, EventCreate, Schedule, SlotSpec
from domain.meeting_requests import RequestCreate, RequestState, RequestWindow
from domain.models import Ecosystem, StakeholderType
from pactmatch.cli.common import (
    EncoderOption,
    StoreOption,
    cli_actor,
    console,
    err_console,
    fail,
    handled,
    open_service,
    progress_callback,
    settings_for,
    write_or_print,
)
from pactmatch.event_exports import (
    agenda_ics,
    agenda_json,
    agendas_csv,
    links_csv,
    requests_csv,
    summarise,
    summary_csv,
    summary_html,
    write_exports,
)
from pactmatch.event_requests import RequestService
from pactmatch.event_service import EventService, RegistrationReport, StoreSelection
from pactmatch.filters import check_place
from pactmatch.importers import read_attendee_file

_M = TypeVar("_M", EventCreate, AttendeeCreate, RequestWindow, RequestCreate)

event_app = typer.Typer(
    help="Match-making events: attendees, 1:1 meeting agendas, organiser summaries.", no_args_is_help=True
)


def slot_specs(start: str, count: int, duration: int, gap: int) -> list[SlotSpec]:
    """``count`` consecutive slots from ``start`` (HH:MM), ``duration`` minutes each, ``gap`` between."""
    if not re.fullmatch(r"\d{1,2}:\d{2}", start):
        raise InvalidInputError("start: expected HH:MM, e.g. 09:00", [FieldIssue("start", "expected HH:MM")])
    hours, minutes = (int(x) for x in start.split(":"))
    try:
        first = datetime.combine(date(2000, 1, 1), time(hours, minutes))
    except ValueError as exc:
        raise InvalidInputError(f"start: {exc}", [FieldIssue("start", str(exc))]) from exc
    specs = []
    for k in range(count):
        at = first + timedelta(minutes=k * (duration + gap))
        if at.date() != first.date():
            raise InvalidInputError("slots run past midnight; start earlier or use fewer/shorter slots")
        specs.append(SlotSpec(slot_id=f"s{k + 1}", start=at.time(), duration_minutes=duration))
    return specs


def parse_groups(specs: list[str]) -> tuple[AttendeeGroup, ...]:
    """``NAME`` or ``NAME:OTHER,OTHER`` (the groups NAME may meet; rules are symmetric)."""
    groups = []
    for spec in specs:
        name, _, meets = spec.partition(":")
        groups.append(
            AttendeeGroup(
                group_id=name.strip(), meets=tuple(m.strip() for m in meets.split(",") if m.strip())
            )
        )
    return tuple(groups)


def register(app: typer.Typer) -> None:
    """Add the ``event`` command group to the CLI."""

    app.add_typer(event_app, name="event")

    def service_for(store: str | None, encoder: str | None = None) -> EventService:
        settings = settings_for(store, encoder)
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        return EventService(open_service(store, encoder), secret)

    def print_registration(report: RegistrationReport) -> None:
        console.print(
            f"registered {len(report.registered)} attendee(s); {len(report.skipped)} already registered; "
            f"{len(report.errors)} rejected; {report.seconds:.1f} s",
            highlight=False,
        )
        for issue in report.errors[:50]:
            err_console.print(f"[red]rejected[/] {issue.field}: {issue.message}", highlight=False)
        if len(report.errors) > 50:
            err_console.print(f"... and {len(report.errors) - 50} more")

    def print_event(event: Event, attendees: int | None = None) -> None:
        table = Table(title=f"{event.name} ({event.event_id})", show_header=False)
        table.add_row(
            "date", f"{event.date} ({event.timezone})" + (f", {event.location}" if event.location else "")
        )
        slots = event.slots
        table.add_row(
            "slots",
            f"{len(slots)}: {slots[0].start:%H:%M}–{slots[-1].end:%H:%M}, {slots[0].duration_minutes} min",
        )
        table.add_row("tables", str(event.tables))
        table.add_row(
            "meetings per attendee", f"at most {event.default_max_meetings}, floor {event.min_meetings}"
        )
        if event.groups:
            table.add_row(
                "groups",
                "; ".join(f"{g.group_id} meets {', '.join(g.meets) or 'nobody'}" for g in event.groups),
            )
        window = event.request_window
        opens = f"from {window.opens_at:%Y-%m-%d %H:%M} " if window.opens_at else ""
        closes = f"until {window.closes_at:%Y-%m-%d %H:%M}" if window.closes_at else "no deadline"
        table.add_row(
            "requests", f"{opens}{closes}; at most {window.max_open_per_attendee} standing per attendee"
        )
        if attendees is not None:
            table.add_row("attendees", str(attendees))
        console.print(table)

    def print_schedule(schedule: Schedule) -> None:
        st = schedule.stats
        gap = f"{100 * st.gap_to_bound:.2f} %" if st.gap_to_bound is not None else "n/a"
        console.print(
            f"{st.meetings} meetings for {schedule.attendees} attendees; per attendee min {st.min_meetings}, "
            f"mean {st.mean_meetings:.2f}\n"
            f"solver {st.solver} ({st.status}); objective {st.objective:.3f}"
            + (f" (selection {st.selection_objective:.3f})" if st.selection_objective is not None else "")
            + ", LP bound "
            f"{st.lp_bound if st.lp_bound is None else round(st.lp_bound, 3)} (gap {gap}); greedy baseline "
            f"{st.greedy_objective:.3f} (min {st.greedy_min_meetings} per attendee)\n"
            f"{st.candidate_edges} candidate meetings, {st.pricing_rounds} pricing round(s); "
            + ", ".join(f"{k} {v:.2f} s" for k, v in st.seconds.items()),
            highlight=False,
        )
        if schedule.unmatched:
            table = Table(title=f"Below the floor ({len(schedule.unmatched)})")
            for col in ("attendee", "meetings", "reason"):
                table.add_column(col)
            for u in schedule.unmatched[:30]:
                table.add_row(u.attendee_id, str(u.meetings), u.reason)
            console.print(table)
        for d in schedule.dropped[:20]:
            err_console.print(
                f"[yellow]not kept[/] {d.attendee_a} – {d.attendee_b} ({d.slot_id}): {d.reason}",
                highlight=False,
            )
        for w in schedule.warnings[:20]:
            err_console.print(f"[yellow]warning[/] {w}", highlight=False)

    @event_app.command("create")
    def create(
        name: Annotated[str | None, typer.Option("--name", help="event name")] = None,
        day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD")] = None,
        event_id: Annotated[str | None, typer.Option("--id", help="default: from name and date")] = None,
        start: Annotated[str, typer.Option("--start", help="first slot, HH:MM local time")] = "09:00",
        slots: Annotated[int, typer.Option("--slots", min=1, max=96, help="number of meeting slots")] = 8,
        duration: Annotated[int, typer.Option("--duration", min=5, max=480, help="minutes per meeting")] = 30,
        gap: Annotated[int, typer.Option("--gap", min=0, max=240, help="minutes between slots")] = 0,
        tables: Annotated[
            int | None, typer.Option("--tables", min=1, help="meetings at the same time")
        ] = None,
        max_meetings: Annotated[
            int, typer.Option("--max-meetings", min=1, help="default cap per attendee")
        ] = 6,
        min_meetings: Annotated[int, typer.Option("--min-meetings", min=0, help="fairness floor")] = 2,
        location: Annotated[str | None, typer.Option("--location")] = None,
        timezone: Annotated[str, typer.Option("--timezone", help="IANA name")] = "Europe/Brussels",
        group: Annotated[
            list[str] | None,
            typer.Option("--group", help="NAME[:MEETS,...], repeatable, e.g. seekers:offerers"),
        ] = None,
        file: Annotated[
            Path | None, typer.Option("--file", help="an EventCreate JSON document instead")
        ] = None,
        store: StoreOption = None,
    ) -> None:
        """Create an event (time slots, tables, caps, optional groups with who-may-meet-whom rules)."""
        with handled():
            if file is not None:
                body = _parse_json(file, EventCreate)
            else:
                if not (name and day and tables):
                    raise fail("give --name, --date and --tables (or --file)", 2)
                try:
                    event_date = date.fromisoformat(day)
                except ValueError as exc:
                    raise fail(f"--date: expected YYYY-MM-DD, got {day!r}", 2) from exc
                body = _validated(
                    EventCreate,
                    {
                        "event_id": event_id, "name": name, "date": event_date, "location": location,
                        "timezone": timezone, "slots": slot_specs(start, slots, duration, gap), "tables": tables,
                        "default_max_meetings": max_meetings, "min_meetings": min_meetings,
                        "groups": parse_groups(group or []),
                    },
                )  # fmt: skip
            event = service_for(store).create_event(body, actor=cli_actor())
        print_event(event, 0)
        console.print(f"created event [bold]{event.event_id}[/]")

    @event_app.command("list")
    def list_events(store: StoreOption = None) -> None:
        """Events in the store."""
        with handled():
            events = service_for(store).overview()
            table = Table(title=f"{len(events)} event(s)")
            for col in ("id", "name", "date", "slots", "tables", "attendees", "scheduled"):
                table.add_column(col)
            for e, attendees, schedule in events:
                table.add_row(
                    e.event_id, e.name, str(e.date), str(len(e.slots)), str(e.tables), str(attendees),
                    f"{schedule.generated_at:%Y-%m-%d %H:%M}" if schedule else "no",
                )  # fmt: skip
        console.print(table)

    @event_app.command("show")
    def show(event_id: str, store: StoreOption = None) -> None:
        """An event's settings and its number of attendees."""
        with handled():
            svc = service_for(store)
            event = svc.get_event(event_id)
            print_event(event, len(svc.attendees(event_id)))

    @event_app.command("delete")
    def delete(event_id: str, store: StoreOption = None) -> None:
        """Delete an event with its attendees and schedule."""
        with handled():
            service_for(store).delete_event(event_id, actor=cli_actor())
        console.print(f"deleted event {event_id}")

    @event_app.command("register")
    def register_attendee(
        event_id: str,
        org_id: Annotated[str | None, typer.Option("--org-id", help="an organisation in the store")] = None,
        person: Annotated[str | None, typer.Option("--person", help="who attends")] = None,
        attendee_id: Annotated[str | None, typer.Option("--attendee-id")] = None,
        email: Annotated[str | None, typer.Option("--email")] = None,
        group: Annotated[str | None, typer.Option("--group")] = None,
        offer: Annotated[
            str | None, typer.Option("--offer", help="default: from the organisation's profile")
        ] = None,
        want: Annotated[
            str | None, typer.Option("--want", help="default: from the organisation's profile")
        ] = None,
        wanted_type: Annotated[list[StakeholderType] | None, typer.Option("--wanted-type")] = None,
        wanted_ecosystem: Annotated[list[Ecosystem] | None, typer.Option("--wanted-ecosystem")] = None,
        wanted_region: Annotated[
            list[str] | None, typer.Option("--wanted-region", help="NUTS code or country")
        ] = None,
        slot: Annotated[
            list[str] | None, typer.Option("--slot", help="available slot id (repeatable; default all)")
        ] = None,
        max_meetings: Annotated[int | None, typer.Option("--max-meetings", min=0)] = None,
        must_meet: Annotated[list[str] | None, typer.Option("--must-meet", help="attendee or org id")] = None,
        no_thanks: Annotated[list[str] | None, typer.Option("--no-thanks", help="attendee or org id")] = None,
        file: Annotated[
            Path | None, typer.Option("--file", help="JSON array or CSV of registrations")
        ] = None,
        store: StoreOption = None,
        encoder: EncoderOption = None,
    ) -> None:
        """Register one attendee (options) or many (``--file``: JSON array or CSV, ';' in list cells)."""
        with handled():
            svc = service_for(store, encoder)
            if file is not None:
                bodies, errors = read_attendee_file(file)
                for e in errors[:50]:
                    err_console.print(f"[red]rejected[/] {e}", highlight=False)
                with progress_callback() as progress:
                    report = svc.register_many(event_id, bodies, progress=progress, actor=cli_actor())
                print_registration(report)
                if errors or report.errors:
                    raise typer.Exit(1)
                return
            if not (org_id and person):
                raise fail("give --org-id and --person (or --file)", 2)
            body = _validated(
                AttendeeCreate,
                {
                    "attendee_id": attendee_id, "org_id": org_id, "person": person, "email": email, "group": group,
                    "offer": offer or "", "want": want or "", "wanted_types": wanted_type or (),
                    "wanted_ecosystems": wanted_ecosystem or (), "wanted_regions": wanted_region or (),
                    "availability": slot or (), "max_meetings": max_meetings, "must_meet": must_meet or (),
                    "no_thanks": no_thanks or (),
                },
            )  # fmt: skip
            attendee = svc.register(event_id, body, actor=cli_actor())
        console.print(f"registered [bold]{attendee.attendee_id}[/] ({attendee.label})")

    @event_app.command("register-from-store")
    def register_from_store(
        event_id: str,
        partnership: Annotated[
            str | None, typer.Option("--partnership", help="members of this partnership")
        ] = None,
        country: Annotated[str | None, typer.Option("--country", help="ISO country")] = None,
        region: Annotated[str | None, typer.Option("--region", help="NUTS code, any level")] = None,
        stakeholder_type: Annotated[StakeholderType | None, typer.Option("--type")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, help="at most this many organisations")] = 300,
        group: Annotated[str | None, typer.Option("--group", help="their attendee group")] = None,
        person: Annotated[str, typer.Option("--person", help="person label for each")] = "Delegate",
        order: Annotated[
            str, typer.Option("--order", help="active (most partnerships first) | name")
        ] = "active",
        store: StoreOption = None,
        encoder: EncoderOption = None,
    ) -> None:
        """Register organisations of the store; offers and wants come from their profiles."""
        if order not in ("active", "name"):
            raise fail("--order: active or name", 2)
        with handled():
            country, region = check_place(country, region, country_field="country")
            selection = StoreSelection(
                partnership_id=partnership,
                country=country,
                region=region,
                stakeholder_type=stakeholder_type,
                limit=limit,
                group=group,
                person=person,
                order=order,
            )
            with progress_callback() as progress:
                report = service_for(store, encoder).register_from_store(
                    event_id, selection, progress, actor=cli_actor()
                )
        print_registration(report)
        if report.errors:
            raise typer.Exit(1)

    @event_app.command("attendees")
    def attendees(
        event_id: str,
        output: Annotated[str, typer.Option("--format", help="table | json")] = "table",
        store: StoreOption = None,
    ) -> None:
        """Registered attendees."""
        with handled():
            items = service_for(store).attendees(event_id)
        if output == "json":
            typer.echo(json.dumps([a.model_dump(mode="json") for a in items], ensure_ascii=False, indent=2))
            return
        table = Table(title=f"{len(items)} attendee(s)")
        for col in ("attendee", "organisation", "type", "group", "cap", "offer", "want"):
            table.add_column(col)
        for a in items:
            table.add_row(
                a.attendee_id, a.org_name, a.stakeholder_type.label, a.group or "",
                "default" if a.max_meetings is None else str(a.max_meetings), a.offer[:60], a.want[:60],
            )  # fmt: skip
        console.print(table)

    @event_app.command("unregister")
    def unregister(event_id: str, attendee_id: str, store: StoreOption = None) -> None:
        """Cancel a registration (re-run ``schedule``: the partners keep their other meetings)."""
        with handled():
            service_for(store).remove_attendee(event_id, attendee_id, actor=cli_actor())
        console.print(f"removed {attendee_id}")

    @event_app.command("schedule")
    def schedule(
        event_id: str,
        fresh: Annotated[
            bool, typer.Option("--fresh", help="ignore the previous schedule (no pinning)")
        ] = False,
        time_limit: Annotated[
            float, typer.Option("--time-limit", min=0.1, max=600, help="MILP seconds")
        ] = 20.0,
        mip_gap: Annotated[
            float, typer.Option("--mip-gap", min=0.0, max=0.5, help="relative MILP gap")
        ] = 0.01,
        floor: Annotated[
            int | None, typer.Option("--floor", min=0, help="default: the event's min_meetings")
        ] = None,
        greedy: Annotated[
            bool, typer.Option("--greedy", help="skip the MILP (fairness-aware greedy)")
        ] = False,
        store: StoreOption = None,
        encoder: EncoderOption = None,
    ) -> None:
        """Choose introductions and build every attendee's agenda (keeps confirmed meetings unless --fresh)."""
        with handled():
            svc = service_for(store, encoder)
            svc.get_event(event_id)  # an unknown event fails before the progress bars start
            with progress_callback() as progress:
                result = svc.schedule_with(
                    event_id,
                    keep_previous=not fresh,
                    floor=floor,
                    time_limit=time_limit,
                    mip_rel_gap=mip_gap,
                    solver="greedy" if greedy else "milp",
                    progress=progress,
                    actor=cli_actor(),
                )
        print_schedule(result)

    @event_app.command("link")
    def link(
        event_id: str,
        attendee_id: str,
        revoke: Annotated[
            bool, typer.Option("--revoke", help="make every earlier link stop working")
        ] = False,
        base_url: Annotated[
            str, typer.Option("--base-url", help="the address attendees reach the service at")
        ] = "http://127.0.0.1:8000",
        store: StoreOption = None,
    ) -> None:
        """An attendee's private agenda link (no account needed), or revoke the links given out."""
        with handled():
            svc = service_for(store)
            if revoke:
                svc.revoke_agenda_links(event_id, attendee_id, actor=cli_actor())
                console.print(f"every agenda link of {attendee_id} given out so far stopped working")
                return
            token, expires_at = svc.agenda_link(event_id, attendee_id, actor=cli_actor())
        typer.echo(f"valid until {expires_at:%Y-%m-%d}; send it to the attendee only:", err=True)
        typer.echo(f"{base_url.rstrip('/')}/agenda/{token}")

    @event_app.command("agenda")
    def agenda(
        event_id: str,
        attendee_id: str,
        output_format: Annotated[str, typer.Option("--format", help="table | json | csv | ics")] = "table",
        output: Annotated[Path | None, typer.Option("--output", "-o", help="write to this file")] = None,
        store: StoreOption = None,
    ) -> None:
        """One attendee's agenda, each meeting with why they should meet."""
        with handled():
            svc = service_for(store)
            item = svc.agenda(event_id, attendee_id)
            if output_format == "json":
                write_or_print(agenda_json(item), output)
            elif output_format == "csv":
                write_or_print(agendas_csv([item]), output)
            elif output_format == "ics":
                write_or_print(agenda_ics(item, svc.get_event(event_id)), output)
            elif output_format == "table":
                table = Table(title=f"{item.person} ({item.org_name}) at {item.event_name}", show_lines=True)
                for col in ("time", "table", "with", "score", "why you should meet"):
                    table.add_column(col)
                for i in item.items:
                    table.add_row(
                        f"{i.start:%H:%M}–{i.end:%H:%M}", str(i.table), f"{i.partner_person}\n{i.partner_org}",
                        f"{i.score:.2f}", i.why,
                    )  # fmt: skip
                console.print(table)
            else:
                raise fail("--format: table, json, csv or ics", 2)

    @event_app.command("summary")
    def summary(
        event_id: str,
        output_format: Annotated[str, typer.Option("--format", help="table | json | csv | html")] = "table",
        output: Annotated[Path | None, typer.Option("--output", "-o", help="write to this file")] = None,
        store: StoreOption = None,
    ) -> None:
        """The organiser's summary: meetings per attendee, unmatched attendees and why, scores."""
        with handled():
            event, people, result, requests = service_for(store).outcome(event_id)
            s = summarise(event, people, result, requests)
            if output_format == "json":
                write_or_print(s.model_dump_json(indent=2), output)
            elif output_format == "csv":
                write_or_print(summary_csv(event, people, result), output)
            elif output_format == "html":
                write_or_print(summary_html(event, s), output)
            elif output_format == "table":
                print_schedule(result)
                table = Table(title="Meetings per attendee")
                table.add_column("meetings", justify="right")
                table.add_column("attendees", justify="right")
                for b in s.meetings_per_attendee:
                    table.add_row(str(b.meetings), str(b.attendees))
                console.print(table)
                if s.scores:
                    console.print(
                        f"match scores: median {s.scores.median:.3f}, p10 {s.scores.p10:.3f}, p90 {s.scores.p90:.3f}",
                        highlight=False,
                    )
                if s.requests:
                    r = s.requests
                    console.print(
                        f"requests: {r.sent} sent by {r.senders} attendee(s); {r.accepted} accepted, {r.declined} "
                        f"declined, {r.pending} pending, {r.withdrawn} withdrawn, {r.cancelled} cancelled; "
                        f"{r.in_schedule} turned into meetings ({100 * r.share_of_meetings:.1f} % of all)",
                        highlight=False,
                    )
            else:
                raise fail("--format: table, json, csv or html", 2)

    @event_app.command("requests")
    def requests_list(
        event_id: str,
        state: Annotated[
            RequestState | None, typer.Option("--state", help="only requests in this state")
        ] = None,
        attendee: Annotated[str | None, typer.Option("--attendee", help="sent or received by")] = None,
        output_format: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
        output: Annotated[Path | None, typer.Option("--output", "-o", help="write to this file")] = None,
        store: StoreOption = None,
    ) -> None:
        """The attendees' meeting requests (newest first): who asked whom, the answer, in the schedule?"""
        with handled():
            items = RequestService(service_for(store)).requests(event_id, state, attendee)
            if output_format == "json":
                write_or_print(
                    json.dumps(
                        [{**i.request.model_dump(mode="json"), "in_schedule": i.in_schedule} for i in items],
                        ensure_ascii=False,
                        indent=2,
                    ),
                    output,
                )
            elif output_format == "csv":
                write_or_print(requests_csv(items), output)
            elif output_format == "table":
                table = Table(title=f"{len(items)} request(s)")
                for col in ("request", "from", "to", "state", "updated", "in schedule", "message"):
                    table.add_column(col)
                for i in items:
                    r = i.request
                    table.add_row(
                        r.request_id, f"{i.sender_person}\n{i.sender_org}", f"{i.recipient_person}\n{i.recipient_org}",
                        r.state.value, f"{r.updated_at:%Y-%m-%d %H:%M}", "yes" if i.in_schedule else "",
                        r.message[:80],
                    )  # fmt: skip
                console.print(table)
            else:
                raise fail("--format: table, json or csv", 2)

    @event_app.command("cancel-request")
    def cancel_request(
        event_id: str,
        request_id: str,
        note: Annotated[str, typer.Option("--note", help="why, for both attendees to read")] = "",
        store: StoreOption = None,
    ) -> None:
        """Take a pending or accepted request off (the organiser's word wins, window or not)."""
        with handled():
            item = RequestService(service_for(store)).cancel(event_id, request_id, note, actor=cli_actor())
        console.print(
            f"cancelled {request_id} ({item.sender_person} → {item.recipient_person})", highlight=False
        )

    @event_app.command("send-request")
    def send_request(
        event_id: str,
        sender: Annotated[str, typer.Argument(help="the attendee the request is from")],
        to: Annotated[str, typer.Argument(help="the attendee they would like to meet")],
        message: Annotated[str, typer.Option("--message", "-m", help="for the recipient (≤ 500)")] = "",
        confirmed: Annotated[
            bool, typer.Option("--confirmed", help="accepted at once: pin the meeting")
        ] = False,
        note: Annotated[str, typer.Option("--note", help="for both attendees to read")] = "",
        store: StoreOption = None,
    ) -> None:
        """Enter a request for an attendee (help desk, paper form), or pin a meeting with
        --confirmed; the window and the limit of standing requests do not bind the organiser."""
        with handled():
            body = _validated(RequestCreate, {"to": to, "message": message})
            item = RequestService(service_for(store)).send_for(
                event_id, sender, body, confirmed=confirmed, note=note, actor=cli_actor()
            )
        r = item.request
        console.print(
            f"{r.request_id} {r.state.value}: {item.sender_person} → {item.recipient_person}", highlight=False
        )

    @event_app.command("answer-request")
    def answer_request(
        event_id: str,
        request_id: str,
        answer: Annotated[
            Literal["accept", "decline", "withdraw"],
            typer.Argument(help="accept or decline (for the recipient), withdraw (for the sender)"),
        ],
        note: Annotated[str, typer.Option("--note", help="for both attendees to read")] = "",
        store: StoreOption = None,
    ) -> None:
        """Answer a request for the attendee it belongs to (window or not); both are notified."""
        with handled():
            item = RequestService(service_for(store)).answer_for(
                event_id, request_id, answer, note, actor=cli_actor()
            )
        r = item.request
        console.print(
            f"{r.request_id} {r.state.value}: {item.sender_person} → {item.recipient_person}", highlight=False
        )

    @event_app.command("request-window")
    def request_window(
        event_id: str,
        opens: Annotated[str | None, typer.Option("--opens", help="YYYY-MM-DD HH:MM, event time")] = None,
        closes: Annotated[str | None, typer.Option("--closes", help="YYYY-MM-DD HH:MM, event time")] = None,
        max_open: Annotated[
            int | None, typer.Option("--max-open", min=0, help="standing requests per attendee")
        ] = None,
        clear: Annotated[bool, typer.Option("--clear", help="no opening time and no deadline")] = False,
        store: StoreOption = None,
    ) -> None:
        """Show or set when attendees may send and answer requests (close it before scheduling)."""
        with handled():
            svc = service_for(store)
            event = svc.get_event(event_id)
            if opens or closes or max_open is not None or clear:
                current = event.request_window
                window = _validated(
                    RequestWindow,
                    {
                        "opens_at": None if clear else (_local_time(opens, "--opens") if opens else current.opens_at),
                        "closes_at": None if clear else (_local_time(closes, "--closes") if closes else current.closes_at),
                        "max_open_per_attendee": current.max_open_per_attendee if max_open is None else max_open,
                    },
                )  # fmt: skip
                event = RequestService(svc).set_window(event_id, window, actor=cli_actor())
        print_event(event)

    @event_app.command("links")
    def links(
        event_id: str,
        base_url: Annotated[
            str, typer.Option("--base-url", help="the address attendees reach the service at")
        ] = "http://127.0.0.1:8000",
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="write the CSV to this file")
        ] = None,
        store: StoreOption = None,
    ) -> None:
        """Every attendee's private agenda link as CSV, for a mail merge (each link lets its holder
        browse the others and send and answer requests; keep the file private)."""
        with handled():
            rows = service_for(store).agenda_links(event_id, actor=cli_actor())
        write_or_print(links_csv(rows, base_url), output)

    @event_app.command("export")
    def export(
        event_id: str,
        out: Annotated[Path, typer.Option("--out", help="directory to write into")],
        store: StoreOption = None,
    ) -> None:
        """Write every agenda (JSON, CSV, one .ics per attendee) and the summary (JSON, CSV, HTML)."""
        with handled():
            svc = service_for(store)
            event, people, result, requests = svc.outcome(event_id)
            written = write_exports(out, event, people, result, svc.agendas(event_id), requests)
        console.print(f"wrote {len(written)} file(s) to {out}")


def _parse_json(path: Path, model: type[EventCreate]) -> EventCreate:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: not a readable JSON file: {exc}") from exc
    return _validated(model, data)


def _validated(model: type[_M], data: object) -> _M:
    """Validate CLI input, turning pydantic errors into one product error naming each field."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = [
            FieldIssue(
                ".".join(str(x) for x in e["loc"]) or "input", str(e["msg"]).removeprefix("Value error, ")
            )
            for e in exc.errors()
        ]
        raise InvalidInputError(
            "invalid input: " + "; ".join(f"{i.field}: {i.message}" for i in issues), issues
        ) from exc


def _local_time(text: str, option: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` (or ISO with a ``T``), a local time of the event's timezone."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInputError(
            f"{option}: expected YYYY-MM-DD HH:MM, got {text!r}",
            [FieldIssue(option, "expected YYYY-MM-DD HH:MM")],
        ) from exc
