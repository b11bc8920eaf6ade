"""Exact and near-duplicate detection of texts (character 3-gram Jaccard, via MinHash LSH)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from datasketch import MinHash, MinHashLSH

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
NUM_PERM = 64


def normalise(text: str) -> str:
    """Lower-case, punctuation-free, single-spaced form of a text, used to compare texts."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def trigrams(text: str) -> set[str]:
    """Character 3-grams of the normalised text."""
    norm = normalise(text)
    return {norm[i:i + 3] for i in range(max(1, len(norm) - 2))}


def jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two sets."""
    return len(a & b) / len(a | b) if a or b else 1.0


class NearDuplicateIndex:
    """Texts indexed so that any text at or above a Jaccard threshold to one of them is found quickly."""

    def __init__(self, threshold: float = 0.8):
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=max(0.5, threshold - 0.15), num_perm=NUM_PERM)
        self._grams: dict[str, set[str]] = {}
        self._exact: dict[str, str] = {}

    def _minhash(self, grams: set[str]) -> MinHash:
        signature = MinHash(num_perm=NUM_PERM, seed=1)
        signature.update_batch([gram.encode("utf-8") for gram in grams])
        return signature

    def add(self, key: str, text: str) -> None:
        """Index a text under a unique key."""
        grams = trigrams(text)
        self._exact.setdefault(normalise(text), key)
        self._grams[key] = grams
        self._lsh.insert(key, self._minhash(grams))

    def match(self, text: str) -> str | None:
        """Key of an indexed text that duplicates this one (exactly or near), if any."""
        exact = self._exact.get(normalise(text))
        if exact is not None:
            return exact
        grams = trigrams(text)
        for key in self._lsh.query(self._minhash(grams)):
            if jaccard(grams, self._grams[key]) >= self.threshold:
                return key
        return None


def find_duplicates(texts: Iterable[str], threshold: float = 0.8) -> list[tuple[int, int]]:
    """Pairs (later index, earlier index) of texts that duplicate an earlier text."""
    index = NearDuplicateIndex(threshold)
    pairs = []
    for position, text in enumerate(texts):
        earlier = index.match(text)
        if earlier is None:
            index.add(str(position), text)
        else:
            pairs.append((position, int(earlier)))
    return pairs
