"""``pactmatch join``, ``pactmatch interest ...`` and ``pactmatch shortlist ...``: reaching out, from
the command line, through :class:`pactmatch.outreach.OutreachService`::

    pactmatch join ORG_ID --kind regional --country ES          # partnerships it could join, explained
    pactmatch interest add ORG_ID PARTNERSHIP_ID --message "We train welders"
    pactmatch interest list --partnership PARTNERSHIP_ID        # the requests to join
    pactmatch shortlist set PARTNERSHIP_ID ORG_ID --status contacted --note "called" --date 2025-03-01
    pactmatch shortlist join PARTNERSHIP_ID ORG_ID              # add as member, status joined
    pactmatch shortlist export PARTNERSHIP_ID --out shortlist.csv
    pactmatch shortlist outcomes --out outcomes.csv             # for pactmatch evaluate --feedback

The CLI acts as admin on the store it opens (:func:`pactmatch.cli.common.cli_actor`).

No ``from __future__ import annotations`` here: Typer reads the option types at definition time.
"""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from domain.models import Ecosystem, PartnershipKind, Role
from domain.outreach import ShortlistStatus, ShortlistUpdate
from matching.evaluation.feedback import DEPTH, FeedbackResult
from pactmatch.cli.common import (
    EncoderOption,
    FormatOption,
    StoreOption,
    cli_actor,
    console,
    fail,
    handled,
    open_service,
    parse_date,
    write_or_print,
)
from pactmatch.filters import join_filters
from pactmatch.outreach import InterestItem, JoinList, OutreachService, ShortlistItem

interest_app = typer.Typer(help="Organisations' interest in joining partnerships.", no_args_is_help=True)
shortlist_app = typer.Typer(
    help="Partnerships' shortlists of prospective members, and their outcomes.", no_args_is_help=True
)


def outreach_for(store: str | None, encoder: str | None = None) -> OutreachService:
    return OutreachService(open_service(store, encoder))


def join_json(result: JoinList) -> dict[str, Any]:
    return {
        "org_id": result.org_id,
        "model": result.model,
        "total": result.total,
        "offset": result.offset,
        "items": [
            {
                "partnership_id": i.partnership_id,
                "name": i.name,
                "kind": i.kind.value,
                "score": i.score,
                "interest_expressed": i.interest_expressed,
                "reasons": [asdict(r) for r in i.reasons.reasons],
                "contributions": [asdict(c) for c in i.recommendation.contributions],
            }
            for i in result.items
        ],
    }


