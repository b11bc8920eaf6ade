"""Loaders for training and evaluation sources: records files and the named public and gold sets.

Named sets are described in ``data/sources.toml`` (source URL and sha256 of each
file) and read from a local folder, ``$ULASAN_DATA``. Every file is verified
before it is read.

Aspect-based sets (CASA, HoASA) are turned into review-level labels:
- sentiment: more negative than positive aspects is ``negative``, more positive
  is ``positive``, a tie (or no aspect mentioned) is ``neutral``;
- causes: each negatively rated aspect maps to a cause. CASA ``price`` is
  ``pricing`` and CASA ``service`` (dealer servicing after the sale) is
  ``poor_after_sales``; every other aspect (fuel, engine, parts, hotel AC, hot
  water, smell, cleanliness, linen, staff service, breakfast, TV, wifi) is
  ``product_quality``. The primary cause is the one with most negative
  aspects; when two causes tie, the primary is left unlabelled and only the
  cause set trains. With no negative aspect the cause is ``none``.
"""

from __future__ import annotations

import csv
import tomllib
from collections import Counter
from pathlib import Path

from ulasan.base_model import sha256_of
from ulasan.config import PROJECT_ROOT, SourceConfig
from ulasan.records import Example, RecordProblem, read_records
from ulasan.schema import CAUSES, NEGATIVE, NEUTRAL, NO_CAUSE, POOR_AFTER_SALES, POSITIVE, PRICING, PRODUCT_QUALITY
from ulasan.tables import is_table_file

REGISTRY_PATH = PROJECT_ROOT / "data" / "sources.toml"
CASA_ASPECT_CAUSES = {"price": PRICING, "service": POOR_AFTER_SALES}
"""CASA aspects that map to a cause other than product quality."""


class DataSourceError(RuntimeError):
    """A named data set is missing, unknown, or fails its checksum."""


def registry() -> dict:
    """The named data sets, as described in ``data/sources.toml``."""
    with REGISTRY_PATH.open("rb") as stream:
        return tomllib.load(stream)


def locate(name: str, split: str, data_root: Path) -> Path:
    """The verified local path of one file of a named data set."""
    sets = registry()
    if name not in sets:
        raise DataSourceError(f"unknown data set {name!r}; known: {', '.join(sets)}")
    files = sets[name]["files"]
    if split not in files:
        raise DataSourceError(f"data set {name!r} has no split {split!r}; it has {', '.join(files)}")
    entry = files[split]
    path = data_root / entry["path"]
    if not path.is_file():
        hint = f" Download it from {entry['url']}" if entry["url"] else ""
        raise DataSourceError(f"{path} not found: set ULASAN_DATA or --data-dir to the folder holding it.{hint}")
    digest = sha256_of(path)
    if digest not in entry["sha256"]:
        raise DataSourceError(f"sha256 of {path} is {digest}; expected one of {entry['sha256']}")
    return path


def load_source(source: SourceConfig, data_root: Path) -> tuple[list[Example], list[RecordProblem]]:
    """Load one configured source as examples (silver-labelled when configured), with any invalid records."""
    examples, problems = _load_labelled(source, data_root)
    if source.silver_min_precision is not None:
        from ulasan.weak_labels import with_silver_labels

        examples = with_silver_labels(examples, source.silver_min_precision)
    return examples, problems


def _load_labelled(source: SourceConfig, data_root: Path) -> tuple[list[Example], list[RecordProblem]]:
    label = source.display_name()
    if source.name == "records":
        return load_records_path(Path(source.path or ""), label)
    path = locate(source.name, source.split, data_root)
    if source.name == "gold":
        return read_records(path, label)
    loader = {"smsa": _load_smsa, "casa": _load_casa, "hoasa": _load_hoasa, "prdect": _load_prdect}[source.name]
    return loader(path, label), []


def load_records_path(path: Path, label: str) -> tuple[list[Example], list[RecordProblem]]:
    """Read a records file, or every records file in a folder (sorted by name)."""
    given = path
    path = path if path.is_absolute() or path.exists() else PROJECT_ROOT / path
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if is_table_file(p))
        if not files:
            raise DataSourceError(f"records folder {path} holds no JSON Lines, CSV, TSV or Parquet files")
    elif path.is_file():
        files = [path]
    else:
        where = "" if given.is_absolute() else f" (looked in the current folder and in the project folder {PROJECT_ROOT})"
        raise DataSourceError(f"records path {given} does not exist{where}")
    examples, problems = [], []
    for file in files:
        file_examples, file_problems = read_records(file, label)
        examples += file_examples
        problems += file_problems
    return examples, problems


def _load_smsa(path: Path, label: str) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as stream:
        rows = csv.reader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Example(text=text, sentiment=sentiment, lang="id", source=label, origin=f"{path}:{number}")
                for number, (text, sentiment) in enumerate(rows, 1)]


def _load_prdect(path: Path, label: str) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as stream:
        return [Example(text=row["Customer Review"], sentiment=row["Sentiment"].lower(), lang="id", source=label,
                        origin=f"{path}:{number}")
                for number, row in enumerate(csv.DictReader(stream), 1) if row["Customer Review"].strip()]


def _load_casa(path: Path, label: str) -> list[Example]:
    return _load_aspects(path, label, text_column="sentence", aspect_cause=lambda aspect: CASA_ASPECT_CAUSES.get(aspect, PRODUCT_QUALITY))


def _load_hoasa(path: Path, label: str) -> list[Example]:
    return _load_aspects(path, label, text_column="review", aspect_cause=lambda aspect: PRODUCT_QUALITY)


_ASPECT_POLARITY = {"positive": POSITIVE, "pos": POSITIVE, "negative": NEGATIVE, "neg": NEGATIVE, "neg_pos": "both"}


def _load_aspects(path: Path, label: str, text_column: str, aspect_cause) -> list[Example]:
    """Review-level sentiment and causes from an aspect-sentiment CSV (see the module docstring)."""
    examples = []
    with path.open(encoding="utf-8", newline="") as stream:
        for number, row in enumerate(csv.DictReader(stream), 1):
            polarities = {aspect: _ASPECT_POLARITY.get(value) for aspect, value in row.items() if aspect != text_column}
            negatives = [a for a, p in polarities.items() if p in (NEGATIVE, "both")]
            positives = sum(p in (POSITIVE, "both") for p in polarities.values())
            sentiment = NEGATIVE if len(negatives) > positives else POSITIVE if positives > len(negatives) else NEUTRAL
            cause_counts = Counter(aspect_cause(aspect) for aspect in negatives)
            causes = tuple(cause for cause in CAUSES if cause in cause_counts)
            ranked = cause_counts.most_common()
            if not ranked:
                cause = NO_CAUSE
            elif len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
                cause = None
            else:
                cause = ranked[0][0]
            examples.append(Example(text=row[text_column], sentiment=sentiment, cause=cause, causes=causes, lang="id",
                                    source=label, origin=f"{path}:{number}"))
    return examples
