"""The insight report on real scored reviews: PRDECT-ID key drivers, and build time for 100,000 rows.

    python benchmarks/report_speed.py --model models/quick
1. scores PRDECT-ID (``$ULASAN_DATA``; it has ratings and product categories) with ``ulasan score``;
2. builds its report with --rating-col and --group-col and prints the key drivers with their intervals;
3. replicates the scored rows to 100,000 and times building the report from that file.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from ulasan.config import Settings
from ulasan.report import ReportOptions, write_report
from ulasan.sources import locate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/quick"))
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        source = locate("prdect", "all", Settings().data)
        scored = folder / "prdect.scored.parquet"
        subprocess.run([sys.executable, "-m", "ulasan.cli", "score", str(source), "-o", str(scored), "--model",
                        str(args.model), "--text-col", "Customer Review"], check=False)
        options = ReportOptions(rating_col="Customer Rating", group_col="Category", text_col="Customer Review")
        html = write_report(scored, folder / "prdect.html", options).read_text(encoding="utf-8")
        drivers = html[html.index('id="drivers"'):html.index('id="examples"')]
        print("PRDECT-ID key drivers (rank, cause, impact on rating, 95% interval, voiced by, impact x frequency):")
        for row in re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td><td>[^<]*</td><td class=\"num\">([^<]+)</td>"
                              r"<td class=\"num\">([^<]+)</td><td class=\"num\">([^<]+)</td><td class=\"num\">([^<]+)</td>",
                              drivers):
            print("  ", " | ".join(row))
        frame = pd.read_parquet(scored)
        big = pd.concat([frame] * (args.rows // len(frame) + 1), ignore_index=True).iloc[: args.rows]
        big_path = folder / "big.parquet"
        big.to_parquet(big_path)
        started = time.time()
        write_report(big_path, folder / "big.html", options)
        print(f"report for {len(big):,} scored rows built in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
