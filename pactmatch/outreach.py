"""Reaching out, both ways: partnerships an organisation could join, its interest in joining, and
the coordinators' shortlists with their outcomes. The API, the pages and the CLI call only this.

* Members of an organisation see the partnerships it could join, ranked and explained
  (:class:`~matching.join.PartnershipRecommender`, the heuristic ranker seen from the organisation),
  and express interest in one: an inbound request its coordinators see beside their candidates.
* Coordinators keep a shortlist per partnership: each organisation with a status, a note and a
  date, every change kept; "add as member" goes through the ordinary membership write.
* Shortlist outcomes are feedback: exported as ``(partnership, organisation, outcome, date)`` rows
  and ranked again by every ranker (:func:`matching.evaluation.feedback.rank_outcomes`) for
  ``pactmatch evaluate --feedback`` and after ``pactmatch fit``.

Interests and shortlists are documents in the store (:mod:`pactmatch.outreach_repository`);
read-modify-write of one is serialised by a process-wide lock (the API serves from one process).
Every write names its actor and lands in the audit log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from domain.accounts import Actor
from domain.candidates import CandidateFilters
from domain.errors import ConflictError, NotFoundError
from domain.models import Membership, PartnershipKind, Role
from domain.outreach import (
    Interest,
    Outcome,
    ShortlistChange,
    ShortlistEntry,
    ShortlistStatus,
    ShortlistUpdate,
)
from matching.diversity import DiversityOptions
from matching.evaluation.baselines import HeuristicIndexRanker, IndexRanker, baselines
from matching.evaluation.feedback import FeedbackResult, latest_outcomes, rank_outcomes, without_joined
from matching.join import PartnershipFilters, PartnershipRecommender
from matching.recommender import HeuristicRecommender
from matching.snapshot import KIND_ORDER, Snapshot
from matching.types import PartnershipRecommendation
from pactmatch.accounts import Clock, utc_now
from pactmatch.documents import attempts
from pactmatch.outreach_exports import outcomes_csv, write_csv
from pactmatch.outreach_repository import OutreachRepository
from pactmatch.ranker_repository import RankerRepository
from pactmatch.reasons import Audience, Explanation, explain_for_people
from pactmatch.service import CandidateList, PactmatchService

SHORTLIST_COLUMNS = (
    "partnership_id", "org_id", "organisation", "status", "note", "date", "recorded_at", "recorded_by",
    "member", "interest", "history",
)  # fmt: skip


@dataclass(frozen=True)
class PartnershipToJoin:
    """A partnership an organisation could join, explained, and whether it said it is interested."""

    partnership_id: str
    name: str
    kind: PartnershipKind
    score: float
    recommendation: PartnershipRecommendation
    interest_expressed: bool

    @property
    def reasons(self) -> Explanation:
        return explain_for_people(self.recommendation.contributions, Audience.JOIN)


@dataclass(frozen=True)
class JoinList:
    org_id: str
    model: str
    items: list[PartnershipToJoin]
    total: int  # partnerships the filters leave, ranked or not
    offset: int


@dataclass(frozen=True)
class InterestItem:
    """An interest with the name of the other side (the partnership in an organisation's list, the
    organisation in a partnership's); ``None`` when that side is no longer in the store."""

    interest: Interest
    name: str | None


@dataclass(frozen=True)
class ShortlistItem:
    entry: ShortlistEntry
    name: str | None  # None: the organisation is no longer in the store
    member: bool  # a member of the partnership now
    interest: bool  # it expressed interest in joining


@dataclass(frozen=True)
class CandidatePage:
    """A partnership's candidates, with the inbound interests and shortlist statuses among them."""

    candidates: CandidateList
    interested: frozenset[str]  # every organisation that expressed interest (listed or not)
    shortlisted: Mapping[str, ShortlistStatus]  # every shortlisted organisation's status


class OutreachService:
    def __init__(self, service: PactmatchService, clock: Clock = utc_now) -> None:
        self.service = service
        self.repo = OutreachRepository(service.store)
        self.audit = service.audit
        self.clock = clock
        self._join: tuple[Snapshot, PartnershipRecommender] | None = None
        self._join_lock = threading.Lock()

    # -- partnerships to join ---------------------------------------------------------------------
    def join_recommender(self) -> PartnershipRecommender:
        """The recommender fitted on the service's current snapshot (fitted again when it changes)."""
        snapshot = self.service.snapshot()
        with self._join_lock:
            if self._join is None or self._join[0] is not snapshot:
                self._join = (snapshot, PartnershipRecommender().fit(snapshot))
            return self._join[1]

    def partnerships_to_join(
        self, org_id: str, filters: PartnershipFilters | None = None, top_k: int = 10, offset: int = 0
    ) -> JoinList:
        """Partnerships ``org_id`` is not a member of, best first (``offset`` skips the first ones),
        each explained; ``NotFoundError`` for an unknown organisation."""
        self.service.store.get_organisation(org_id)
        recommender = self.join_recommender()
        page = recommender.recommend(org_id, top_k, filters, offset)
        interested = {i.partnership_id for i in self.repo.interests_of(org_id)}
        s = recommender.snapshot_
        rows = [(rec, s.partnership_index[rec.partnership_id]) for rec in page.items]
        items = [
            PartnershipToJoin(
                rec.partnership_id,
                s.partnership_names[j],
                KIND_ORDER[int(s.partnership_kinds[j])],
                rec.score,
                rec,
                rec.partnership_id in interested,
            )
            for rec, j in rows
        ]
        return JoinList(org_id, recommender.name, items, page.total, offset)

    # -- interests --------------------------------------------------------------------------------
    def express_interest(
        self, org_id: str, partnership_id: str, message: str = "", *, actor: Actor
    ) -> tuple[InterestItem, bool]:
        """Record (or reword) the organisation's interest in joining; the interest (with the
        partnership's name) and whether it is new. ``NotFoundError`` for unknown ids,
        ``ConflictError`` when it is a member already."""
        name = self.service.get_partnership(partnership_id).name
        if any(m.partnership_id == partnership_id for m in self.service.memberships_of(org_id)):
            raise ConflictError(f"organisation {org_id!r} is already a member of {partnership_id!r}")
        for attempt in attempts(f"the interest of {org_id} in {partnership_id}"):
            with attempt:
                before, version = self.repo.interest_versioned(partnership_id, org_id)
                now = self.clock()
                interest = Interest(
                    org_id=org_id, partnership_id=partnership_id, message=message,
                    created_at=before.created_at if before else now, updated_at=now, by=actor.name or "anonymous",
                )  # fmt: skip
                if before is not None and before.message == interest.message:
                    return InterestItem(before, name), False
                self.repo.put_interest(interest, expected=version)
        self.audit.record(
            actor,
            "interest.update" if before else "interest.create",
            f"interest of {org_id} in {partnership_id}",
            {"message": [before.message if before else None, interest.message]},
        )
        return InterestItem(interest, name), before is None

    def withdraw_interest(self, org_id: str, partnership_id: str, *, actor: Actor) -> None:
        """Withdraw it; ``NotFoundError`` when there is none."""
        for attempt in attempts(f"the interest of {org_id} in {partnership_id}"):
            with attempt:
                before, version = self.repo.interest_versioned(partnership_id, org_id)
                if before is None or not self.repo.delete_interest(partnership_id, org_id, expected=version):
                    raise NotFoundError("interest", f"{org_id} in {partnership_id}")
                self.audit.record(
                    actor,
                    "interest.withdraw",
                    f"interest of {org_id} in {partnership_id}",
                    {"message": [before.message, None]},
                )

    def interests_of(self, org_id: str) -> list[InterestItem]:
        """The organisation's interests, newest first, each with the partnership's name."""
        self.service.get_organisation(org_id)
        items = [
            InterestItem(i, self._partnership_name(i.partnership_id)) for i in self.repo.interests_of(org_id)
        ]
        return sorted(items, key=lambda item: item.interest.updated_at, reverse=True)

    def inbound_interests(self, partnership_id: str, *, pending: bool = False) -> list[InterestItem]:
        """The requests to join the partnership, newest first, each with the organisation's name;
        with ``pending`` only those of organisations that are not members (yet)."""
        self.service.get_partnership(partnership_id)
        members = {m.org_id for m in self.service.members(partnership_id)} if pending else set()
        items = [
            InterestItem(i, self._organisation_name(i.org_id))
            for i in self.repo.interests_in(partnership_id)
            if i.org_id not in members
        ]
        return sorted(items, key=lambda item: item.interest.updated_at, reverse=True)

    # -- candidates, as coordinators see them -----------------------------------------------------
    def candidates(
        self,
        partnership_id: str,
        top_k: int = 10,
        filters: CandidateFilters | None = None,
        diversity: DiversityOptions | None = None,
    ) -> CandidatePage:
        """:meth:`PactmatchService.candidates`, with who expressed interest and who is shortlisted."""
        result = self.service.candidates(partnership_id, top_k, filters, diversity)
        return CandidatePage(
            result,
            frozenset(self.repo.interested_org_ids(partnership_id)),
            {e.org_id: e.status for e in self.repo.shortlist(partnership_id)},
        )

    # -- shortlists -------------------------------------------------------------------------------
    def shortlist(self, partnership_id: str) -> list[ShortlistItem]:
        """The partnership's shortlist, most recently changed first."""
        self.service.get_partnership(partnership_id)
        members = {m.org_id for m in self.service.members(partnership_id)}
        interested = self.repo.interested_org_ids(partnership_id)
        items = [
            ShortlistItem(e, self._organisation_name(e.org_id), e.org_id in members, e.org_id in interested)
            for e in self.repo.shortlist(partnership_id)
        ]
        return sorted(items, key=lambda item: (item.entry.current.at, item.entry.org_id), reverse=True)

    def shortlist_entry(self, partnership_id: str, org_id: str) -> ShortlistEntry:
        entry = self.repo.entry(partnership_id, org_id)
        if entry is None:
            raise NotFoundError("shortlist entry", f"{org_id} of {partnership_id}")
        return entry

    def put_shortlist_entry(
        self, partnership_id: str, org_id: str, update: ShortlistUpdate, *, actor: Actor
    ) -> tuple[ShortlistItem, bool]:
        """Shortlist an organisation, or record its new status, note or date; the entry and whether
        it is new. Recording what the entry already says changes nothing (a PUT repeated is a
        no-op). ``NotFoundError`` for unknown ids."""
        self.service.get_partnership(partnership_id)
        name = self.service.get_organisation(org_id).name
        for attempt in attempts(f"the shortlist entry {org_id} of {partnership_id}"):
            with attempt:
                before, version = self.repo.entry_versioned(partnership_id, org_id)
                now = self.clock()
                change = ShortlistChange(
                    status=update.status,
                    note=update.note,
                    on=update.on or now.date(),
                    at=now,
                    by=actor.name or "anonymous",
                )
                if before is not None and _same(before.current, change):
                    return self._item(before, name), False
                history = (*before.history, change) if before else (change,)
                entry = ShortlistEntry(partnership_id=partnership_id, org_id=org_id, history=history)
                self.repo.put_entry(entry, expected=version)
        self.audit.record(
            actor,
            "shortlist.update" if before else "shortlist.create",
            f"shortlist entry {org_id} of {partnership_id}",
            _change_fields(before.current if before else None, change),
        )
        return self._item(entry, name), before is None

    def remove_from_shortlist(self, partnership_id: str, org_id: str, *, actor: Actor) -> None:
        """Take an organisation off the shortlist (its history goes with it); ``NotFoundError``."""
        for attempt in attempts(f"the shortlist entry {org_id} of {partnership_id}"):
            with attempt:
                before, version = self.repo.entry_versioned(partnership_id, org_id)
                if before is None or not self.repo.delete_entry(partnership_id, org_id, expected=version):
                    raise NotFoundError("shortlist entry", f"{org_id} of {partnership_id}")
                self.audit.record(
                    actor,
                    "shortlist.delete",
                    f"shortlist entry {org_id} of {partnership_id}",
                    _change_fields(before.current, None),
                )

    def add_shortlisted_as_member(
        self,
        partnership_id: str,
        org_id: str,
        role: Role = Role.MEMBER,
        since: date | None = None,
        *,
        actor: Actor,
    ) -> tuple[Membership, ShortlistItem]:
        """The shortlisted organisation joins: the membership is written as any other
        (:meth:`PactmatchService.put_member`) and the entry's status becomes ``joined`` on ``since``
        (today when left out). ``NotFoundError`` when it is not on the shortlist."""
        entry = self.shortlist_entry(partnership_id, org_id)
        membership, _ = self.service.put_member(partnership_id, org_id, role, since, actor=actor)
        if entry.status == ShortlistStatus.JOINED:  # recorded before: the membership is what was missing
            return membership, self._item(entry, self._organisation_name(org_id))
        update = ShortlistUpdate(status=ShortlistStatus.JOINED, note=entry.current.note, on=since)
        return membership, self.put_shortlist_entry(partnership_id, org_id, update, actor=actor)[0]

    def shortlist_csv(self, partnership_id: str) -> str:
        """The shortlist as CSV (one row per organisation, its history in the last column)."""
        rows = []
        for item in self.shortlist(partnership_id):
            e, now = item.entry, item.entry.current
            history = "; ".join(f"{c.on.isoformat()} {c.status.value}" for c in e.history)
            rows.append(
                (
                    e.partnership_id,
                    e.org_id,
                    item.name or "",
                    now.status.value,
                    now.note,
                    now.on.isoformat(),
                    now.at.isoformat(timespec="seconds"),
                    now.by,
                    "yes" if item.member else "no",
                    "yes" if item.interest else "no",
                    history,
                )
            )
        return write_csv(SHORTLIST_COLUMNS, rows)

    # -- outcomes as feedback ---------------------------------------------------------------------
    def outcomes(self) -> list[Outcome]:
        """Every status change of every shortlist, by partnership, organisation and date."""
        return [
            Outcome(partnership_id=e.partnership_id, org_id=e.org_id, status=c.status, on=c.on)
            for e in self.repo.all_entries()
            for c in e.history
        ]

    def outcomes_csv(self) -> str:
        """:meth:`outcomes` as the file ``pactmatch evaluate --feedback`` reads."""
        return outcomes_csv(self.outcomes())

    def feedback(self, outcomes: Sequence[Outcome] | None = None) -> FeedbackResult:
        """How each ranker ranks the organisations of the outcomes (the store's own when none are
        given), per latest status: the heuristic ranker, the stored learned one if it fits this
        store's encoder, and the evaluation's baselines for scale."""
        latest = latest_outcomes(self.outcomes() if outcomes is None else outcomes)
        snapshot = without_joined(self.service.snapshot(), latest)
        rankers: list[IndexRanker] = [HeuristicIndexRanker(HeuristicRecommender().fit(snapshot))]
        learned = RankerRepository(self.service.store).usable(snapshot.model)
        if learned is not None:
            rankers.append(learned.bind(snapshot))
        rankers += baselines(snapshot)
        return rank_outcomes(snapshot, rankers, latest)

    def _item(self, entry: ShortlistEntry, name: str | None) -> ShortlistItem:
        member = any(m.org_id == entry.org_id for m in self.service.members(entry.partnership_id))
        interest = self.repo.interest(entry.partnership_id, entry.org_id) is not None
        return ShortlistItem(entry, name, member, interest)

    # -- names ------------------------------------------------------------------------------------
    def _organisation_name(self, org_id: str) -> str | None:
        try:
            return self.service.get_organisation(org_id).name
        except NotFoundError:
            return None

    def _partnership_name(self, partnership_id: str) -> str | None:
        try:
            return self.service.get_partnership(partnership_id).name
        except NotFoundError:
            return None


def _same(before: ShortlistChange, after: ShortlistChange) -> bool:
    return (before.status, before.note, before.on) == (after.status, after.note, after.on)


def _change_fields(before: ShortlistChange | None, after: ShortlistChange | None) -> dict[str, list[object]]:
    """The audit log's ``{field: [before, after]}`` of what a coordinator records."""

    def values(c: ShortlistChange | None) -> Iterator[tuple[str, object]]:
        yield "status", c.status.value if c else None
        yield "note", c.note if c else None
        yield "on", c.on.isoformat() if c else None

    old, new = dict(values(before)), dict(values(after))
    return {k: [old[k], new[k]] for k in old if old[k] != new[k]}
