"""Wall time and peak memory of a training recipe on this machine, and the metrics it reached.

    python benchmarks/train_recipes.py quick        # or: full
Runs ``ulasan train`` in a child process; peak RSS is the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from ulasan.config import PROJECT_ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=["quick", "full"])
    parser.add_argument("--output", type=Path, help="artifact folder (default models/<recipe>)")
    args = parser.parse_args()
    output = args.output or PROJECT_ROOT / "models" / args.recipe
    started = time.time()
    subprocess.run([sys.executable, "-m", "ulasan.cli", "train", "--config", str(PROJECT_ROOT / "training" / f"{args.recipe}.toml"),
                    "--output", str(output)], check=True)
    wall = time.time() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    metrics = json.loads((output / "metrics.json").read_text())
    print(f"\nrecipe {args.recipe}: wall {wall / 60:.1f} min, peak RSS {peak:.2f} GiB, model {metrics['model_version']}")
    print(f"{'set':<14} {'head':<10} {'model':>7} {'baseline':>9}")
    for name, report in metrics["evaluations"].items():
        for head in ("sentiment", "cause"):
            if head in report["model"]:
                baseline = report.get("baseline", {}).get(head, {}).get("macro_f1", float("nan"))
                print(f"{name:<14} {head:<10} {report['model'][head]['macro_f1']:>7.3f} {baseline:>9.3f}")


if __name__ == "__main__":
    main()
