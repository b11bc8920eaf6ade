"""Streaming reads and writes of tabular review files: JSON Lines, CSV, TSV and Parquet.

Rows are yielded one at a time with their 1-based number: the line of the file
where the record starts for JSON Lines, CSV and TSV (so a CSV's first data row
is 2, as in a spreadsheet, and an editor's line numbers find it), the data row
for Parquet. A problem can always be reported against the record it came from. JSON Lines, CSV and TSV may
be gzip-compressed (``reviews.csv.gz``); a UTF-8 byte-order mark is ignored.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("jsonl", "csv", "tsv", "parquet")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
               ".parquet": "parquet", ".pq": "parquet"}
_SPOOL_BATCH = 4096
"""Rows per batch when a spooled output is converted to its final format."""


class TableError(ValueError):
    """A file cannot be read or written as a table."""


def is_gzip(path: Path) -> bool:
    """Whether a path names a gzip-compressed file."""
    return path.suffix.lower() == ".gz"


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The table format of a path: the explicit one, else from the file extension (under any ``.gz``)."""
    if explicit:
        if explicit not in FORMATS:
            raise TableError(f"unknown format {explicit!r}; choose one of {', '.join(FORMATS)}")
        fmt = explicit
    else:
        suffix = Path(path.stem).suffix if is_gzip(path) else path.suffix
        try:
            fmt = _EXTENSIONS[suffix.lower()]
        except KeyError:
            raise TableError(f"cannot tell the format of {path} from its extension; pass --format") from None
    if fmt == "parquet" and is_gzip(path):
        raise TableError(f"{path}: Parquet is compressed inside the file; a gzipped Parquet file cannot be read")
    return fmt


def is_table_file(path: Path) -> bool:
    """Whether a path is a file with a table extension (``.jsonl``, ``.csv.gz``, ``.parquet``, ...)."""
    try:
        detect_format(path)
    except TableError:
        return False
    return path.is_file()


def output_format(path: Path, explicit: str | None = None) -> str:
    """The format a table is written in; compressed output is refused."""
    if is_gzip(path):
        raise TableError(f"{path}: compressed output is not written; name an uncompressed file")
    return detect_format(path, explicit)


def open_binary(path: Path) -> IO[bytes]:
    """A file opened for reading bytes, decompressed when it is gzipped."""
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


