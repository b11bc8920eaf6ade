"""Training data is validated: bad records are refused with file and line, or set aside on request."""

from __future__ import annotations

import json

import pytest

from ulasan.config import Settings, load_recipe
from ulasan.records import InvalidRecordsError, read_records
from ulasan.training_data import prepare

from conftest import corpus_records, write_tiny_recipe


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_unknown_label_is_refused_with_its_line_number(tmp_path):
    rows = corpus_records(3)
    rows[4] = {**rows[4], "sentiment": "angry"}
    _write(tmp_path / "train.jsonl", rows)
    recipe = load_recipe(write_tiny_recipe(tmp_path, tmp_path / "train.jsonl"))
    with pytest.raises(InvalidRecordsError, match=r"train\.jsonl:5: unknown sentiment 'angry'"):
        prepare(recipe, Settings().data)


def test_skip_invalid_sets_bad_rows_aside_and_keeps_the_rest(tmp_path):
    rows = corpus_records(3)
    rows[1] = {**rows[1], "text": "   "}
    rows[2] = {**rows[2], "cause": "weather"}
    _write(tmp_path / "train.jsonl", rows)
    recipe = load_recipe(write_tiny_recipe(tmp_path, tmp_path / "train.jsonl"))
    data = prepare(recipe, Settings().data, skip_invalid=True, rejects_path=tmp_path / "rejects.jsonl")
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["problem"] for r in rejects] == ["text is empty", rejects[1]["problem"]]
    assert "unknown cause 'weather'" in rejects[1]["problem"] and rejects[1]["origin"].endswith(":3")
    assert len(data.train) + len(data.validation) == len(rows) - 2


@pytest.mark.parametrize("row, problem", [
    ({"text": "ok"}, "no label"),
    ({"text": "bagus", "cause": "none", "causes": ["pricing"]}, "cause is 'none' but causes"),
    ({"text": "mahal", "cause": "pricing", "causes": ["product_quality"]}, "not among causes"),
    ({"text": "mahal", "lang": "jv", "sentiment": "negative"}, "unknown lang"),
    ({"text": 42, "sentiment": "negative"}, "text must be a string"),
])
def test_inconsistent_records_are_named(tmp_path, row, problem):
    _write(tmp_path / "r.jsonl", [row])
    examples, problems = read_records(tmp_path / "r.jsonl", "test")
    assert not examples and problem in problems[0].problem and problems[0].origin.endswith("r.jsonl:1")


def test_one_head_records_and_other_formats_are_read(tmp_path):
    (tmp_path / "r.csv").write_text('text,sentiment,cause,causes\n"mahal, tak berbaloi",,pricing,\nbest,positive,,\n',
                                    encoding="utf-8")
    examples, problems = read_records(tmp_path / "r.csv", "csv")
    assert not problems
    assert (examples[0].sentiment, examples[0].cause, examples[0].causes) == (None, "pricing", ("pricing",))
    assert (examples[1].sentiment, examples[1].cause, examples[1].causes) == ("positive", None, None)


def test_duplicates_and_evaluation_overlap_are_removed(tmp_path):
    rows = corpus_records(4)
    rows.append({**rows[0], "id": "dup"})
    rows.append({**rows[1], "id": "near", "text": rows[1]["text"] + "!!"})
    _write(tmp_path / "train.jsonl", rows)
    _write(tmp_path / "eval.jsonl", [rows[2]])
    recipe = load_recipe(write_tiny_recipe(tmp_path, tmp_path / "train.jsonl", extra=(
        f'evaluate = [{{ name = "records", path = "{tmp_path / "eval.jsonl"}", label = "held-out" }}]')))
    data = prepare(recipe, Settings().data)
    stats = data.stats[str(tmp_path / "train.jsonl")]
    assert (stats.duplicates, stats.overlap_with_evaluation) == (2, 1)
    assert len(data.train) + len(data.validation) == len(rows) - 3


def test_a_small_set_still_gets_a_validation_record_and_no_records_left_is_named(tmp_path):
    rows = corpus_records(3)[:6]
    _write(tmp_path / "train.jsonl", [{**row, "sentiment": s} for row, s in
                                      zip(rows, ["positive", "neutral", "negative"] * 2)])
    recipe = load_recipe(write_tiny_recipe(tmp_path, tmp_path / "train.jsonl"))
    data = prepare(recipe, Settings().data)
    assert len(data.validation) == 1 and len(data.train) == 5  # every stratum is too small for a 20% share
    overlapping = load_recipe(write_tiny_recipe(tmp_path, tmp_path / "train.jsonl", extra=(
        f'evaluate = [{{ name = "records", path = "{tmp_path / "train.jsonl"}", label = "same" }}]')))
    with pytest.raises(ValueError, match="0 training records left of 6 loaded \\(6 are in the evaluation sets"):
        prepare(overlapping, Settings().data)


def test_data_that_would_leave_a_head_untrained_is_refused(tmp_path):
    from ulasan.training import check_every_head_learns

    _write(tmp_path / "train.jsonl", [{"text": r["text"], "sentiment": r["sentiment"]} for r in corpus_records(3)])
    recipe = load_recipe(write_tiny_recipe(tmp_path, tmp_path / "train.jsonl"))
    with pytest.raises(ValueError, match="no training record has a cause label"):
        check_every_head_learns(recipe, prepare(recipe, Settings().data))
    continued = recipe.model_copy(update={"model": recipe.model.model_copy(update={"init_from": "models/quick"})})
    check_every_head_learns(continued, prepare(continued, Settings().data))  # its heads were trained before
