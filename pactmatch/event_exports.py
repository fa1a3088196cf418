"""Agendas and organiser summaries as files: JSON, CSV, iCalendar (.ics) and an HTML report.

Pure functions from the stored documents to text/bytes, shared by the API (download endpoints)
and the CLI (``pactmatch event agenda|summary|export``). Calendar files come from the
``icalendar`` package (with the event's VTIMEZONE, so calendar clients place meetings at the right
local time), charts from matplotlib (SVG embedded inline, no external files), the page from a
jinja2 template with autoescaping.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from domain.events import (
    Agenda,
    Attendee,
    CountBin,
    Event,
    EventSummary,
    Schedule,
    ScoreBin,
    ScoreSummary,
    SlotLoad,
)
from domain.meeting_requests import MeetingRequest, RequestState, RequestStats, RequestWithNames
from pactmatch.reports.spreadsheet import SafeCsvWriter

AGENDA_COLUMNS = (
    "attendee_id", "person", "org_name", "meeting_id", "slot_id", "start", "end", "table",
    "partner_id", "partner_person", "partner_org", "partner_org_id", "score", "why",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "attendee_id", "person", "org_id", "org_name", "group", "meetings", "cap", "mean_score", "status", "reason",
)  # fmt: skip


# -- agendas ----------------------------------------------------------------------------------


def agenda_json(agenda: Agenda) -> str:
    return agenda.model_dump_json(indent=2)


def agendas_csv(agendas: Sequence[Agenda]) -> str:
    """One row per (attendee, meeting): every attendee's agenda in one spreadsheet."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(AGENDA_COLUMNS)
    for agenda in agendas:
        for item in agenda.items:
            writer.writerow([
                agenda.attendee_id, agenda.person, agenda.org_name, item.meeting_id, item.slot_id,
                item.start.isoformat(), item.end.isoformat(), item.table, item.partner_id, item.partner_person,
                item.partner_org, item.partner_org_id, f"{item.score:.4f}", item.why,
            ])  # fmt: skip
    return out.getvalue()


def agenda_ics(agenda: Agenda, event: Event) -> bytes:
    """An iCalendar file with one VEVENT per meeting, in the event's timezone.

    A pair meets at most once, so a meeting's UID is (event, attendee, partner): re-importing or
    re-fetching an updated agenda moves a meeting that changed slot or table instead of adding a
    second one, its SEQUENCE (the schedule's time) says which version is newer, and meetings of the
    previous schedule that were not kept come as cancelled VEVENTs with their old UID.
    """
    from icalendar import Calendar
    from icalendar import Event as VEvent

    tz = event.tz
    cal = Calendar()
    cal.add("prodid", "-//pactmatch//match-making agenda//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{event.name}: {agenda.person}")
    stamp = agenda.generated_at or datetime.now(UTC)
    sequence = int(stamp.timestamp())

    def vevent(partner_id: str, start: datetime, end: datetime, summary: str) -> VEvent:
        ve = VEvent()
        ve.add("uid", f"{event.event_id}-{slug(agenda.attendee_id)}-with-{slug(partner_id)}@pactmatch")
        ve.add("dtstamp", stamp)
        ve.add("sequence", sequence)
        ve.add("dtstart", start.replace(tzinfo=tz))
        ve.add("dtend", end.replace(tzinfo=tz))
        ve.add("summary", summary)
        return ve

    for item in agenda.items:
        ve = vevent(
            item.partner_id, item.start, item.end, f"1:1 with {item.partner_person} ({item.partner_org})"
        )
        where = f"table {item.table}"
        ve.add("location", f"{event.location}, {where}" if event.location else where)
        ve.add("description", f"Why you should meet: {item.why}\nMatch score: {item.score:.2f}")
        ve.add("status", "CONFIRMED")
        cal.add_component(ve)
    for gone in agenda.cancelled:
        ve = vevent(gone.partner_id, gone.start, gone.end, f"Cancelled: 1:1 with {gone.partner_person}")
        ve.add("description", f"Not in the updated agenda: {gone.reason}")
        ve.add("status", "CANCELLED")
        cal.add_component(ve)
    # the zone's rules around the event only (the default spans 1970–2038: a long, noisy VTIMEZONE)
    cal.add_missing_timezones(
        first_date=date(event.date.year - 1, 1, 1), last_date=date(event.date.year + 2, 1, 1)
    )
    data: bytes = cal.to_ical()
    return data


