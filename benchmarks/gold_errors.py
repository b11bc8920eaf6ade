"""Where models go wrong on the real gold sets: sentiment and cause confusions, and the typography cue.

    python benchmarks/gold_errors.py --model models/quick-run4 --model models/quick

For each model and gold set, prints the sentiment confusion counts (gold -> predicted), how many reviews it calls
neutral, and how many `product_quality` complaints it gives a rare cause, with the commonest cause confusions.
Then prints the positive probability each model gives to complaint pairs written with and without a comma, and how
often short, capitalised, comma-separated texts occur per sentiment in the corpus (the cue the model can learn
instead of words).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ulasan.config import PROJECT_ROOT, Settings, SourceConfig
from ulasan.predictor import Classifier
from ulasan.schema import CAUSES, NO_CAUSE, SENTIMENTS
from ulasan.sources import load_source

RARE_CAUSES = [cause for cause in CAUSES if cause != "product_quality"]
PROBES = ["Tipis bgt, jelek", "Tipis bgt jelek", "Pengiriman lama, barangnya cacat", "pengiriman lama barangnya cacat",
          "Rusak, jelek", "rusak, jelek", "ga berfungsi dengan baik", "Ga berfungsi dengan baik"]


def confusion(model: Classifier, split: str) -> tuple[Counter, Counter]:
    """(gold, predicted) sentiment counts and primary-cause counts of a model on one gold set."""
    examples, _ = load_source(SourceConfig(name="gold", split=split), Settings().data)
    predictions = model.predict([e.text for e in examples])
    sentiments = Counter((e.sentiment, p["sentiment"]) for e, p in zip(examples, predictions))
    causes = Counter((e.cause or NO_CAUSE, p["cause"] or NO_CAUSE) for e, p in zip(examples, predictions))
    return sentiments, causes


def cause_summary(causes: Counter) -> str:
    """Product-quality complaints given a rare cause, and the five commonest cause confusions."""
    quality = sum(n for (gold, _), n in causes.items() if gold == "product_quality")
    to_rare = sum(n for (gold, guess), n in causes.items() if gold == "product_quality" and guess in RARE_CAUSES)
    errors = sorted(((n, gold, guess) for (gold, guess), n in causes.items() if gold != guess), reverse=True)[:5]
    return (f"product_quality -> a rare cause {to_rare} of {quality}; commonest: "
            + ", ".join(f"{gold}->{guess} {n}" for n, gold, guess in errors))


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
            counts, causes = confusion(model, split)
            cells = ", ".join(f"{gold}->{guess} {counts[gold, guess]}" for gold in SENTIMENTS for guess in SENTIMENTS
                              if gold != guess)
            called_neutral = sum(n for (_, guess), n in counts.items() if guess == "neutral")
            print(f"{path} gold:{split}: {cells}; called neutral {called_neutral}")
            print(f"{path} gold:{split}: {cause_summary(causes)}")
    for path, model in models.items():
        scores = [p["sentiment_scores"]["positive"] for p in model.predict(PROBES)]
        print(f"{path} P(positive): " + "; ".join(f"{t!r} {s:.2f}" for t, s in zip(PROBES, scores)))
    print(f"corpus share of short, capitalised texts with a comma, by sentiment: {typography_shares()}")


if __name__ == "__main__":
    main()
