"""The labelling loop with Label Studio: export tasks with pre-annotations, import annotations back.

Export writes a JSON list of tasks, most uncertain first, each carrying the
model's predictions as a Label Studio ``predictions`` entry, plus the matching
labelling interface (``label_config.xml``). Import reads a Label Studio JSON
export and turns each task's latest non-cancelled annotation into a training
record, validated against the label schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ulasan.language import detect_language
from ulasan.records import RecordProblem, parse_record
from ulasan.schema import CAUSE_LIST, NO_CAUSE, SENTIMENTS

TEXT_FIELD = "text"
SENTIMENT_CONTROL, CAUSE_CONTROL, CAUSES_CONTROL = "sentiment", "cause", "causes"


def label_config() -> str:
    """The Label Studio labelling interface for the schema's three questions."""
    def choices(names: list[tuple[str, str]]) -> str:
        return "\n".join(f"    <Choice value={quoteattr(value)} hint={quoteattr(hint)}/>" for value, hint in names)

    causes = [(c.key, f"{c.name_ms} / {c.name_id}: {c.definition}") for c in CAUSE_LIST]
    return f"""<View>
  <Text name="{TEXT_FIELD}" value="${TEXT_FIELD}"/>
  <Header value="Sentiment"/>
  <Choices name="{SENTIMENT_CONTROL}" toName="{TEXT_FIELD}" choice="single" required="true">
{choices([(s, s) for s in SENTIMENTS])}
  </Choices>
  <Header value="Primary cause"/>
  <Choices name="{CAUSE_CONTROL}" toName="{TEXT_FIELD}" choice="single" required="true">
{choices([(NO_CAUSE, "no complaint"), *causes])}
  </Choices>
  <Header value="Every cause voiced"/>
  <Choices name="{CAUSES_CONTROL}" toName="{TEXT_FIELD}" choice="multiple">
{choices(causes)}
  </Choices>
</View>
"""


def _choice(control: str, values: list[str]) -> dict:
    return {"from_name": control, "to_name": TEXT_FIELD, "type": "choices", "value": {"choices": values}}


def uncertainty(prediction: dict) -> float:
    """1 minus the calibrated confidence: higher means the model is less sure."""
    return 1.0 - prediction["confidence"]


def build_tasks(rows: list[dict], predictions: list[dict], id_column: str | None,
                row_numbers: list[int] | None = None) -> list[dict]:
    """Label Studio tasks with pre-annotations, most uncertain first; ``source_row`` is each row's number in
    its file (``row_numbers``, else its position in ``rows``)."""
    scored = []
    numbers = row_numbers or range(1, len(rows) + 1)
    for position, row, prediction in zip(numbers, rows, predictions):
        result = [_choice(SENTIMENT_CONTROL, [prediction["sentiment"]]),
                  _choice(CAUSE_CONTROL, [prediction["cause"] or NO_CAUSE])]
        if prediction["causes"]:
            result.append(_choice(CAUSES_CONTROL, prediction["causes"]))
        data = {TEXT_FIELD: row[TEXT_FIELD], "source_row": position}
        if id_column and row.get(id_column) is not None:
            data["id"] = row[id_column]
        task = {"data": data, "predictions": [{"model_version": prediction["model_version"],
                                               "score": prediction["confidence"], "result": result}]}
        scored.append((uncertainty(prediction), position, task))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [task for _, _, task in scored]


def write_tasks(tasks: list[dict], path: Path) -> Path:
    """Write tasks as JSON and the labelling interface beside them; return the interface's path."""
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    config_path = path.with_name(path.stem + ".label_config.xml")
    config_path.write_text(label_config(), encoding="utf-8")
    return config_path


def _latest_annotation(task: dict) -> dict | None:
    annotations = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
    return max(annotations, key=lambda a: a.get("updated_at") or a.get("created_at") or "", default=None)


def records_from_export(export: list[dict] | dict, origin: str) -> tuple[list[dict], list[RecordProblem]]:
    """Training records from a Label Studio JSON export (a list of tasks, or one task), validated; problems
    name the task."""
    if isinstance(export, dict):
        export = [export]
    if not isinstance(export, list) or not all(isinstance(task, dict) for task in export):
        raise ValueError(f"{origin} is not a Label Studio JSON export (a list of tasks)")
    records, problems = [], []
    for task in export:
        where = f"{origin}: task {task.get('id', '?')}"
        annotation = _latest_annotation(task)
        if annotation is None:
            problems.append(RecordProblem(where, "no annotation (or only cancelled ones)", {}))
            continue
        answers = {item.get("from_name"): item.get("value", {}).get("choices", []) for item in annotation.get("result", [])}
        data = task.get("data", {})
        row = {"text": data.get(TEXT_FIELD),
               "sentiment": (answers.get(SENTIMENT_CONTROL) or [None])[0],
               "cause": (answers.get(CAUSE_CONTROL) or [None])[0],
               "causes": answers.get(CAUSES_CONTROL)}
        try:
            for control in (SENTIMENT_CONTROL, CAUSE_CONTROL):
                if len(answers.get(control, [])) > 1:
                    raise ValueError(f"{len(answers[control])} {control} choices {answers[control]}; choose one")
            example = parse_record(row, "label-studio", where)
        except ValueError as error:
            problems.append(RecordProblem(where, str(error), row))
            continue
        records.append({"id": data.get("id", f"ls-{task.get('id')}"), "text": example.text,
                        "lang": data.get("lang") or detect_language(example.text), "sentiment": example.sentiment,
                        "cause": example.cause, "causes": list(example.causes) if example.causes is not None else None,
                        "source": "label-studio"})
    return records, problems
