"""Stores: the ``GraphStore`` protocol, the embedded default and the Neo4j (Bolt) store."""

from graph.base import (
    EntityKind,
    GraphStore,
    ImportCounts,
    OrganisationFilter,
    Page,
    PartnershipFilter,
    StoreCounts,
    UpsertCounts,
)

__all__ = [
    "EntityKind",
    "GraphStore",
    "ImportCounts",
    "OrganisationFilter",
    "Page",
    "PartnershipFilter",
    "StoreCounts",
    "UpsertCounts",
]
