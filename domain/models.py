"""The frozen domain model shared by every layer (stores, matching, API, importers).

Validation lives here, once: a value that passes these models is safe to store, score and show.
Enum values are stable snake_case strings because they travel in CSV/JSON files and URLs.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from domain.regions import normalise_country, validate_nuts_codes


class StakeholderType(StrEnum):
    """The actors the Pact for Skills asks partnerships to involve (one fixed vocabulary)."""

    LARGE_EMPLOYER = "large_employer"
    SME = "sme"
    VET_PROVIDER = "vet_provider"
    HIGHER_EDUCATION = "higher_education"
    RESEARCH_ORGANISATION = "research_organisation"
    REGIONAL_LOCAL_AUTHORITY = "regional_local_authority"
    NATIONAL_PUBLIC_BODY = "national_public_body"
    PUBLIC_EMPLOYMENT_SERVICE = "public_employment_service"
    CHAMBER_BUSINESS_ASSOCIATION = "chamber_business_association"
    TRADE_UNION = "trade_union"
    EMPLOYERS_ORGANISATION = "employers_organisation"
    CLUSTER_ORGANISATION = "cluster_organisation"
    CIVIL_SOCIETY_NGO = "civil_society_ngo"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]


_TYPE_LABELS = {
    StakeholderType.LARGE_EMPLOYER: "large employer",
    StakeholderType.SME: "SME",
    StakeholderType.VET_PROVIDER: "VET provider",
    StakeholderType.HIGHER_EDUCATION: "higher education institution",
    StakeholderType.RESEARCH_ORGANISATION: "research organisation",
    StakeholderType.REGIONAL_LOCAL_AUTHORITY: "regional or local authority",
    StakeholderType.NATIONAL_PUBLIC_BODY: "national public body",
    StakeholderType.PUBLIC_EMPLOYMENT_SERVICE: "public employment service",
    StakeholderType.CHAMBER_BUSINESS_ASSOCIATION: "chamber of commerce / business association",
    StakeholderType.TRADE_UNION: "trade union",
    StakeholderType.EMPLOYERS_ORGANISATION: "employers' organisation",
    StakeholderType.CLUSTER_ORGANISATION: "cluster organisation",
    StakeholderType.CIVIL_SOCIETY_NGO: "civil society organisation / NGO",
    StakeholderType.OTHER: "other",
}


class Ecosystem(StrEnum):
    """The 14 industrial ecosystems of the EU Industrial Strategy."""

    AEROSPACE_DEFENCE = "aerospace_defence"
    AGRI_FOOD = "agri_food"
    CONSTRUCTION = "construction"
    CULTURAL_CREATIVE = "cultural_creative"
    DIGITAL = "digital"
    ELECTRONICS = "electronics"
    ENERGY_INTENSIVE = "energy_intensive"
    RENEWABLE_ENERGY = "renewable_energy"
    HEALTH = "health"
    MOBILITY_TRANSPORT_AUTOMOTIVE = "mobility_transport_automotive"
    PROXIMITY_SOCIAL_ECONOMY = "proximity_social_economy"
    RETAIL = "retail"
    TEXTILES = "textiles"
    TOURISM = "tourism"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").replace("agri food", "agri-food")


class PartnershipKind(StrEnum):
    LARGE_SCALE = "large_scale"
    REGIONAL = "regional"
    OTHER = "other"  # e.g. a project consortium imported from CORDIS


class Role(StrEnum):
    COORDINATOR = "coordinator"
    MEMBER = "member"


def _strip_nonempty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


#: Ids travel in URLs and Cypher parameters: printable, no slashes, bounded length.
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^/\s?#][^/?#]*$"),
]
#: Every string and list a client sends has a bound, so one request can neither fill the store nor
#: make an embedding, a report or an error message unboundedly large. The bounds sit well above
#: anything a real profile holds (stored documents are validated again when read back).
MAX_SHORT_TEXT = 500
MAX_CODES = 50  # NUTS codes of an organisation, regions an attendee wants
MAX_SCOPE_REGIONS = 500
MAX_ENUM_LIST = 100  # stakeholder types or ecosystems, duplicates included (they are dropped)
MAX_KEYWORDS = 200

Name = Annotated[str, StringConstraints(max_length=MAX_SHORT_TEXT), AfterValidator(_strip_nonempty)]
ShortText = Annotated[str, StringConstraints(max_length=MAX_SHORT_TEXT)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
#: A NUTS code as sent: exempt from the models' whitespace stripping, so that the region index
#: sees ``DE1\n`` as it came and refuses it (it forgives spaces only, see ``RegionIndex.normalise``).
NutsCode = Annotated[str, StringConstraints(strip_whitespace=False, max_length=32)]
#: A country as sent (ISO 3166-1 alpha-2 or a CORDIS spelling); a string, or the model refuses it.
CountryText = Annotated[str, StringConstraints(max_length=64)]


def _iso_country(value: str | None) -> str | None:
    """An after-validator (the value is a string by then): a dict, a number or a list is refused
    as such by the model instead of reaching ``normalise_country``."""
    return None if value is None or not value.strip() else normalise_country(value)


def _keywords(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        v = v.strip()
        if v:
            seen.setdefault(v, None)
    return tuple(seen)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Organisation(_Frozen):
    """An organisation profile: who it is, where it is, what it works on."""

    org_id: Identifier
    name: Name
    stakeholder_type: StakeholderType
    sme: bool | None = Field(default=None, description="SME flag; None when unknown")
    country: CountryText | None = Field(
        default=None, description="ISO 3166-1 alpha-2 (CORDIS UK/EL accepted)"
    )
    nuts_codes: tuple[NutsCode, ...] = Field(
        default=(), max_length=MAX_CODES, description="NUTS 2024 codes, any level"
    )
    ecosystems: tuple[Ecosystem, ...] = Field(default=(), max_length=MAX_ENUM_LIST)
    description: LongText = ""
    website: str | None = Field(default=None, max_length=MAX_SHORT_TEXT)
    keywords: tuple[ShortText, ...] = Field(
        default=(), max_length=MAX_KEYWORDS, description="skills / priorities"
    )
    city: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=40)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return _iso_country(value)

    @field_validator("nuts_codes")
    @classmethod
    def _nuts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return validate_nuts_codes(value)

    @field_validator("keywords")
    @classmethod
    def _kw(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _keywords(value)

    @field_validator("ecosystems")
    @classmethod
    def _eco(cls, value: tuple[Ecosystem, ...]) -> tuple[Ecosystem, ...]:
        return tuple(dict.fromkeys(value))

    @field_validator("website")
    @classmethod
    def _website(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class Partnership(_Frozen):
    """A skills partnership (or any consortium) that organisations are members of."""

    partnership_id: Identifier
    name: Name
    kind: PartnershipKind = PartnershipKind.OTHER
    scope_regions: tuple[NutsCode, ...] = Field(
        default=(), max_length=MAX_SCOPE_REGIONS, description="NUTS codes, any level"
    )
    ecosystems: tuple[Ecosystem, ...] = Field(default=(), max_length=MAX_ENUM_LIST)
    description: LongText = Field(default="", description="agreement text: ambition, commitments, priorities")
    parent_id: Identifier | None = Field(default=None, description="large-scale partnership it derives from")
    start_date: date | None = None

    @field_validator("scope_regions")
    @classmethod
    def _nuts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return validate_nuts_codes(value)

    @field_validator("ecosystems")
    @classmethod
    def _eco(cls, value: tuple[Ecosystem, ...]) -> tuple[Ecosystem, ...]:
        return tuple(dict.fromkeys(value))


class Membership(_Frozen):
    """An organisation's membership of a partnership."""

    org_id: Identifier
    partnership_id: Identifier
    role: Role = Role.MEMBER
    since: date | None = None


def organisation_text(org: Organisation, partnership_names: list[str] | None = None) -> str:
    """The text an organisation is embedded from.

    Its description when it has one; otherwise name, stakeholder type, keywords and the names of the
    partnerships it belongs to, which is what a CORDIS organisation is known by.
    """
    if org.description.strip():
        parts = [org.name, org.description]
        if org.keywords:
            parts.append("; ".join(org.keywords))
        return ". ".join(parts)
    parts = [org.name, org.stakeholder_type.label]
    if org.keywords:
        parts.append("; ".join(org.keywords))
    if partnership_names:
        parts.append("; ".join(sorted(set(partnership_names))[:30]))
    return ". ".join(parts)


def partnership_text(partnership: Partnership) -> str:
    """The text a partnership is embedded from: its name and agreement text."""
    text = partnership.name
    if partnership.description.strip():
        text = f"{text}. {partnership.description}"
    return text
