"""Evaluation of a model (and its TF-IDF baseline) on labelled records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from ulasan.baseline import TfidfBaseline
from ulasan.language import detect_language
from ulasan.metrics import expected_calibration_error, head_report, plot_confusion
from ulasan.predictor import Classifier, head_probabilities, predictions_from_logits
from ulasan.records import Example
from ulasan.schema import CAUSE_OUTCOMES, CAUSES, NO_CAUSE, SENTIMENTS

LABELS = {"sentiment": SENTIMENTS, "cause": CAUSE_OUTCOMES}


def _primary(prediction: dict) -> str:
    return prediction["cause"] or NO_CAUSE


def evaluate(classifier: Classifier, examples: list[Example], baseline: TfidfBaseline | None = None,
             plots_folder: Path | None = None, name: str = "data") -> dict:
    """Per-head, per-language and calibration metrics of the model, and the baseline's side by side."""
    if not examples:
        raise ValueError(f"{name} has no records to evaluate")
    texts = [example.text for example in examples]
    logits, truncated = classifier.logits(texts)
    langs = [example.lang or detect_language(example.text) for example in examples]
    predictions = predictions_from_logits(logits, truncated, langs, classifier.info)
    predicted = {"sentiment": [p["sentiment"] for p in predictions], "cause": [_primary(p) for p in predictions]}
    report = {"name": name, "n": len(examples), "truncated": int(sum(truncated)), "model": {}, "calibration": {},
              "by_language": {}}
    for head, labels in LABELS.items():
        rows = [i for i, example in enumerate(examples) if getattr(example, head) is not None]
        if not rows:
            continue
        y_true = [getattr(examples[i], head) for i in rows]
        report["model"][head] = head_report(y_true, [predicted[head][i] for i in rows], labels)
        report["calibration"][head] = _calibration(head, logits[head][rows], y_true, labels, classifier)
        if plots_folder is not None:
            plot_confusion(y_true, [predicted[head][i] for i in rows], labels, f"{name}: {head}",
                           plots_folder / f"confusion-{head}.png")
        for lang in sorted(set(langs[i] for i in rows)):
            lang_rows = [i for i in rows if langs[i] == lang]
            report["by_language"].setdefault(lang, {})[head] = head_report(
                [getattr(examples[i], head) for i in lang_rows], [predicted[head][i] for i in lang_rows], labels
            )
    report["model"].update(_cause_set_report(examples, predictions))
    if baseline is not None:
        report["baseline"] = _baseline_report(baseline, examples)
    return report


def _calibration(head: str, logits: np.ndarray, y_true: list[str], labels: tuple[str, ...],
                 classifier: Classifier) -> dict:
    """Expected calibration error of a head's predicted probabilities without and with its temperature."""
    targets = np.array([labels.index(label) for label in y_true])
    info = classifier.info
    return {
        "ece_before": expected_calibration_error(head_probabilities(head, logits, info, temperature=False), targets),
        "ece_after": expected_calibration_error(head_probabilities(head, logits, info), targets),
        "temperature": getattr(info, f"{head}_temperature"),
    }


def _cause_set_report(examples: list[Example], predictions: list[dict]) -> dict:
    """Macro-F1 over the six causes of the multi-label cause set."""
    rows = [i for i, example in enumerate(examples) if example.causes is not None]
    if not rows:
        return {}
    truth = np.array([[cause in examples[i].causes for cause in CAUSES] for i in rows])
    guess = np.array([[cause in predictions[i]["causes"] for cause in CAUSES] for i in rows])
    present = truth.any(axis=0)
    macro = f1_score(truth[:, present], guess[:, present], average="macro", zero_division=0) if present.any() else 0.0
    return {"causes": {"macro_f1": round(float(macro), 4), "n": len(rows)}}


def _baseline_report(baseline: TfidfBaseline, examples: list[Example]) -> dict:
    predicted = baseline.predict([example.text for example in examples])
    report = {}
    for head, labels in LABELS.items():
        rows = [i for i, example in enumerate(examples) if getattr(example, head) is not None]
        if rows and head in predicted:
            report[head] = head_report([getattr(examples[i], head) for i in rows], [predicted[head][i] for i in rows], labels)
    return report


def summary_table(report: dict) -> str:
    """A plain-text table of macro-F1 per head, model against baseline, and per language."""
    lines = [f"{report['name']}  ({report['n']} records, {report['truncated']} truncated)",
             f"  {'head':<10} {'model':>8} {'baseline':>9}   ECE before -> after"]
    for head, metrics in report["model"].items():
        baseline = report.get("baseline", {}).get(head, {}).get("macro_f1")
        calibration = report["calibration"].get(head)
        ece = f"{calibration['ece_before']:.3f} -> {calibration['ece_after']:.3f}" if calibration else ""
        lines.append(f"  {head:<10} {metrics['macro_f1']:>8.3f} {baseline if baseline is not None else '-':>9}   {ece}")
        for label, scores in metrics.get("per_label", {}).items():
            if scores["support"]:
                lines.append(f"    {label:<24} precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  "
                             f"F1 {scores['f1']:.3f}  (n={scores['support']})")
    for lang, heads in report["by_language"].items():
        cells = ", ".join(f"{head} {metrics['macro_f1']:.3f} (n={metrics['n']})" for head, metrics in heads.items())
        lines.append(f"  lang {lang}: {cells}")
    return "\n".join(lines)
