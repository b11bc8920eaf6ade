"""Batch scoring: every format in and out, bad rows quarantined, order kept, a killed run resumed."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest

import ulasan
from ulasan.scoring import PREDICTION_FIELDS, ScoreOptions, score_file, score_frame

from conftest import corpus_records


def _score(model, source, output, *extra):
    return subprocess.run([sys.executable, "-m", "ulasan.cli", "score", str(source), "-o", str(output),
                           "--model", str(model), *extra], capture_output=True, text=True, timeout=600)


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def reviews():
    return [{"id": f"r{i}", "text": r["text"], "stars": i % 5 + 1} for i, r in enumerate(corpus_records(8))]


def test_bad_rows_are_quarantined_and_the_rest_scored_in_order(tiny_model, tmp_path, reviews):
    lines = [json.dumps(r, ensure_ascii=False) for r in reviews[:5]]
    lines[1] = json.dumps({"id": "empty", "text": "   "})
    lines[2] = json.dumps({"id": "null", "text": None})
    lines[3] = json.dumps({"id": "number", "text": 42})
    lines.append(json.dumps({"id": "long", "text": "panjang " * 4000}))
    lines.append("{not json")
    source = tmp_path / "in.jsonl"
    source.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "bytes", "text": "rosak \xff\xfe"}\n')
    output = tmp_path / "out.jsonl"
    done = _score(tiny_model, source, output)
    assert done.returncode == 3, done.stderr
    assert "8 rows: 2 scored, 6 quarantined" in done.stdout
    rows = _jsonl(output)
    assert [r["id"] for r in rows] == ["r0", "r4"]
    assert set(PREDICTION_FIELDS) | {"id", "text", "stars"} <= set(rows[0])
    quarantine = {q["row"]: q["reason"] for q in _jsonl(tmp_path / "out.quarantine.jsonl")}
    assert quarantine[2] == "text is empty" and quarantine[3] == "text is null"
    assert quarantine[4] == "text is a int, not a string" and "over the 20000 limit" in quarantine[6]
    assert "invalid JSON" in quarantine[7] and "invalid UTF-8" in quarantine[8]
    summary = json.loads((tmp_path / "out.jsonl.summary.json").read_text())
    assert summary["quarantined"] == 6 and sum(summary["by_label"]["sentiment"].values()) == 2


@pytest.mark.parametrize("source_format, output_format", [("csv", "parquet"), ("parquet", "tsv"), ("tsv", "jsonl")])
def test_formats_round_trip(tiny_model, tmp_path, reviews, source_format, output_format):
    frame = pd.DataFrame(reviews[:12])
    source = tmp_path / f"in.{source_format}"
    {"csv": lambda: frame.to_csv(source, index=False), "tsv": lambda: frame.to_csv(source, sep="\t", index=False),
     "parquet": lambda: frame.to_parquet(source)}[source_format]()
    output = tmp_path / f"out.{output_format}"
    done = _score(tiny_model, source, output, "--part-rows", "5")
    assert done.returncode == 0, done.stderr
    if output_format == "parquet":
        result = pq.read_table(output).to_pandas()
    elif output_format == "tsv":
        result = pd.read_csv(output, sep="\t")
    else:
        result = pd.DataFrame(_jsonl(output))
    assert list(result["id"]) == list(frame["id"]) and list(result["text"]) == list(frame["text"])
    assert set(result["sentiment"]) <= {"positive", "neutral", "negative"}
    assert not (tmp_path / f"out.{output_format}.parts").exists()


def test_killed_run_resumes_with_every_row_exactly_once(tiny_model, tmp_path):
    rows = [{"id": i, "text": r["text"]} for i, r in enumerate(corpus_records(60)[:480])]
    source = tmp_path / "big.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    output = tmp_path / "big.out.jsonl"
    command = [sys.executable, "-m", "ulasan.cli", "score", str(source), "-o", str(output), "--model", str(tiny_model),
               "--part-rows", "40", "--backend", "torch"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = tmp_path / "big.out.jsonl.parts"
    deadline = time.time() + 300
    while len(list(parts.glob("part-*.scored.jsonl"))) < 2 and time.time() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not output.exists(), "the run finished before it was killed"
    finished_before = len(list(parts.glob("part-*.scored.jsonl")))
    assert 2 <= finished_before < 12
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in _jsonl(output)] == list(range(480))


def test_changed_input_is_not_resumed_onto_old_parts(tiny_model, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "barang ok"}\n', encoding="utf-8")
    classifier = ulasan.load(tiny_model)
    parts = tmp_path / "out.jsonl.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text(json.dumps({"input": "other"}))
    (parts / "part-0000000.scored.jsonl").write_text('{"text": "old row"}\n')
    with pytest.raises(RuntimeError, match="different run.*--restart"):
        score_file(classifier, source, tmp_path / "out.jsonl", ScoreOptions())
    score_file(classifier, source, tmp_path / "out.jsonl", ScoreOptions(), restart=True)
    assert [r["text"] for r in _jsonl(tmp_path / "out.jsonl")] == ["barang ok"]


def test_mistakes_are_refused_before_any_work(tiny_model, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,review\n1,barang ok\n", encoding="utf-8")
    classifier = ulasan.load(tiny_model)
    with pytest.raises(ValueError, match="no column 'text'.*'id', 'review'"):
        score_file(classifier, source, tmp_path / "out.csv", ScoreOptions())
    with pytest.raises(ValueError, match="is the input"):
        score_file(classifier, source, source, ScoreOptions(text_col="review"))
    assert not (tmp_path / "out.csv.parts").exists() and source.read_text().startswith("id,review")


def test_awkward_files_are_read_and_bad_rows_set_aside(tiny_model, tmp_path):
    classifier = ulasan.load(tiny_model)
    bom_csv = tmp_path / "excel.csv"
    bom_csv.write_text("text,id\nbarang ok,1\n\"rosak, tak reply\",2,extra\n" + "x" * 200_000 + ",3\nmantap,4\n",
                       encoding="utf-8-sig")
    summary = score_file(classifier, bom_csv, tmp_path / "excel.out.jsonl", ScoreOptions())
    assert [r["id"] for r in _jsonl(tmp_path / "excel.out.jsonl")] == ["1", "4"]
    reasons = {q["row"]: q["reason"] for q in _jsonl(tmp_path / "excel.out.quarantine.jsonl")}
    assert reasons[3] == "3 fields where the header has 2" and "over the 20000 limit" in reasons[4]  # file lines
    assert summary["quarantined"] == 2
    gzipped = tmp_path / "scraped.jsonl.gz"
    lines = [{"text": "barang ok"}, *[{"text": None}] * 4, {"text": "seller lambat"}]
    with gzip.open(gzipped, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(line) + "\n" for line in lines)
    summary = score_file(classifier, gzipped, tmp_path / "scraped.parquet", ScoreOptions(part_rows=2))
    assert summary["scored"] == 2 and summary["quarantined"] == 4  # parts 1 and 2 hold only bad rows
    assert pq.read_table(tmp_path / "scraped.parquet").column("text").to_pylist() == ["barang ok", "seller lambat"]


def test_dataframe_api(tiny_model):
    frame = pd.DataFrame({"text": ["Barang rosak", "", None, "Mantap gan"], "store": ["a", "b", "c", "d"]})
    result = score_frame(ulasan.load(tiny_model), frame)
    assert list(result["store"]) == ["a", "b", "c", "d"]
    assert result["sentiment"].notna().tolist() == [True, False, False, True]
    assert list(result["quarantine_reason"])[1:3] == ["text is empty", "text is null"]
