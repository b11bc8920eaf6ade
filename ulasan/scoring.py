"""Batch scoring of review files: streaming, resumable, with bad rows quarantined.

``ulasan score INPUT -o OUTPUT`` reads the input in parts of ``part_rows`` rows.
Each part is checked (bad rows go to quarantine with their row number and a
reason), tokenised in a background worker while the previous part runs through
the model, scored, and written atomically to ``OUTPUT.parts/``. A killed run
started again skips the parts already written. When every part is done they
are merged, in input order, into OUTPUT, next to ``OUTPUT.quarantine.jsonl``
and ``OUTPUT.summary.json``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ulasan.model import EncodedText
from ulasan.predictor import Classifier
from ulasan.schema import NO_CAUSE
from ulasan.tables import BadRow, TableWriter, check_text_column, detect_format, is_gzip, iter_rows, output_format

PREDICTION_FIELDS = ("sentiment", "sentiment_scores", "cause", "cause_scores", "causes", "lang", "truncated",
                     "model_version", "confidence", "uncertain")
PREDICTION_TYPES = pa.schema([("sentiment", pa.string()), ("cause", pa.string()), ("causes", pa.list_(pa.string())),
                              ("lang", pa.string()), ("truncated", pa.bool_()), ("model_version", pa.string()),
                              ("confidence", pa.float64()), ("uncertain", pa.bool_())])
"""Arrow types of the prediction fields whose type a part cannot show (a part with no complaint has only null causes)."""
_MISSING_VALUE_TYPES = ("NAType", "NaTType")
"""pandas' missing-value markers (``pd.NA``, ``pd.NaT``), which reach the scorer through DataFrames."""


@dataclass(frozen=True)
class ScoreOptions:
    """How to read, check and score an input file."""

    text_col: str = "text"
    id_col: str | None = "id"
    input_format: str | None = None
    output_format: str | None = None
    part_rows: int = 2048
    max_chars: int = 20_000
    """Texts longer than this many characters are quarantined rather than scored."""


def problem_with_text(value, max_chars: int) -> str | None:
    """Why a cell cannot be scored as review text, or None when it can."""
    if value is None or (isinstance(value, float) and value != value) or type(value).__name__ in _MISSING_VALUE_TYPES:
        return "text is null"
    if not isinstance(value, str):
        return f"text is a {type(value).__name__}, not a string"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text is not valid UTF-8"
    if not value.strip():
        return "text is empty"
    if len(value) > max_chars:
        return f"text is {len(value)} characters long, over the {max_chars} limit"
    return None


def quarantine_entry(number: int, reason: str, row: dict | None, id_col: str | None) -> dict:
    """The quarantine record of one bad row: its row number, the reason and, when the row has one, its id."""
    entry = {"row": number, "reason": reason}
    if row is not None and id_col and row.get(id_col) is not None:
        entry["id"] = row[id_col]
    return entry


