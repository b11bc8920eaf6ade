"""Cause and sentiment macro-F1 on the real gold sets by 5-fold cross-validation, against the TF-IDF baseline.

    python benchmarks/gold_cv.py --init-from models/quick [--folds 5]

Each fold continues training the given ulasan model on the other folds of gold:id + gold:ms (3 epochs) and
predicts the held-out fold; the baseline is TF-IDF + logistic regression trained on the corpus plus the same
gold folds. Predictions of all folds are pooled and scored once, overall and per language.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from ulasan.baseline import TfidfBaseline
from ulasan.config import PROJECT_ROOT, Recipe, Settings, SourceConfig
from ulasan.metrics import head_report
from ulasan.predictor import Classifier
from ulasan.schema import CAUSE_OUTCOMES, NO_CAUSE, SENTIMENTS
from ulasan.sources import load_records_path, load_source
from ulasan.training import train

LABELS = {"sentiment": SENTIMENTS, "cause": CAUSE_OUTCOMES}


def folds_of(examples, count: int, seed: int) -> list[list[int]]:
    """Indices split into folds, stratified by primary cause."""
    by_cause = defaultdict(list)
    for index, example in enumerate(examples):
        by_cause[example.cause].append(index)
    rng = random.Random(seed)
    folds = [[] for _ in range(count)]
    offset = 0
    for cause in sorted(by_cause, key=str):
        members = by_cause[cause]
        rng.shuffle(members)
        for position, index in enumerate(members):
            folds[(position + offset) % count].append(index)
        offset += len(members)
    return folds


def write_records(examples, path: Path) -> None:
    path.write_text("".join(json.dumps({"text": e.text, "sentiment": e.sentiment, "cause": e.cause,
                                        "causes": list(e.causes or ()), "lang": e.lang}, ensure_ascii=False) + "\n"
                            for e in examples), encoding="utf-8")


def recipe_for(init_from: Path, train_file: Path, seed: int) -> Recipe:
    return Recipe.model_validate({
        "name": "gold-cv", "seed": seed,
        "model": {"init_from": str(init_from.resolve()), "max_length": 128},
        "data": {"train": [{"name": "records", "path": str(train_file)}], "validation_fraction": 0.1},
        "train": {"epochs": 3, "batch_size": 16, "learning_rate": 3e-5, "head_learning_rate": 3e-4, "patience": 3,
                  "checkpoint_every_steps": 1000, "class_weight_power": 0.3},
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--init-from", type=Path, default=PROJECT_ROOT / "models" / "quick")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    settings = Settings()
    gold = []
    for split in ("id", "ms"):
        examples, _ = load_source(SourceConfig(name="gold", split=split), settings.data)
        gold += examples
    corpus, _ = load_records_path(PROJECT_ROOT / "data" / "corpus", "corpus")
    folds = folds_of(gold, args.folds, args.seed)
    predicted = {"model": {}, "baseline": {}}
    started = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        for number, held_out in enumerate(folds, 1):
            held = set(held_out)
            training = [e for i, e in enumerate(gold) if i not in held]
            train_file = Path(scratch) / f"fold{number}.jsonl"
            write_records(training, train_file)
            folder = train(recipe_for(args.init_from, train_file, args.seed), Path(scratch) / f"model{number}", settings)
            texts = [gold[i].text for i in held_out]
            for i, p in zip(held_out, Classifier(folder, backend="torch").predict(texts)):
                predicted["model"][i] = (p["sentiment"], p["cause"] or NO_CAUSE)
            baseline = TfidfBaseline.train(corpus + training, args.seed).predict(texts)
            for position, i in enumerate(held_out):
                predicted["baseline"][i] = (baseline["sentiment"][position], baseline["cause"][position])
            print(f"fold {number}/{args.folds} done ({time.time() - started:.0f} s)", flush=True)
    print(f"\n{len(gold)} gold records, {args.folds}-fold CV, model continued from {args.init_from}")
    print(f"{'set':<8} {'head':<10} {'model':>7} {'baseline':>9}")
    for name in ("all", "gold:id", "gold:ms"):
        rows = [i for i, e in enumerate(gold) if name in ("all", e.source)]
        for head_index, (head, labels) in enumerate(LABELS.items()):
            truth = [getattr(gold[i], head) for i in rows]
            scores = [head_report(truth, [predicted[who][i][head_index] for i in rows], labels)["macro_f1"]
                      for who in ("model", "baseline")]
            print(f"{name:<8} {head:<10} {scores[0]:>7.3f} {scores[1]:>9.3f}")


if __name__ == "__main__":
    main()
