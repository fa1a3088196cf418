"""Bulk imports over HTTP: the native JSON document, native CSV files, and CORDIS files.

Uploaded files are spooled to a temporary directory and read by the same importers as the CLI,
so both report identical row errors. The response is the import report: 200 when every row was
imported, 422 when rows were rejected (the good rows are imported all the same).

A client's file name is only a label for the report: each part is spooled into a directory of its
own under its last name component (``..``, an empty or an unprintable name get the default name),
so no name can reach outside the spool or overwrite another part. A form with two parts of one
name, or two files of one name, is refused: a form keeps the last of same-named parts (the rows of
the other would go missing), and row errors could not tell two same-named files apart.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Request, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as FormFile

from api.auth import require
from api.csrf import FormCsrf
from api.deps import ServiceDep
from api.rate_limits import Operation, limited
from api.routers.common import StrictJSONRoute
from api.schemas.imports import ImportReportPublic, import_report_public
from domain.accounts import Actor
from domain.errors import FieldIssue, InvalidInputError
from pactmatch.importers import ImportReport, read_csv_files
from pactmatch.importers.native import parse_json_document
from pactmatch.permissions import Action

router = APIRouter(prefix="/imports", tags=["imports"], route_class=StrictJSONRoute)
#: Imports are for admins, and count against the expensive operations' rate limit (checked after
#: the permission: FastAPI resolves a route's dependencies in the order of its parameters).
Importer = Annotated[Actor, require(Action.ADMIN)]
RateLimited = Annotated[None, limited(Operation.IMPORT)]


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
    actor: Importer,
    _limit: RateLimited,
) -> ImportReportPublic:
    report = service.import_batch(parse_json_document(document, "request"), "request", actor=actor)
    return _answer(report, response)


async def _distinct_parts(request: Request) -> None:
    """``InvalidInputError`` naming a part name or a file name the form uses twice."""
    parts = (await request.form()).multi_items()
    for name, count in Counter(name for name, _ in parts).items():
        if count > 1:
            message = f"{count} parts are named {name!r}; send each file once"
            raise InvalidInputError(message, [FieldIssue(name, message)])
    named: dict[str, str] = {}  # file name → the part that sent it
    for name, value in parts:
        if isinstance(value, FormFile) and value.filename:  # the form's parts: Starlette's class
            if value.filename in named:
                message = (
                    f"parts {named[value.filename]!r} and {name!r} both send {value.filename!r}; rename one"
                )
                raise InvalidInputError(message, [FieldIssue(name, message)])
            named[value.filename] = name


def _label(upload: UploadFile, default: str) -> str:
    """The name an upload goes by in the report: the last component of the client's file name."""
    name = re.split(r"[\\/]", upload.filename or "")[-1]
    return name if name not in ("", ".", "..") and name.isprintable() and len(name) <= 200 else default


async def _spool(upload: UploadFile | None, folder: Path, name: str) -> Path | None:
    if upload is None:
        return None
    part = folder / Path(name).stem  # a directory per part, named by us
    part.mkdir()
    target = part / _label(upload, name)
    with target.open("wb") as fh:
        while chunk := await upload.read(1 << 20):
            fh.write(chunk)
    return target


@router.post("/csv", response_model=ImportReportPublic, dependencies=[FormCsrf])
async def import_csv(
    service: ServiceDep,
    request: Request,
    response: Response,
    actor: Importer,
    _limit: RateLimited,
    organisations: Annotated[UploadFile | None, File()] = None,
    partnerships: Annotated[UploadFile | None, File()] = None,
    memberships: Annotated[UploadFile | None, File()] = None,
) -> ImportReportPublic:
    await _distinct_parts(request)
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
        report = await run_in_threadpool(lambda: service.import_batch(batch, source, actor=actor))
    return _answer(report, response)


@router.post("/cordis", response_model=ImportReportPublic, dependencies=[FormCsrf])
async def import_cordis(
    service: ServiceDep,
    request: Request,
    response: Response,
    actor: Importer,
    _limit: RateLimited,
    projects: Annotated[UploadFile, File(description="CORDIS projects.csv")],
    participants: Annotated[UploadFile, File(description="CORDIS participants.csv")],
) -> ImportReportPublic:
    await _distinct_parts(request)
    with tempfile.TemporaryDirectory(prefix="pactmatch-import-") as tmp:
        folder = Path(tmp)
        p_path = await _spool(projects, folder, "projects.csv")
        q_path = await _spool(participants, folder, "participants.csv")
        assert p_path is not None and q_path is not None
        report = await run_in_threadpool(lambda: service.import_cordis(p_path, q_path, actor=actor))
    return _answer(report, response)
