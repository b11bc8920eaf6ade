"""Named data sets: located under $ULASAN_DATA, verified by sha256, and mapped onto the label schema."""

from __future__ import annotations

import shutil

import pytest

from ulasan.config import Settings, SourceConfig
from ulasan.sources import DataSourceError, load_source
from ulasan.schema import NO_CAUSE, POOR_AFTER_SALES, PRICING

DATA = Settings().data


def _load(name, split):
    examples, problems = load_source(SourceConfig(name=name, split=split), DATA)
    assert not problems
    return examples


def test_smsa_is_sentiment_only():
    examples = _load("smsa", "valid")
    assert len(examples) == 1260
    assert {e.sentiment for e in examples} == {"positive", "neutral", "negative"}
    assert all(e.cause is None and e.causes is None for e in examples)


def test_prdect_is_binary_sentiment():
    examples = _load("prdect", "all")
    assert {e.sentiment for e in examples} == {"positive", "negative"} and len(examples) > 3000


def test_casa_maps_price_and_service_aspects():
    examples = _load("casa", "train")
    assert any(e.cause == PRICING for e in examples) and any(POOR_AFTER_SALES in e.causes for e in examples)
    assert all((e.cause == NO_CAUSE) == (e.causes == ()) for e in examples if e.cause is not None)


def test_gold_records_carry_both_heads():
    examples = _load("gold", "ms")
    assert len(examples) == 149 and all(e.sentiment and e.cause for e in examples)


def test_checksum_mismatch_is_refused(tmp_path):
    copy = tmp_path / "raw" / "indonlu-smsa"
    copy.mkdir(parents=True)
    shutil.copyfile(DATA / "raw/indonlu-smsa/valid_preprocess.tsv", copy / "valid_preprocess.tsv")
    with (copy / "valid_preprocess.tsv").open("a") as stream:
        stream.write("tambahan\tpositive\n")
    with pytest.raises(DataSourceError, match="sha256 of .* expected one of"):
        load_source(SourceConfig(name="smsa", split="valid"), tmp_path)


def test_missing_folder_names_the_download(tmp_path):
    with pytest.raises(DataSourceError, match="raw.githubusercontent.com/IndoNLP/indonlu"):
        load_source(SourceConfig(name="smsa", split="train"), tmp_path)


def test_silver_labels_fill_missing_causes_only():
    plain = _load("prdect", "all")
    silver, _ = load_source(SourceConfig(name="prdect", split="all", silver_min_precision=0.8), DATA)
    assert sum(e.cause is not None for e in silver) > 100
    assert all(e.cause is None for e in plain)
