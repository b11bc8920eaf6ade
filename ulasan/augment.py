"""Surface-form augmentation: rewrite letter case and punctuation, keep the words and the labels.

The authored corpus is tidier than real reviews, and a model trained on it
learns typography as a label cue (short, capitalised, comma-separated texts
were almost all positive, so "Tipis bgt, jelek" read as praise while "Tipis bgt
jelek" read as a complaint). Each epoch, a share of the training texts is
rewritten in one of the ways real reviewers type, so the model has to read the
words.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace

from ulasan.records import Example


def _lowercase(text: str) -> str:
    return text.lower()


def _uppercase(text: str) -> str:
    return text.upper()


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _stops_as_commas(text: str) -> str:
    return re.sub(r"\s*[.!]+\s+", ", ", text)


def _commas_as_stops(text: str) -> str:
    return re.sub(r"\s*,\s*", ". ", text)


def _unpunctuated(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[,.!?;]+", " ", text)).strip()


REWRITES: tuple[Callable[[str], str], ...] = (
    _lowercase, _uppercase, _capitalised, _stops_as_commas, _commas_as_stops, _unpunctuated)


def surface_augmented(examples: list[Example], share: float, seed: int, epoch: int) -> list[Example]:
    """The examples with ``share`` of their texts rewritten by a random surface rewrite, seeded per epoch."""
    if share <= 0:
        return list(examples)
    rng = random.Random(seed * 7919 + epoch)
    augmented = []
    for example in examples:
        if rng.random() < share:
            text = rng.choice(REWRITES)(example.text)
            example = replace(example, text=text) if text.strip() else example
        augmented.append(example)
    return augmented
