"""The application service: one place where a store, an encoder and a recommender meet.

The API routes and the CLI commands are thin wrappers around these methods, so both behave the
same. The algorithms' snapshot and ranker are a :class:`~pactmatch.views.View` that follows the
store's version without making reads wait (:mod:`pactmatch.views`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from domain.accounts import Actor
from domain.candidates import CandidateFilters, CandidateRow
from domain.errors import ConflictError, FieldIssue, InvalidInputError, NotFoundError
from domain.models import Membership, Organisation, Partnership, Role, organisation_text, partnership_text
from embeddings import EmbeddingCache, Encoder, embed_texts, make_encoder, text_hash
from graph.base import (
    CandidateReads,
    CandidateSource,
    EntityKind,
    GraphStore,
    ImportCounts,
    OrganisationFilter,
    Page,
    PartnershipFilter,
    StoreCounts,
)
from matching.candidate_search import (
    CandidateSearch,
    Read,
    ReadClosest,
    ReadInside,
    ReadLinked,
    ReadNearest,
    SearchGoal,
)
from matching.candidates import (
    CandidateFeatures,
    explain_candidate,
    heuristic_signals,
    select_top,
    with_graph_evidence,
)
from matching.diversity import OVERFETCH, DiversityOptions, diversify_recommendations
from matching.recommender import DEFAULT_WEIGHTS, HeuristicRecommender, query_for_partnership
from matching.snapshot import Snapshot
from matching.types import Recommendation
from pactmatch.accounts import AuditTrail, changed_fields
from pactmatch.filters import organisation_filter, partnership_filter
from pactmatch.importers.cordis import participant_project_ids, read_cordis
from pactmatch.importers.report import ImportReport, ParsedBatch, RowError
from pactmatch.ranker_repository import RankerRepository
from pactmatch.rankers import Ranker, RankerFactory, default_ranker, heuristic_ranker
from pactmatch.reasons import Audience, Explanation, explain_for_people
from pactmatch.settings import Settings
from pactmatch.stores import open_store, public_description
from pactmatch.views import View, ViewKeeper

#: ``progress(phase, done, total)``: drives progress bars without the service knowing about them.
Progress = Callable[[str, int, int], None]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Candidates per source on the database path, and how far a source whose bound keeps that pool
#: from provably holding the top k may be widened (see matching.candidate_search).
POOL_SIZE, WIDE_POOL_SIZE = 400, 1600
#: Score tolerance of that proof: the list is exact, or every rank's score is within this of the
#: exact one (see matching.candidates.pool_is_exact). It saves most widenings at no visible cost.
POOL_TOLERANCE = 0.005


@dataclass(frozen=True)
class Candidate:
    org_id: str
    name: str
    score: float
    recommendation: Recommendation

    @property
    def reasons(self) -> Explanation:
        """The contributions grouped into a few plain reasons (what the API and the pages show)."""
        return explain_for_people(self.recommendation.contributions, Audience.CANDIDATE)


@dataclass(frozen=True)
class CandidateList:
    partnership_id: str
    model: str
    items: list[Candidate]
    #: What the ranking could not take into account (organisations without a vector, say).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmbeddingCoverage:
    """Organisations and partnerships without a vector of the service's encoder.

    An import writes its rows in one transaction and embeds them afterwards, chunk by chunk, each
    chunk committed. An import stopped in between (killed, or its encoder failed) leaves rows that
    rank without the text signal: ``/health``, ``pactmatch stats`` and candidate lists say so from
    this, until ``pactmatch embed`` (or the same import again) embeds what is missing, and only that.
    """

    encoder: str
    organisations: int
    partnerships: int
    organisations_without: int
    partnerships_without: int

    @property
    def complete(self) -> bool:
        return not (self.organisations_without or self.partnerships_without)

    def warning(self) -> str | None:
        """What is missing, in one sentence with the remedy (``None`` when nothing is)."""
        if self.complete:
            return None
        missing = [
            f"{without} of {total} {kind}"
            for without, total, kind in (
                (self.organisations_without, self.organisations, "organisations"),
                (self.partnerships_without, self.partnerships, "partnerships"),
            )
            if without
        ]
        return (
            f"{' and '.join(missing)} have no vector for the encoder {self.encoder}, so rankings "
            "lack their text similarity; run `pactmatch embed` to complete them"
        )


@dataclass
class EmbeddingStats:
    texts: int = 0
    changed: int = 0
    encoded: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    index_seconds: float = 0.0  # making the store's vector indexes ready to search

    @property
    def texts_per_second(self) -> float:
        return self.encoded / self.encode_seconds if self.encode_seconds else 0.0


class PactmatchService:
    def __init__(
        self,
        store: GraphStore,
        *,
        encoder: Encoder | str = "minilm",
        cache: EmbeddingCache | None = None,
        ranker_factory: RankerFactory = default_ranker,
    ) -> None:
        self.store = store
        self._encoder_spec = encoder if isinstance(encoder, str) else None
        self._encoder: Encoder | None = None if isinstance(encoder, str) else encoder
        self.cache = cache
        self.audit = AuditTrail(store)
        self.ranker_factory = ranker_factory
        self._views = ViewKeeper(store, lambda: self.model_name, lambda s: self.ranker_factory(s, self.store))
        self._learned_check: tuple[tuple[str, str] | None, bool] = (None, False)
        self._coverage: tuple[tuple[int, str], EmbeddingCoverage] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PactmatchService:
        """The service the CLI, the API and the demo run: the store at ``settings.store`` (opened
        now, so an unreachable one fails here), the configured encoder and the embedding cache."""
        return cls(
            open_store(settings.store, settings),
            encoder=settings.encoder,
            cache=EmbeddingCache(settings.cache_dir / "embeddings.sqlite"),
        )

    # -- encoder ----------------------------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = make_encoder(self._encoder_spec or "minilm")
        return self._encoder

    @property
    def model_name(self) -> str:
        return self.encoder.name  # adapters know their name without loading weights

    # -- imports ----------------------------------------------------------------------------
    def import_batch(
        self, batch: ParsedBatch, source: str, progress: Progress | None = None, *, actor: Actor
    ) -> ImportReport:
        """Write the valid rows of ``batch`` in one transaction, then embed what changed.

        Memberships whose organisation or partnership is neither in the batch nor in the store are
        rejected row by row (the rest is imported).
        """
        started = time.perf_counter()
        report = ImportReport(source=source, errors=list(batch.errors), warnings=list(batch.warnings))
        org_ids = {o.org_id for o in batch.organisations}
        p_ids = {p.partnership_id for p in batch.partnerships}
        ref_orgs = {m.org_id for m in batch.memberships} - org_ids
        ref_ps = (
            {m.partnership_id for m in batch.memberships}
            | {p.parent_id for p in batch.partnerships if p.parent_id}
        ) - p_ids
        known_orgs = org_ids | self.store.existing_ids(EntityKind.ORGANISATION, sorted(ref_orgs))
        known_ps = p_ids | self.store.existing_ids(EntityKind.PARTNERSHIP, sorted(ref_ps))

        partnerships = []
        for p in batch.partnerships:
            if p.parent_id and p.parent_id not in known_ps:
                report.errors.append(
                    RowError(source, None, "parent_id", f"unknown partnership {p.parent_id!r}")
                )
                continue
            partnerships.append(p)
        memberships = []
        origins = batch.membership_origin or [(source, None, None)] * len(batch.memberships)
        for m, (file, line, item) in zip(batch.memberships, origins, strict=True):
            if m.org_id not in known_orgs:
                report.errors.append(
                    RowError(file, line, "org_id", f"unknown organisation {m.org_id!r}", item)
                )
            elif m.partnership_id not in known_ps:
                report.errors.append(
                    RowError(file, line, "partnership_id", f"unknown partnership {m.partnership_id!r}", item)
                )
            else:
                memberships.append(m)
        if progress:
            progress("write", 0, 1)
        report.counts = self.store.import_batch(batch.organisations, partnerships, memberships)
        self.audit.record(actor, "import", source, _import_changes(report.counts))
        if progress:
            progress("write", 1, 1)
        stats = self.refresh_embeddings(progress=progress)
        report.embedded = stats.encoded
        report.seconds = time.perf_counter() - started
        return report

    def read_cordis(self, projects: Path, participants: Path) -> ParsedBatch:
        """Read a CORDIS export; participations of projects already in the store are accepted too
        (an export may add participants to projects imported earlier)."""
        referenced = participant_project_ids(participants)
        known = self.store.existing_ids(EntityKind.PARTNERSHIP, referenced)
        return read_cordis(projects, participants, known_projects=known)

    # -- single writes (API) ----------------------------------------------------------------
    # Each write names its actor and lands in the audit log with the fields it changed.
    def create_organisation(self, org: Organisation, *, actor: Actor) -> None:
        """Create; ``ConflictError`` if the id is taken (``put_organisation`` replaces)."""
        if self.store.existing_ids(EntityKind.ORGANISATION, [org.org_id]):
            raise ConflictError(f"organisation {org.org_id!r} already exists")
        self.put_organisation(org, actor=actor)

    def create_partnership(self, partnership: Partnership, *, actor: Actor) -> None:
        if self.store.existing_ids(EntityKind.PARTNERSHIP, [partnership.partnership_id]):
            raise ConflictError(f"partnership {partnership.partnership_id!r} already exists")
        self.put_partnership(partnership, actor=actor)

    def put_organisation(self, org: Organisation, *, actor: Actor) -> bool:
        """Create or replace; returns True when it was created."""
        before = self._existing(self.store.get_organisation, org.org_id)
        counts = self.store.import_batch(organisations=[org])
        self.audit.record(
            actor, _verb("organisation", before), f"organisation {org.org_id}", changed_fields(before, org)
        )
        self.refresh_embeddings(org_ids=[org.org_id])
        return counts.organisations.created == 1

    def put_partnership(self, partnership: Partnership, *, actor: Actor) -> bool:
        if partnership.parent_id and not self.store.existing_ids(
            EntityKind.PARTNERSHIP, [partnership.parent_id]
        ):
            message = f"unknown parent partnership {partnership.parent_id!r}"
            raise InvalidInputError(message, [FieldIssue("parent_id", message)])
        before = self._existing(self.store.get_partnership, partnership.partnership_id)
        counts = self.store.import_batch(partnerships=[partnership])
        self.audit.record(
            actor,
            _verb("partnership", before),
            f"partnership {partnership.partnership_id}",
            changed_fields(before, partnership),
        )
        members = [m.org_id for m in self.store.memberships(partnership_id=partnership.partnership_id)]
        self.refresh_embeddings(org_ids=members, partnership_ids=[partnership.partnership_id])
        return counts.partnerships.created == 1

    def put_membership(self, membership: Membership, *, actor: Actor) -> bool:
        before = self._membership(membership.org_id, membership.partnership_id)
        try:
            counts = self.store.import_batch(memberships=[membership])
        except ConflictError as exc:
            raise InvalidInputError(str(exc)) from exc
        self.audit.record(
            actor,
            _verb("membership", before),
            f"membership {membership.org_id} in {membership.partnership_id}",
            changed_fields(before, membership),
        )
        self.refresh_embeddings(org_ids=[membership.org_id])
        return counts.memberships.created == 1

    def delete_membership(self, org_id: str, partnership_id: str, *, actor: Actor) -> None:
        before = self._membership(org_id, partnership_id)
        self.store.delete_membership(org_id, partnership_id)
        self.audit.record(
            actor,
            "membership.delete",
            f"membership {org_id} in {partnership_id}",
            changed_fields(before, None),
        )
        self.refresh_embeddings(org_ids=[org_id])

    def _membership(self, org_id: str, partnership_id: str) -> Membership | None:
        return next(
            (m for m in self.store.memberships(org_id=org_id) if m.partnership_id == partnership_id), None
        )

    @staticmethod
    def _existing(get: Callable[[str], T], item_id: str) -> T | None:
        try:
            return get(item_id)
        except NotFoundError:
            return None

    # -- reads, deletes, the CORDIS upload and the store itself (API and CLI) ---------------
    def import_cordis(
        self, projects: Path, participants: Path, progress: Progress | None = None, *, actor: Actor
    ) -> ImportReport:
        """Read a CORDIS export (:meth:`read_cordis`) and import it (:meth:`import_batch`), the
        source named after the two files. The CLI runs the two steps itself, to show that it is
        reading before the import's progress bars start."""
        batch = self.read_cordis(projects, participants)
        return self.import_batch(
            batch, f"{projects.name} + {participants.name}", progress=progress, actor=actor
        )

    def get_organisation(self, org_id: str) -> Organisation:
        return self.store.get_organisation(org_id)

    def list_organisations(self, flt: OrganisationFilter, offset: int, limit: int) -> Page[Organisation]:
        """A page of the organisations ``flt`` selects; its country and region are checked first
        (``InvalidInputError``), whichever way the user typed them."""
        return self.store.list_organisations(organisation_filter(flt), offset, limit)

    def memberships_of(self, org_id: str) -> list[Membership]:
        """The organisation's memberships; ``NotFoundError`` for an unknown organisation (an
        organisation in no partnership has an empty list)."""
        self.store.get_organisation(org_id)
        return self.store.memberships(org_id=org_id)

    def delete_organisation(self, org_id: str, *, actor: Actor) -> None:
        """Delete the organisation and its memberships; ``NotFoundError`` if absent."""
        before = self.store.get_organisation(org_id)
        self.store.delete_organisation(org_id)
        self.audit.record(
            actor, "organisation.delete", f"organisation {org_id}", changed_fields(before, None)
        )
        self._written()

    def get_partnership(self, partnership_id: str) -> Partnership:
        return self.store.get_partnership(partnership_id)

    def list_partnerships(self, flt: PartnershipFilter, offset: int, limit: int) -> Page[Partnership]:
        """A page of the partnerships ``flt`` selects; its region is checked first."""
        return self.store.list_partnerships(partnership_filter(flt), offset, limit)

    def iter_partnerships(self) -> Iterator[Partnership]:
        """Every partnership (the demo's showcase, exports)."""
        return self.store.iter_partnerships()

    def members(self, partnership_id: str) -> list[Membership]:
        """The partnership's memberships; ``NotFoundError`` for an unknown partnership."""
        self.store.get_partnership(partnership_id)
        return self.store.memberships(partnership_id=partnership_id)

    def delete_partnership(self, partnership_id: str, *, actor: Actor) -> None:
        before = self.store.get_partnership(partnership_id)
        self.store.delete_partnership(partnership_id)
        self.audit.record(
            actor, "partnership.delete", f"partnership {partnership_id}", changed_fields(before, None)
        )
        self._written()

    def put_member(
        self, partnership_id: str, org_id: str, role: Role, since: date | None = None, *, actor: Actor
    ) -> tuple[Membership, bool]:
        """Add an organisation to a partnership or change its role (:meth:`put_membership`); the
        membership and whether it was added.

        The ids are looked up as given before a membership is made of them, so an unknown
        partnership (checked first) or organisation is ``NotFoundError`` whatever its spelling.
        """
        self.store.get_partnership(partnership_id)
        self.store.get_organisation(org_id)
        membership = Membership(org_id=org_id, partnership_id=partnership_id, role=role, since=since)
        return membership, self.put_membership(membership, actor=actor)

    def counts(self) -> StoreCounts:
        return self.store.counts()

    @property
    def store_description(self) -> str:
        """What the store is, for the CLI's ``stats`` (never credentials; an embedded store's path)."""
        return self.store.description

    @property
    def public_store_description(self) -> str:
        """What the store is, for ``/health`` and report headers: no path of the server's."""
        return public_description(self.store)

    def close(self) -> None:
        """Stop renewing the view and close the store (the API at shutdown)."""
        self._views.close()
        self.store.close()

    # -- embeddings -------------------------------------------------------------------------
    def refresh_embeddings(
        self,
        *,
        org_ids: Iterable[str] | None = None,
        partnership_ids: Iterable[str] | None = None,
        progress: Progress | None = None,
        chunk: int = 2048,
    ) -> EmbeddingStats:
        """Embed every organisation/partnership whose text changed since it was last embedded.

        With ``org_ids``/``partnership_ids`` only those are considered (cheap after a single write);
        without, everything is. Vectors come from the cache when the text was seen before.
        """
        started = time.perf_counter()
        stats = EmbeddingStats()
        targeted = org_ids is not None or partnership_ids is not None
        texts = self.embedding_texts(
            set(org_ids) if org_ids is not None else (set() if targeted else None),
            set(partnership_ids) if partnership_ids is not None else (set() if targeted else None),
        )
        model = self.model_name
        for kind, items in texts.items():
            stats.texts += len(items)
            stored = self.store.embedding_hashes(kind, model, sorted(items) if targeted else None)
            todo = [
                (item_id, text) for item_id, text in items.items() if stored.get(item_id) != text_hash(text)
            ]
            # Similar lengths in a batch pad less: the transformer's cost follows the longest text.
            todo.sort(key=lambda item: len(item[1]))
            stats.changed += len(todo)
            done = 0
            for start in range(0, len(todo), chunk):
                part = todo[start : start + chunk]
                t0 = time.perf_counter()
                vectors, encoded = embed_texts(self.encoder, [t for _, t in part], self.cache)
                if encoded:
                    stats.encode_seconds += time.perf_counter() - t0
                stats.encoded += encoded
                self.store.put_embeddings(
                    kind, model, [(i, text_hash(t), vectors[n]) for n, (i, t) in enumerate(part)]
                )
                done += len(part)
                if progress:
                    progress(f"embed {kind.value}s", done, len(todo))
            if todo and isinstance(self.store, CandidateSource):
                t0 = time.perf_counter()
                self.store.prepare_vector_search(kind, model)  # not in the first query's time
                stats.index_seconds += time.perf_counter() - t0
        stats.seconds = time.perf_counter() - started
        self._written()
        return stats

    def embedding_coverage(self) -> EmbeddingCoverage:
        """How many organisations and partnerships have no vector of this encoder; counted once
        per store version (every embedding write changes it)."""
        key = (self.store.version(), self.model_name)
        cached = self._coverage
        if cached is not None and cached[0] == key:
            return cached[1]
        counts = self.store.counts()
        coverage = EmbeddingCoverage(
            encoder=self.model_name,
            organisations=counts.organisations,
            partnerships=counts.partnerships,
            organisations_without=self.store.count_without_embedding(
                EntityKind.ORGANISATION, self.model_name
            ),
            partnerships_without=self.store.count_without_embedding(EntityKind.PARTNERSHIP, self.model_name),
        )
        self._coverage = (key, coverage)
        return coverage

    def embedding_texts(
        self, org_ids: set[str] | None, p_ids: set[str] | None
    ) -> dict[EntityKind, dict[str, str]]:
        """Current texts of the selected organisations/partnerships (``None`` selects all).

        An organisation without a description is known by the titles of its partnerships, so its
        text is computed from its memberships.
        """
        out: dict[EntityKind, dict[str, str]] = {EntityKind.ORGANISATION: {}, EntityKind.PARTNERSHIP: {}}
        all_partnerships: dict[str, Partnership] | None = None
        if org_ids is None or p_ids is None:
            all_partnerships = {p.partnership_id: p for p in self.store.iter_partnerships()}
        if org_ids is None or org_ids:
            if org_ids is None:
                members: Sequence[Membership] = list(self.store.iter_memberships())
                orgs: Iterable[Organisation] = self.store.iter_organisations()
            else:
                members = [m for o in sorted(org_ids) for m in self.store.memberships(org_id=o)]
                orgs = [self.store.get_organisation(o) for o in sorted(org_ids)]
            lookup = all_partnerships or {
                pid: self.store.get_partnership(pid) for pid in {m.partnership_id for m in members}
            }
            names: dict[str, list[str]] = defaultdict(list)
            for m in members:
                if m.partnership_id in lookup:
                    names[m.org_id].append(_partnership_title(lookup[m.partnership_id]))
            for org in orgs:
                out[EntityKind.ORGANISATION][org.org_id] = organisation_text(org, names.get(org.org_id))
        if p_ids is None:
            selected: Iterable[Partnership] = (all_partnerships or {}).values()
        else:
            selected = [self.store.get_partnership(p) for p in sorted(p_ids)]
        for p in selected:
            out[EntityKind.PARTNERSHIP][p.partnership_id] = partnership_text(p)
        return out

    # -- algorithms -------------------------------------------------------------------------
    def view(self, *, fresh: bool = False) -> View:
        """The snapshot and ranker to answer a read from: one consistent version, at once (a newer
        one is prepared in the background; see :mod:`pactmatch.views`). ``fresh=True`` waits for
        the store's current version instead, as a write through this service does before it
        returns (for a caller that must see another process's writes at once)."""
        return self._views.refresh() if fresh else self._views.current()

    def _view_having(self, partnership_id: str) -> View:
        """The current view, or the store's current version when ``partnership_id`` is not in the
        view but is in the store (another process created it moments ago: its first read is
        answered, not 404); ``NotFoundError`` when it is in neither."""
        view = self.view()
        if partnership_id not in view.snapshot.partnership_index:
            self.store.get_partnership(partnership_id)
            view = self.view(fresh=True)
        return view

    def snapshot(self) -> Snapshot:
        return self.view().snapshot

    def ranker(self) -> Ranker:
        return self.view().ranker

    def _written(self) -> None:
        """Serve what was just written before the write returns, so the next read here sees it.

        Only a service that serves reads has a view to bring up to date: a CLI import builds none.
        """
        if self._views.serving:
            self.view(fresh=True)

    def candidates(
        self,
        partnership_id: str,
        top_k: int = 10,
        filters: CandidateFilters | None = None,
        diversity: DiversityOptions | None = None,
    ) -> CandidateList:
        """Ranked non-members for a stored partnership, each with its explanation.

        Two paths give the same answers. A store that finds candidates itself (the Neo4j store)
        serves the heuristic ranking from a candidate pool computed in the database, so no API
        worker holds the graph in memory; otherwise (the embedded store, or a learned ranker,
        which needs the snapshot) the ranker scores every organisation of the snapshot.

        With active ``diversity`` options the ranker is asked for
        :data:`~matching.diversity.OVERFETCH` times as many candidates, and MMR and the quotas pick
        ``top_k`` of them; scores and explanations stay the ranker's, and the list's ``model``
        names the re-ranking (``learned-lgbm-v2 + mmr=0.3``).

        ``warnings`` says when organisations or partnerships have no vector of this encoder (an
        import stopped before it embedded them): their text similarity is missing from the scores.
        """
        if diversity is not None and diversity.active:
            view = self._view_having(partnership_id)  # the re-ranking reads the ranking's version
            wide = self._ranked(partnership_id, top_k * OVERFETCH, filters, view)
            recs = [i.recommendation for i in wide.items]
            chosen = diversify_recommendations(view.snapshot, recs, top_k, diversity)
            by_id = {i.org_id: i for i in wide.items}
            return CandidateList(
                partnership_id,
                f"{wide.model} + {diversity.label()}",
                [by_id[r.org_id] for r in chosen],
                wide.warnings,
            )
        return self._ranked(partnership_id, top_k, filters, None)

    def _ranked(
        self, partnership_id: str, top_k: int, filters: CandidateFilters | None, view: View | None
    ) -> CandidateList:
        """The ranking of :meth:`candidates`, from ``view`` (or the current one) on the snapshot path."""
        source = self._candidate_source()
        if source is not None:  # raises NotFoundError for unknown ids itself
            found = self._candidates_in_store(source, partnership_id, top_k, filters or CandidateFilters())
        else:
            view = view or self._view_having(partnership_id)
            snapshot, ranker = view.snapshot, view.ranker
            query = query_for_partnership(snapshot, partnership_id)
            recs = ranker.recommend(query, top_k=top_k, filters=filters)
            items = [
                Candidate(r.org_id, snapshot.org_names[snapshot.org_index[r.org_id]], r.score, r)
                for r in recs
            ]
            found = CandidateList(partnership_id=partnership_id, model=ranker.name, items=items)
        # A ranking that silently lost its text signal looks like any other: say so with it.
        warning = self.embedding_coverage().warning()
        return replace(found, warnings=(warning,)) if warning else found

    def _candidate_source(self) -> CandidateSource | None:
        """The store's own candidate path, when the heuristic scorer is what would rank.

        The configured factory is the heuristic one, or the default one with no learned ranker
        stored for this encoder (then it falls back to the heuristic too).
        """
        if not isinstance(self.store, CandidateSource):
            return None
        if self.ranker_factory is heuristic_ranker:
            return self.store
        if self.ranker_factory is default_ranker and not self._learned_ranker_stored():
            return self.store
        return None

    def _learned_ranker_stored(self) -> bool:
        """Whether a learned ranker fitted with this encoder is stored (what default_ranker serves)."""
        rankers = RankerRepository(self.store)
        fingerprint = rankers.fingerprint()
        if not fingerprint:
            return False
        key = (fingerprint, self.model_name)
        if self._learned_check[0] != key:  # parse a given artifact once, not on every query
            self._learned_check = (key, rankers.usable(self.model_name) is not None)
        return self._learned_check[1]

    def _candidates_in_store(
        self, source: CandidateSource, partnership_id: str, top_k: int, filters: CandidateFilters
    ) -> CandidateList:
        """Heuristic ranking over a pool the database reads until it provably holds the top k
        (:class:`~matching.candidate_search.CandidateSearch` decides what to read)."""
        weights, model = DEFAULT_WEIGHTS, HeuristicRecommender.name
        goal = SearchGoal(
            weights,
            top_k,
            POOL_TOLERANCE,
            pool_size=max(POOL_SIZE, top_k),
            widen_to=max(WIDE_POOL_SIZE, top_k),
        )

        def work(reads: CandidateReads) -> tuple[CandidateFeatures, list[int]]:
            context = reads.context(partnership_id)
            co_members = reads.co_members([m.org_id for m in context.members]) if context.members else {}
            search = CandidateSearch(context, co_members, filters, goal)
            timings: list[tuple[str, float]] = []
            while (read := search.next_read()) is not None:
                started = time.perf_counter()
                search.add(read, _answer(reads, search, read))
                timings.append((type(read).__name__, time.perf_counter() - started))
            # What a query read and how long each read took, for operators and bench/bench_bolt.py.
            log.debug(
                "candidates for %s: %s after %d reads (%s)",
                partnership_id,
                "provably the top" if search.settled else "not provably the top",
                len(timings),
                ", ".join(f"{kind} {seconds * 1000:.0f} ms" for kind, seconds in timings),
                extra={"candidate_reads": timings, "settled": search.settled, "widened": search.widened},
            )
            features = search.features()
            rows = [int(i) for i in select_top(features, weights, top_k)[0]]
            linked = [features.org_ids[i] for i in rows if features.adamic_adar[i] > 0]
            if linked:  # graph evidence for the winners only: two one-hop reads
                partnerships = reads.partnerships_of(sorted({*linked, *features.member_ids}))
                features = with_graph_evidence(features, rows, partnerships)
            return features, rows

        features, rows = source.read_candidates(self.model_name, work)
        signals = heuristic_signals(features)  # once for all rows, not once per explanation
        items = []
        for i in rows:
            rec = explain_candidate(features, i, weights, model, signals)
            items.append(Candidate(rec.org_id, features.names[i], rec.score, rec))
        return CandidateList(partnership_id=partnership_id, model=model, items=items)


