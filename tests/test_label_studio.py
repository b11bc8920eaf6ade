"""Label Studio loop: tasks carry pre-annotations ordered by uncertainty; exports come back as valid records."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ulasan.label_studio import build_tasks, label_config, records_from_export


def _prediction(confidence, sentiment="negative", cause="pricing"):
    return {"sentiment": sentiment, "cause": cause, "causes": [cause] if cause else [], "confidence": confidence,
            "model_version": "m-1"}


def test_tasks_are_most_uncertain_first_with_pre_annotations():
    rows = [{"text": "a", "id": 1}, {"text": "b", "id": 2}, {"text": "c", "id": 3}]
    tasks = build_tasks(rows, [_prediction(0.9), _prediction(0.4), _prediction(0.6, "positive", None)], "id")
    assert [t["data"]["id"] for t in tasks] == [2, 3, 1]
    result = tasks[1]["predictions"][0]["result"]
    assert {r["from_name"]: r["value"]["choices"] for r in result} == {"sentiment": ["positive"], "cause": ["none"]}
    assert tasks[0]["predictions"][0]["score"] == 0.4


def test_label_config_offers_every_label():
    config = label_config()
    for value in ["positive", "neutral", "negative", "none", "pricing", "poor_after_sales", "Isu harga"]:
        assert value in config


def _task(task_id, text, sentiment, cause, causes=None, cancelled=False):
    result = [{"from_name": "sentiment", "value": {"choices": [sentiment]}},
              {"from_name": "cause", "value": {"choices": [cause]}}]
    if causes:
        result.append({"from_name": "causes", "value": {"choices": causes}})
    return {"id": task_id, "data": {"text": text},
            "annotations": [{"result": result, "was_cancelled": cancelled, "updated_at": "2026-11-30T10:00:00"}]}


def test_export_is_imported_as_validated_records(tmp_path):
    export = [
        _task(1, "Chat tak berbalas", "negative", "hard_to_communicate", ["hard_to_communicate", "product_quality"]),
        _task(2, "Best gila", "positive", "none"),
        _task(3, "Mahal", "negative", "expensive"),
        _task(4, "skip me", "neutral", "none", cancelled=True),
    ]
    records, problems = records_from_export(export, "export.json")
    assert [r["cause"] for r in records] == ["hard_to_communicate", "none"]
    assert records[0]["causes"] == ["hard_to_communicate", "product_quality"] and records[1]["causes"] == []
    assert [p.origin for p in problems] == ["export.json: task 3", "export.json: task 4"]
    assert "unknown cause 'expensive'" in problems[0].problem

    path = tmp_path / "export.json"
    path.write_text(json.dumps(export[:2]))
    out = tmp_path / "records.jsonl"
    done = subprocess.run([sys.executable, "-m", "ulasan.cli", "label", "import", str(path), "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 2


def test_export_command_writes_tasks_from_a_real_model(tiny_model, tmp_path):
    source = tmp_path / "reviews.csv"
    source.write_text("id,text\n7,Barang rosak teruk\n8,Mantap gan\n", encoding="utf-8")
    out = tmp_path / "tasks.json"
    done = subprocess.run([sys.executable, "-m", "ulasan.cli", "label", "export", str(source), "--model", str(tiny_model),
                           "--format", "label-studio", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    tasks = json.loads(out.read_text())
    scores = [t["predictions"][0]["score"] for t in tasks]
    assert sorted(scores) == scores and {t["data"]["id"] for t in tasks} == {"7", "8"}
    assert (tmp_path / "tasks.label_config.xml").is_file()


def test_contradictory_or_malformed_exports_are_named_not_guessed():
    two_sentiments = _task(5, "ok je", "positive", "none")
    two_sentiments["annotations"][0]["result"][0]["value"]["choices"] = ["positive", "negative"]
    export = [_task(6, "Mahal", "negative", "none", ["pricing"]), two_sentiments]
    records, problems = records_from_export(export, "e.json")
    assert records == [] and "cause is 'none' but causes lists ['pricing']" in problems[0].problem
    assert "2 sentiment choices" in problems[1].problem
    records, _ = records_from_export(_task(7, "Best gila", "positive", "none"), "one-task.json")
    assert [r["text"] for r in records] == ["Best gila"]
    with pytest.raises(ValueError, match="not a Label Studio JSON export"):
        records_from_export("text", "x.json")


def test_source_row_is_the_row_in_the_file():
    tasks = build_tasks([{"text": "a"}, {"text": "b"}], [_prediction(0.9), _prediction(0.4)], None, [1, 3])
    assert [t["data"]["source_row"] for t in tasks] == [3, 1]
