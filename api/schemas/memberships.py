"""Memberships: an organisation's role in a partnership (read from both sides)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from domain.models import Membership, Role


class MembershipPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role = Role.MEMBER
    since: date | None = None


class MembershipPublic(Membership):
    pass