def _answer(reads: CandidateReads, search: CandidateSearch, read: Read) -> list[CandidateRow] | None:
    """The store's answer to one read of a candidate search."""
    vector, filters = search.vector, search.read_filters
    match read:
        case ReadLinked(keys):
            return reads.columns(keys, vector, filters)
        case ReadNearest(k):
            assert vector is not None  # a search without a vector never asks the index
            return reads.nearest(vector, k, filters)
        case ReadClosest(limit):
            return reads.closest(vector, filters, limit)
        case ReadInside(regions, limit):
            return reads.inside(regions, vector, filters, limit)


def _partnership_title(p: Partnership) -> str:
    """How a partnership names an organisation's work: its title when there is one, else its name."""
    first_line = p.description.split("\n", 1)[0].strip()
    return first_line[:200] if first_line else p.name


def _verb(kind: str, before: object | None) -> str:
    return f"{kind}.{'update' if before is not None else 'create'}"


def _import_changes(counts: ImportCounts) -> dict[str, list[Any]]:
    """What an import wrote, per kind: ``{"organisations": [None, {"created": 3, ...}]}``."""
    return {
        kind: [None, {"created": c.created, "updated": c.updated, "unchanged": c.unchanged}]
        for kind, c in (
            ("organisations", counts.organisations),
            ("partnerships", counts.partnerships),
            ("memberships", counts.memberships),
        )
    }
