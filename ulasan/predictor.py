"""Predictions from a model artifact: ``ulasan.load(path).predict(texts)``.

Inference runs on ONNX Runtime when the artifact has an exported model
(``model.int8.onnx`` preferred, then ``model.onnx``), else on PyTorch. Texts
are tokenised once, sorted by length and run in dynamically padded batches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ulasan.artifact import ModelInfo, check_artifact, load_torch_model, load_tokenizer, read_info
from ulasan.language import detect_language
from ulasan.metrics import softmax
from ulasan.model import EncodedText, ReviewClassifier, TextEncoder
from ulasan.schema import CAUSE_OUTCOMES, CAUSES, NO_CAUSE, SENTIMENTS

ONNX_FP32, ONNX_INT8 = "model.onnx", "model.int8.onnx"
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
HEADS = ("sentiment", "cause", "causes")
Forward = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]


def torch_forward(model: ReviewClassifier) -> Forward:
    """A forward function running a PyTorch classifier."""
    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            outputs = model(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return {head: values.numpy() for head, values in outputs.items()}
    return forward


def onnx_forward(path: Path, threads: int = 0) -> Forward:
    """A forward function running an exported ONNX model on ONNX Runtime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        values = session.run(list(HEADS), {"input_ids": input_ids, "attention_mask": attention_mask})
        return dict(zip(HEADS, values))
    return forward


def batched_logits(forward: Forward, text_encoder: TextEncoder, encoded: list[EncodedText],
                   batch_size: int) -> dict[str, np.ndarray]:
    """Head logits for encoded texts, run in length-sorted, dynamically padded batches; input order kept."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    outputs: dict[str, np.ndarray] = {}
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        batch = text_encoder.pad([encoded[i].input_ids for i in rows])
        for head, values in forward(batch["input_ids"], batch["attention_mask"]).items():
            outputs.setdefault(head, np.zeros((len(encoded), values.shape[1]), dtype=np.float32))[rows] = values
    return outputs


class Classifier:
    """A loaded model that tags reviews with sentiment, causes and language."""

    def __init__(self, folder: Path, backend: str = "auto", batch_size: int = 32, threads: int = 0,
                 finished: bool = True):
        self.folder = Path(folder)
        check_artifact(self.folder, finished)
        self.info = read_info(self.folder)
        self.tokenizer = load_tokenizer(self.folder)
        self.text_encoder = TextEncoder(self.tokenizer, self.info.max_length, self.info.head_fraction, self.info.text_prefix)
        self.batch_size = batch_size
        self.backend = self._choose_backend(backend)
        if self.backend == "torch":
            if threads:
                torch.set_num_threads(threads)
            self.forward = torch_forward(load_torch_model(self.folder))
        else:
            self.forward = onnx_forward(self.folder / (ONNX_INT8 if self.backend == "onnx-int8" else ONNX_FP32), threads)

    def _choose_backend(self, backend: str) -> str:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        available = {"onnx-int8": (self.folder / ONNX_INT8).is_file(), "onnx": (self.folder / ONNX_FP32).is_file()}
        if backend == "auto":
            return next((name for name, present in available.items() if present), "torch")
        if backend != "torch" and not available[backend]:
            raise FileNotFoundError(f"{self.folder} has no {backend} model; run `ulasan export --onnx` first")
        return backend

    @property
    def model_version(self) -> str:
        """Version string of the loaded model."""
        return self.info.model_version

    def encode(self, texts: list[str]) -> list[EncodedText]:
        """Token ids of each text (head-and-tail truncated)."""
        return self.text_encoder.encode(list(texts))

    def logits(self, texts: list[str]) -> tuple[dict[str, np.ndarray], list[bool]]:
        """Raw head logits for each text (in input order), and which texts were truncated."""
        encoded = self.encode(texts)
        return batched_logits(self.forward, self.text_encoder, encoded, self.batch_size), [e.truncated for e in encoded]

    def predict_encoded(self, texts: list[str], encoded: list[EncodedText]) -> list[dict]:
        """Predictions for texts already encoded with :meth:`encode`."""
        if not texts:
            return []
        logits = batched_logits(self.forward, self.text_encoder, encoded, self.batch_size)
        return predictions_from_logits(logits, [e.truncated for e in encoded], [detect_language(t) for t in texts],
                                       self.info)

    def predict(self, texts: list[str]) -> list[dict]:
        """One prediction dict per text, in input order."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string: use predict([text])")
        texts = list(texts)
        return self.predict_encoded(texts, self.encode(texts))


def head_probabilities(head: str, logits: np.ndarray, info: ModelInfo, temperature: bool = True) -> np.ndarray:
    """Calibrated, prior-adjusted probabilities of a softmax head (``sentiment`` or ``cause``).

    The temperature calibrates the logits on the training mix (it is fitted there); the prior offsets then move
    the calibrated probabilities to the real label mix: softmax(logits / T + offsets). ``temperature=False``
    leaves the temperature out, for measuring what calibration changes.
    """
    offsets = np.asarray(getattr(info, f"{head}_offsets"), dtype=np.float32)
    scale = getattr(info, f"{head}_temperature") if temperature else 1.0
    return softmax(logits / scale + offsets)


def predictions_from_logits(logits: dict[str, np.ndarray], truncated: list[bool], langs: list[str],
                            info: ModelInfo) -> list[dict]:
    """Turn head logits into calibrated, labelled prediction dicts."""
    sentiment_probs = head_probabilities("sentiment", logits["sentiment"], info)
    cause_probs = head_probabilities("cause", logits["cause"], info)
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


def load(path: str | Path, backend: str = "auto") -> Classifier:
    """Load a model artifact folder for prediction."""
    return Classifier(Path(path), backend=backend)
