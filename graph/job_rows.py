"""What both stores write for a background job.

The whole record is kept as JSON (``data``), so a read returns exactly the :class:`~domain.jobs.Job`
that was saved; beside it the fields the queue selects, orders and compare-and-sets on: owner and
status (the queue's bounds), the creation time (as :func:`graph.account_rows.stored_time` text, so
ordering the text orders the times) and the revision.
"""

from __future__ import annotations

from typing import Any

from domain.jobs import Job
from graph.account_rows import stored_time


def saved(job: Job) -> Job:
    """``job`` as a successful compare-and-set stores it: with the next revision."""
    return job.model_copy(update={"revision": job.revision + 1})


def job_row(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "owner": job.owner,
        "status": job.status.value,
        "created_at": stored_time(job.created_at),
        "revision": job.revision,
        "data": job.model_dump_json(),
    }
