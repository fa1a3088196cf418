"""The target membership mix a partnership is compared with, as data.

Which stakeholders a partnership *should* involve is policy, not code: the defaults follow the Pact
for Skills handbook and ship as ``matching/data/target_mix.json``; a user overrides them per
partnership kind or per partnership with a file of the same shape (``--target-mix FILE``, an API
body, or the stored ``target_mix`` artifact). An override replaces the requirement list of each
kind / partnership it names and leaves the others at their defaults.

A requirement is a *group* of stakeholder types satisfied by any of them ("trade unions and/or
chambers of commerce" is one requirement with two types), with a minimum count and/or share of the
members.

Examples
--------
>>> mix = default_target_mix()
>>> [r.id for r in mix.for_partnership("P1", PartnershipKind.REGIONAL).requirements][:2]
['regional_authority', 'vet']
"""

from __future__ import annotations

import importlib.resources
import json
import math
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.errors import FieldIssue, InvalidInputError
from domain.models import Identifier, PartnershipKind, StakeholderType

TARGET_MIX_ARTIFACT = "target_mix"
RequirementId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Requirement(_Frozen):
    """A group of stakeholder types the partnership needs ``min_count`` of (and ``min_share`` of its members)."""

    id: RequirementId
    label: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    types: tuple[StakeholderType, ...] = Field(min_length=1, max_length=len(StakeholderType))
    min_count: int = Field(default=1, ge=0, le=10_000)
    min_share: float = Field(default=0.0, ge=0.0, lt=1.0, description="fraction of the members, below 1")

    @field_validator("types")
    @classmethod
    def _unique(cls, value: tuple[StakeholderType, ...]) -> tuple[StakeholderType, ...]:
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _can_be_missed(self) -> Requirement:
        if self.min_count == 0 and self.min_share == 0.0:
            raise ValueError(
                "a requirement with min_count 0 and min_share 0 can never be missed: raise one of them"
            )
        return self

    def satisfied(self, count: int, n_members: int) -> bool:
        if count < self.min_count:
            return False
        if self.min_share == 0.0:
            return True
        # count ≥ share · n, with a little slack for float shares like 0.3; no members, no share.
        return n_members > 0 and count + 1e-9 >= self.min_share * n_members

    def needed(self, count: int, n_members: int) -> int:
        """How many members of these types must join before the requirement holds.

        With ``k`` newcomers of the group the share is ``(count + k) / (n + k)``, so the share
        condition needs ``k ≥ (s·n − count) / (1 − s)``.
        """
        k = max(0, self.min_count - count)
        s = self.min_share
        if s > 0:
            k = max(k, math.ceil((s * n_members - count) / (1.0 - s) - 1e-9))
            if n_members + k == 0:
                k = 1  # an empty partnership has no share of anything yet
        return max(0, k)


class MixSpec(_Frozen):
    """The requirements for one partnership kind or one partnership."""

    label: Annotated[str, StringConstraints(max_length=300)] = ""
    requirements: tuple[Requirement, ...] = Field(default=(), max_length=50)

    @field_validator("requirements")
    @classmethod
    def _unique_ids(cls, value: tuple[Requirement, ...]) -> tuple[Requirement, ...]:
        seen: set[str] = set()
        for r in value:
            if r.id in seen:
                raise ValueError(f"requirement id {r.id!r} appears twice")
            seen.add(r.id)
        return value


@dataclass(frozen=True)
class ResolvedMix:
    """The requirements that apply to one partnership and where they came from."""

    requirements: tuple[Requirement, ...]
    origin: str  # e.g. "kind regional (default)" or "partnership P1 (override)"
    label: str


class TargetMix(_Frozen):
    """Target mixes per partnership kind, with optional per-partnership overrides."""

    version: int = 1
    source: Annotated[str, StringConstraints(max_length=2000)] = ""
    kinds: dict[PartnershipKind, MixSpec] = Field(default_factory=dict)
    partnerships: dict[Identifier, MixSpec] = Field(default_factory=dict, max_length=100_000)
    #: Which entries came from an override (for the ``origin`` shown in reports); not serialised.
    overridden: frozenset[str] = Field(default=frozenset(), exclude=True)

    def for_partnership(self, partnership_id: str, kind: PartnershipKind) -> ResolvedMix:
        spec = self.partnerships.get(partnership_id)
        if spec is not None:
            how = "override" if f"p:{partnership_id}" in self.overridden else "file"
            return ResolvedMix(spec.requirements, f"partnership {partnership_id} ({how})", spec.label)
        spec = self.kinds.get(kind)
        if spec is None:
            return ResolvedMix((), f"no target mix for kind {kind.value}", "")
        how = "override" if f"k:{kind.value}" in self.overridden else "default"
        return ResolvedMix(spec.requirements, f"kind {kind.value} ({how})", spec.label)

    def merged(self, override: TargetMix) -> TargetMix:
        """This mix with every kind / partnership named in ``override`` replaced by the override's."""
        marks = {f"k:{k.value}" for k in override.kinds} | {f"p:{p}" for p in override.partnerships}
        return TargetMix(
            version=self.version,
            source=override.source or self.source,
            kinds={**self.kinds, **override.kinds},
            partnerships={**self.partnerships, **override.partnerships},
            overridden=self.overridden | marks,
        )

    def requirement_ids(self) -> list[str]:
        """Every requirement id in use, in first-seen order (columns of batch reports)."""
        ids: dict[str, None] = {}
        for spec in (*self.kinds.values(), *self.partnerships.values()):
            for r in spec.requirements:
                ids.setdefault(r.id, None)
        return list(ids)


def parse_target_mix(data: object, source: str = "target mix") -> TargetMix:
    """Validate a decoded JSON document (or its bytes/str) as a :class:`TargetMix`.

    Raises :class:`InvalidInputError` whose issues name the offending field, e.g.
    ``kinds.regional.requirements[1].types[0]``.
    """
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInputError(
                f"{source}: not valid JSON: {exc}", [FieldIssue("document", str(exc))]
            ) from exc
    if not isinstance(data, dict):
        raise InvalidInputError(f"{source}: expected an object with 'kinds' and/or 'partnerships'")
    data = {k: v for k, v in data.items() if k != "overridden"}
    try:
        return TargetMix.model_validate(data)
    except ValidationError as exc:
        issues = [FieldIssue(_loc(e["loc"]), e["msg"]) for e in exc.errors()]
        detail = "; ".join(f"{i.field}: {i.message}" for i in issues[:5])
        raise InvalidInputError(f"{source}: invalid target mix ({detail})", issues) from exc


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "document"


@cache
def default_target_mix() -> TargetMix:
    """The shipped handbook defaults."""
    raw = (importlib.resources.files("matching") / "data" / "target_mix.json").read_bytes()
    return parse_target_mix(raw, "matching/data/target_mix.json")


def effective_target_mix(*overrides: TargetMix | None) -> TargetMix:
    """The defaults with each given override applied in turn (later ones win)."""
    mix = default_target_mix()
    for override in overrides:
        if override is not None:
            mix = mix.merged(override)
    return mix
