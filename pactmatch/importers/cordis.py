"""The CORDIS consortium format: ``projects.csv`` + ``participants.csv``.

Each project becomes a partnership of kind ``other``, each distinct participant an organisation and
each participation a membership. An organisation appears once per project it took part in; its
profile is the consensus of those rows (most frequent name, country, NUTS code).

CORDIS only distinguishes five activity types; the Pact for Skills vocabulary is finer. The
mapping uses the activity type and SME flag first, then a small, documented set of name keywords
(chambers, unions, clusters, municipalities ...) that CORDIS files under PUB/OTH.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from domain.models import Membership, Organisation, Partnership, PartnershipKind, Role, StakeholderType
from domain.regions import PostcodeLookup, RegionIndex, normalise_country
from pactmatch.importers.report import ParsedBatch, RowError, read_csv, validation_errors

PROJECT_COLUMNS = (
    "project_id",
    "source",
    "programme",
    "acronym",
    "title",
    "objective",
    "start_date",
    "consortium_complete",
)
PARTICIPANT_COLUMNS = (
    "project_id", "org_id", "org_name", "role", "activity_type", "sme", "country", "city", "postcode", "nuts_code",
    "source",
)  # fmt: skip
ACTIVITY_TYPES = {"PRC", "HES", "REC", "PUB", "OTH"}

# Name keywords, checked in order; the first match wins. Lower-case, matched on word starts.
_KEYWORD_TYPES: tuple[tuple[StakeholderType, tuple[str, ...]], ...] = (
    (StakeholderType.PUBLIC_EMPLOYMENT_SERVICE, (
        "public employment service", "arbeitsagentur", "agentur für arbeit", "pole emploi", "pôle emploi",
        "arbetsförmedlingen", "servicio público de empleo", "uwv", "forem", "actiris", "vdab",
    )),
    (StakeholderType.TRADE_UNION, (
        "trade union", "gewerkschaft", "syndicat", "sindacato", "sindicato", "confederation of trade unions",
        "fackförbund", "vakbond", "etuc", "industriall",
    )),
    (StakeholderType.CHAMBER_BUSINESS_ASSOCIATION, (
        "chamber of commerce", "chamber of industry", "handelskammer", "handwerkskammer", "industrie- und handelskammer",
        "chambre de commerce", "chambre de métiers", "camera di commercio", "cámara de comercio", "camara de comercio",
        "kamer van koophandel", "izba", "business association",
    )),
    (StakeholderType.EMPLOYERS_ORGANISATION, (
        "employers", "confindustria", "businesseurope", "federation of industr", "arbeitgeber", "confederation of industr",
        "cepyme", "ceoe", "medef",
    )),
    (StakeholderType.CLUSTER_ORGANISATION, ("cluster", "klaster", "pôle de compétitivité", "pole de competitivite")),
    (StakeholderType.VET_PROVIDER, (
        "vocational", "berufsschule", "berufsbildung", "vet ", "formación profesional", "formacion profesional",
        "formation professionnelle", "istituto tecnico", "ikastetxe", "training centre", "training center",
    )),
    (StakeholderType.REGIONAL_LOCAL_AUTHORITY, (
        "municipality", "municipal", "city of", "city council", "county council", "regional council", "region ",
        "regione", "región", "comune di", "ayuntamiento", "gemeente", "stadt ", "landeshauptstadt", "kommune",
        "provincia", "province", "diputación", "diputacion", "generalitat", "junta de", "conseil régional",
        "conseil departemental", "landkreis", "kreis ", "metropol", "città metropolitana", "communaute", "urząd miasta",
    )),
)  # fmt: skip


def classify(activity_type: str, sme: bool | None, name: str) -> StakeholderType:
    """Pact for Skills stakeholder type for a CORDIS participant.

    >>> classify("PRC", True, "ACME GMBH"), classify("PUB", None, "COMUNE DI MILANO")
    (<StakeholderType.SME: 'sme'>, <StakeholderType.REGIONAL_LOCAL_AUTHORITY: 'regional_local_authority'>)
    """
    lowered = f" {name.lower()} "
    if activity_type in ("PUB", "OTH", "PRC", ""):
        for stakeholder, words in _KEYWORD_TYPES:
            if stakeholder == StakeholderType.VET_PROVIDER and activity_type == "PRC":
                continue
            if any(f" {w}" in lowered or lowered.startswith(w) for w in words):
                return stakeholder
    if activity_type == "PRC":
        return StakeholderType.SME if sme else StakeholderType.LARGE_EMPLOYER
    if activity_type == "HES":
        return StakeholderType.HIGHER_EDUCATION
    if activity_type == "REC":
        return StakeholderType.RESEARCH_ORGANISATION
    if activity_type == "PUB":
        return StakeholderType.NATIONAL_PUBLIC_BODY
    if activity_type == "OTH":
        return StakeholderType.CIVIL_SOCIETY_NGO
    return StakeholderType.OTHER


@dataclass
class _OrgEvidence:
    names: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    sme: Counter[bool] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    nuts: Counter[str] = field(default_factory=Counter)
    cities: Counter[str] = field(default_factory=Counter)
    postcodes: Counter[str] = field(default_factory=Counter)


def _parse_date(value: str) -> date | None:
    value = value.strip()
    return date.fromisoformat(value[:10]) if value else None


_PIC = re.compile(r"^\d{9}$")


def participant_project_ids(participants: Path) -> list[str]:
    """Project ids a participants file refers to; empty when the file cannot be read (``read_cordis``
    reports that problem itself, with its file and line)."""
    try:
        with participants.open(encoding="utf-8-sig", newline="") as fh:
            return sorted({(row.get("project_id") or "").strip() for row in csv.DictReader(fh)} - {""})
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def read_cordis(projects: Path, participants: Path, *, known_projects: set[str] | None = None) -> ParsedBatch:
    """Read a CORDIS export; ``known_projects`` are project ids already in the store."""
    batch = ParsedBatch()
    index = RegionIndex.default()
    postcodes = PostcodeLookup()

    pfile = projects.name
    project_ids: set[str] = set()
    for line, row in read_csv(projects, PROJECT_COLUMNS, errors=batch.errors):
        pid = row["project_id"].strip()
        if not pid:
            batch.errors.append(RowError(pfile, line, "project_id", "must not be empty"))
            continue
        try:
            start = _parse_date(row["start_date"])
        except ValueError:
            batch.errors.append(
                RowError(pfile, line, "start_date", f"not a date (YYYY-MM-DD): {row['start_date']!r}")
            )
            continue
        title, acronym = row["title"].strip(), row["acronym"].strip()
        name = acronym or (title[:120] if title else f"Project {pid}")
        description = "\n\n".join(t for t in (title, row["objective"].strip()) if t)
        try:
            batch.partnerships.append(
                Partnership(
                    partnership_id=pid,
                    name=name,
                    kind=PartnershipKind.OTHER,
                    description=description[:20_000],
                    start_date=start,
                )
            )
            project_ids.add(pid)
        except ValidationError as exc:
            batch.errors.extend(validation_errors(exc, pfile, line))

    known = project_ids | (known_projects or set())
    qfile = participants.name
    evidence: dict[str, _OrgEvidence] = defaultdict(_OrgEvidence)
    seen: dict[tuple[str, str], int] = {}
    for line, row in read_csv(participants, PARTICIPANT_COLUMNS, errors=batch.errors):
        pid, org_id = row["project_id"].strip(), row["org_id"].strip()
        if not org_id:
            batch.errors.append(RowError(qfile, line, "org_id", "must not be empty"))
            continue
        if "/" in org_id or "?" in org_id or "#" in org_id or len(org_id) > 200:
            batch.errors.append(
                RowError(qfile, line, "org_id", "must not contain / ? # and be at most 200 characters")
            )
            continue
        if pid not in known:
            batch.errors.append(RowError(qfile, line, "project_id", f"unknown project {pid!r}"))
            continue
        activity = row["activity_type"].strip().split(";")[0]
        if activity and activity not in ACTIVITY_TYPES:
            batch.errors.append(
                RowError(
                    qfile,
                    line,
                    "activity_type",
                    f"{activity!r} is not one of {', '.join(sorted(ACTIVITY_TYPES))}",
                )
            )
            continue
        sme_raw = row["sme"].strip().lower()
        if sme_raw not in ("", "true", "false"):
            batch.errors.append(
                RowError(qfile, line, "sme", f"expected True, False or empty, got {row['sme']!r}")
            )
            continue
        # A few merged rows repeat a value ("FI;FI", "PRC;PRC"): accept it when all parts agree.
        country_parts = {c.strip() for c in row["country"].split(";") if c.strip()}
        if len(country_parts) > 1:
            batch.errors.append(RowError(qfile, line, "country", f"conflicting values {row['country']!r}"))
            continue
        country_raw = next(iter(country_parts), "")
        country = None
        if country_raw:
            try:
                country = normalise_country(country_raw)
            except ValueError as exc:
                batch.errors.append(RowError(qfile, line, "country", str(exc)))
                continue
        role = Role.COORDINATOR if row["role"].strip().lower() == "coordinator" else Role.MEMBER

        ev = evidence[org_id]
        if row["org_name"].strip():
            ev.names[row["org_name"].strip()] += 1
        ev.types[activity] += 1
        if sme_raw:
            ev.sme[sme_raw == "true"] += 1
        if country:
            ev.countries[country] += 1
        nuts_raw = row["nuts_code"].strip()
        if nuts_raw:
            try:
                result = index.normalise(nuts_raw)
                ev.nuts[result.code] += 1
                if result.note:
                    batch.warnings.append(RowError(qfile, line, "nuts_code", result.note))
            except ValueError as exc:
                batch.warnings.append(RowError(qfile, line, "nuts_code", f"{exc}; row kept without it"))
        elif country and row["postcode"].strip():
            found = postcodes.lookup(country, row["postcode"])
            if found:
                with contextlib.suppress(ValueError):  # postcode table codes outside the index: skip
                    ev.nuts[index.normalise(found).code] += 1
        if row["city"].strip():
            ev.cities[row["city"].strip()] += 1
        if row["postcode"].strip():
            ev.postcodes[row["postcode"].strip()] += 1

        key = (org_id, pid)
        if key in seen:
            # The same organisation listed twice in one project (e.g. as coordinator and partner):
            # one membership, the coordinator role wins.
            i = seen[key]
            if role == Role.COORDINATOR:
                batch.memberships[i] = batch.memberships[i].model_copy(update={"role": role})
            continue
        seen[key] = len(batch.memberships)
        batch.memberships.append(Membership(org_id=org_id, partnership_id=pid, role=role))
        batch.membership_origin.append((qfile, line, None))

    starts = {p.partnership_id: p.start_date for p in batch.partnerships}
    batch.memberships = [
        m.model_copy(update={"since": starts.get(m.partnership_id)}) if starts.get(m.partnership_id) else m
        for m in batch.memberships
    ]
    for org_id, ev in evidence.items():
        batch.organisations.append(_organisation(org_id, ev))
    return batch


def _organisation(org_id: str, ev: _OrgEvidence) -> Organisation:
    if ev.names:
        name = ev.names.most_common(1)[0][0]
    elif org_id.startswith("name:"):
        name = org_id[5:].split("|")[0].title()
    else:
        name = f"Organisation with PIC {org_id}" if _PIC.match(org_id) else org_id
    sme: bool | None = None
    if ev.sme:
        sme = bool(ev.sme[True])
    activity = ev.types.most_common(1)[0][0] if ev.types else ""
    return Organisation(
        org_id=org_id,
        name=name[:500],
        stakeholder_type=classify(activity, sme, name),
        sme=sme,
        country=ev.countries.most_common(1)[0][0] if ev.countries else None,
        nuts_codes=(ev.nuts.most_common(1)[0][0],) if ev.nuts else (),
        city=ev.cities.most_common(1)[0][0][:200] if ev.cities else None,
        postcode=ev.postcodes.most_common(1)[0][0][:40] if ev.postcodes else None,
    )
