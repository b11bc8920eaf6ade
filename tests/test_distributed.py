"""The Ray engine on a local Ray instance gives exactly the local engine's output."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from conftest import corpus_records

pytest.importorskip("ray")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "ulasan.cli", "score", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


def test_ray_engine_matches_local_engine(tiny_model, tmp_path):
    rows = [{"id": i, "text": r["text"]} for i, r in enumerate(corpus_records(5))]
    rows[7]["text"] = ""
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    local = _run(source, "-o", tmp_path / "local.jsonl", "--model", tiny_model, "--backend", "torch")
    assert local.returncode == 3, local.stderr
    distributed = _run(source, "-o", tmp_path / "ray.jsonl", "--model", tiny_model, "--engine", "ray", "--actors", "2",
                       "--part-rows", "16")
    assert distributed.returncode == 3, distributed.stderr
    assert (tmp_path / "ray.jsonl").read_text() == (tmp_path / "local.jsonl").read_text()
    assert (tmp_path / "ray.quarantine.jsonl").read_text() == (tmp_path / "local.quarantine.jsonl").read_text()

    shards = _run(source, "-o", tmp_path / "shards", "--model", tiny_model, "--engine", "ray", "--actors", "1")
    assert shards.returncode == 3, shards.stderr
    table = pq.read_table(tmp_path / "shards")
    assert table.num_rows == len(rows) - 1 and {"sentiment", "cause_scores", "causes"} <= set(table.column_names)
