"""Precision and coverage of every labelling function on the gold sets.

    python benchmarks/weak_labels.py            # prints the table, writes data/weak_labels/precision.json

Precision of a cause function: share of the records it fires on whose gold
``causes`` include its cause. Coverage: share of all gold records it fires on.
Recall: share of the gold records voicing its cause that it fires on.
Sentiment functions are scored against the gold sentiment.
"""

from __future__ import annotations

import json
from datetime import date

from ulasan.config import Settings, SourceConfig
from ulasan.sources import load_source
from ulasan.weak_labels import LABELING_FUNCTIONS, PRECISION_FILE, fired_functions


def main() -> None:
    gold = []
    for split in ("id", "ms"):
        examples, _ = load_source(SourceConfig(name="gold", split=split), Settings().data)
        gold += examples
    fired = [{f.name for f in fired_functions(e.text)} for e in gold]
    table = {}
    print(f"{'function':<42} {'fires':>5} {'precision':>9} {'coverage':>8} {'recall':>6}")
    for function in LABELING_FUNCTIONS:
        rows = [i for i, names in enumerate(fired) if function.name in names]
        if function.head == "cause":
            hits = sum(function.label in gold[i].causes for i in rows)
            relevant = sum(function.label in e.causes for e in gold)
        else:
            hits = sum(gold[i].sentiment == function.label for i in rows)
            relevant = sum(e.sentiment == function.label for e in gold)
        precision = round(hits / len(rows), 3) if rows else None
        stats = {"head": function.head, "label": function.label, "fires": len(rows), "precision": precision,
                 "coverage": round(len(rows) / len(gold), 4), "recall": round(hits / relevant, 3) if relevant else None}
        table[function.name] = stats
        print(f"{function.name:<42} {len(rows):>5} {precision if precision is not None else '-':>9} "
              f"{stats['coverage']:>8} {stats['recall'] if stats['recall'] is not None else '-':>6}")
    PRECISION_FILE.parent.mkdir(parents=True, exist_ok=True)
    PRECISION_FILE.write_text(json.dumps({"measured_on": "gold:id + gold:ms", "records": len(gold),
                                          "date": date.today().isoformat(), "functions": table}, indent=2) + "\n")
    print(f"written to {PRECISION_FILE}")


if __name__ == "__main__":
    main()
