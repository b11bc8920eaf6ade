"""Where models go wrong on the real gold sets: sentiment confusion counts, and the typography cue.

    python benchmarks/gold_errors.py --model models/quick-run2 --model models/quick

For each model and gold set, prints the sentiment confusion counts (gold -> predicted). Then prints the positive
probability each model gives to complaint pairs written with and without a comma, and how often short,
capitalised, comma-separated texts occur per sentiment in the corpus (the cue the model can learn instead of words).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ulasan.config import PROJECT_ROOT, Settings, SourceConfig
from ulasan.predictor import Classifier
from ulasan.schema import SENTIMENTS
from ulasan.sources import load_source

PROBES = ["Tipis bgt, jelek", "Tipis bgt jelek", "Pengiriman lama, barangnya cacat", "pengiriman lama barangnya cacat"]


def confusion(model: Classifier, split: str) -> Counter:
    """(gold, predicted) sentiment counts of a model on one gold set."""
    examples, _ = load_source(SourceConfig(name="gold", split=split), Settings().data)
    predictions = model.predict([e.text for e in examples])
    return Counter((e.sentiment, p["sentiment"]) for e, p in zip(examples, predictions))


def typography_shares() -> dict[str, float]:
    """Share of corpus records per sentiment that are <= 8 words, start with a capital and contain a comma."""
    counts, cued = Counter(), Counter()
    for path in sorted((PROJECT_ROOT / "data" / "corpus").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            text = record["text"]
            counts[record["sentiment"]] += 1
            cued[record["sentiment"]] += len(text.split()) <= 8 and text[:1].isupper() and "," in text
    return {label: round(cued[label] / counts[label], 3) for label in SENTIMENTS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, action="append", required=True)
    args = parser.parse_args()
    models = {path: Classifier(path) for path in args.model}
    for path, model in models.items():
        for split in ("id", "ms"):
            counts = confusion(model, split)
            cells = ", ".join(f"{gold}->{guess} {counts[gold, guess]}" for gold in SENTIMENTS for guess in SENTIMENTS
                              if gold != guess)
            print(f"{path} gold:{split}: {cells}")
    for path, model in models.items():
        scores = [p["sentiment_scores"]["positive"] for p in model.predict(PROBES)]
        print(f"{path} P(positive): " + "; ".join(f"{t!r} {s:.2f}" for t, s in zip(PROBES, scores)))
    print(f"corpus share of short, capitalised texts with a comma, by sentiment: {typography_shares()}")


if __name__ == "__main__":
    main()
