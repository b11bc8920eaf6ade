"""Batch scoring throughput and peak memory: plain transformers pipeline vs ulasan fp32 vs ulasan int8.

    python benchmarks/batch_throughput.py [--model models/quick] [--rows 5000]
    python benchmarks/batch_throughput.py --growth 2000 8000 32000     # peak RSS as the input grows

Real review texts come from ``$ULASAN_DATA`` (SmSA and PRDECT-ID). Each method
runs in its own process so that its peak RSS is its own:
- ``plain``: ``transformers.pipeline("feature-extraction")`` on the same
  fine-tuned encoder, default settings, then the model's heads on mean-pooled
  features;
- ``fp32`` / ``int8``: ``ulasan score`` on the fp32 / int8 ONNX model.
The int8 model is built in a scratch folder when the artifact has none.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ulasan.config import Settings, SourceConfig
from ulasan.sources import load_source


def real_texts(count: int) -> list[str]:
    """``count`` real review texts, SmSA and PRDECT-ID interleaved, repeated when more are asked for."""
    smsa, _ = load_source(SourceConfig(name="smsa", split="train"), Settings().data)
    prdect, _ = load_source(SourceConfig(name="prdect", split="all"), Settings().data)
    pool = [e.text for pair in zip(smsa, prdect) for e in pair]
    return [pool[i % len(pool)] for i in range(count)]


def scratch_model(model: Path, folder: Path) -> Path:
    """A folder of links to the artifact, with fp32 and int8 ONNX models built there if the artifact lacks them."""
    from ulasan.onnx_export import export_fp32, quantize_int8
    from ulasan.predictor import ONNX_FP32, ONNX_INT8

    for item in model.iterdir():
        (folder / item.name).symlink_to(item.resolve())
    if not (folder / ONNX_FP32).exists():
        export_fp32(folder)
    if not (folder / ONNX_INT8).exists():
        quantize_int8(folder)
    return folder


def run_plain(model: Path, texts: list[str]) -> None:
    """Score with a plain transformers feature-extraction pipeline plus the model's heads."""
    import torch
    from transformers import pipeline

    from ulasan.artifact import load_torch_model, load_tokenizer

    classifier = load_torch_model(model)
    extractor = pipeline("feature-extraction", model=classifier.encoder, tokenizer=load_tokenizer(model),
                         framework="pt", device="cpu")
    for features in extractor(texts, return_tensors=True, truncation=True, max_length=128):
        pooled = features.mean(dim=1)
        with torch.inference_mode():
            classifier.sentiment_head(pooled), classifier.cause_head(pooled), classifier.causes_head(pooled)


def run_ulasan(model: Path, texts: list[str], backend: str, workdir: Path) -> None:
    """Score with ``ulasan score`` on the given backend."""
    from ulasan.predictor import Classifier
    from ulasan.scoring import ScoreOptions, score_file

    source = workdir / f"input-{len(texts)}.jsonl"
    if not source.exists():
        source.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
                                  for i, t in enumerate(texts)), encoding="utf-8")
    score_file(Classifier(model, backend=backend, batch_size=64), source, workdir / f"out-{backend}-{len(texts)}.jsonl",
               ScoreOptions())


def child(args: argparse.Namespace) -> None:
    """Run one method and print its wall time as JSON (the parent samples its RSS)."""
    texts = real_texts(args.rows)
    started = time.time()
    if args.method == "plain":
        run_plain(args.model, texts)
    else:
        run_ulasan(args.model, texts, "onnx" if args.method == "fp32" else "onnx-int8", args.workdir)
    seconds = time.time() - started
    print(json.dumps({"method": args.method, "rows": args.rows, "seconds": round(seconds, 1),
                      "reviews_per_s": round(args.rows / seconds, 1)}))


def measure(method: str, model: Path, rows: int, workdir: Path) -> dict:
    """Run one method in a child process, sampling its RSS (ru_maxrss would carry this parent's peak across exec)."""
    import psutil

    command = [sys.executable, __file__, "--child", method, "--model", str(model), "--rows", str(rows),
               "--workdir", str(workdir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    result = json.loads(process.stdout.read().strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak / 2**20)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/quick"))
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--growth", type=int, nargs="*", help="row counts for the peak-RSS-vs-input-size run (int8)")
    parser.add_argument("--child", dest="method", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        return child(args)
    print(f"cores: {os.cpu_count()}; model: {args.model}")
    with tempfile.TemporaryDirectory() as scratch:
        model = scratch_model(args.model.resolve(), Path(scratch))
        if args.growth:
            for rows in args.growth:
                print(json.dumps(measure("int8", model, rows, Path(scratch))), flush=True)
            return
        results = [measure(method, model, args.rows, Path(scratch)) for method in ("plain", "fp32", "int8")]
    for result in results:
        print(json.dumps(result))
    plain = results[0]["reviews_per_s"]
    print(f"speed-up over plain: fp32 {results[1]['reviews_per_s'] / plain:.1f}x, int8 {results[2]['reviews_per_s'] / plain:.1f}x")


if __name__ == "__main__":
    main()
