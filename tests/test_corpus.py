"""The authored corpus: valid against the schema, free of duplicates and of shared-data texts, floors met."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ulasan.config import PROJECT_ROOT, Settings, SourceConfig
from ulasan.dedup import NearDuplicateIndex, find_duplicates
from ulasan.records import parse_record
from ulasan.schema import CAUSES, LANGUAGES, NEGATIVE, NEUTRAL, POSITIVE
from ulasan.sources import load_source, registry

CORPUS = PROJECT_ROOT / "data" / "corpus"
FIELDS = {"id", "text", "lang", "sentiment", "cause", "causes", "domain"}
DOMAINS = {"ecommerce", "courier", "telco_isp", "bank_ewallet", "food_restaurant", "hotel", "ride_hailing",
           "vehicle_service", "utility_government", "airline", "insurance"}


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    rows = []
    for file in sorted(CORPUS.glob("*.jsonl")):
        rows += [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def test_every_record_is_valid_against_the_schema(corpus):
    for row in corpus:
        assert set(row) == FIELDS, row["id"]
        example = parse_record(row, "corpus", row["id"])
        assert example.sentiment and example.cause and example.causes is not None, row["id"]
        assert row["lang"] in LANGUAGES[:3] and row["domain"] in DOMAINS, row["id"]
    assert len({row["id"] for row in corpus}) == len(corpus)


def test_no_exact_or_near_duplicates_within_the_corpus(corpus):
    pairs = find_duplicates([row["text"] for row in corpus], threshold=0.8)
    assert not pairs, [(corpus[a]["id"], corpus[b]["id"]) for a, b in pairs[:10]]


def test_no_text_from_shared_data_is_in_the_corpus(corpus):
    index = NearDuplicateIndex(0.8)
    for name, entry in registry().items():
        for split in entry["files"]:
            examples, _ = load_source(SourceConfig(name=name, split=split), Settings().data)
            for position, example in enumerate(examples):
                index.add(f"{name}:{split}#{position}", example.text)
    matches = [(row["id"], index.match(row["text"])) for row in corpus]
    assert not [m for m in matches if m[1]], [m for m in matches if m[1]][:10]


def test_size_language_and_label_floors(corpus):
    langs = Counter(row["lang"] for row in corpus)
    assert len(corpus) >= 4000
    assert langs["ms"] >= 0.45 * len(corpus) and langs["id"] >= 0.45 * len(corpus) and langs["mixed"] > 0
    for cause in CAUSES:
        primary = [row for row in corpus if row["cause"] == cause]
        assert len(primary) >= 300, cause
        for lang in ("ms", "id"):
            assert sum(row["lang"] == lang for row in primary) >= 120, (cause, lang)
    sentiments = Counter(row["sentiment"] for row in corpus)
    assert sentiments[POSITIVE] >= 600 and sentiments[NEUTRAL] >= 400 and sentiments[NEGATIVE] > 0
    assert sum(row["sentiment"] == POSITIVE and row["cause"] != "none" for row in corpus) >= 100
    assert sum(len(row["causes"]) > 1 for row in corpus) >= 200


def test_variety_of_domains_and_lengths(corpus):
    assert {row["domain"] for row in corpus} == DOMAINS
    words = [len(row["text"].split()) for row in corpus]
    assert min(words) == 3 and max(words) > 150
