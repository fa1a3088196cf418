"""Stakeholder mapping over a :class:`~pactmatch.service.PactmatchService`: gaps, synergies, regions.

The CLI commands and the API routes call these methods, so both give the same answers. The target
mix is the shipped default, overridden by the store's ``target_mix`` artifact (saved through the
API), overridden in turn by a mix given with the request (``--target-mix FILE`` or a request body).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from domain.accounts import Actor
from domain.errors import FieldIssue, InvalidInputError
from domain.models import partnership_text
from domain.regions import Region, RegionIndex, ancestors, check_region_filter
from matching.gaps import GapMapper, GapReport, Progress, RegionView, region_stakeholders
from matching.synergies import SynergyFinder, SynergyPair
from matching.target_mix import TARGET_MIX_ARTIFACT, TargetMix, effective_target_mix, parse_target_mix
from pactmatch.accounts import changed_fields
from pactmatch.service import PactmatchService

_FINDER_CACHE_SIZE = 4


@dataclass(frozen=True)
class RegionMatch:
    """A region found by :meth:`MappingService.search_regions`, and the names of those it lies in."""

    region: Region
    within: tuple[str, ...]


class MappingService:
    """Gap reports, synergy pairs and region views for the data in one store."""

    def __init__(self, service: PactmatchService) -> None:
        self.service = service
        self._finders: OrderedDict[tuple[object, ...], SynergyFinder] = OrderedDict()
        self._lock = threading.Lock()

    # -- target mix -----------------------------------------------------------------------------
    def stored_target_mix(self) -> TargetMix | None:
        """The override saved with the store, if any."""
        raw = self.service.store.get_artifact(TARGET_MIX_ARTIFACT)
        return None if raw is None else parse_target_mix(raw, f"stored artifact {TARGET_MIX_ARTIFACT!r}")

    def put_target_mix(self, mix: TargetMix, *, actor: Actor) -> None:
        before = self.stored_target_mix()
        self.service.store.put_artifact(TARGET_MIX_ARTIFACT, mix.model_dump_json(indent=2).encode("utf-8"))
        self.service.audit.record(actor, "target-mix.update", "target mix", changed_fields(before, mix))

    def delete_target_mix(self, *, actor: Actor) -> None:
        self.service.store.delete_artifact(TARGET_MIX_ARTIFACT)
        self.service.audit.record(actor, "target-mix.reset", "target mix")

    def target_mix(self, override: TargetMix | None = None) -> TargetMix:
        """Defaults ⊕ the stored override ⊕ ``override``."""
        return effective_target_mix(self.stored_target_mix(), override)

    # -- gaps -----------------------------------------------------------------------------------
    def gap_mapper(
        self, *, level: int | None = None, candidates_per_gap: int = 5, target_mix: TargetMix | None = None
    ) -> GapMapper:
        view = self.service.view()
        return GapMapper(self.target_mix(target_mix), level=level, candidates_per_gap=candidates_per_gap).fit(
            view.snapshot, view.ranker
        )

    def gaps(
        self,
        partnership_id: str,
        *,
        level: int | None = None,
        candidates_per_gap: int = 5,
        target_mix: TargetMix | None = None,
    ) -> GapReport:
        self.service.store.get_partnership(partnership_id)  # NotFoundError before any work
        mapper = self.gap_mapper(level=level, candidates_per_gap=candidates_per_gap, target_mix=target_mix)
        return mapper.report(partnership_id)

    def gap_reports(
        self,
        partnership_ids: Sequence[str] | None = None,
        *,
        level: int | None = None,
        candidates_per_gap: int = 5,
        target_mix: TargetMix | None = None,
        progress: Progress | None = None,
    ) -> Iterator[GapReport]:
        """Reports for the given partnerships (all by default), produced lazily in batches."""
        mapper = self.gap_mapper(level=level, candidates_per_gap=candidates_per_gap, target_mix=target_mix)
        return mapper.reports(partnership_ids, progress=progress)

    # -- synergies ------------------------------------------------------------------------------
    def synergy_finder(
        self,
        *,
        top_k: int = 10,
        recruits_per_pair: int = 3,
        pair_kinds: Sequence[str] | None = None,
        target_mix: TargetMix | None = None,
    ) -> SynergyFinder:
        """A fitted finder, cached per store version and parameters (fitting TF-IDF on 30k texts takes seconds)."""
        mix = self.target_mix(target_mix)
        view = self.service.view()
        snapshot, ranker = view.snapshot, view.ranker
        key = (
            snapshot.version, snapshot.model, id(snapshot), top_k, recruits_per_pair,
            tuple(sorted(pair_kinds or ())), mix.model_dump_json(), getattr(ranker, "name", ""),
        )  # fmt: skip
        with self._lock:
            found = self._finders.get(key)
            if found is not None:
                self._finders.move_to_end(key)
                return found
        texts = {p.partnership_id: partnership_text(p) for p in self.service.store.iter_partnerships()}
        finder = SynergyFinder(
            mix,
            top_k=top_k,
            recruits_per_pair=recruits_per_pair,
            pair_kinds=list(pair_kinds) if pair_kinds else None,
        ).fit(snapshot, texts, ranker)
        with self._lock:
            self._finders[key] = finder
            while len(self._finders) > _FINDER_CACHE_SIZE:
                self._finders.popitem(last=False)
        return finder

    def synergies(
        self,
        partnership_id: str,
        *,
        top_k: int = 10,
        recruits_per_pair: int = 3,
        pair_kinds: Sequence[str] | None = None,
    ) -> list[SynergyPair]:
        self.service.store.get_partnership(partnership_id)
        finder = self.synergy_finder(top_k=top_k, recruits_per_pair=recruits_per_pair, pair_kinds=pair_kinds)
        return finder.for_partnership(partnership_id)

    def all_synergies(
        self,
        *,
        top_k: int = 5,
        recruits_per_pair: int = 0,
        pair_kinds: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> Iterator[SynergyPair]:
        finder = self.synergy_finder(top_k=top_k, recruits_per_pair=recruits_per_pair, pair_kinds=pair_kinds)
        return finder.all_pairs(progress=progress)

    # -- regions --------------------------------------------------------------------------------
    def region(self, code: str, *, examples_per_type: int = 20, max_partnerships: int = 50) -> RegionView:
        """Stakeholder mapping of one NUTS region (any level; NUTS 2021 codes are recoded)."""
        return region_stakeholders(
            self.service.snapshot(),
            check_region_filter(code),
            examples_per_type=examples_per_type,
            max_partnerships=max_partnerships,
        )

    @staticmethod
    def search_regions(query: str, *, level: int | None = None, limit: int = 20) -> list[RegionMatch]:
        """NUTS regions whose code starts with ``query`` or whose name contains it, for the pages'
        region picker (:meth:`domain.regions.RegionIndex.search`), each with the names of the
        regions it lies in, nearest first (there are many a "Mitte")."""
        index = RegionIndex.default()
        return [
            RegionMatch(r, tuple(index.label(a) for a in ancestors(r.code)[1:]))
            for r in index.search(query, level=level, limit=limit)
        ]

    # -- for the API and the CLI ----------------------------------------------------------------
    @property
    def store_description(self) -> str:
        """The store the reports come from, for their headers (which travel: no server path)."""
        return self.service.public_store_description

    def check_partnership_ids(self, partnership_ids: Sequence[str] | None) -> None:
        """``InvalidInputError`` naming the unknown ones, so a batch of gap reports fails before it
        is queued rather than in the middle of the run. No ids (every partnership) need no check,
        nor the snapshot it reads."""
        if not partnership_ids:
            return
        known = self.service.snapshot().partnership_index
        unknown = [p for p in partnership_ids if p not in known]
        if unknown:
            raise InvalidInputError(
                f"unknown partnership(s): {', '.join(unknown[:10])}" + (" …" if len(unknown) > 10 else ""),
                [FieldIssue("partnership_ids", f"{len(unknown)} unknown id(s), e.g. {unknown[0]!r}")],
            )
