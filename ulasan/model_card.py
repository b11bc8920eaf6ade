"""The model card (``README.md``) written into every artifact."""

from __future__ import annotations

from pathlib import Path

from ulasan.schema import CAUSE_LIST, SCHEMA_VERSION


def _metrics_rows(evaluations: dict) -> list[str]:
    rows = ["| set | n | sentiment macro-F1 (baseline) | cause macro-F1 (baseline) | cause-set macro-F1 |",
            "|---|---|---|---|---|"]
    for name, report in evaluations.items():
        cells = []
        for head in ("sentiment", "cause"):
            model = report["model"].get(head, {}).get("macro_f1")
            baseline = report.get("baseline", {}).get(head, {}).get("macro_f1")
            cells.append("-" if model is None else f"{model:.3f} ({baseline:.3f})" if baseline is not None else f"{model:.3f}")
        cause_set = report["model"].get("causes", {}).get("macro_f1")
        rows.append(f"| {name} | {report['n']} | {cells[0]} | {cells[1]} | {'-' if cause_set is None else f'{cause_set:.3f}'} |")
    return rows


def write_model_card(folder: Path, metrics: dict) -> None:
    """Write ``README.md``: data sources and counts, metrics, intended use and limitations."""
    recipe = metrics["recipe"]
    data_rows = ["| source | loaded | invalid | in evaluation sets | duplicates | train | validation |",
                 "|---|---|---|---|---|---|---|"]
    for name, stats in metrics["data"].items():
        data_rows.append(f"| {name} | {stats['loaded']} | {stats['invalid']} | {stats['overlap_with_evaluation']} | "
                         f"{stats['duplicates']} | {stats['train']} | {stats['validation']} |")
    causes = "\n".join(f"- `{c.key}`: {c.definition} (ms: {c.name_ms}; id: {c.name_id})" for c in CAUSE_LIST)
    text = f"""# ulasan model `{metrics['model_version']}`

Sentiment and dissatisfaction-cause classifier for Malay and Indonesian customer reviews,
fine-tuned from `{recipe['model']['base']}` with the `{recipe['name']}` recipe (label schema {SCHEMA_VERSION}).

## Labels
Sentiment: positive, neutral, negative. Primary cause: `none` (no complaint) or one of:
{causes}

## Data
Duplicates and near-duplicates (character 3-gram Jaccard >= {recipe['data']['near_duplicate_threshold']}) were
removed across sources, and every training text that also appears in an evaluation set was removed.

{chr(10).join(data_rows)}

Training labels: {metrics['train_labels']}

## Metrics
Macro-F1 of this model, with the TF-IDF + logistic-regression baseline trained on the same records in brackets.
The validation split was used for early stopping and temperature scaling; the other sets were not used for any choice.

{chr(10).join(_metrics_rows(metrics['evaluations']))}

Per-label precision/recall/F1, per-language breakdowns and calibration (ECE before and after temperature
scaling) are in `metrics.json`; confusion matrices in `eval/`.

## Intended use
Tagging customer reviews and complaints written in Malay or Indonesian (colloquial, code-mixed with English) with
sentiment and the cause of dissatisfaction, to count and trend causes across many reviews.

## Limitations
- Rare causes are learned mostly from an authored corpus; real complaints are about 75% product quality, and
  per-review predictions of rare causes should be checked before acting on a single review.
- The base weights went through 4-bit quantisation before fine-tuning.
- Texts longer than {recipe['model']['max_length']} tokens keep only their head and tail (flagged `truncated`).
- Language (`lang`) comes from cue words, not from the model; short texts with no cue are taken as Indonesian.
- Not for decisions about individual people.
"""
    (folder / "README.md").write_text(text, encoding="utf-8")
