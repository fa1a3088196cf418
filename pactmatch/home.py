"""What a signed-in user's grants give them: the pages' home ("my partnerships, my events, my
organisation") and ``GET /me``.

Grants name ids; this resolves them to names, once per request, so the home page needs no
further lookups. A grant whose partnership, event or organisation was deleted is still listed
(with no name): it is the admin's to revoke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.accounts import Actor, Role
from domain.errors import NotFoundError
from pactmatch.event_repository import EventRepository
from pactmatch.service import PactmatchService


@dataclass(frozen=True)
class Scoped:
    """A partnership, event or organisation a grant names; ``name`` is ``None`` when it is gone."""

    id: str
    name: str | None


@dataclass(frozen=True)
class Home:
    name: str
    admin: bool  # may do everything (support staff, and the CLI)
    partnerships: list[Scoped]  # coordinated
    events: list[Scoped]  # organised
    organisations: list[Scoped]  # member of


def home(service: PactmatchService, actor: Actor) -> Home:
    """What ``actor``'s grants give, by name."""
    events = EventRepository(service.store)

    def named(role: Role, name_of: Callable[[str], str]) -> list[Scoped]:
        out = []
        for scope in actor.scopes(role):
            try:
                out.append(Scoped(scope, name_of(scope)))
            except NotFoundError:
                out.append(Scoped(scope, None))
        return out

    return Home(
        name=actor.name,
        admin=actor.is_admin,
        partnerships=named(Role.COORDINATOR, lambda i: service.get_partnership(i).name),
        events=named(Role.ORGANISER, lambda i: events.get_event(i).name),
        organisations=named(Role.MEMBER, lambda i: service.get_organisation(i).name),
    )
