"""Streaming reads of tabular review files: JSON Lines, CSV, TSV and Parquet.

Rows are yielded one at a time with their 1-based row number (the line number
for JSON Lines; the data row number for CSV, TSV and Parquet), so a problem can
always be reported against the record it came from.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

FORMATS = ("jsonl", "csv", "tsv", "parquet")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
               ".parquet": "parquet", ".pq": "parquet"}


class TableError(ValueError):
    """A file cannot be read as a table."""


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The table format of a path: the explicit one, else from the file extension."""
    if explicit:
        if explicit not in FORMATS:
            raise TableError(f"unknown format {explicit!r}; choose one of {', '.join(FORMATS)}")
        return explicit
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise TableError(f"cannot tell the format of {path} from its extension; pass --format") from None


def iter_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (row number, row dict) for every row of a table file, streaming."""
    fmt = detect_format(path, fmt)
    if fmt == "jsonl":
        yield from _iter_jsonl(path)
    elif fmt == "parquet":
        yield from _iter_parquet(path)
    else:
        yield from _iter_delimited(path, "\t" if fmt == "tsv" else ",")


class BadRow(dict):
    """A row that could not be decoded; ``problem`` says why."""

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield number, BadRow(f"invalid UTF-8 at byte {error.start}")
                continue
            except json.JSONDecodeError as error:
                yield number, BadRow(f"invalid JSON: {error.msg}")
                continue
            yield number, row if isinstance(row, dict) else BadRow("a JSON Lines record must be an object")


def _iter_delimited(path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    with path.open("r", encoding="utf-8", errors="surrogateescape", newline="") as stream:
        reader = csv.DictReader(stream, delimiter=delimiter)
        for number, row in enumerate(reader, 1):
            if any(isinstance(value, str) and _has_surrogates(value) for value in row.values()):
                yield number, BadRow("invalid UTF-8")
                continue
            yield number, row


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _iter_parquet(path: Path) -> Iterator[tuple[int, dict]]:
    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _flat(value):
    """A cell value for CSV/TSV: lists and dicts as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return value


class TableWriter:
    """Writes rows to a JSON Lines, CSV, TSV or Parquet file, streaming, in batches."""

    def __init__(self, path: Path, fmt: str | None = None):
        self.path = Path(path)
        self.format = detect_format(self.path, fmt)
        self._stream = None
        self._csv = None
        self._parquet = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, rows: list[dict]) -> None:
        """Append a batch of rows."""
        if not rows:
            return
        if self.format == "parquet":
            self._write_parquet(rows)
        elif self.format == "jsonl":
            self._stream = self._stream or self.path.open("w", encoding="utf-8")
            self._stream.write("".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows))
        else:
            if self._csv is None:
                self._stream = self.path.open("w", encoding="utf-8", newline="")
                self._csv = csv.DictWriter(self._stream, fieldnames=list(rows[0]), extrasaction="ignore",
                                           delimiter="\t" if self.format == "tsv" else ",")
                self._csv.writeheader()
            self._csv.writerows({key: _flat(value) for key, value in row.items()} for row in rows)

    def _write_parquet(self, rows: list[dict]) -> None:
        import pyarrow as pa

        if self._parquet is None:
            table = pa.Table.from_pylist(rows)
            self._parquet = pq.ParquetWriter(self.path, table.schema)
        else:
            table = pa.Table.from_pylist(rows, schema=self._parquet.schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        """Flush and close the file."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None
