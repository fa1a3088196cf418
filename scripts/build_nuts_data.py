"""Derive the small NUTS tables shipped in ``domain/data/nuts`` from ``../shared/data/nuts``.

Run once when the upstream classification changes; the output is committed so that the
product needs neither ``../shared`` nor spreadsheet parsing at run time.

    python scripts/build_nuts_data.py ../shared/data/nuts domain/data/nuts
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def main(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, int, str, str]] = []
    with (src / "nuts2024.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append(
                (r["nuts_code"], r["nuts_label"], int(r["nuts_level"]), r["country_code"], "nuts2024")
            )
    with (src / "statistical_regions_2024.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append(
                (r["sr_code"], r["sr_label"], int(r["sr_level"]), r["country_code"], "statistical2024")
            )
    with (src / "nuts_uk2018.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append((r["nuts_code"], r["nuts_label"], int(r["nuts_level"]), r["country_code"], "uk2018"))
    with (dst / "regions.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "label", "level", "country", "scheme"])
        w.writerows(sorted(set(rows)))

    # Only one-to-one recodings are safe to apply automatically; boundary shifts, merges and
    # splits fall back to the deepest ancestor that still exists (see domain.regions).
    changes: list[tuple[str, str]] = []
    with (src / "nuts2021_to_2024.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            old, new = r["Code 2021"].strip(), r["Code 2024"].strip()
            if old and new and old != new:
                changes.append((old, new))
    with (dst / "changes_2021_2024.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code_2021", "code_2024"])
        w.writerows(sorted(changes))
    print(f"{len(rows)} regions, {len(changes)} recodings written to {dst}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
