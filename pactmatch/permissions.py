"""Who may do what: the one place that decides (Datasette's ``permission_allowed`` pattern).

Every API route and page names an :class:`Action` and, where the action is about one partnership,
event or organisation, the path parameter that names it; ``api.auth`` asks :func:`allowed` before
the route runs. Nothing else decides access, so the table below is the whole policy:

=====================  ==========================================================================
action                 who may
=====================  ==========================================================================
health, sign-in        anyone, signed in or not
agenda.link            anyone holding an attendee's signed agenda link (the service checks it):
                       their agenda, the other attendees, their requests and notifications
read, account.own      any signed-in user: profiles, partnerships, memberships, regions, the mix;
                       their own account (who they are, their password)
organisation.edit      the organisation's members (and admins)
organisation.join      the organisation's members: partnerships it could join, its interest in
                       joining them
partnership.edit       the partnership's coordinators: the partnership, its members, its shortlist
partnership.insights   the partnership's coordinators: candidates, gaps, synergies, the shortlist,
                       the requests to join
event.create           any organiser (who then organises the new event)
event.manage           the event's organisers: attendees, schedule, agendas, summary, requests
events.list            any organiser (each sees the events they organise)
admin                  admins only: users, keys, imports, batch reports, the target mix, the audit log
=====================  ==========================================================================

Admins (support staff) and the CLI may do everything.
"""

from __future__ import annotations

from enum import StrEnum

from domain.accounts import Actor, Role


class Action(StrEnum):
    HEALTH = "health"
    SIGN_IN = "sign-in"
    AGENDA_LINK = "agenda.link"
    READ = "read"
    OWN_ACCOUNT = "account.own"
    EDIT_ORGANISATION = "organisation.edit"
    JOIN_PARTNERSHIPS = "organisation.join"
    EDIT_PARTNERSHIP = "partnership.edit"
    PARTNERSHIP_INSIGHTS = "partnership.insights"
    CREATE_EVENT = "event.create"
    MANAGE_EVENT = "event.manage"
    LIST_EVENTS = "events.list"
    ADMIN = "admin"


#: The role whose grant for the resource allows each scoped action.
_SCOPED: dict[Action, Role] = {
    Action.EDIT_ORGANISATION: Role.MEMBER,
    Action.JOIN_PARTNERSHIPS: Role.MEMBER,
    Action.EDIT_PARTNERSHIP: Role.COORDINATOR,
    Action.PARTNERSHIP_INSIGHTS: Role.COORDINATOR,
    Action.MANAGE_EVENT: Role.ORGANISER,
}


def allowed(actor: Actor, action: Action, resource: str | None = None) -> bool:
    """Whether ``actor`` may do ``action`` (on the partnership, event or organisation ``resource``
    for the scoped actions; a scoped action without a resource is refused to all but admins)."""
    if action in (Action.HEALTH, Action.SIGN_IN, Action.AGENDA_LINK):
        return True
    if not actor.signed_in:
        return False
    if actor.is_admin:
        return True
    if action in (Action.READ, Action.OWN_ACCOUNT):
        return True
    if action in _SCOPED:
        return resource is not None and actor.has(_SCOPED[action], resource)
    if action in (Action.CREATE_EVENT, Action.LIST_EVENTS):
        return actor.has(Role.ORGANISER)
    return False


def visible_events(actor: Actor) -> set[str] | None:
    """The events ``actor`` may see in lists (``None``: all of them)."""
    return None if actor.is_admin else set(actor.scopes(Role.ORGANISER))
