"""Tables written in every format keep every column, with one type per column, whatever order the rows come in."""

from __future__ import annotations

import datetime
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ulasan.tables import TableError, TableWriter, iter_rows

FIRST = [{"id": 1, "text": "barang ok", "cause": None, "causes": []}] * 3
LATER = [{"id": "X3", "text": "rosak", "cause": "pricing", "causes": ["pricing"], "note": "baru", "scores": {"a": 0.5}}]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "tsv", "jsonl"])
def test_later_rows_may_bring_new_columns_and_types(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    with TableWriter(path) as writer:
        writer.write(FIRST)
        writer.write(LATER)
    rows = [row for _, row in iter_rows(path)]
    assert len(rows) == 4 and set(rows[-1]) == {"id", "text", "cause", "causes", "note", "scores"}
    assert rows[-1]["note"] == "baru" and rows[0].get("note") in (None, "")
    if fmt == "parquet":
        schema = pq.read_schema(path)
        assert schema.field("id").type == pa.string() and schema.field("cause").type == pa.string()
        assert schema.field("causes").type == pa.list_(pa.string()) and rows[-1]["scores"] == {"a": 0.5}


def test_known_column_types_are_kept(tmp_path):
    path = tmp_path / "out.parquet"
    types = pa.schema([("when", pa.timestamp("us")), ("cause", pa.string())])
    rows = [{"when": datetime.datetime(2024, 1, 1), "cause": None}]
    with TableWriter(path, column_types=types) as writer:
        writer.write(json.loads(json.dumps(rows, default=str)))  # how scored parts store them
    schema = pq.read_schema(path)
    assert schema.field("when").type == pa.timestamp("us") and schema.field("cause").type == pa.string()
    assert pq.read_table(path).column("when").to_pylist() == [datetime.datetime(2024, 1, 1)]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_no_rows_still_make_a_file(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    with TableWriter(path):
        pass
    assert path.is_file() and list(iter_rows(path)) == []


def test_compressed_output_is_refused(tmp_path):
    with pytest.raises(TableError, match="compressed output"):
        TableWriter(tmp_path / "out.csv.gz")


def test_a_column_arrow_cannot_type_is_written_as_text(tmp_path):
    path = tmp_path / "mixed.parquet"
    with TableWriter(path) as writer:
        writer.write([{"flag": True, "tags": [1, "x"]}, {"flag": 1, "tags": [2]}])
    assert [row for _, row in iter_rows(path)] == [{"flag": "true", "tags": '[1, "x"]'}, {"flag": "1", "tags": "[2]"}]