class LabelCounts:
    """How many scored rows got each sentiment, cause and language: the by-label part of a run summary."""

    FIELDS = ("sentiment", "cause", "lang")

    def __init__(self):
        self.counters = {name: Counter() for name in self.FIELDS}

    def add(self, prediction: dict) -> None:
        """Count the labels of one scored row (a missing cause counts as no complaint)."""
        self.counters["sentiment"][prediction["sentiment"]] += 1
        self.counters["cause"][prediction["cause"] or NO_CAUSE] += 1
        self.counters["lang"][prediction["lang"]] += 1

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Counts per field, most common label first."""
        return {name: dict(counter.most_common()) for name, counter in self.counters.items()}


@dataclass
class Part:
    """One part of the input: rows to score (with their row numbers) and quarantined rows."""

    index: int
    rows: list[tuple[int, dict]] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    encoded: list[EncodedText] = field(default_factory=list)


def split_part(index: int, numbered_rows: list[tuple[int, object]], options: ScoreOptions) -> Part:
    """Separate the rows of one part into scorable rows and quarantined ones."""
    part = Part(index)
    for number, row in numbered_rows:
        if isinstance(row, BadRow):
            part.quarantined.append(quarantine_entry(number, row.problem, None, None))
            continue
        if options.text_col not in row:
            reason = f"no {options.text_col!r} column"
        else:
            reason = problem_with_text(row[options.text_col], options.max_chars)
        if reason:
            part.quarantined.append(quarantine_entry(number, reason, row, options.id_col))
        else:
            part.rows.append((number, row))
    return part


def score_rows(classifier: Classifier, rows: list[dict], texts: list[str], encoded: list[EncodedText]) -> list[dict]:
    """Input rows with the prediction fields added."""
    predictions = classifier.predict_encoded(texts, encoded)
    return [{**row, **prediction} for row, prediction in zip(rows, predictions)]


class PartStore:
    """Completed parts of one scoring run, kept beside the output until the run is merged."""

    def __init__(self, output: Path, fingerprint: dict):
        self.folder = output.with_name(output.name + ".parts")
        self.fingerprint = fingerprint

    def open(self, restart: bool = False) -> set[int]:
        """Create or reuse the parts folder; return the indices of parts already done.

        Parts of a different run (another input, model, backend or options) are never mixed in: without
        ``restart`` they stop the run, unless there are none yet.
        """
        manifest = self.folder / "manifest.json"
        if manifest.is_file() and json.loads(manifest.read_text()) != self.fingerprint:
            earlier = self.done()
            if earlier and not restart:
                raise RuntimeError(f"{self.folder} holds {len(earlier)} parts of a different run (input, model, "
                                   f"backend or options changed); pass --restart to discard them and start over")
            restart = True
        if restart and self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(manifest, json.dumps(self.fingerprint, indent=2))
        return self.done()

    def done(self) -> set[int]:
        """Indices of the parts written completely."""
        return {int(p.name.split("-")[1].split(".")[0]) for p in self.folder.glob("part-*.scored.jsonl")}

    def path(self, index: int, kind: str) -> Path:
        """Path of one file of a part: ``scored`` or ``quarantine``."""
        return self.folder / f"part-{index:07d}.{kind}.jsonl"

    def write(self, index: int, scored: list[dict], quarantined: list[dict]) -> None:
        """Write a finished part; the scored file, written last, marks it complete."""
        _write_atomically(self.path(index, "quarantine"), _jsonl(quarantined))
        _write_atomically(self.path(index, "scored"), _jsonl(scored))

    def read(self, index: int, kind: str) -> list[dict]:
        """Rows of one file of a finished part."""
        return [json.loads(line) for line in self.path(index, kind).read_text(encoding="utf-8").splitlines()]


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def scan_input(path: Path, fmt: str) -> tuple[str, int | None]:
    """The sha256 of a file's bytes (what a resumed run checks its input against) and its number of data rows
    (Parquet metadata, or newlines; None for a gzipped file), in one read."""
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 24), b""):
            digest.update(block)
            lines += block.count(b"\n")
    if fmt == "parquet":
        return digest.hexdigest(), pq.ParquetFile(path).metadata.num_rows
    if is_gzip(path):
        return digest.hexdigest(), None
    return digest.hexdigest(), max(0, lines - (1 if fmt in ("csv", "tsv") else 0))


def _parts(path: Path, options: ScoreOptions) -> Iterator[tuple[int, list]]:
    rows = iter_rows(path, options.input_format)
    for index in itertools.count():
        chunk = list(itertools.islice(rows, options.part_rows))
        if not chunk:
            return
        yield index, chunk


def check_paths(source: Path, output: Path, options: ScoreOptions) -> str:
    """Refuse, before any work, an input that cannot be scored into ``output``; return the input's format."""
    input_format = detect_format(source, options.input_format)
    output_format(output, options.output_format)
    if not source.is_file():
        raise FileNotFoundError(f"no input file {source}")
    if output.resolve() == source.resolve():
        raise ValueError(f"the output {output} is the input; write the scores to another file")
    check_text_column(source, options.text_col, input_format)
    return input_format


