"""The ``ulasan`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ulasan.config import PROJECT_ROOT, Settings, load_recipe

DEFAULT_MODEL = PROJECT_ROOT / "models" / "quick"
DEFAULT_SAMPLE = PROJECT_ROOT / "data" / "samples" / "reviews.jsonl"


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"data": args.data_dir} if getattr(args, "data_dir", None) else {}
    return Settings(**overrides)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a recipe into an artifact folder."""
    from ulasan.training import train

    train(load_recipe(args.config), args.output, _settings(args), skip_invalid=args.skip_invalid)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model artifact on a records file or a named set (``smsa:valid``, ``gold:ms``)."""
    from ulasan.artifact import BASELINE_FOLDER
    from ulasan.baseline import TfidfBaseline
    from ulasan.config import SourceConfig
    from ulasan.evaluation import evaluate, summary_table
    from ulasan.predictor import load
    from ulasan.records import InvalidRecordsError
    from ulasan.sources import load_source, registry

    name, _, split = args.data.partition(":")
    source = SourceConfig(name=name, split=split) if name in registry() else SourceConfig(name="records", path=args.data)
    examples, problems = load_source(source, _settings(args).data)
    if problems:
        raise InvalidRecordsError(problems)
    classifier = load(args.model)
    baseline_folder = Path(args.model) / BASELINE_FOLDER
    baseline = TfidfBaseline.load(baseline_folder) if baseline_folder.is_dir() else None
    output = args.output or Path(args.model) / "eval" / source.display_name().replace(":", "-").replace("/", "_")
    report = evaluate(classifier, examples, baseline, output, source.display_name())
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(summary_table(report))
    print(f"report and confusion matrices written to {output}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify texts given as arguments, or the text column of a file, and print JSON lines."""
    from ulasan.predictor import load
    from ulasan.tables import iter_rows

    texts = list(args.texts)
    if args.file:
        texts += [row.get(args.text_col) for _, row in iter_rows(args.file)]
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    classifier = load(args.model)
    for text, prediction in zip(texts, classifier.predict(texts)):
        print(json.dumps({"text": text, **prediction}, ensure_ascii=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Train the quick recipe if no model exists yet, then classify the bundled sample file."""
    if not (args.model / "ulasan.json").is_file():
        from ulasan.training import train

        print(f"no model at {args.model}: training the quick recipe first (about 10 minutes on 2 cores)")
        train(load_recipe(PROJECT_ROOT / "training" / "quick.toml"), args.model, _settings(args))
    from ulasan.predictor import load
    from ulasan.tables import iter_rows

    texts = [row["text"] for _, row in iter_rows(DEFAULT_SAMPLE)]
    for text, p in zip(texts, load(args.model).predict(texts)):
        causes = ",".join(p["causes"]) or "-"
        print(f"{p['sentiment']:<8} {p['cause'] or 'none':<24} {causes:<45} {p['confidence']:.2f} {p['lang']:<5} {text[:70]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="ulasan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune a model from a recipe")
    train.add_argument("--config", type=Path, required=True, help="recipe TOML, e.g. training/quick.toml")
    train.add_argument("--output", type=Path, required=True, help="artifact folder to write, e.g. models/quick")
    train.add_argument("--skip-invalid", action="store_true", help="set invalid records aside in rejects.jsonl")
    train.add_argument("--data-dir", type=Path, help="folder of the public and gold sets (default $ULASAN_DATA)")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a model on labelled data")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("data", help="a records file, or a named set such as smsa:valid or gold:ms")
    evaluate.add_argument("--output", type=Path, help="report folder (default <model>/eval/<data>)")
    evaluate.add_argument("--data-dir", type=Path)
    evaluate.set_defaults(run=cmd_evaluate)

    predict = commands.add_parser("predict", help="classify texts and print JSON lines")
    predict.add_argument("texts", nargs="*")
    predict.add_argument("--file", type=Path, help="a CSV/TSV/JSON Lines/Parquet file to classify")
    predict.add_argument("--text-col", default="text")
    predict.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    predict.set_defaults(run=cmd_predict)

    demo = commands.add_parser("demo", help="train the quick model if needed, then classify the sample file")
    demo.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    demo.add_argument("--data-dir", type=Path)
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ulasan`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        print(f"ulasan {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
