"""Organisation profiles."""

from __future__ import annotations

from domain.models import Organisation


class OrganisationCreate(Organisation):
    """An organisation profile to create (``org_id`` chosen by the client, stable across imports)."""


class OrganisationPublic(Organisation):
    pass
