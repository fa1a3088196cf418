"""Charts for the HTML reports, drawn by matplotlib and embedded as base64 PNG data URIs.

Every function returns a ``data:image/png;base64,...`` string, so the report stays one
self-contained file that opens offline. The Agg backend is selected explicitly: reports are
rendered on servers without a display.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pactmatch.reports.models import GapReportPublic, SynergyPairPublic

OK = "#2e7d32"
MISSING = "#c62828"
TARGET = "#263238"
KIND_COLOURS = {"large_scale": "#1565c0", "regional": "#ef6c00", "other": "#6d4c41"}


def to_data_uri(fig: Figure, dpi: int = 110) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _wrap(label: str, width: int = 38) -> str:
    return "\n".join(textwrap.wrap(label, width)[:3])


def composition_chart(report: GapReportPublic) -> str | None:
    """Members per requirement against the target, green when met, red when not."""
    reqs = report.composition.requirements
    if not reqs:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(reqs) + 0.9))
    labels = [_wrap(r.label) for r in reqs]
    y = list(range(len(reqs)))[::-1]
    counts = [r.count for r in reqs]
    targets = [max(r.min_count, round(r.min_share * max(1, report.n_members))) for r in reqs]
    ax.barh(y, counts, color=[OK if r.satisfied else MISSING for r in reqs], height=0.6, label="members")
    ax.scatter(targets, y, marker="|", s=400, color=TARGET, zorder=3, label="target")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("members")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max([*counts, *targets, 1]) * 1.15 + 0.5)
    for yi, c in zip(y, counts, strict=True):
        ax.text(c + 0.05, yi, str(c), va="center", fontsize=8)
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.set_title(f"Composition vs target — {report.name}", fontsize=9, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return to_data_uri(fig)


def composition_matrix(
    reports: Sequence[GapReportPublic], requirement_ids: Sequence[str], labels: Mapping[str, str]
) -> str | None:
    """Composition vs target for many partnerships at once: members / target per requirement, capped
    at twice the target; red cells are unmet, grey cells do not apply to that partnership."""
    if not reports or not requirement_ids:
        return None
    # RGB cells: red unmet, greens from light (at target) to dark (twice the target or more), grey n/a
    cells = np.full((len(reports), len(requirement_ids), 3), 0.93)
    greens = matplotlib.colormaps["Greens"]
    for i, report in enumerate(reports):
        for req in report.composition.requirements:
            j = requirement_ids.index(req.id)
            if not req.satisfied:
                cells[i, j] = matplotlib.colors.to_rgb(MISSING)
            else:
                above = min(1.0, req.count / max(req.min_count, 1) - 1.0)
                cells[i, j] = greens(0.45 + 0.45 * above)[:3]
    fig, ax = plt.subplots(figsize=(0.5 * len(requirement_ids) + 4.5, 0.24 * len(reports) + 2.0))
    ax.imshow(cells, aspect="auto")
    ax.set_xticks(
        range(len(requirement_ids)),
        [_wrap(labels[r], 22) for r in requirement_ids],
        rotation=60,
        ha="right",
        fontsize=7,
    )
    ax.set_yticks(
        range(len(reports)), [textwrap.shorten(r.name, 40, placeholder="…") for r in reports], fontsize=7
    )
    ax.set_title(
        "Composition vs target (red: unmet; green: met, darker = further above target; grey: n/a)",
        fontsize=9,
        loc="left",
    )
    return to_data_uri(fig)


def requirement_frequency_chart(missing: Sequence[tuple[str, int]], partnerships: int) -> str | None:
    """How many partnerships miss each requirement (batch overview)."""
    if not missing:
        return None
    rows = sorted(missing, key=lambda x: (-x[1], x[0]))[:15]
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(rows) + 1.0))
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [n for _, n in rows], color=MISSING, height=0.6)
    ax.set_yticks(y, [_wrap(label, 48) for label, _ in rows], fontsize=8)
    for yi, (_, n) in zip(y, rows, strict=True):
        ax.text(n, yi, f" {n} ({n / max(1, partnerships):.0%})", va="center", fontsize=8)
    ax.set_xlabel(f"partnerships missing it (of {partnerships})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Unmet target-mix requirements", fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(n for _, n in rows) * 1.3)
    return to_data_uri(fig)


def coverage_heatmap(
    regions: Sequence[str], types: Sequence[str], counts: Sequence[Sequence[int]], title: str
) -> str | None:
    """A regions × stakeholder types grid of member counts (empty cells stand out)."""
    if not regions or not types:
        return None
    fig, ax = plt.subplots(figsize=(0.55 * len(types) + 3.0, 0.32 * len(regions) + 1.8))
    image = ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(len(types)), [_wrap(t, 16) for t in types], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(regions)), list(regions), fontsize=7)
    top = max((max(row) for row in counts), default=0)
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            colour = "white" if top and value > top * 0.6 else ("#b71c1c" if value == 0 else "black")
            ax.text(j, i, str(value), ha="center", va="center", fontsize=6, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="members")
    ax.set_title(title, fontsize=9, loc="left")
    return to_data_uri(fig)


def component_layout(g: nx.Graph) -> dict[str, tuple[float, float]]:
    """Spring layout per connected component, components packed on rows (largest first).

    One spring layout over a forest of small components (typical for the best pairs of a large
    batch) pushes them into a ring where labels collide; laying each out in its own cell, sized by
    its node count, keeps pairs apart and readable.
    """
    components = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c[0]))
    sizes = [max(1.0, len(c) ** 0.5) for c in components]
    gap = 1.1
    row_width = max(max(sizes), sum(sizes) ** 0.5 * 1.4)
    pos: dict[str, tuple[float, float]] = {}
    x = y = row_height = 0.0
    for nodes, size in zip(components, sizes, strict=True):
        if x > 0 and x + size > row_width:
            x, y, row_height = 0.0, y - row_height - gap, 0.0
        sub = (
            nx.spring_layout(g.subgraph(nodes), seed=7, scale=0.45 * size)
            if len(nodes) > 1
            else {nodes[0]: (0.0, 0.0)}
        )
        for n, (px, py) in sub.items():
            pos[n] = (x + 0.5 * size + float(px), y - 0.5 * size + float(py))
        x += size + gap
        row_height = max(row_height, size)
    return pos


def synergy_network(pairs: Sequence[SynergyPairPublic], max_pairs: int = 40) -> str | None:
    """Partnerships as nodes (coloured by kind), the best pairs as edges (width = score,
    dashed = already linked), laid out by networkx's spring layout per component."""
    chosen = list(pairs)[:max_pairs]
    if not chosen:
        return None
    g = nx.Graph()
    names: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for p in chosen:
        for side in (p.a, p.b):
            names[side.partnership_id] = side.name
            kinds[side.partnership_id] = side.kind.value
        g.add_edge(p.a.partnership_id, p.b.partnership_id, weight=p.score, linked=bool(p.linked))
    pos = component_layout(g)
    fig, ax = plt.subplots(figsize=(10.0, 7.5))
    scores = [d["weight"] for _, _, d in g.edges(data=True)]
    low, high = min(scores), max(scores)
    widths = [1.0 + 5.0 * ((s - low) / (high - low) if high > low else 1.0) for s in scores]
    styles = ["dashed" if d["linked"] else "solid" for _, _, d in g.edges(data=True)]
    nx.draw_networkx_edges(g, pos, ax=ax, width=widths, style=styles, edge_color="#90a4ae", alpha=0.9)
    degree = dict(g.degree())
    nx.draw_networkx_nodes(
        g,
        pos,
        ax=ax,
        node_color=[KIND_COLOURS.get(kinds[n], "#607d8b") for n in g.nodes],
        node_size=[60 + 40 * degree[n] for n in g.nodes],
        alpha=0.95,
    )
    # labels just above their node, so that the two ends of a short edge do not print on each other
    nx.draw_networkx_labels(
        g,
        {n: (x, y + 0.09) for n, (x, y) in pos.items()},
        ax=ax,
        labels={n: textwrap.shorten(names[n], 26, placeholder="…") for n in g.nodes},
        font_size=6.5,
        verticalalignment="bottom",
    )
    for kind, colour in KIND_COLOURS.items():
        if kind in kinds.values():
            ax.scatter([], [], color=colour, label=kind.replace("_", "-"))
    ax.plot([], [], color="#90a4ae", linestyle="dashed", label="already linked")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title(f"Best {len(chosen)} synergy pairs (edge width = score)", fontsize=10, loc="left")
    ax.axis("off")
    return to_data_uri(fig)


def region_types_chart(rows: Sequence[tuple[str, int, int]], title: str) -> str | None:
    """Organisations per stakeholder type in a region, split into affiliated / in no partnership."""
    rows = [r for r in rows if r[1]]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 0.38 * len(rows) + 1.0))
    y = list(range(len(rows)))[::-1]
    affiliated = [total - lonely for _, total, lonely in rows]
    lonely = [lonely for _, _, lonely in rows]
    ax.barh(y, affiliated, color=OK, height=0.6, label="in a partnership")
    ax.barh(y, lonely, left=affiliated, color="#ffb300", height=0.6, label="in no partnership")
    ax.set_yticks(y, [label for label, _, _ in rows], fontsize=8)
    ax.set_xlabel("organisations")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return to_data_uri(fig)
