"""The native JSON and CSV formats (documented in the README, samples in ``examples/``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.models import Membership, Organisation, Partnership
from pactmatch.importers.report import (
    ParsedBatch,
    RowError,
    blank_to_none,
    read_csv,
    split_list,
    validation_errors,
)

ORG_COLUMNS = ("org_id", "name", "stakeholder_type")
ORG_OPTIONAL = (
    "sme",
    "country",
    "nuts_codes",
    "ecosystems",
    "description",
    "website",
    "keywords",
    "city",
    "postcode",
)
PARTNERSHIP_COLUMNS = ("partnership_id", "name")
PARTNERSHIP_OPTIONAL = ("kind", "scope_regions", "ecosystems", "description", "parent_id", "start_date")
MEMBERSHIP_COLUMNS = ("org_id", "partnership_id")
MEMBERSHIP_OPTIONAL = ("role", "since")
_LIST_FIELDS = ("nuts_codes", "ecosystems", "keywords", "scope_regions")
_NULLABLE = (
    "sme",
    "country",
    "website",
    "city",
    "postcode",
    "parent_id",
    "start_date",
    "since",
    "kind",
    "role",
)
_SECTIONS: dict[str, type[Organisation] | type[Partnership] | type[Membership]] = {
    "organisations": Organisation,
    "partnerships": Partnership,
    "memberships": Membership,
}


def _add(
    batch: ParsedBatch,
    model: type[Organisation] | type[Partnership] | type[Membership],
    payload: dict[str, Any],
    file: str,
    line: int | None,
    item: int | None,
) -> None:
    try:
        obj = model.model_validate(payload)
    except ValidationError as exc:
        batch.errors.extend(validation_errors(exc, file, line, item))
        return
    if isinstance(obj, Organisation):
        batch.organisations.append(obj)
    elif isinstance(obj, Partnership):
        batch.partnerships.append(obj)
    else:
        batch.memberships.append(obj)
        batch.membership_origin.append((file, line, item))


def read_json(path: Path) -> ParsedBatch:
    """``{"organisations": [...], "partnerships": [...], "memberships": [...]}`` (any subset)."""
    batch = ParsedBatch()
    name = path.name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        batch.errors.append(RowError(name, None, "file", f"cannot open: {exc.strerror or exc}"))
        return batch
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        batch.errors.append(RowError(name, line, "file", f"not valid JSON: {exc}"))
        return batch
    return parse_json_document(data, name, batch)


def parse_json_document(data: object, name: str, batch: ParsedBatch | None = None) -> ParsedBatch:
    """Validate an already-decoded JSON document (also used by the API's bulk import)."""
    batch = batch or ParsedBatch()
    if not isinstance(data, dict):
        batch.errors.append(
            RowError(name, None, "document", "expected an object with organisations/partnerships/memberships")
        )
        return batch
    unknown = [k for k in data if k not in _SECTIONS and k != "notice"]
    if unknown:
        batch.errors.append(
            RowError(
                name,
                None,
                "document",
                f"unknown section(s) {', '.join(unknown)}; expected {', '.join(_SECTIONS)}",
            )
        )
    for section, model in _SECTIONS.items():
        records = data.get(section, [])
        if not isinstance(records, list):
            batch.errors.append(RowError(name, None, section, "must be an array"))
            continue
        for i, record in enumerate(records):
            where = f"{name}#{section}"
            if not isinstance(record, dict):
                batch.errors.append(RowError(where, None, "record", "must be an object", i))
                continue
            _add(batch, model, record, where, None, i)
    return batch


def _csv_payload(row: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = blank_to_none(row, _NULLABLE)
    for key in _LIST_FIELDS:
        if key in payload and isinstance(payload[key], str):
            payload[key] = split_list(payload[key])
    return {k: v for k, v in payload.items() if v is not None}


def read_csv_files(
    organisations: Path | None = None, partnerships: Path | None = None, memberships: Path | None = None
) -> ParsedBatch:
    """One CSV file per entity; list cells separated by ``;``."""
    batch = ParsedBatch()
    Spec = tuple[
        Path | None,
        type[Organisation] | type[Partnership] | type[Membership],
        tuple[str, ...],
        tuple[str, ...],
    ]
    specs: tuple[Spec, ...] = (
        (organisations, Organisation, ORG_COLUMNS, ORG_OPTIONAL),
        (partnerships, Partnership, PARTNERSHIP_COLUMNS, PARTNERSHIP_OPTIONAL),
        (memberships, Membership, MEMBERSHIP_COLUMNS, MEMBERSHIP_OPTIONAL),
    )
    for path, model, required, optional in specs:
        if path is None:
            continue
        for line, row in read_csv(path, required, optional, errors=batch.errors):
            _add(batch, model, _csv_payload(row), path.name, line, None)
    return batch