def join(
    org_id: Annotated[str, typer.Argument(help="The organisation to find partnerships for")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=200)] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0, help="ranked partnerships to skip")] = 0,
    kind: Annotated[list[PartnershipKind] | None, typer.Option("--kind")] = None,
    ecosystem: Annotated[list[Ecosystem] | None, typer.Option("--ecosystem")] = None,
    region: Annotated[
        list[str] | None,
        typer.Option("--region", help="NUTS code, any level: the partnership's area touches it"),
    ] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO country (repeatable)")] = None,
    output: FormatOption = "table",
    store: StoreOption = None,
    encoder: EncoderOption = None,
) -> None:
    """Rank the partnerships an organisation could join, with the reasons for each."""
    with handled():
        outreach = outreach_for(store, encoder)
        result = outreach.partnerships_to_join(
            org_id, join_filters(kind, ecosystem, region, country), top_k, offset
        )
        name = outreach.service.get_organisation(org_id).name
    if output == "json":
        console.print_json(json.dumps(join_json(result), ensure_ascii=False))
        return
    table = Table(title=f"Partnerships {name} ({org_id}) could join", show_lines=True)
    for column in ("#", "partnership", "score", "why"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for rank, item in enumerate(result.items, offset + 1):
        why = "\n".join(f"{r.label} {r.value:+.3f}: {r.evidence}" for r in item.reasons.reasons if r.value)
        asked = "\n[green]interest expressed[/]" if item.interest_expressed else ""
        table.add_row(str(rank), f"{item.name}\n[dim]{item.partnership_id} · {item.kind.value}[/]{asked}",
                      f"{item.score:.3f}", why)  # fmt: skip
    console.print(table)
    console.print(f"[dim]{result.total} partnership(s) ranked; ranker: {result.model}[/]")


# -- interests -------------------------------------------------------------------------------------
def add_interest(
    org_id: str,
    partnership_id: str,
    message: Annotated[str, typer.Option("--message", help="to the partnership's coordinators")] = "",
    store: StoreOption = None,
) -> None:
    """Express an organisation's interest in joining a partnership (again: reword its message)."""
    with handled():
        _, created = outreach_for(store).express_interest(org_id, partnership_id, message, actor=cli_actor())
    console.print(
        f"interest of {org_id} in {partnership_id} {'recorded' if created else 'updated'}", highlight=False
    )


def withdraw_interest(org_id: str, partnership_id: str, store: StoreOption = None) -> None:
    """Withdraw an organisation's interest in a partnership."""
    with handled():
        outreach_for(store).withdraw_interest(org_id, partnership_id, actor=cli_actor())
    console.print(f"interest of {org_id} in {partnership_id} withdrawn", highlight=False)


def list_interests(
    org: Annotated[str | None, typer.Option("--org", help="one organisation's interests")] = None,
    partnership: Annotated[
        str | None, typer.Option("--partnership", help="the requests to join one partnership")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Interests in joining: one organisation's, or one partnership's requests (name one of the two)."""
    if (org is None) == (partnership is None):
        raise fail("name one of --org and --partnership")
    with handled():
        outreach = outreach_for(store)
        items = outreach.interests_of(org) if org else outreach.inbound_interests(str(partnership))
    _print_interests(items, f"Interests of {org}" if org else f"Requests to join {partnership}")


def _print_interests(items: list[InterestItem], title: str) -> None:
    table = Table(title=title)
    for column in ("organisation", "partnership", "name", "message", "updated", "by"):
        table.add_column(column)
    for item in items:
        i = item.interest
        table.add_row(
            i.org_id, i.partnership_id, item.name or "(gone)", i.message, f"{i.updated_at:%Y-%m-%d}", i.by
        )
    console.print(table)


# -- shortlists ------------------------------------------------------------------------------------
def show_shortlist(partnership_id: str, output: FormatOption = "table", store: StoreOption = None) -> None:
    """A partnership's shortlist, most recently changed first."""
    with handled():
        items = outreach_for(store).shortlist(partnership_id)
    if output == "json":
        console.print_json(json.dumps([_entry_json(i) for i in items], ensure_ascii=False, default=str))
        return
    table = Table(title=f"Shortlist of {partnership_id}")
    for column in ("organisation", "status", "date", "note", "member", "asked to join", "changes"):
        table.add_column(column)
    for item in items:
        e = item.entry
        table.add_row(
            f"{item.name or '(gone)'}\n[dim]{e.org_id}[/]", e.status.value, e.current.on.isoformat(), e.current.note,
            "yes" if item.member else "", "yes" if item.interest else "", str(len(e.history)),
        )  # fmt: skip
    console.print(table)


def _entry_json(item: ShortlistItem) -> dict[str, Any]:
    return {
        **item.entry.model_dump(mode="json"),
        "name": item.name,
        "status": item.entry.status.value,
        "member": item.member,
        "interest": item.interest,
    }


def set_entry(
    partnership_id: str,
    org_id: str,
    status: Annotated[ShortlistStatus, typer.Option("--status")] = ShortlistStatus.SHORTLISTED,
    note: Annotated[str, typer.Option("--note")] = "",
    on: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD the status refers to (default today)")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Shortlist an organisation, or record its new status (the earlier ones are kept)."""
    with handled():
        update = ShortlistUpdate(status=status, note=note, on=parse_date("date", on) if on else None)
        item, created = outreach_for(store).put_shortlist_entry(
            partnership_id, org_id, update, actor=cli_actor()
        )
    console.print(
        f"{org_id} {'shortlisted' if created else 'now'} {item.entry.status.value} for {partnership_id}",
        highlight=False,
    )


def remove_entry(partnership_id: str, org_id: str, store: StoreOption = None) -> None:
    """Take an organisation off a shortlist."""
    with handled():
        outreach_for(store).remove_from_shortlist(partnership_id, org_id, actor=cli_actor())
    console.print(f"{org_id} removed from the shortlist of {partnership_id}", highlight=False)


def join_entry(
    partnership_id: str,
    org_id: str,
    role: Annotated[Role, typer.Option("--role")] = Role.MEMBER,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD (default today)")] = None,
    store: StoreOption = None,
) -> None:
    """Add a shortlisted organisation as a member; its status becomes joined."""
    with handled():
        outreach_for(store).add_shortlisted_as_member(
            partnership_id, org_id, role, parse_date("since", since) if since else None, actor=cli_actor()
        )
    console.print(f"{org_id} joined {partnership_id} as {role.value}", highlight=False)


def export_shortlist(
    partnership_id: str,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (default: stdout)")] = None,
    store: StoreOption = None,
) -> None:
    """A partnership's shortlist as CSV."""
    with handled():
        write_or_print(outreach_for(store).shortlist_csv(partnership_id), out)


def export_outcomes(
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (default: stdout)")] = None,
    store: StoreOption = None,
) -> None:
    """Every shortlist's status changes as (partnership, organisation, outcome, date): the file
    ``pactmatch evaluate --feedback`` reads."""
    with handled():
        write_or_print(outreach_for(store).outcomes_csv(), out)


# -- feedback (evaluate --feedback, fit) -----------------------------------------------------------
def feedback_json(result: FeedbackResult) -> dict[str, Any]:
    return {
        "partnerships": result.partnerships,
        "outcomes": result.outcomes,
        "skipped": result.skipped,
        "depth": DEPTH,
        "rankers": {
            name: {
                status.value: {
                    "count": r.count,
                    "found": len(r.found),
                    "median_rank": r.median_rank,
                    "within_10": r.share_within(10),
                    "within_50": r.share_within(50),
                    "mrr": r.mrr,
                }
                for status, r in per_status.items()
            }
            for name, per_status in result.rankers.items()
        },
    }


def print_feedback(result: FeedbackResult, title: str) -> None:
    """Per ranker and latest status: how many, the median rank, the share in the top 10 and 50."""
    table = Table(title=title)
    for column in ("ranker", "latest status", "organisations", "median rank", "top 10", "top 50", "MRR"):
        table.add_column(column, justify="left" if column in ("ranker", "latest status") else "right")
    for name, per_status in result.rankers.items():
        for status, r in per_status.items():
            median = f"{r.median_rank:.0f}" if r.median_rank is not None else f"> {DEPTH}"
            table.add_row(name, status.value, str(r.count), median, f"{r.share_within(10):.0%}",
                          f"{r.share_within(50):.0%}", f"{r.mrr:.3f}")  # fmt: skip
    console.print(table)
    skipped = "; ".join(f"{n} {why}" for why, n in result.skipped.items())
    console.print(
        f"[dim]{result.outcomes} organisation(s) of {result.partnerships} partnership(s) ranked among the "
        f"non-members (joined ones as before they joined){'; skipped: ' + skipped if skipped else ''}[/]"
    )


def register(app: typer.Typer) -> None:
    """Add ``join`` and the ``interest`` and ``shortlist`` groups to the CLI."""
    app.command("join")(join)
    interest_app.command("add")(add_interest)
    interest_app.command("withdraw")(withdraw_interest)
    interest_app.command("list")(list_interests)
    shortlist_app.command("show")(show_shortlist)
    shortlist_app.command("set")(set_entry)
    shortlist_app.command("remove")(remove_entry)
    shortlist_app.command("join")(join_entry)
    shortlist_app.command("export")(export_shortlist)
    shortlist_app.command("outcomes")(export_outcomes)
    app.add_typer(interest_app, name="interest")
    app.add_typer(shortlist_app, name="shortlist")
