"""The ``ulasan`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ulasan.config import PROJECT_ROOT, Settings, load_recipe
from ulasan.predictor import BACKENDS
from ulasan.tables import FORMATS

DEFAULT_MODEL = PROJECT_ROOT / "models" / "quick"
DEFAULT_SAMPLE = PROJECT_ROOT / "data" / "samples" / "reviews.jsonl"


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"data": args.data_dir} if getattr(args, "data_dir", None) else {}
    return Settings(**overrides)


VALIDATION_SPLIT = "validation"


def _labelled_source(argument: str):
    """A named set (``smsa:valid``, ``gold:ms``) or a records path, as a source config."""
    from ulasan.config import SourceConfig
    from ulasan.sources import registry

    name, _, split = argument.partition(":")
    if name in registry():
        return SourceConfig(name=name, split=split or "train")
    return SourceConfig(name="records", path=argument)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a recipe into an artifact folder."""
    from ulasan.training import train

    train(load_recipe(args.config, args.set), args.output, _settings(args), skip_invalid=args.skip_invalid)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model artifact on a records file, a named set (``smsa:valid``, ``gold:ms``) or its validation split."""
    from ulasan.artifact import BASELINE_FOLDER
    from ulasan.baseline import TfidfBaseline
    from ulasan.evaluation import evaluate, summary_table
    from ulasan.predictor import load

    name, examples = _evaluation_examples(args)
    classifier = load(args.model)
    baseline_folder = Path(args.model) / BASELINE_FOLDER
    baseline = TfidfBaseline.load(baseline_folder) if baseline_folder.is_dir() else None
    output = args.output or Path(args.model) / "eval" / name.replace(":", "-").replace("/", "_")
    report = evaluate(classifier, examples, baseline, output, name)
    output.mkdir(parents=True, exist_ok=True)
    (output / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(summary_table(report))
    print(f"report and confusion matrices written to {output}")
    return 0


def _evaluation_examples(args: argparse.Namespace) -> tuple[str, list]:
    """The name and the labelled examples of the data ``ulasan evaluate`` was given."""
    from ulasan.records import InvalidRecordsError
    from ulasan.sources import load_source
    from ulasan.training_data import artifact_validation_split

    if args.data == VALIDATION_SPLIT:
        return VALIDATION_SPLIT, artifact_validation_split(args.model, _settings(args).data)
    source = _labelled_source(args.data)
    examples, problems = load_source(source, _settings(args).data)
    if problems:
        raise InvalidRecordsError(problems)
    return source.display_name(), examples


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify texts given as arguments, or the text column of a file, and print JSON lines.

    A file's rows carry their ``row`` number; rows without text are named on stderr and skipped.
    """
    from ulasan.predictor import load
    from ulasan.tables import BadRow, check_text_column, iter_rows

    inputs = [({"text": text}, text) for text in args.texts if text.strip()]
    if args.file:
        check_text_column(args.file, args.text_col, args.format)
        for number, row in iter_rows(args.file, args.format):
            text = None if isinstance(row, BadRow) else row.get(args.text_col)
            if isinstance(text, str) and text.strip():
                inputs.append(({"row": number, "text": text}, text))
            else:
                print(f"row {number}: skipped, no text in column {args.text_col!r}", file=sys.stderr)
    classifier = load(args.model)
    for (echo, _), prediction in zip(inputs, classifier.predict([text for _, text in inputs])):
        print(json.dumps({**echo, **prediction}, ensure_ascii=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Train the quick recipe if no model exists yet, then classify the bundled sample file."""
    if not (args.model / "ulasan.json").is_file():
        from ulasan.training import train

        settings = _settings(args)
        print(f"no model at {args.model}: training the quick recipe first (about 10 minutes on 2 cores)")
        train(load_recipe(PROJECT_ROOT / "training" / "quick.toml"), args.model, settings)
        print("exporting it to ONNX Runtime, the fast path of scoring and serving (about 2 minutes)")
        export_onnx(args.model, int8=True, data=None, settings=settings)
    from ulasan.predictor import load
    from ulasan.tables import iter_rows

    texts = [row["text"] for _, row in iter_rows(DEFAULT_SAMPLE)]
    for text, p in zip(texts, load(args.model).predict(texts)):
        causes = ",".join(p["causes"]) or "-"
        print(f"{p['sentiment']:<8} {p['cause'] or 'none':<24} {causes:<45} {p['confidence']:.2f} {p['lang']:<5} {text[:70]}")
    return 0


def cmd_label_suggest(args: argparse.Namespace) -> int:
    """Write each input row with silver labels and the labelling functions that fired."""
    from ulasan.tables import BadRow, TableWriter, check_text_column, iter_rows
    from ulasan.weak_labels import suggest, trusted_functions

    check_text_column(args.input, args.text_col)
    allowed = trusted_functions(args.min_precision) if args.min_precision is not None else None
    counts = {"rows": 0, "labelled": 0, "skipped": 0}
    with TableWriter(args.output) as writer:
        batch = []
        for number, row in iter_rows(args.input):
            text = None if isinstance(row, BadRow) else row.get(args.text_col)
            if not isinstance(text, str) or not text.strip():
                counts["skipped"] += 1
                print(f"row {number}: skipped, no text in column {args.text_col!r}", file=sys.stderr)
                continue
            silver = suggest(text, allowed)
            counts["rows"] += 1
            counts["labelled"] += silver.cause is not None or silver.sentiment is not None
            batch.append({**row, "silver_sentiment": silver.sentiment, "silver_cause": silver.cause,
                          "silver_causes": list(silver.causes), "rules_fired": list(silver.rules)})
            if len(batch) >= 1000:
                writer.write(batch)
                batch = []
        writer.write(batch)
    print(f"{counts['rows']} rows written to {args.output}; {counts['labelled']} got a silver label, "
          f"{counts['skipped']} skipped")
    return 0


def cmd_label_export(args: argparse.Namespace) -> int:
    """Write Label Studio tasks with the model's pre-annotations, most uncertain first."""
    from ulasan.label_studio import build_tasks, write_tasks
    from ulasan.predictor import load
    from ulasan.tables import BadRow, check_text_column, iter_rows

    check_text_column(args.input, args.text_col)
    numbered = [(number, row) for number, row in iter_rows(args.input)
                if not isinstance(row, BadRow) and isinstance(row.get(args.text_col), str) and row[args.text_col].strip()]
    rows = [{**row, "text": row[args.text_col]} for _, row in numbered]
    predictions = load(args.model).predict([row["text"] for row in rows])
    config = write_tasks(build_tasks(rows, predictions, args.id_col, [number for number, _ in numbered]), args.output)
    print(f"{len(rows)} tasks written to {args.output}, most uncertain first; labelling interface: {config}")
    return 0


def cmd_label_import(args: argparse.Namespace) -> int:
    """Turn a Label Studio JSON export into validated training records (JSON Lines)."""
    from ulasan.label_studio import records_from_export
    from ulasan.records import write_rejects
    from ulasan.tables import TableWriter

    try:
        export = json.loads(args.input.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{args.input} is not JSON ({error}); export the project from Label Studio as JSON") from None
    records, problems = records_from_export(export, str(args.input))
    with TableWriter(args.output) as writer:
        writer.write(records)
    print(f"{len(records)} records written to {args.output}")
    if problems:
        rejects = args.output.with_name(args.output.stem + ".rejects.jsonl")
        write_rejects(problems, rejects)
        for problem in problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        print(f"{len(problems)} task(s) not imported; see {rejects}", file=sys.stderr)
        return 1
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export an ONNX model (and optionally int8) beside the artifact, with an int8 parity check."""
    if not args.onnx:
        raise ValueError("choose an export format: --onnx")
    return export_onnx(args.model, args.int8, args.data, _settings(args))


def export_onnx(model: Path, int8: bool, data: str | None, settings: Settings) -> int:
    """Write ``model.onnx`` and, with ``int8``, ``model.int8.onnx`` if it passes the parity check (exit code 1 if not)."""
    from ulasan.onnx_export import export_fp32, parity_check, quantize_int8
    from ulasan.sources import load_source
    from ulasan.training_data import artifact_validation_split

    print(f"exported {export_fp32(model)}")
    if not int8:
        return 0
    int8_path = quantize_int8(model)
    if data:
        examples, _ = load_source(_labelled_source(data), settings.data)
    else:
        examples = artifact_validation_split(model, settings.data)
    parity = parity_check(model, examples)
    print(f"int8 vs fp32 parity on {len(examples)} validation texts:")
    print(parity.table())
    if not parity.passed:
        int8_path.unlink()
        print(f"{int8_path.name} removed: it does not meet the parity bar", file=sys.stderr)
        return 1
    print(f"exported {int8_path}; scoring and serving use it from now on")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score a review file; exit 0 when every row was scored, 3 when some were quarantined."""
    from ulasan.predictor import Classifier
    from ulasan.scoring import ScoreOptions

    options = ScoreOptions(text_col=args.text_col, id_col=args.id_col, input_format=args.format,
                           output_format=args.output_format, part_rows=args.part_rows, max_chars=args.max_chars)
    if args.engine == "ray":
        from ulasan.distributed import score_with_ray

        summary = score_with_ray(args.model, args.input, args.output, options, args.ray_address, args.actors,
                                 args.batch_size)
    else:
        from ulasan.scoring import score_file

        classifier = Classifier(args.model, backend=args.backend, batch_size=args.batch_size)
        summary = score_file(classifier, args.input, args.output, options, restart=args.restart)
    print_summary(summary)
    return 3 if summary["quarantined"] else 0


def print_summary(summary: dict) -> None:
    """Print a scoring summary: counts, labels, time."""
    print(f"{summary['rows_in']} rows: {summary['scored']} scored, {summary['quarantined']} quarantined"
          + (f" (see {summary['quarantine']})" if summary["quarantined"] else ""))
    for name, counts in summary["by_label"].items():
        print(f"  {name}: " + ", ".join(f"{label} {count}" for label, count in counts.items()))
    if summary.get("seconds") is not None:
        print(f"  {summary['seconds']:.1f} s, {summary['rows_per_second']} rows/s -> {summary['output']}")


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the HTTP API under uvicorn."""
    from ulasan.config import ServerSettings
    from ulasan.server import serve

    overrides = {name: getattr(args, name) for name in ("model", "host", "port", "workers", "backend")
                 if getattr(args, name) is not None}
    serve(ServerSettings(**overrides))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the insight report of a scored file."""
    from ulasan.report import ReportOptions, write_report

    options = ReportOptions(date_col=args.date_col, rating_col=args.rating_col, group_col=args.group_col,
                            text_col=args.text_col)
    print(f"report written to {write_report(args.scored, args.output, options, args.reference)}")
    return 0


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def share(value: str) -> float:
    """An argparse type: a number from 0 to 1."""
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="ulasan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune a model from a recipe")
    train.add_argument("--config", type=Path, required=True, help="recipe TOML, e.g. training/quick.toml")
    train.add_argument("--output", type=Path, required=True, help="artifact folder to write, e.g. models/quick")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one recipe value, e.g. --set model.encoder_layers=6 (repeatable)")
    train.add_argument("--skip-invalid", action="store_true", help="set invalid records aside in rejects.jsonl")
    train.add_argument("--data-dir", type=Path, help="folder of the public and gold sets (default $ULASAN_DATA)")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a model on labelled data")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("data", help="a records file, a named set such as smsa:valid or gold:ms, or "
                                       f"{VALIDATION_SPLIT!r}: the model's own validation split, rebuilt from its recipe")
    evaluate.add_argument("--output", type=Path, help="report folder (default <model>/eval/<data>)")
    evaluate.add_argument("--data-dir", type=Path)
    evaluate.set_defaults(run=cmd_evaluate)

    predict = commands.add_parser("predict", help="classify texts and print JSON lines")
    predict.add_argument("texts", nargs="*")
    predict.add_argument("--file", type=Path, help="a CSV/TSV/JSON Lines/Parquet file to classify")
    predict.add_argument("--text-col", default="text")
    predict.add_argument("--format", choices=FORMATS, help="the file's format (default: from its extension)")
    predict.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    predict.set_defaults(run=cmd_predict)

    demo = commands.add_parser("demo", help="train the quick model if needed, then classify the sample file")
    demo.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    demo.add_argument("--data-dir", type=Path)
    demo.set_defaults(run=cmd_demo)

    score = commands.add_parser("score", help="score a CSV/TSV/JSON Lines/Parquet file of reviews")
    score.add_argument("input", type=Path)
    score.add_argument("-o", "--output", type=Path, required=True)
    score.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    score.add_argument("--text-col", default="text")
    score.add_argument("--id-col", default="id")
    score.add_argument("--format", choices=FORMATS, help="input format (default: from the extension)")
    score.add_argument("--output-format", choices=FORMATS, help="output format (default: from the extension)")
    score.add_argument("--backend", choices=BACKENDS, default="auto", help="auto: int8 ONNX, else ONNX, else torch")
    score.add_argument("--batch-size", type=positive_int, default=64)
    score.add_argument("--part-rows", type=positive_int, default=2048, help="rows per checkpointed part")
    score.add_argument("--max-chars", type=positive_int, default=20_000, help="longer texts are quarantined")
    score.add_argument("--restart", action="store_true",
                       help="discard the parts of an earlier, unfinished run with other inputs or options")
    score.add_argument("--engine", choices=["local", "ray"], default="local")
    score.add_argument("--ray-address", help="address of an existing Ray cluster (default: start a local one)")
    score.add_argument("--actors", type=positive_int, default=2, help="model actors in the Ray pool")
    score.set_defaults(run=cmd_score)

    report = commands.add_parser("report", help="an HTML insight report from a scored file")
    report.add_argument("scored", type=Path, help="a file written by `ulasan score`")
    report.add_argument("-o", "--output", type=Path, required=True, help="the HTML file to write")
    report.add_argument("--date-col", help="column of review dates, for trends")
    report.add_argument("--rating-col", help="column of star ratings, for key drivers")
    report.add_argument("--group-col", help="column to break results down by (product category, store, ...)")
    report.add_argument("--text-col", default="text")
    report.add_argument("--reference", type=Path, help="an earlier scored file to test for drift against")
    report.set_defaults(run=cmd_report)

    serve = commands.add_parser("serve", help="start the HTTP API (settings also from ULASAN_* variables)")
    serve.add_argument("--model", type=Path)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--backend", choices=BACKENDS)
    serve.set_defaults(run=cmd_serve)

    export = commands.add_parser("export", help="export an ONNX Runtime model beside the artifact")
    export.add_argument("model", type=Path)
    export.add_argument("--onnx", action="store_true", help="write model.onnx")
    export.add_argument("--int8", action="store_true", help="also write model.int8.onnx, if it passes the parity check")
    export.add_argument("--data", help="labelled data for the parity check (default: the model's validation split)")
    export.add_argument("--data-dir", type=Path)
    export.set_defaults(run=cmd_export)

    label = commands.add_parser("label", help="weak labels and the Label Studio labelling loop")
    label_commands = label.add_subparsers(dest="label_command", required=True)
    suggest = label_commands.add_parser("suggest", help="silver labels from labelling functions")
    suggest.add_argument("input", type=Path)
    suggest.add_argument("-o", "--output", type=Path, required=True)
    suggest.add_argument("--text-col", default="text")
    suggest.add_argument("--min-precision", type=share, help="use only functions of at least this measured precision")
    suggest.set_defaults(run=cmd_label_suggest)
    tasks = label_commands.add_parser("export", help="Label Studio tasks with pre-annotations")
    tasks.add_argument("input", type=Path)
    tasks.add_argument("-o", "--output", type=Path, required=True)
    tasks.add_argument("--format", choices=["label-studio"], default="label-studio")
    tasks.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    tasks.add_argument("--text-col", default="text")
    tasks.add_argument("--id-col", default="id")
    tasks.set_defaults(run=cmd_label_export)
    import_ = label_commands.add_parser("import", help="Label Studio JSON export to training records")
    import_.add_argument("input", type=Path)
    import_.add_argument("-o", "--output", type=Path, required=True)
    import_.set_defaults(run=cmd_label_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ulasan`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, RuntimeError, OSError) as error:  # OSError: missing, unreadable or clashing paths
        print(f"ulasan {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
