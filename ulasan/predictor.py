"""Predictions from a model artifact: ``ulasan.load(path).predict(texts)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ulasan.artifact import ModelInfo, load_artifact
from ulasan.language import detect_language
from ulasan.metrics import softmax
from ulasan.model import EncodedText, ReviewClassifier, TextEncoder
from ulasan.schema import CAUSE_OUTCOMES, CAUSES, NO_CAUSE, SENTIMENTS


class Classifier:
    """A loaded model that tags reviews with sentiment, causes and language."""

    def __init__(self, folder: Path, batch_size: int = 32):
        self.folder = Path(folder)
        self.model, self.tokenizer, self.info = load_artifact(self.folder)
        self.text_encoder = TextEncoder(self.tokenizer, self.info.max_length, self.info.head_fraction, self.info.text_prefix)
        self.batch_size = batch_size

    @property
    def model_version(self) -> str:
        """Version string of the loaded model."""
        return self.info.model_version

    def logits(self, texts: list[str]) -> tuple[dict[str, np.ndarray], list[bool]]:
        """Raw head logits for each text (in input order), and which texts were truncated."""
        encoded = self.text_encoder.encode(texts)
        return batched_logits(self.model, self.text_encoder, encoded, self.batch_size), [e.truncated for e in encoded]

    def predict(self, texts: list[str]) -> list[dict]:
        """One prediction dict per text, in input order."""
        if not texts:
            return []
        logits, truncated = self.logits(list(texts))
        return predictions_from_logits(logits, truncated, [detect_language(text) for text in texts], self.info)


def batched_logits(model: ReviewClassifier, text_encoder: TextEncoder, encoded: list[EncodedText],
                   batch_size: int) -> dict[str, np.ndarray]:
    """Head logits for encoded texts, run in length-sorted, dynamically padded batches; input order kept."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    outputs: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = text_encoder.pad([encoded[i].input_ids for i in rows])
            for head, values in model(**batch).items():
                outputs.setdefault(head, np.zeros((len(encoded), values.shape[1]), dtype=np.float32))[rows] = values.numpy()
    return outputs


def predictions_from_logits(logits: dict[str, np.ndarray], truncated: list[bool], langs: list[str],
                            info: ModelInfo) -> list[dict]:
    """Turn head logits into calibrated, labelled prediction dicts."""
    sentiment_probs = softmax(logits["sentiment"], info.sentiment_temperature)
    cause_probs = softmax(logits["cause"], info.cause_temperature)
    set_probs = 1.0 / (1.0 + np.exp(-logits["causes"]))
    results = []
    for row in range(len(truncated)):
        sentiment = SENTIMENTS[int(sentiment_probs[row].argmax())]
        outcome = CAUSE_OUTCOMES[int(cause_probs[row].argmax())]
        cause = None if outcome == NO_CAUSE else outcome
        causes = []
        if cause is not None:
            voiced = {c for c, p in zip(CAUSES, set_probs[row]) if p >= info.causes_threshold} | {cause}
            causes = sorted(voiced, key=lambda c: -cause_probs[row][CAUSE_OUTCOMES.index(c)])
        confidence = float(min(sentiment_probs[row].max(), cause_probs[row].max()))
        results.append({
            "sentiment": sentiment,
            "sentiment_scores": {label: round(float(p), 4) for label, p in zip(SENTIMENTS, sentiment_probs[row])},
            "cause": cause,
            "cause_scores": {label: round(float(p), 4) for label, p in zip(CAUSE_OUTCOMES, cause_probs[row])},
            "causes": causes,
            "lang": langs[row],
            "truncated": bool(truncated[row]),
            "model_version": info.model_version,
            "confidence": round(confidence, 4),
            "uncertain": confidence < info.uncertain_below,
        })
    return results


def load(path: str | Path) -> Classifier:
    """Load a model artifact folder for prediction."""
    return Classifier(Path(path))
