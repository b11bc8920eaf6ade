"""Shared fixtures: small real training data and a tiny model trained once per test session."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from ulasan.config import PROJECT_ROOT, Settings, load_recipe

CORPUS = PROJECT_ROOT / "data" / "corpus"


def write_tiny_recipe(folder: Path, train_path: Path, seed: int = 7, max_steps: int = 6, extra: str = "") -> Path:
    """A recipe of a few steps on a few records, written as TOML."""
    path = folder / f"tiny-{seed}.toml"
    path.write_text(f"""
name = "tiny"
seed = {seed}
[model]
max_length = 48
encoder_layers = 2
[data]
train = [{{ name = "records", path = "{train_path}" }}]
validation_fraction = 0.2
{extra}
[train]
epochs = 1
batch_size = 8
max_steps = {max_steps}
checkpoint_every_steps = 2
surface_noise = 0.3
""", encoding="utf-8")
    return path


def corpus_records(count_per_file: int) -> list[dict]:
    """The first records of each corpus file: real, shipped, labelled data."""
    records = []
    for file in sorted(CORPUS.glob("*.jsonl")):
        with file.open(encoding="utf-8") as stream:
            records += [json.loads(line) for line in itertools.islice(stream, count_per_file)]
    return records


@pytest.fixture(scope="session")
def tiny_train_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus_records(12)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_train_file) -> Path:
    """A model trained for a few steps; its artifact folder."""
    from ulasan.training import train

    folder = tmp_path_factory.mktemp("tiny")
    recipe = load_recipe(write_tiny_recipe(folder, tiny_train_file))
    return train(recipe, folder / "model", Settings())