REQUEST_COLUMNS = (
    "request_id", "state", "sender", "sender_person", "sender_org", "recipient", "recipient_person",
    "recipient_org", "message", "created_at", "updated_at", "in_schedule",
)  # fmt: skip


def requests_csv(items: Sequence[RequestWithNames]) -> str:
    """One row per request, for the organiser's spreadsheet."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(REQUEST_COLUMNS)
    for i in items:
        r = i.request
        writer.writerow([
            r.request_id, r.state.value, r.sender, i.sender_person, i.sender_org, r.recipient,
            i.recipient_person, i.recipient_org, r.message, r.created_at.isoformat(),
            r.updated_at.isoformat(), i.in_schedule,
        ])  # fmt: skip
    return out.getvalue()


def links_csv(rows: Sequence[tuple[Attendee, str, datetime]], base_url: str) -> str:
    """Every attendee's agenda link, one row each, for a mail merge."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(("attendee_id", "person", "email", "org_name", "link", "expires_at"))
    for attendee, token, expires_at in rows:
        writer.writerow([
            attendee.attendee_id, attendee.person, attendee.email or "", attendee.org_name,
            f"{base_url.rstrip('/')}/agenda/{token}", expires_at.isoformat(),
        ])  # fmt: skip
    return out.getvalue()


def slug(text: str) -> str:
    """A safe file name fragment for an attendee id (ids may hold ':' or '|')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "attendee"


# -- organiser summary ------------------------------------------------------------------------


def request_stats(requests: Sequence[MeetingRequest], schedule: Schedule) -> RequestStats | None:
    """How many requests were sent and how they ended, and how many became meetings (``None``
    when nobody sent one)."""
    if not requests:
        return None
    states = Counter(r.state for r in requests)
    meeting = {frozenset((m.attendee_a, m.attendee_b)) for m in schedule.meetings}
    accepted = {frozenset((r.sender, r.recipient)) for r in requests if r.state == RequestState.ACCEPTED}
    in_schedule = len(accepted & meeting)
    return RequestStats(
        sent=len(requests),
        pending=states[RequestState.PENDING],
        accepted=states[RequestState.ACCEPTED],
        declined=states[RequestState.DECLINED],
        withdrawn=states[RequestState.WITHDRAWN],
        cancelled=states[RequestState.CANCELLED],
        senders=len({r.sender for r in requests}),
        in_schedule=in_schedule,
        share_of_meetings=in_schedule / len(schedule.meetings) if schedule.meetings else 0.0,
    )


def summarise(
    event: Event, attendees: Sequence[Attendee], schedule: Schedule, requests: Sequence[MeetingRequest] = ()
) -> EventSummary:
    """Meetings per attendee, score distribution, slot loads, unmatched attendees, solver figures,
    and what became of the attendees' requests."""
    degree: Counter[str] = Counter()
    for m in schedule.meetings:
        degree[m.attendee_a] += 1
        degree[m.attendee_b] += 1
    counts = np.array([degree[a.attendee_id] for a in attendees], dtype=np.int64)
    dist = Counter(counts.tolist())
    scores = np.array([m.score for m in schedule.meetings], dtype=np.float64)
    score_summary = None
    if len(scores):
        edges = np.linspace(0.0, max(float(scores.max()), 1e-9), 11)
        hist, _ = np.histogram(scores, bins=edges)
        score_summary = ScoreSummary(
            min=float(scores.min()),
            p10=float(np.quantile(scores, 0.1)),
            median=float(np.median(scores)),
            mean=float(scores.mean()),
            p90=float(np.quantile(scores, 0.9)),
            max=float(scores.max()),
            histogram=tuple(
                ScoreBin(low=float(lo), high=float(hi), meetings=int(c))
                for lo, hi, c in zip(edges[:-1], edges[1:], hist, strict=True)
            ),
        )
    per_slot = Counter(m.slot_id for m in schedule.meetings)
    return EventSummary(
        event_id=event.event_id,
        event_name=event.name,
        generated_at=schedule.generated_at,
        encoder=schedule.encoder,
        attendees=len(attendees),
        meetings=len(schedule.meetings),
        capacity=event.tables * len(event.slots),
        floor=event.min_meetings,
        below_floor=int((counts < event.min_meetings).sum()),
        min_meetings=int(counts.min()) if len(counts) else 0,
        mean_meetings=float(counts.mean()) if len(counts) else 0.0,
        max_meetings=int(counts.max()) if len(counts) else 0,
        meetings_per_attendee=tuple(CountBin(meetings=k, attendees=dist[k]) for k in sorted(dist)),
        scores=score_summary,
        slots=tuple(
            SlotLoad(slot_id=s.slot_id, start=s.start, meetings=per_slot[s.slot_id], tables=event.tables)
            for s in event.slots
        ),
        unmatched=schedule.unmatched,
        dropped=schedule.dropped,
        warnings=schedule.warnings,
        stats=schedule.stats,
        requests=request_stats(requests, schedule),
    )


