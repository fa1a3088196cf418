"""Where interests and shortlists are kept: validated JSON documents in any store's artifact area.

* ``interest/<partnership_id>/<org_id>.json`` — an organisation's interest in joining (:class:`Interest`);
* ``shortlist/<partnership_id>/<org_id>.json`` — a shortlist entry with its history (:class:`ShortlistEntry`).

Documents rather than new store methods, as events do (:mod:`pactmatch.event_repository`): both
stores keep them unchanged through the artifact API their contract suite already covers, with no
schema, no Cypher and no migration, and a shortlist is tens of entries, not a graph to traverse.
One document per (partnership, organisation) keeps each write small and independent of the
others: two coordinators updating different entries never rewrite each other's, a partnership's
list is one prefix read, and which organisations expressed interest is known from the names alone.
Ids cannot contain ``/`` (:data:`domain.models.Identifier`), so the names are unambiguous.
Every document has its version (:mod:`pactmatch.documents`): the service's read-modify-writes are
compare-and-sets, so two coordinators (in any API process) recording a status at once both land
in the entry's history.
"""

from __future__ import annotations

from collections.abc import Iterator

from domain.outreach import Interest, ShortlistEntry
from pactmatch.documents import DocumentRepository

INTERESTS, SHORTLISTS = "interest/", "shortlist/"


def _key(prefix: str, partnership_id: str, org_id: str) -> str:
    return f"{prefix}{partnership_id}/{org_id}.json"


def _org_of(name: str) -> str:
    return name.rsplit("/", 1)[1].removesuffix(".json")


class OutreachRepository(DocumentRepository):
    """Interests and shortlist entries as validated JSON artifacts of any :class:`GraphStore`."""

    # -- interests ------------------------------------------------------------------------------
    def interest(self, partnership_id: str, org_id: str) -> Interest | None:
        return self.interest_versioned(partnership_id, org_id)[0]

    def interest_versioned(self, partnership_id: str, org_id: str) -> tuple[Interest | None, int]:
        return self._load_versioned(_key(INTERESTS, partnership_id, org_id), Interest)

    def put_interest(self, interest: Interest, *, expected: int | None = None) -> int:
        return self._save(_key(INTERESTS, interest.partnership_id, interest.org_id), interest, expected)

    def delete_interest(self, partnership_id: str, org_id: str, *, expected: int | None = None) -> bool:
        """Remove it; whether there was one."""
        return self._delete(_key(INTERESTS, partnership_id, org_id), expected)

    def interested_org_ids(self, partnership_id: str) -> set[str]:
        """The organisations with an interest in the partnership (from the names: nothing parsed)."""
        return {_org_of(n) for n in self.store.list_artifacts(f"{INTERESTS}{partnership_id}/")}

    def interests_in(self, partnership_id: str) -> list[Interest]:
        return list(self._load_all(f"{INTERESTS}{partnership_id}/", Interest))

    def interests_of(self, org_id: str) -> list[Interest]:
        """The organisation's interests in any partnership (names filtered before any is read)."""
        names = [n for n in self.store.list_artifacts(INTERESTS) if _org_of(n) == org_id]
        return [i for n in names if (i := self._load(n, Interest)) is not None]

    # -- shortlists -----------------------------------------------------------------------------
    def entry(self, partnership_id: str, org_id: str) -> ShortlistEntry | None:
        return self.entry_versioned(partnership_id, org_id)[0]

    def entry_versioned(self, partnership_id: str, org_id: str) -> tuple[ShortlistEntry | None, int]:
        return self._load_versioned(_key(SHORTLISTS, partnership_id, org_id), ShortlistEntry)

    def put_entry(self, entry: ShortlistEntry, *, expected: int | None = None) -> int:
        return self._save(_key(SHORTLISTS, entry.partnership_id, entry.org_id), entry, expected)

    def delete_entry(self, partnership_id: str, org_id: str, *, expected: int | None = None) -> bool:
        return self._delete(_key(SHORTLISTS, partnership_id, org_id), expected)

    def shortlist(self, partnership_id: str) -> list[ShortlistEntry]:
        return list(self._load_all(f"{SHORTLISTS}{partnership_id}/", ShortlistEntry))

    def all_entries(self) -> Iterator[ShortlistEntry]:
        """Every partnership's shortlist entries (the feedback export), by partnership and id."""
        return self._load_all(SHORTLISTS, ShortlistEntry)
