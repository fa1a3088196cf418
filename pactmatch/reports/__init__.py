"""Report rendering: JSON for machines, CSV for spreadsheets, self-contained HTML for people."""

from pactmatch.reports.models import (
    GapReportPublic,
    RegionViewPublic,
    SynergyPairPublic,
    gap_report_public,
    region_view_public,
    synergy_pair_public,
)
from pactmatch.reports.render import (
    FORMATS,
    MEDIA_TYPES,
    ReportFormat,
    ReportMeta,
    write_gaps,
    write_region,
    write_synergies,
)

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "GapReportPublic",
    "RegionViewPublic",
    "ReportFormat",
    "ReportMeta",
    "SynergyPairPublic",
    "gap_report_public",
    "region_view_public",
    "synergy_pair_public",
    "write_gaps",
    "write_region",
    "write_synergies",
]