def summary_csv(event: Event, attendees: Sequence[Attendee], schedule: Schedule) -> str:
    """One row per attendee: meetings, cap, mean score, and why they are below the floor if so."""
    degree: Counter[str] = Counter()
    total: defaultdict[str, float] = defaultdict(float)
    for m in schedule.meetings:
        for a in (m.attendee_a, m.attendee_b):
            degree[a] += 1
            total[a] += m.score
    unmatched = {u.attendee_id: u.reason for u in schedule.unmatched}
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(SUMMARY_COLUMNS)
    for att in attendees:
        k = degree[att.attendee_id]
        cap = event.default_max_meetings if att.max_meetings is None else att.max_meetings
        status = "below floor" if att.attendee_id in unmatched else "ok"
        mean = f"{total[att.attendee_id] / k:.4f}" if k else ""
        writer.writerow([
            att.attendee_id, att.person, att.org_id, att.org_name, att.group or "", k, cap, mean, status,
            unmatched.get(att.attendee_id, ""),
        ])  # fmt: skip
    return out.getvalue()


def _svg(fig: object) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    text = buf.getvalue()
    return text[text.index("<svg") :]


def summary_charts(summary: EventSummary) -> dict[str, str]:
    """Inline SVG charts: meetings per attendee and match scores (matplotlib, no pyplot state)."""
    from matplotlib.figure import Figure

    charts: dict[str, str] = {}
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    bins = summary.meetings_per_attendee
    ax.bar([b.meetings for b in bins], [b.attendees for b in bins], color="#3b6ea5")
    ax.axvline(summary.floor - 0.5, color="#c0392b", linestyle="--", label=f"floor ({summary.floor})")
    ax.set_xlabel("meetings")
    ax.set_ylabel("attendees")
    ax.set_title("Meetings per attendee")
    ax.legend()
    charts["meetings"] = _svg(fig)
    if summary.scores is not None:
        fig = Figure(figsize=(6, 3))
        ax = fig.add_subplot()
        hist = summary.scores.histogram
        ax.bar(
            [(b.low + b.high) / 2 for b in hist], [b.meetings for b in hist],
            width=[(b.high - b.low) * 0.9 for b in hist], color="#2e8b57",
        )  # fmt: skip
        ax.set_xlabel("match score")
        ax.set_ylabel("meetings")
        ax.set_title("Match scores")
        charts["scores"] = _svg(fig)
    return charts


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ s.event_name }} — organiser summary</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; }
th { background: #f3f3f3; text-align: left; } .num { text-align: right; } .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
.charts svg { max-width: 32rem; height: auto; } .warn { color: #a65b00; }
</style></head><body>
<h1>{{ s.event_name }}</h1>
<p>{{ event.date }}{% if event.location %}, {{ event.location }}{% endif %} · schedule generated {{ s.generated_at.strftime("%Y-%m-%d %H:%M UTC") }} · encoder {{ s.encoder }}</p>
<h2>Overview</h2>
<table>
<tr><th>attendees</th><td class="num">{{ s.attendees }}</td></tr>
<tr><th>meetings</th><td class="num">{{ s.meetings }} of {{ s.capacity }} table slots</td></tr>
<tr><th>meetings per attendee</th><td class="num">min {{ s.min_meetings }} · mean {{ "%.2f"|format(s.mean_meetings) }} · max {{ s.max_meetings }}</td></tr>
<tr><th>below the floor of {{ s.floor }}</th><td class="num">{{ s.below_floor }}</td></tr>
{% if s.scores %}<tr><th>match score</th><td class="num">median {{ "%.3f"|format(s.scores.median) }} (p10 {{ "%.3f"|format(s.scores.p10) }}, p90 {{ "%.3f"|format(s.scores.p90) }})</td></tr>{% endif %}
<tr><th>solver</th><td>{{ st.solver }} ({{ st.status }})</td></tr>
<tr><th>objective</th><td class="num">{{ "%.3f"|format(st.objective) }}{% if st.lp_bound is not none %} · LP bound {{ "%.3f"|format(st.lp_bound) }} (gap {{ "%.2f"|format(100 * (st.gap_to_bound or 0)) }} %){% endif %}</td></tr>
<tr><th>greedy baseline</th><td class="num">{{ "%.3f"|format(st.greedy_objective) }} (min {{ st.greedy_min_meetings }} meetings per attendee)</td></tr>
<tr><th>time</th><td class="num">{{ "%.2f"|format(st.seconds.get("total", 0)) }} s</td></tr>
</table>
{% if s.requests %}<h2>Attendees' requests</h2>
<table>
<tr><th>sent</th><td class="num">{{ s.requests.sent }} by {{ s.requests.senders }} attendee(s)</td></tr>
<tr><th>accepted</th><td class="num">{{ s.requests.accepted }}</td></tr>
<tr><th>declined</th><td class="num">{{ s.requests.declined }}</td></tr>
<tr><th>pending · withdrawn · cancelled</th><td class="num">{{ s.requests.pending }} · {{ s.requests.withdrawn }} · {{ s.requests.cancelled }}</td></tr>
<tr><th>turned into meetings</th><td class="num">{{ s.requests.in_schedule }} ({{ "%.1f"|format(100 * s.requests.share_of_meetings) }} % of all meetings)</td></tr>
</table>{% endif %}
<div class="charts">{% for name, svg in charts.items() %}<figure>{{ svg|safe }}</figure>{% endfor %}</div>
<h2>Slots</h2>
<table><tr><th>slot</th><th>start</th><th class="num">meetings</th><th class="num">tables</th></tr>
{% for sl in s.slots %}<tr><td>{{ sl.slot_id }}</td><td>{{ sl.start.strftime("%Y-%m-%d %H:%M") }}</td><td class="num">{{ sl.meetings }}</td><td class="num">{{ sl.tables }}</td></tr>
{% endfor %}</table>
<h2>Attendees below the floor ({{ s.unmatched|length }})</h2>
{% if s.unmatched %}<table><tr><th>attendee</th><th class="num">meetings</th><th>reason</th></tr>
{% for u in s.unmatched %}<tr><td>{{ u.attendee_id }}</td><td class="num">{{ u.meetings }}</td><td>{{ u.reason }}</td></tr>
{% endfor %}</table>{% else %}<p>Everyone reached the floor.</p>{% endif %}
{% if s.dropped %}<h2>Meetings of the previous schedule not kept ({{ s.dropped|length }})</h2>
<table><tr><th>attendees</th><th>slot</th><th>reason</th></tr>
{% for d in s.dropped %}<tr><td>{{ d.attendee_a }} – {{ d.attendee_b }}</td><td>{{ d.slot_id }}</td><td>{{ d.reason }}</td></tr>
{% endfor %}</table>{% endif %}
{% if s.warnings %}<h2>Warnings</h2><ul>{% for w in s.warnings %}<li class="warn">{{ w }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def summary_html(event: Event, summary: EventSummary) -> str:
    """The organiser's one-page report with embedded SVG charts."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(
        s=summary, st=summary.stats, event=event, charts=summary_charts(summary)
    )


# -- everything at once -----------------------------------------------------------------------


def write_exports(
    out_dir: Path,
    event: Event,
    attendees: Sequence[Attendee],
    schedule: Schedule,
    agendas: Sequence[Agenda],
    requests: Sequence[MeetingRequest] = (),
) -> list[Path]:
    """Write agendas (JSON, CSV, one .ics per attendee) and the summary (JSON, CSV, HTML) to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ics_dir = out_dir / "ics"
    ics_dir.mkdir(exist_ok=True)
    written: list[Path] = []

    def write(path: Path, data: str | bytes) -> None:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        written.append(path)

    summary = summarise(event, attendees, schedule, requests)
    write(out_dir / "agendas.json", "[" + ",\n".join(a.model_dump_json() for a in agendas) + "]\n")
    write(out_dir / "agendas.csv", agendas_csv(agendas))
    used: set[str] = set()
    for agenda in agendas:
        name = slug(agenda.attendee_id)
        while name.lower() in used:  # case-insensitive file systems
            name += "_"
        used.add(name.lower())
        write(ics_dir / f"{name}.ics", agenda_ics(agenda, event))
    write(out_dir / "summary.json", summary.model_dump_json(indent=2))
    write(out_dir / "summary.csv", summary_csv(event, attendees, schedule))
    write(out_dir / "summary.html", summary_html(event, summary))
    return written
