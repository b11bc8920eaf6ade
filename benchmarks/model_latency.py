"""Forward-pass latency of a model's backends alone (no HTTP, no tokenising), for single reviews and batches.

    python benchmarks/model_latency.py --model models/quick [--rounds 4]

Times ``Classifier.forward`` on padded token batches of real review texts from ``$ULASAN_DATA`` (SmSA), for
every backend the artifact has (PyTorch, the fp32 ONNX model, the int8 ONNX model). Backends take turns within
each round, so that a machine that slows down mid-run slows all of them alike. Prints the median milliseconds
per call for each batch shape.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from ulasan.config import Settings, SourceConfig
from ulasan.predictor import ONNX_FP32, ONNX_INT8, Classifier
from ulasan.sources import load_source

SHAPES = ((1, "shortest"), (1, "median"), (8, "median"), (32, "median"))


def batches(classifier: Classifier, texts: list[str]) -> dict[str, dict]:
    """Padded input arrays per shape: one short review, one median-length review, and batches of median ones."""
    encoded = sorted(classifier.encode(texts), key=lambda e: len(e.input_ids))
    middle = len(encoded) // 2
    picked = {}
    for size, where in SHAPES:
        rows = encoded[:size] if where == "shortest" else encoded[middle:middle + size]
        picked[f"{size} x {where}"] = classifier.text_encoder.pad([e.input_ids for e in rows])
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/quick"))
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    backends = ["torch"] + [name for name, file in (("onnx", ONNX_FP32), ("onnx-int8", ONNX_INT8))
                            if (args.model / file).is_file()]
    classifiers = {name: Classifier(args.model, backend=name) for name in backends}
    examples, _ = load_source(SourceConfig(name="smsa", split="valid"), Settings().data)
    inputs = batches(classifiers["torch"], [e.text for e in examples[:400]])
    timings = {(name, shape): [] for name in backends for shape in inputs}
    for _ in range(args.rounds):
        for shape, arrays in inputs.items():
            calls = 40 if arrays["input_ids"].shape[0] == 1 else 6
            for name, classifier in classifiers.items():
                classifier.forward(arrays["input_ids"], arrays["attention_mask"])  # warm
                for _ in range(calls):
                    started = time.perf_counter()
                    classifier.forward(arrays["input_ids"], arrays["attention_mask"])
                    timings[(name, shape)].append(1000 * (time.perf_counter() - started))
    print(f"model: {args.model}; median ms per forward call, {args.rounds} rounds")
    print(f"{'batch (size x length)':<24} {'tokens':>6} " + " ".join(f"{name:>10}" for name in backends))
    for shape, arrays in inputs.items():
        cells = " ".join(f"{statistics.median(timings[(name, shape)]):>10.2f}" for name in backends)
        print(f"{shape:<24} {arrays['input_ids'].shape[1]:>6} {cells}")


if __name__ == "__main__":
    main()
