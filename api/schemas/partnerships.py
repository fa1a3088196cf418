"""Partnerships."""

from __future__ import annotations

from domain.models import Partnership


class PartnershipCreate(Partnership):
    pass


class PartnershipPublic(Partnership):
    pass
