"""The demo dataset: bundled, fictional organisations and partnerships in real NUTS regions."""

from __future__ import annotations

import importlib.resources
import secrets
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from domain.accounts import Actor, Grant, Role
from domain.errors import NotFoundError, PactmatchError
from domain.events import EventCreate, SlotSpec
from domain.models import Partnership
from graph.base import OrganisationFilter
from pactmatch.accounts import AccountService
from pactmatch.event_service import EventService, StoreSelection
from pactmatch.importers import ImportReport, read_json
from pactmatch.service import PactmatchService, Progress

#: Partnerships the demo explains first: they have deliberate gaps (see data/demo/README.md).
SHOWCASE_KINDS = ("regional", "large_scale")


def demo_dataset_path() -> Path:
    return Path(str(importlib.resources.files("pactmatch") / "data" / "demo" / "demo.json"))


def load_demo(
    service: PactmatchService, actor: Actor, progress: Progress | None = None
) -> tuple[ImportReport, list[Partnership]]:
    """Import the demo dataset; returns the report and the partnerships to show first (those with
    deliberate gaps: regional, then large-scale)."""
    report = service.import_batch(read_json(demo_dataset_path()), "demo.json", progress=progress, actor=actor)

    def showcase_order(p: Partnership) -> tuple[int, str]:
        kind = p.kind.value
        return (
            SHOWCASE_KINDS.index(kind) if kind in SHOWCASE_KINDS else len(SHOWCASE_KINDS),
            p.partnership_id,
        )

    partnerships = sorted(service.iter_partnerships(), key=showcase_order)
    if not partnerships:
        raise PactmatchError("the demo dataset holds no partnerships")
    return report, partnerships


@dataclass(frozen=True)
class DemoLogin:
    name: str
    password: str
    grants: str


DEMO_EVENT = EventCreate(
    event_id="demo-brokerage-day",
    name="Demo brokerage day",
    date=date(2027, 3, 16),
    location="Brussels",
    slots=tuple(SlotSpec(start=time(9 + i // 2, 30 * (i % 2)), duration_minutes=25) for i in range(8)),
    tables=20,
    default_max_meetings=6,
    min_meetings=2,
)


def create_demo_accounts(
    service: PactmatchService, showcase: list[Partnership], actor: Actor
) -> list[DemoLogin]:
    """A demo admin, a coordinator of the first showcase partnership, an organiser of a demo
    event (made here, with 40 attendees from the store) and a member of an organisation that is in
    no partnership yet (a newcomer looking for one), each with a new random password; users that
    exist already (the demo ran before on this store) get a new one."""
    events = EventService(service)
    try:
        events.get_event(str(DEMO_EVENT.event_id))
    except NotFoundError:
        events.create_event(DEMO_EVENT, actor=actor)
        events.register_from_store(
            str(DEMO_EVENT.event_id), StoreSelection(limit=40, person="Demo attendee"), actor=actor
        )
    accounts = AccountService(service.store)
    wanted = [
        ("demo-admin", Grant(role=Role.ADMIN)),
        ("demo-coordinator", Grant(role=Role.COORDINATOR, scope=showcase[0].partnership_id)),
        ("demo-organiser", Grant(role=Role.ORGANISER, scope=str(DEMO_EVENT.event_id))),
    ]
    newcomer = next(
        (
            o.org_id
            for o in service.list_organisations(OrganisationFilter(), 0, 1000).items
            if not service.memberships_of(o.org_id)
        ),
        None,
    )
    if newcomer is not None:
        wanted.append(("demo-member", Grant(role=Role.MEMBER, scope=newcomer)))
    logins = []
    for name, grant in wanted:
        password = secrets.token_urlsafe(12)
        if accounts.store.get_user(name) is None:
            accounts.add_user(name, password, [grant], actor)
        else:
            accounts.grant(name, grant, actor)
            accounts.set_password(name, password, actor)
        logins.append(DemoLogin(name, password, grant.label()))
    return logins
