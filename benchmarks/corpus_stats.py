"""Counts of the authored corpus by language, domain, sentiment and cause, as Markdown tables.

    python benchmarks/corpus_stats.py        # the tables in data/corpus/DATASHEET.md come from here
"""

from __future__ import annotations

import json
from collections import Counter

from ulasan.config import PROJECT_ROOT
from ulasan.schema import CAUSE_OUTCOMES, SENTIMENTS


def table(title: str, rows: list[str], columns: list[str], count) -> str:
    lines = [f"### {title}", "", "| | " + " | ".join(columns) + " | total |", "|---" * (len(columns) + 2) + "|"]
    for row in rows:
        cells = [count(row, column) for column in columns]
        lines.append(f"| {row} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    records = []
    for file in sorted((PROJECT_ROOT / "data" / "corpus").glob("*.jsonl")):
        records += [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    by = Counter((r["lang"], r["sentiment"], r["cause"], r["domain"]) for r in records)
    langs = ["ms", "id", "mixed"]

    print(f"{len(records)} records; multi-cause {sum(len(r['causes']) > 1 for r in records)}; "
          f"words min {min(len(r['text'].split()) for r in records)}, max {max(len(r['text'].split()) for r in records)}, "
          f"over 150 words {sum(len(r['text'].split()) > 150 for r in records)}\n")
    print(table("Primary cause by language", list(CAUSE_OUTCOMES), langs, lambda c, l: sum(n for k, n in by.items() if k[2] == c and k[0] == l)))
    print(table("Sentiment by language", list(SENTIMENTS), langs, lambda s, l: sum(n for k, n in by.items() if k[1] == s and k[0] == l)))
    print(table("Primary cause by sentiment", list(CAUSE_OUTCOMES), list(SENTIMENTS), lambda c, s: sum(n for k, n in by.items() if k[2] == c and k[1] == s)))
    domains = sorted({k[3] for k in by})
    print(table("Domain by language", domains, langs, lambda d, l: sum(n for k, n in by.items() if k[3] == d and k[0] == l)))


if __name__ == "__main__":
    main()
