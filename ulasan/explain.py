"""Word-level explanations by occlusion: how much each word pushed the predicted labels.

A word's weight for a head is the drop in the calibrated probability of the
predicted label when that word is removed from the text. Positive weights
pushed towards the label, negative ones away from it. The cost is one extra
forward pass per word (up to ``MAX_WORDS``), run as one batch.
"""

from __future__ import annotations

import re

from ulasan.predictor import Classifier, head_probabilities
from ulasan.schema import CAUSE_OUTCOMES, NO_CAUSE, SENTIMENTS

MAX_WORDS = 64
_WORD = re.compile(r"\S+")


def explain(classifier: Classifier, text: str, prediction: dict, top: int = 8) -> dict[str, list[dict]]:
    """The words that moved the predicted sentiment and cause most, with their weights."""
    words = list(_WORD.finditer(text))[:MAX_WORDS]
    if not words:
        return {"sentiment": [], "cause": []}
    variants = [text] + [(text[:w.start()] + text[w.end():]).strip() or "." for w in words]
    logits, _ = classifier.logits(variants)
    targets = {
        "sentiment": (head_probabilities("sentiment", logits["sentiment"], classifier.info),
                      SENTIMENTS.index(prediction["sentiment"])),
        "cause": (head_probabilities("cause", logits["cause"], classifier.info),
                  CAUSE_OUTCOMES.index(prediction["cause"] or NO_CAUSE)),
    }
    explanation = {}
    for head, (probabilities, label) in targets.items():
        weights = [(float(probabilities[0, label] - probabilities[i + 1, label]), w) for i, w in enumerate(words)]
        ranked = sorted(weights, key=lambda item: -abs(item[0]))[:top]
        explanation[head] = [{"word": w.group(), "start": w.start(), "end": w.end(), "weight": round(weight, 4)}
                             for weight, w in ranked if abs(weight) >= 0.005]
    return explanation
