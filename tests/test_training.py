"""End-to-end training: a tiny real run whose artifact loads, predicts, and is reproducible and resumable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import ulasan
from ulasan.config import Recipe, Settings, load_recipe
from ulasan.schema import CAUSE_OUTCOMES, CAUSES, SENTIMENTS, SchemaMismatchError
from ulasan.training import train

from conftest import write_tiny_recipe

TEXTS = ["Barang rosak bila sampai, seller tak reply langsung", "Mantap gan, pengiriman cepat banget",
         "Harga mahal sangat untuk kualiti macam ni", "x" * 3000]


def test_artifact_holds_weights_tokenizer_schema_metrics_and_card(tiny_model):
    for name in ["model.safetensors", "encoder/config.json", "tokenizer.json", "schema.json", "metrics.json",
                 "README.md", "ulasan.json", "baseline/weights.safetensors", "eval/validation/confusion-sentiment.png"]:
        assert (tiny_model / name).is_file(), name
    assert not (tiny_model / "checkpoint").exists()
    assert not list(tiny_model.rglob("*.pkl")) and not list(tiny_model.rglob("*.bin"))
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    validation = metrics["evaluations"]["validation"]
    assert set(validation["model"]) >= {"sentiment", "cause"}
    assert set(validation["baseline"]) == {"sentiment", "cause"}
    assert "ece_after" in validation["calibration"]["sentiment"]
    assert "Intended use" in (tiny_model / "README.md").read_text()


def test_loaded_model_predicts_every_field(tiny_model):
    predictions = ulasan.load(tiny_model).predict(TEXTS)
    assert len(predictions) == len(TEXTS)
    for prediction in predictions:
        assert prediction["sentiment"] in SENTIMENTS
        assert set(prediction["sentiment_scores"]) == set(SENTIMENTS)
        assert abs(sum(prediction["sentiment_scores"].values()) - 1) < 1e-3
        assert set(prediction["cause_scores"]) == set(CAUSE_OUTCOMES)
        assert prediction["cause"] is None or prediction["cause"] in CAUSES
        assert (prediction["cause"] is None) == (prediction["causes"] == [])
        assert prediction["cause"] is None or prediction["cause"] in prediction["causes"]
        assert prediction["lang"] in ("ms", "id", "mixed", "other")
        assert prediction["model_version"].startswith("tiny-")
    assert [p["truncated"] for p in predictions] == [False, False, False, True]


def test_schema_mismatch_is_refused_naming_the_difference(tiny_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    schema = json.loads((copy / "schema.json").read_text())
    schema["sentiments"] = ["positive", "negative"]
    schema["schema_version"] = "0.9"
    (copy / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(SchemaMismatchError, match="sentiments: artifact has \\['positive', 'negative'\\]"):
        ulasan.load(copy)
    schema["sentiments"] = list(SENTIMENTS)
    schema["causes"][3]["key"] = "price"
    (copy / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(SchemaMismatchError, match="cause 4: artifact and code differ in key 'price' vs 'pricing'"):
        ulasan.load(copy)


def test_an_unfinished_artifact_and_a_lone_string_are_refused(tiny_model, tmp_path):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(tiny_model, unfinished)
    (unfinished / "metrics.json").unlink()
    with pytest.raises(FileNotFoundError, match="training did not finish"):
        ulasan.load(unfinished)
    with pytest.raises(TypeError, match="a list of texts"):
        ulasan.load(tiny_model).predict("Barang rosak")


def test_same_seed_gives_same_predictions(tiny_model, tiny_train_file, tmp_path):
    again = train(load_recipe(write_tiny_recipe(tmp_path, tiny_train_file)), tmp_path / "again", Settings())
    first = ulasan.load(tiny_model).predict(TEXTS)
    second = ulasan.load(again).predict(TEXTS)
    assert [p["sentiment_scores"] for p in first] == [p["sentiment_scores"] for p in second]
    assert [p["cause_scores"] for p in first] == [p["cause_scores"] for p in second]


def test_killed_run_resumes_from_its_checkpoint(tiny_train_file, tmp_path):
    recipe = write_tiny_recipe(tmp_path, tiny_train_file, max_steps=10)
    output = tmp_path / "model"
    command = [sys.executable, "-m", "ulasan.cli", "train", "--config", str(recipe), "--output", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = output / "checkpoint" / "state.json"
    try:
        for _ in range(600):
            if state.is_file() and json.loads(state.read_text())["progress"]["step"] >= 2:
                break
            if process.poll() is not None:
                pytest.fail("training ended before it could be interrupted")
            subprocess.run(["sleep", "0.2"])
        process.kill()
    finally:
        process.wait()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from step" in resumed.stdout
    assert ulasan.load(output).predict(TEXTS[:1])[0]["sentiment"] in SENTIMENTS


def test_freeze_layers_stops_gradients_below_the_cut(tiny_model):
    from ulasan.artifact import load_torch_model
    from ulasan.config import Recipe
    from ulasan.training import _freeze

    model = load_torch_model(tiny_model)
    recipe = Recipe.model_validate({"name": "f", "data": {"train": [{"name": "records", "path": "x"}]},
                                    "train": {"freeze_layers": 1}})
    _freeze(model, recipe)
    layers = model.encoder.encoder.layer
    assert len(layers) == 2
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert all(p.requires_grad for p in layers[1].parameters())
    assert model.sentiment_head.weight.requires_grad


def test_encoder_layers_keeps_the_lowest_pretrained_layers(tiny_model):
    import torch

    from ulasan.base_model import PACKAGED_E5, resolve_base_model
    from ulasan.config import Settings
    from ulasan.model import ReviewClassifier

    base = resolve_base_model(PACKAGED_E5, Settings().home)
    whole = ReviewClassifier.from_pretrained_encoder(base, 0.1)
    lowest = ReviewClassifier.from_pretrained_encoder(base, 0.1, layers=3)
    assert len(lowest.encoder.encoder.layer) == 3 and lowest.encoder.config.num_hidden_layers == 3
    for kept, original in zip(lowest.encoder.encoder.layer.parameters(), whole.encoder.encoder.layer[:3].parameters()):
        assert torch.equal(kept, original)
    assert json.loads((tiny_model / "encoder" / "config.json").read_text())["num_hidden_layers"] == 2
    with pytest.raises(ValueError, match="only 12 layers"):
        ReviewClassifier.from_pretrained_encoder(base, 0.1, layers=13)


def test_a_recipe_freezing_every_kept_layer_is_refused():
    from pydantic import ValidationError

    from ulasan.config import Recipe

    with pytest.raises(ValidationError, match="would freeze all 4 encoder layers"):
        Recipe.model_validate({"name": "f", "data": {"train": [{"name": "records", "path": "x"}]},
                               "model": {"encoder_layers": 4}, "train": {"freeze_layers": 4}})


def test_recipe_overrides_from_the_command_line(tmp_path, tiny_train_file):
    from pydantic import ValidationError

    path = write_tiny_recipe(tmp_path, tiny_train_file)
    recipe = load_recipe(path, ["model.encoder_layers=6", "train.freeze_layers=2", "name=tiny-l6"])
    assert (recipe.model.encoder_layers, recipe.train.freeze_layers, recipe.name) == (6, 2, "tiny-l6")
    assert recipe.model.max_length == 48
    with pytest.raises(ValidationError, match="layres"):
        load_recipe(path, ["model.layres=6"])
    with pytest.raises(ValueError, match="section.key=value"):
        load_recipe(path, ["model.encoder_layers"])


def test_learning_rate_decays_to_zero_by_the_end_of_the_time_budget():
    from torch import nn, optim

    from ulasan.training import budgeted_linear_schedule

    used = {"budget": 0.0}
    optimizer = optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    scheduler = budgeted_linear_schedule(optimizer, warmup_steps=2, total_steps=100, budget_used=lambda: used["budget"])
    rates = []
    for budget in (0.0, 0.0, 0.0, 0.5, 0.9, 1.2):
        used["budget"] = budget
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(0.5)          # warming up
    assert rates[2] == pytest.approx(1 - 1 / 98)   # decaying by steps while the budget is unused
    assert rates[3:] == pytest.approx([0.5, 0.1, 0.0])


def test_prior_offsets_move_what_a_class_weighted_head_learned_to_the_prior():
    import numpy as np

    from ulasan.training import prior_offsets

    observed = ["neutral"] * 20 + ["positive"] * 30 + ["negative"] * 50
    shares = {"positive": 0.3, "neutral": 0.2, "negative": 0.5}
    power = 0.3
    learned = np.log([shares[label] ** (1 - power) for label in SENTIMENTS])   # what weighted CE teaches
    adjusted = learned + np.array(prior_offsets(SENTIMENTS, observed, {"neutral": 0.05}, power))
    probabilities = np.exp(adjusted) / np.exp(adjusted).sum()
    expected = {"positive": 0.95 * 0.3 / 0.8, "neutral": 0.05, "negative": 0.95 * 0.5 / 0.8}
    assert probabilities == pytest.approx([expected[label] for label in SENTIMENTS], abs=1e-3)
    assert prior_offsets(SENTIMENTS, observed, None, power) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("prior, problem", [
    ({"neutrall": 0.1}, "unknown labels \\['neutrall'\\]"),
    ({"neutral": 0.0}, "above 0 and at most 1"),
    ({"neutral": 0.6, "positive": 0.5}, "sum to less than 1"),
    ({"neutral": 0.2, "positive": 0.2, "negative": 0.2}, "must sum to 1"),
])
def test_a_bad_prior_is_refused_with_the_recipe(prior, problem):
    with pytest.raises(ValueError, match=problem):
        Recipe.model_validate({"name": "p", "data": {"train": [{"name": "records", "path": "x"}],
                                                      "sentiment_prior": prior}})


def test_surface_augmentation_rewrites_case_and_punctuation_only():
    import re

    from ulasan.augment import surface_augmented
    from ulasan.records import Example

    examples = [Example(text=f"Tipis bgt, jelek. Kecewa {i}!", sentiment="negative", cause="product_quality")
                for i in range(400)]
    first = surface_augmented(examples, 0.5, seed=13, epoch=0)
    assert first == surface_augmented(examples, 0.5, seed=13, epoch=0)
    assert first != surface_augmented(examples, 0.5, seed=13, epoch=1)
    changed = [a for a, b in zip(first, examples) if a.text != b.text]
    assert 120 < len(changed) < 280

    def words(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    assert all(words(a.text) == words(b.text) and (a.sentiment, a.cause) == (b.sentiment, b.cause)
               for a, b in zip(first, examples))
    assert surface_augmented(examples, 0.0, seed=13, epoch=0) == examples


def test_a_checkpoint_is_resumed_only_onto_the_same_data():
    from ulasan.records import Example
    from ulasan.training import _run_hash
    from ulasan.training_data import TrainingData

    recipe = Recipe.model_validate({"name": "r", "data": {"train": [{"name": "records", "path": "x"}]}})

    def data(*texts):
        return TrainingData([Example(text=t, sentiment="positive", source="s", origin="o") for t in texts], [], {})

    assert _run_hash(recipe, data("bagus", "mantap")) == _run_hash(recipe, data("bagus", "mantap"))
    assert _run_hash(recipe, data("bagus", "mantap")) != _run_hash(recipe, data("bagus", "rosak"))


def test_the_baseline_predicts_the_same_after_saving_and_loading(tmp_path):
    from ulasan.baseline import TfidfBaseline
    from ulasan.records import Example

    from conftest import corpus_records

    examples = [Example(text=r["text"], sentiment=r["sentiment"], cause=r["cause"]) for r in corpus_records(20)]
    baseline = TfidfBaseline.train(examples, seed=1)
    baseline.save(tmp_path / "baseline")
    texts = [example.text for example in examples]
    assert TfidfBaseline.load(tmp_path / "baseline").predict(texts) == baseline.predict(texts)


def test_evaluate_reports_a_model_on_its_validation_split_as_training_did(tiny_model, tmp_path, capsys):
    from ulasan.cli import main

    assert main(["evaluate", str(tiny_model), "validation", "--output", str(tmp_path / "eval")]) == 0
    printed = capsys.readouterr().out
    assert "precision" in printed and "recall" in printed and "ECE before -> after" in printed
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    at_training = json.loads((tiny_model / "metrics.json").read_text())["evaluations"]["validation"]
    for head in ("sentiment", "cause"):
        assert report["model"][head]["macro_f1"] == at_training["model"][head]["macro_f1"]
        assert report["baseline"][head]["macro_f1"] == at_training["baseline"][head]["macro_f1"]
    assert report["by_language"] and set(report["calibration"]) == {"sentiment", "cause"}
    assert (tmp_path / "eval" / "confusion-sentiment.png").stat().st_size > 1000


def test_predict_command_numbers_file_rows_and_names_the_skipped(tiny_model, tmp_path, capsys):
    from ulasan.cli import main

    (tmp_path / "reviews.csv").write_text("id,text\n1,Barang rosak teruk\n2,\n3,Mantap gan\n", encoding="utf-8")
    assert main(["predict", "Seller tak reply", "--file", str(tmp_path / "reviews.csv"), "--model", str(tiny_model)]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [(line.get("row"), line["text"]) for line in lines] == [
        (None, "Seller tak reply"), (2, "Barang rosak teruk"), (4, "Mantap gan")]
    assert "row 3: skipped" in captured.err
