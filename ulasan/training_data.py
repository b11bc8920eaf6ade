"""Training data for a recipe: load every source, validate, de-duplicate, and split.

Order of operations, each counted in the returned statistics:
1. load the training and evaluation sources (invalid records are an error, or
   set aside to a rejects file with ``skip_invalid``);
2. drop training records that duplicate (exactly or near) an evaluation text;
3. drop training records that duplicate an earlier training record, across sources;
4. hold out a seeded, stratified validation split from what is left.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ulasan.config import Recipe
from ulasan.dedup import NearDuplicateIndex
from ulasan.records import Example, InvalidRecordsError, RecordProblem, write_rejects
from ulasan.sources import load_source


@dataclass
class SourceStats:
    """How many records one training source contributed at each stage."""

    loaded: int = 0
    invalid: int = 0
    overlap_with_evaluation: int = 0
    duplicates: int = 0
    train: int = 0
    validation: int = 0


@dataclass
class TrainingData:
    """Train and validation examples, evaluation sets by name, and per-source statistics."""

    train: list[Example]
    validation: list[Example]
    evaluation: dict[str, list[Example]]
    stats: dict[str, SourceStats] = field(default_factory=dict)
    rejects_file: str | None = None


def prepare(recipe: Recipe, data_root: Path, skip_invalid: bool = False, rejects_path: Path | None = None) -> TrainingData:
    """Load, check, de-duplicate and split the data of a recipe."""
    stats: dict[str, SourceStats] = defaultdict(SourceStats)
    loaded, problems = [], []
    for source in recipe.data.train:
        examples, source_problems = load_source(source, data_root)
        stats[source.display_name()].loaded += len(examples)
        stats[source.display_name()].invalid += len(source_problems)
        loaded += examples
        problems += source_problems
    evaluation = {}
    for source in recipe.data.evaluate:
        examples, source_problems = load_source(source, data_root)
        problems += source_problems
        evaluation[source.display_name()] = examples
    rejects_file = _handle_problems(problems, skip_invalid, rejects_path)
    kept = _without_duplicates(loaded, evaluation, recipe.data.near_duplicate_threshold, stats)
    if len(kept) < 2:
        raise ValueError(f"{len(kept)} training records left of {len(loaded)} loaded ("
                         f"{sum(s.overlap_with_evaluation for s in stats.values())} are in the evaluation sets, "
                         f"{sum(s.duplicates for s in stats.values())} are duplicates): at least 2 are needed")
    train, validation = stratified_split(kept, recipe.data.validation_fraction, recipe.seed)
    for example in train:
        stats[example.source].train += 1
    for example in validation:
        stats[example.source].validation += 1
    return TrainingData(train, validation, evaluation, dict(stats), rejects_file)


def artifact_validation_split(folder: Path, data_root: Path) -> list[Example]:
    """The validation split a model artifact was trained with, rebuilt from the recipe in its metrics.json."""
    import json

    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    return prepare(Recipe.model_validate(metrics["recipe"]), data_root, skip_invalid=True,
                   rejects_path=Path(folder) / "eval" / "rejects.jsonl").validation


def _handle_problems(problems: list[RecordProblem], skip_invalid: bool, rejects_path: Path | None) -> str | None:
    if not problems:
        return None
    if not skip_invalid or rejects_path is None:
        raise InvalidRecordsError(problems)
    write_rejects(problems, rejects_path)
    return str(rejects_path)


def _without_duplicates(examples: list[Example], evaluation: dict[str, list[Example]], threshold: float,
                        stats: dict[str, SourceStats]) -> list[Example]:
    """Training examples with evaluation overlaps and repeated texts removed (first occurrence kept)."""
    evaluation_index = NearDuplicateIndex(threshold)
    for name, examples_of_set in evaluation.items():
        for position, example in enumerate(examples_of_set):
            evaluation_index.add(f"{name}#{position}", example.text)
    seen = NearDuplicateIndex(threshold)
    kept = []
    for position, example in enumerate(examples):
        if evaluation and evaluation_index.match(example.text) is not None:
            stats[example.source].overlap_with_evaluation += 1
        elif seen.match(example.text) is not None:
            stats[example.source].duplicates += 1
        else:
            seen.add(str(position), example.text)
            kept.append(example)
    return kept


def _stratum(example: Example) -> tuple:
    return example.source, example.cause, example.sentiment


def stratified_split(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Split off ``fraction`` of each (source, cause, sentiment) stratum as validation, seeded."""
    strata: dict[tuple, list[Example]] = defaultdict(list)
    for example in examples:
        strata[_stratum(example)].append(example)
    rng = random.Random(seed)
    train, validation = [], []
    for key in sorted(strata, key=repr):
        members = strata[key][:]
        rng.shuffle(members)
        held = round(len(members) * fraction)
        validation += members[:held]
        train += members[held:]
    if not validation and len(train) > 1:  # every stratum too small to give a share: hold out one record
        validation.append(train.pop(rng.randrange(len(train))))
    return train, validation


def label_counts(examples: list[Example]) -> dict[str, dict[str, int]]:
    """Counts of each sentiment, primary cause and language among examples."""
    return {
        "sentiment": dict(Counter(e.sentiment for e in examples if e.sentiment is not None)),
        "cause": dict(Counter(e.cause for e in examples if e.cause is not None)),
        "lang": dict(Counter(e.lang or "unknown" for e in examples)),
    }