def score_file(classifier: Classifier, source: Path, output: Path, options: ScoreOptions = ScoreOptions(),
               restart: bool = False) -> dict:
    """Score a file into ``output`` (resuming a killed run unless ``restart``), returning the summary."""
    started = time.time()
    input_format = check_paths(source, output, options)
    sha256, total = scan_input(source, input_format)
    fingerprint = {"input": str(source.resolve()), "sha256": sha256,
                   "model_version": classifier.model_version, "backend": classifier.backend,
                   "options": options.__dict__}
    store = PartStore(output, fingerprint)
    done = store.open(restart)
    bar = tqdm(total=total, desc="scoring", unit="row", dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30)
    rows_this_run = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenizer") as tokenizer_worker:
        pending = None
        for index, chunk in _parts(source, options):
            if index in done:
                bar.update(len(chunk))
                continue
            rows_this_run += len(chunk)
            part = split_part(index, chunk, options)
            future = tokenizer_worker.submit(classifier.encode, [row[options.text_col] for _, row in part.rows])
            if pending is not None:
                _finish(classifier, store, pending, options, bar)
            pending = (part, future)
        if pending is not None:
            _finish(classifier, store, pending, options, bar)
    bar.close()
    summary = merge(store, output, options, source, output_types(source, input_format))
    summary["seconds"] = round(time.time() - started, 2)
    summary["rows_resumed"] = summary["rows_in"] - rows_this_run
    summary["rows_per_second"] = round(rows_this_run / summary["seconds"], 1) if summary["seconds"] else None
    _write_atomically(output.with_name(output.name + ".summary.json"), json.dumps(summary, indent=2))
    shutil.rmtree(store.folder)
    return summary


def _finish(classifier: Classifier, store: PartStore, pending, options: ScoreOptions, bar) -> None:
    part, future = pending
    texts = [row[options.text_col] for _, row in part.rows]
    scored = score_rows(classifier, [row for _, row in part.rows], texts, future.result())
    store.write(part.index, scored, part.quarantined)
    bar.update(len(part.rows) + len(part.quarantined))


def output_types(source: Path, input_format: str) -> pa.Schema:
    """Known Arrow types of output columns: the prediction fields, and the input's own columns when it is Parquet."""
    if input_format != "parquet":
        return PREDICTION_TYPES
    kept = [f for f in pq.read_schema(source) if f.name not in PREDICTION_TYPES.names]
    return pa.schema(kept + list(PREDICTION_TYPES))


def merge(store: PartStore, output: Path, options: ScoreOptions, source: Path,
          column_types: pa.Schema | None = None) -> dict:
    """Concatenate finished parts, in order, into the output and quarantine files; count labels.

    ``column_types`` (see :func:`output_types`) are the types of the Parquet output's columns, where known.
    """
    indices = sorted(int(p.name.split("-")[1].split(".")[0]) for p in store.folder.glob("part-*.scored.jsonl"))
    quarantine_path = output.with_name(output.stem + ".quarantine.jsonl")
    temporary = output.with_name(output.name + ".tmp")
    counts = LabelCounts()
    scored_count = quarantined_count = 0
    with TableWriter(temporary, options.output_format or output_format(output), column_types) as writer, \
            quarantine_path.open("w", encoding="utf-8") as quarantine:
        for index in indices:
            rows = store.read(index, "scored")
            writer.write(rows)
            for row in rows:
                counts.add(row)
            bad = store.read(index, "quarantine")
            quarantine.write(_jsonl(bad))
            scored_count += len(rows)
            quarantined_count += len(bad)
    os.replace(temporary, output)
    return {"input": str(source), "output": str(output), "quarantine": str(quarantine_path),
            "rows_in": scored_count + quarantined_count, "scored": scored_count, "quarantined": quarantined_count,
            "by_label": counts.as_dict()}


def score_frame(classifier: Classifier, frame, text_col: str = "text", max_chars: int = 20_000):
    """Score a pandas DataFrame; returns a copy with the prediction fields and a ``quarantine_reason`` column."""
    import pandas as pd

    reasons = [problem_with_text(value, max_chars) for value in frame[text_col]]
    good = [i for i, reason in enumerate(reasons) if reason is None]
    texts = [frame[text_col].iloc[i] for i in good]
    predictions = classifier.predict(texts)
    result = frame.copy()
    columns = {name: [None] * len(frame) for name in PREDICTION_FIELDS}
    for position, prediction in zip(good, predictions):
        for name in PREDICTION_FIELDS:
            columns[name][position] = prediction[name]
    for name, values in columns.items():
        result[name] = pd.Series(values, index=frame.index, dtype=object)
    result["quarantine_reason"] = pd.Series(reasons, index=frame.index, dtype=object)
    return result
