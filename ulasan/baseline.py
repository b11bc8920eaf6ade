"""TF-IDF + logistic-regression baseline, trained on the same records as the transformer.

It is stored inside the model artifact without pickle (vocabulary as JSON,
weights as safetensors) so that ``ulasan evaluate`` reports it side by side.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ulasan.records import Example
from ulasan.schema import CAUSE_OUTCOMES, SENTIMENTS

HEADS = {"sentiment": SENTIMENTS, "cause": CAUSE_OUTCOMES}
_VECTORIZER = dict(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=150_000)


class TfidfBaseline:
    """A character n-gram TF-IDF vectoriser with one logistic regression per head."""

    def __init__(self, vectorizer: TfidfVectorizer, heads: dict[str, LogisticRegression]):
        self.vectorizer = vectorizer
        self.heads = heads

    @classmethod
    def train(cls, examples: list[Example], seed: int) -> TfidfBaseline:
        """Fit the vectoriser on all texts and each head on the records labelled for it."""
        vectorizer = TfidfVectorizer(**_VECTORIZER).fit([example.text for example in examples])
        heads = {}
        for head in HEADS:
            labelled = [example for example in examples if getattr(example, head) is not None]
            targets = [getattr(example, head) for example in labelled]
            if len(set(targets)) < 2:
                continue
            model = LogisticRegression(max_iter=2000, class_weight="balanced", C=4.0, random_state=seed)
            heads[head] = model.fit(vectorizer.transform([example.text for example in labelled]), targets)
        return cls(vectorizer, heads)

    def predict(self, texts: list[str]) -> dict[str, list[str]]:
        """Predicted label per text for each trained head."""
        features = self.vectorizer.transform(texts)
        return {head: list(model.predict(features)) for head, model in self.heads.items()}

    def save(self, folder: Path) -> None:
        """Write the vocabulary (JSON) and weights (safetensors) into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        vocabulary = {term: int(index) for term, index in self.vectorizer.vocabulary_.items()}
        meta = {"heads": {head: list(map(str, model.classes_)) for head, model in self.heads.items()}}
        (folder / "vocabulary.json").write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
        (folder / "baseline.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        tensors = {"idf": self.vectorizer.idf_.astype(np.float64)}
        for head, model in self.heads.items():
            tensors[f"{head}.coef"] = model.coef_
            tensors[f"{head}.intercept"] = model.intercept_
        # safetensors writes an array's memory as it lies; scikit-learn's coef_ is column-major, so without this
        # the weights would be read back transposed in memory, scrambled
        save_file({name: np.ascontiguousarray(tensor) for name, tensor in tensors.items()},
                  str(folder / "weights.safetensors"))

    @classmethod
    def load(cls, folder: Path) -> TfidfBaseline:
        """Rebuild a saved baseline from its JSON vocabulary and safetensors weights."""
        vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        meta = json.loads((folder / "baseline.json").read_text(encoding="utf-8"))
        tensors = load_file(str(folder / "weights.safetensors"))
        vectorizer = TfidfVectorizer(**{**_VECTORIZER, "min_df": 1, "max_features": None}, vocabulary=vocabulary)
        vectorizer.fit([""])  # binds the fixed vocabulary; the learnt idf replaces the dummy one below
        vectorizer.idf_ = tensors["idf"]
        heads = {}
        for head, classes in meta["heads"].items():
            model = LogisticRegression()
            model.classes_ = np.array(classes)
            model.coef_ = tensors[f"{head}.coef"]
            model.intercept_ = tensors[f"{head}.intercept"]
            heads[head] = model
        return cls(vectorizer, heads)
