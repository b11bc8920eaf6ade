"""Distributed batch scoring on Ray Data: ``ulasan score --engine ray``.

The input (a Parquet or JSON Lines file, or a folder of such shards) is read by
Ray Data, scored by ``map_batches`` over a pool of model actors, each holding
one loaded model, and written either
- to a single output file, streamed by the driver in input order with exact
  row numbers: byte-for-byte the same rows as the local engine; or
- to a folder of Parquet or JSON Lines shards written by the cluster (when the
  output path has no file extension), with quarantined rows in ``<output>.quarantine/``.

Against an existing cluster pass ``--ray-address ray://head:10001`` (or
``auto`` on a cluster node); the model folder must be readable at the same path
on every node (a shared file system), as must the input.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ulasan.scoring import (
    PREDICTION_FIELDS,
    PREDICTION_TYPES,
    LabelCounts,
    ScoreOptions,
    problem_with_text,
    quarantine_entry,
)
from ulasan.tables import TableWriter, check_text_column, detect_format

QUARANTINE_COLUMN = "quarantine_reason"


class RayScorer:
    """A Ray actor: loads the model once and scores Arrow batches (Arrow, not pandas, keeps nullable ints as ints)."""

    def __init__(self, model_dir: str, options: ScoreOptions, batch_size: int):
        from ulasan.predictor import Classifier

        self.classifier = Classifier(Path(model_dir), batch_size=batch_size)
        self.options = options

    def __call__(self, batch):
        import pyarrow as pa

        texts = batch.column(self.options.text_col).to_pylist()
        reasons = [problem_with_text(value, self.options.max_chars) for value in texts]
        good = [i for i, reason in enumerate(reasons) if reason is None]
        predictions = self.classifier.predict([texts[i] for i in good])
        columns = {name: [None] * len(texts) for name in PREDICTION_FIELDS}
        for position, prediction in zip(good, predictions):
            for name in PREDICTION_FIELDS:
                columns[name][position] = json.dumps(prediction[name], ensure_ascii=False)
        columns[QUARANTINE_COLUMN] = reasons
        batch = batch.drop_columns([name for name in columns if name in batch.column_names])
        for name, values in columns.items():
            batch = batch.append_column(name, pa.array(values, pa.string()))
        return batch


def _read(ray, source: Path, options: ScoreOptions):
    sample = min(source.iterdir()) if source.is_dir() else source
    fmt = detect_format(sample, options.input_format)
    check_text_column(sample, options.text_col, fmt)
    if fmt == "parquet":
        return ray.data.read_parquet(str(source))
    if fmt == "jsonl":
        return ray.data.read_json(str(source), lines=True, file_extensions=["jsonl", "json", "ndjson"])
    raise ValueError(f"the Ray engine reads Parquet or JSON Lines, not {fmt}; convert {source} first")


def score_with_ray(model_dir: Path, source: Path, output: Path, options: ScoreOptions, address: str | None,
                   actors: int, batch_size: int) -> dict:
    """Score with Ray Data map_batches over a pool of model actors; return the run summary."""
    import ray

    started = time.time()
    ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    # Leave one whole CPU for the read and write tasks: actors holding every CPU would starve them forever.
    actor_cpus = min(1.0, max(0.1, (ray.cluster_resources().get("CPU", 1.0) - 1) / actors))
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    scored = _read(ray, source, options).map_batches(
        RayScorer, fn_constructor_args=(str(model_dir.resolve()), options, batch_size), batch_size=options.part_rows,
        batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=actor_cpus)
    try:
        summary = _write_shards(scored, output, options) if not output.suffix else _stream_to_file(scored, output, options)
    except ray.exceptions.RayError as error:
        raise RuntimeError(f"the Ray job failed: {_root_cause(error)}") from None
    summary.update(input=str(source), output=str(output), seconds=round(time.time() - started, 2))
    summary["rows_per_second"] = round(summary["rows_in"] / summary["seconds"], 1) if summary["seconds"] else None
    return summary


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_.]*(Error|Exception|Invalid)\b.*:")


def _root_cause(error: Exception) -> str:
    """The exception a Ray task raised, from its error text (without terminal colours and retry advice)."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()]
    raised = [line for line in lines if _EXCEPTION_LINE.match(line)]
    cause = raised[-1] if raised else type(error).__name__
    hint = " (bad JSON Lines? the local engine quarantines bad lines: --engine local)" if "JSON" in str(error) else ""
    return cause + hint


def _decoded(row: dict) -> dict:
    """A scored row with its prediction fields decoded from the JSON the actors produced."""
    out = {key: value for key, value in row.items() if key != QUARANTINE_COLUMN}
    for name in PREDICTION_FIELDS:
        out[name] = json.loads(out[name])
    return out


def _decode_batch(batch):
    """An Arrow batch of scored rows with prediction fields decoded from JSON, typed alike in every shard."""
    import pyarrow as pa

    for name in PREDICTION_FIELDS:
        values = [json.loads(value) for value in batch.column(name).to_pylist()]
        known = PREDICTION_TYPES.field(name).type if name in PREDICTION_TYPES.names else None
        batch = batch.set_column(batch.column_names.index(name), name, pa.array(values, known))
    return batch


def _stream_to_file(scored, output: Path, options: ScoreOptions) -> dict:
    """Stream results, in input order, into one output file and a quarantine file with row numbers."""
    quarantine_path = output.with_name(output.stem + ".quarantine.jsonl")
    counts = LabelCounts()
    number = quarantined = 0
    with TableWriter(output, options.output_format, PREDICTION_TYPES) as writer, \
            quarantine_path.open("w", encoding="utf-8") as bad:
        for batch in scored.iter_batches(batch_format="pyarrow", batch_size=options.part_rows):
            rows = []
            for row in batch.to_pylist():
                number += 1
                reason = row.get(QUARANTINE_COLUMN)
                if reason:
                    entry = quarantine_entry(number, reason, row, options.id_col)
                    bad.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
                    quarantined += 1
                    continue
                rows.append(_decoded(row))
                counts.add(rows[-1])
            writer.write(rows)
    return {"quarantine": str(quarantine_path), "rows_in": number, "scored": number - quarantined,
            "quarantined": quarantined, "by_label": counts.as_dict()}


def _write_shards(scored, output: Path, options: ScoreOptions) -> dict:
    """Write scored and quarantined rows as shards from the cluster; counts come from the materialised result."""
    materialised = scored.materialize()
    good = materialised.filter(lambda row: not row[QUARANTINE_COLUMN]).drop_columns([QUARANTINE_COLUMN])
    bad = materialised.filter(lambda row: bool(row[QUARANTINE_COLUMN]))
    decoded = good.map_batches(_decode_batch, batch_format="pyarrow")
    if (options.output_format or "parquet") == "parquet":
        decoded.write_parquet(str(output))
    else:
        decoded.write_json(str(output))
    quarantine = output.with_name(output.name + ".quarantine")
    keep = [c for c in (options.id_col, QUARANTINE_COLUMN) if c and c in bad.columns()]
    bad.select_columns(keep).write_json(str(quarantine))
    counts = LabelCounts()
    for row in good.select_columns(list(LabelCounts.FIELDS)).iter_rows():
        counts.add({name: json.loads(row[name]) for name in LabelCounts.FIELDS})
    scored_count, quarantined = good.count(), bad.count()
    return {"quarantine": str(quarantine), "rows_in": scored_count + quarantined, "scored": scored_count,
            "quarantined": quarantined, "by_label": counts.as_dict()}
