"""Bulk imports over HTTP: the native JSON document, native CSV files, and CORDIS files.

Uploaded files are spooled to a temporary directory and read by the same importers as the CLI,
so both report identical row errors. The response is the import report: 200 when every row was
imported, 422 when rows were rejected (the good rows are imported all the same).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from api.deps import ServiceDep
from api.routers.common import StrictJSONRoute
from api.schemas.imports import ImportReportPublic, import_report_public
from domain.errors import InvalidInputError
from pactmatch.importers import ImportReport, read_csv_files
from pactmatch.importers.native import parse_json_document

router = APIRouter(prefix="/imports", tags=["imports"], route_class=StrictJSONRoute)


def _answer(report: ImportReport, response: Response) -> ImportReportPublic:
    """The report, with 422 when rows were rejected."""
    response.status_code = status.HTTP_200_OK if report.ok else status.HTTP_422_UNPROCESSABLE_CONTENT
    return import_report_public(report)


@router.post("/json", response_model=ImportReportPublic)
def import_json(
    document: Annotated[
        dict[str, Any], Body(description="{organisations: [...], partnerships: [...], memberships: [...]}")
    ],
    service: ServiceDep,
    response: Response,
) -> ImportReportPublic:
    report = service.import_batch(parse_json_document(document, "request"), "request")
    return _answer(report, response)


async def _spool(upload: UploadFile | None, folder: Path, name: str) -> Path | None:
    if upload is None:
        return None
    target = folder / (Path(upload.filename or name).name or name)
    with target.open("wb") as fh:
        while chunk := await upload.read(1 << 20):
            fh.write(chunk)
    return target


@router.post("/csv", response_model=ImportReportPublic)
async def import_csv(
    service: ServiceDep,
    response: Response,
    organisations: Annotated[UploadFile | None, File()] = None,
    partnerships: Annotated[UploadFile | None, File()] = None,
    memberships: Annotated[UploadFile | None, File()] = None,
) -> ImportReportPublic:
    if not (organisations or partnerships or memberships):
        raise InvalidInputError("upload at least one of the files organisations, partnerships, memberships")
    with tempfile.TemporaryDirectory(prefix="pactmatch-import-") as tmp:
        folder = Path(tmp)
        paths = [
            await _spool(organisations, folder, "organisations.csv"),
            await _spool(partnerships, folder, "partnerships.csv"),
            await _spool(memberships, folder, "memberships.csv"),
        ]
        batch = await run_in_threadpool(read_csv_files, *paths)
        source = ", ".join(p.name for p in paths if p)
        report = await run_in_threadpool(service.import_batch, batch, source)
    return _answer(report, response)


@router.post("/cordis", response_model=ImportReportPublic)
async def import_cordis(
    service: ServiceDep,
    response: Response,
    projects: Annotated[UploadFile, File(description="CORDIS projects.csv")],
    participants: Annotated[UploadFile, File(description="CORDIS participants.csv")],
) -> ImportReportPublic:
    with tempfile.TemporaryDirectory(prefix="pactmatch-import-") as tmp:
        folder = Path(tmp)
        p_path = await _spool(projects, folder, "projects.csv")
        q_path = await _spool(participants, folder, "participants.csv")
        assert p_path is not None and q_path is not None
        report = await run_in_threadpool(service.import_cordis, p_path, q_path)
    return _answer(report, response)