def iter_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (row number, row dict) for every row of a table file, streaming."""
    fmt = detect_format(path, fmt)
    if fmt == "jsonl":
        yield from _iter_jsonl(path)
    elif fmt == "parquet":
        yield from _iter_parquet(path)
    else:
        yield from _iter_delimited(path, "\t" if fmt == "tsv" else ",")


def columns_of(path: Path, fmt: str | None = None) -> list[str] | None:
    """The column names of a table (the header, or the first JSON Lines record); None when it has no rows."""
    fmt = detect_format(path, fmt)
    if fmt == "parquet":
        return pq.read_schema(path).names
    for _, row in iter_rows(path, fmt):
        if not isinstance(row, BadRow):
            return list(row)
    return None


def check_text_column(path: Path, text_col: str, fmt: str | None = None) -> None:
    """Refuse a table without the text column (a mistyped ``--text-col``), naming the columns it has."""
    columns = columns_of(path, fmt)
    if columns is not None and text_col not in columns:
        raise TableError(f"{path} has no column {text_col!r} (pass --text-col); its columns are: "
                         + ", ".join(map(repr, columns)))


class BadRow(dict):
    """A row that could not be decoded; ``problem`` says why."""

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open_binary(path) as stream:
        for number, raw in enumerate(stream, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield number, BadRow(f"invalid UTF-8 at byte {error.start}")
                continue
            except json.JSONDecodeError as error:
                yield number, BadRow(f"invalid JSON: {error.msg} (column {error.colno})")
                continue
            yield number, row if isinstance(row, dict) else BadRow("a JSON Lines record must be an object")


def _iter_delimited(path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    csv.field_size_limit(sys.maxsize)  # an over-long text is the scorer's to quarantine, not the reader's to refuse
    with io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        reader = csv.DictReader(stream, delimiter=delimiter)
        reader.fieldnames  # reads the header, so that line_num counts its lines
        next_line = reader.line_num + 1
        for row in reader:
            number, next_line = next_line, reader.line_num + 1
            if None in row:
                yield number, BadRow(f"{len(reader.fieldnames) + len(row[None])} fields where the header has "
                                     f"{len(reader.fieldnames)}")
            elif any(isinstance(value, str) and _has_surrogates(value) for value in row.values()):
                yield number, BadRow("invalid UTF-8")
            else:
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


def _json_line(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, default=str) + "\n"


class TableWriter:
    """Writes rows to a JSON Lines, CSV, TSV or Parquet file, streaming, in batches.

    CSV, TSV and Parquet need every column (and, for Parquet, every column's type) before the first row is
    written, and a later row may bring a new column or the first non-null value of one. So their rows are
    spooled to JSON Lines beside the output and converted on :meth:`close`, with the columns of all rows.
    ``column_types`` (an Arrow schema, such as a Parquet input's) gives the type of columns it names.
    """

    def __init__(self, path: Path, fmt: str | None = None, column_types: pa.Schema | None = None):
        self.path = Path(path)
        self.format = output_format(self.path, fmt)
        self.column_types = column_types
        target = self.path if self.format == "jsonl" else self.path.with_name(self.path.name + ".spool")
        self._spool = target.open("w", encoding="utf-8")
        self._columns: dict[str, None] = {}
        """Every column written so far, in order of first appearance."""

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, rows: list[dict]) -> None:
        """Append a batch of rows."""
        self._columns.update(dict.fromkeys(_row_columns(rows)))
        self._spool.write("".join(_json_line(row) for row in rows))

    def close(self) -> None:
        """Flush the file; convert the spool to CSV, TSV or Parquet."""
        if self._spool.closed:
            return
        self._spool.close()
        if self.format == "jsonl":
            return
        spool = Path(self._spool.name)
        try:
            if self.format == "parquet":
                _write_parquet(spool, self.path, self.column_types)
            else:
                _write_delimited(spool, self.path, "\t" if self.format == "tsv" else ",", list(self._columns))
        finally:
            os.remove(spool)


def _spooled_batches(spool: Path) -> Iterator[list[dict]]:
    with spool.open(encoding="utf-8") as stream:
        batch = []
        for line in stream:
            batch.append(json.loads(line))
            if len(batch) == _SPOOL_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def _row_columns(rows: list[dict]) -> list[str]:
    """Every column of the rows, in order of first appearance."""
    return list(dict.fromkeys(key for row in rows for key in row))


def _write_delimited(spool: Path, path: Path, delimiter: str, columns: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, delimiter=delimiter)
        if columns:
            writer.writeheader()
        for rows in _spooled_batches(spool):
            writer.writerows({key: _flat(value) for key, value in row.items()} for row in rows)


def _as_text(value):
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _arrow_table(rows: list[dict], text_columns: set[str], schema: pa.Schema | None = None) -> pa.Table:
    """Rows as an Arrow table with the columns of every row (``from_pylist`` would take the first row's only).

    Without a schema, a column whose values Arrow cannot type together (numbers and text, say) joins
    ``text_columns``; those are written as text.
    """
    columns = {}
    for name in schema.names if schema is not None else _row_columns(rows):
        values = [row.get(name) for row in rows]
        if name not in text_columns:
            try:
                columns[name] = pa.array(values, schema.field(name).type if schema is not None else None)
                continue
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                if schema is not None:
                    raise
                text_columns.add(name)
        columns[name] = pa.array([_as_text(value) for value in values], pa.string())
    return pa.table(columns)


def _unified_schema(spool: Path) -> tuple[pa.Schema, set[str]]:
    """One Arrow schema fitting every spooled row, and the columns that must be written as text to fit."""
    text_columns: set[str] = set()
    types: dict[str, list[pa.DataType]] = {}
    for rows in _spooled_batches(spool):
        for arrow_field in _arrow_table(rows, text_columns).schema:
            types.setdefault(arrow_field.name, []).append(arrow_field.type)
    fields = []
    for name, seen in types.items():
        try:
            unified = pa.unify_schemas([pa.schema([(name, t)]) for t in seen], promote_options="permissive")
            fields.append(unified.field(name))
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # e.g. numbers in one batch, text in another
            text_columns.add(name)
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields), text_columns


def _write_parquet(spool: Path, path: Path, column_types: pa.Schema | None) -> None:
    schema, text_columns = _unified_schema(spool)
    target = _with_known_types(spool, schema, text_columns, column_types)
    with pq.ParquetWriter(path, target) as writer:
        for rows in _spooled_batches(spool):
            writer.write_table(_arrow_table(rows, text_columns, schema).cast(target))


def _with_known_types(spool: Path, schema: pa.Schema, text_columns: set[str], column_types: pa.Schema | None) -> pa.Schema:
    """The schema with the types ``column_types`` gives (a timestamp read back from text), where every value casts."""
    if column_types is None:
        return schema
    wanted = {name: column_types.field(name).type for name in schema.names
              if name in column_types.names and column_types.field(name).type != schema.field(name).type}
    for rows in _spooled_batches(spool) if wanted else ():
        table = _arrow_table(rows, text_columns, schema)
        for name, known in list(wanted.items()):
            try:
                table.column(name).cast(known)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                del wanted[name]
    return pa.schema([pa.field(f.name, wanted.get(f.name, f.type)) for f in schema])
