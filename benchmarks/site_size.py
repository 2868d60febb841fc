"""Sizes of a built site against the issue's targets (under 200 MB in all, no page over 300 KB).

    .venv/bin/python benchmarks/site_size.py SITE_DIR [--json FILE]

Prints one JSON line: total, HTML, downloads (zipped CSVs, plain CSVs), assets and other bytes,
the largest page, and median/max page sizes for schools and districts. Sizes are file sizes in
bytes (MB = 10^6 bytes), the same figures ``du --apparent-size -b`` adds up.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

TOTAL_TARGET = 200e6
PAGE_TARGET = 300_000


def measure(site: Path) -> dict[str, object]:
    files = [p for p in site.rglob("*") if p.is_file()]
    size = {p: p.stat().st_size for p in files}
    rel = {p: p.relative_to(site).as_posix() for p in files}
    pages = [p for p in files if p.suffix == ".html"]

    def total(ps: list[Path]) -> int:
        return sum(size[p] for p in ps)

    downloads = [p for p in files if rel[p].startswith("downloads/") and p.suffix != ".html"]
    assets = [p for p in files if rel[p].startswith("assets/")]
    other = set(files) - set(pages) - set(downloads) - set(assets)
    largest = max(pages, key=lambda p: size[p])

    def stats(prefix: str) -> dict[str, float]:
        s = [size[p] for p in pages if rel[p].startswith(prefix)]
        return {"pages": len(s), "median_kb": round(statistics.median(s) / 1e3, 1),
                "max_kb": round(max(s) / 1e3, 1)} if s else {"pages": 0}

    all_bytes = total(files)
    return {
        "site": str(site), "files": len(files), "pages": len(pages),
        "total_mb": round(all_bytes / 1e6, 1),
        "html_mb": round(total(pages) / 1e6, 1),
        "downloads_mb": round(total(downloads) / 1e6, 1),
        "downloads_zip_mb": round(total([p for p in downloads if p.suffix == ".zip"]) / 1e6, 1),
        "downloads_csv_mb": round(total([p for p in downloads if p.suffix == ".csv"]) / 1e6, 1),
        "assets_mb": round(total(assets) / 1e6, 1),
        "other_mb": round(total(list(other)) / 1e6, 1),
        "largest_page": rel[largest], "largest_page_kb": round(size[largest] / 1e3, 1),
        "pages_over_300kb": sum(size[p] > PAGE_TARGET for p in pages),
        "schools": stats("schools/"), "districts": stats("districts/"),
        "state_zip_mb": round(size.get(site / "downloads" / "state.zip", 0) / 1e6, 1),
        "meets_total": all_bytes < TOTAL_TARGET,
        "meets_page": size[largest] <= PAGE_TARGET,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", type=Path)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    result = measure(args.site)
    line = json.dumps(result)
    print(line)
    if args.json:
        args.json.write_text(line + "\n", "utf-8")


if __name__ == "__main__":
    main()
