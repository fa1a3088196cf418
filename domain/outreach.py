"""Reaching out: organisations' interest in joining a partnership, and coordinators' shortlists.

An organisation's members *express interest* in a partnership (an inbound request with a
message, which its coordinators see beside their candidates); a partnership's coordinators keep a
*shortlist* of organisations they approach, each with a status that moves from ``shortlisted``
towards ``joined`` or ``declined``. Every status change is kept with its date: the outcomes are the
feedback that tells how well the recommender's proposals did (``pactmatch evaluate --feedback``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.models import Identifier

#: The longest message or note kept (a page of text: enough to introduce an organisation).
MAX_MESSAGE = 4000


class ShortlistStatus(StrEnum):
    SHORTLISTED = "shortlisted"
    CONTACTED = "contacted"
    INTERESTED = "interested"
    JOINED = "joined"
    DECLINED = "declined"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Interest(_Frozen):
    """An organisation's request to join a partnership (withdrawn by deleting it)."""

    org_id: Identifier
    partnership_id: Identifier
    message: str = Field(default="", max_length=MAX_MESSAGE)
    created_at: datetime
    updated_at: datetime
    by: str = Field(description="who expressed it (a user name, or cli:<name>)")


class ShortlistChange(_Frozen):
    """One status of a shortlist entry: what it became, the note, the date it refers to (a
    coordinator may record a call made last week), and when and by whom it was recorded."""

    status: ShortlistStatus
    note: str = Field(default="", max_length=MAX_MESSAGE)
    on: date
    at: datetime
    by: str


class ShortlistEntry(_Frozen):
    """An organisation on a partnership's shortlist; its current state is the last change."""

    partnership_id: Identifier
    org_id: Identifier
    history: tuple[ShortlistChange, ...] = Field(min_length=1)

    @property
    def current(self) -> ShortlistChange:
        return self.history[-1]

    @property
    def status(self) -> ShortlistStatus:
        return self.current.status


class ShortlistUpdate(_Frozen):
    """What a coordinator records: a status, a note and the date (today when left out)."""

    status: ShortlistStatus = ShortlistStatus.SHORTLISTED
    note: str = Field(default="", max_length=MAX_MESSAGE)
    on: date | None = None


class Outcome(_Frozen):
    """One shortlist status change as feedback: who, for which partnership, what, and when."""

    partnership_id: Identifier
    org_id: Identifier
    status: ShortlistStatus
    on: date
