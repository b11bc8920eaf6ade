"""Labelled training records: parsing, validation against the schema, and rejects.

A record has a ``text`` and any of ``sentiment``, ``cause``, ``causes`` and
``lang``. A record labelled for one head only still trains that head: missing
labels are ``None`` and masked out of that head's loss.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ulasan.schema import CAUSE_OUTCOMES, CAUSES, LANGUAGES, NO_CAUSE, SENTIMENTS
from ulasan.tables import BadRow, iter_rows


@dataclass(frozen=True)
class Example:
    """One labelled review; ``None`` marks a label this record does not carry."""

    text: str
    sentiment: str | None = None
    cause: str | None = None
    causes: tuple[str, ...] | None = None
    lang: str | None = None
    source: str = ""
    origin: str = ""
    """Where the record came from, as ``file:line``."""


@dataclass(frozen=True)
class RecordProblem:
    """A record that failed validation, with where it came from and why."""

    origin: str
    problem: str
    row: dict

    def __str__(self) -> str:
        return f"{self.origin}: {self.problem}"


class InvalidRecordsError(ValueError):
    """Training data holds invalid records; the message names each one."""

    def __init__(self, problems: list[RecordProblem]):
        shown = "\n".join(f"  {problem}" for problem in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{len(problems)} invalid record(s); fix them or pass --skip-invalid to set them aside:\n{shown}{more}"
        )
        self.problems = problems


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or (isinstance(value, str) and not value.strip())


def _parse_causes(value) -> tuple[str, ...] | None:
    """Causes from a list, a JSON list string, or a ``;``/``,``/``|``-separated string."""
    if _blank(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [part for part in text.replace("|", ";").replace(",", ";").split(";")]
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"causes must be a list, got {type(value).__name__}")
    return tuple(str(item).strip() for item in value if str(item).strip())


def parse_record(row: dict, source: str, origin: str) -> Example:
    """Validate one row against the schema and turn it into an Example; raise ValueError naming the problem."""
    text = row.get("text")
    if not isinstance(text, str):
        raise ValueError("text is missing" if text is None else f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty")
    sentiment = None if _blank(row.get("sentiment")) else str(row["sentiment"]).strip()
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise ValueError(f"unknown sentiment {sentiment!r}; expected one of {', '.join(SENTIMENTS)}")
    cause = None if _blank(row.get("cause")) else str(row["cause"]).strip()
    if cause is not None and cause not in CAUSE_OUTCOMES:
        raise ValueError(f"unknown cause {cause!r}; expected one of {', '.join(CAUSE_OUTCOMES)}")
    try:
        causes = _parse_causes(row.get("causes"))
    except (ValueError, json.JSONDecodeError) as error:
        raise ValueError(f"unreadable causes: {error}") from None
    if causes is not None:
        unknown = [item for item in causes if item not in CAUSES]
        if unknown:
            raise ValueError(f"unknown cause(s) {unknown} in causes; expected any of {', '.join(CAUSES)}")
    causes = _reconcile_causes(cause, causes)
    lang = None if _blank(row.get("lang")) else str(row["lang"]).strip()
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"unknown lang {lang!r}; expected one of {', '.join(LANGUAGES)}")
    if sentiment is None and cause is None and causes is None:
        raise ValueError("record has no label: give at least one of sentiment, cause, causes")
    return Example(text=text, sentiment=sentiment, cause=cause, causes=causes, lang=lang, source=source, origin=origin)


def _reconcile_causes(cause: str | None, causes: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Check that the primary cause and the cause set agree, filling the set from the primary when absent."""
    causes = tuple(dict.fromkeys(causes)) if causes else causes  # a cause listed twice counts once
    if cause == NO_CAUSE:
        if causes:
            raise ValueError(f"cause is {NO_CAUSE!r} but causes lists {list(causes)}")
        return ()
    if cause is None:
        return causes
    if causes is None or not causes:
        return (cause,)
    if cause not in causes:
        raise ValueError(f"primary cause {cause!r} is not among causes {list(causes)}")
    return causes


def read_records(path: Path, source: str, fmt: str | None = None) -> tuple[list[Example], list[RecordProblem]]:
    """Read a labelled file; return the valid examples and the problems of the invalid rows."""
    examples, problems = [], []
    for number, row in iter_rows(path, fmt):
        origin = f"{path}:{number}"
        if isinstance(row, BadRow):
            problems.append(RecordProblem(origin, row.problem, {}))
            continue
        try:
            examples.append(parse_record(row, source, origin))
        except ValueError as error:
            problems.append(RecordProblem(origin, str(error), row))
    return examples, problems


def write_rejects(problems: Iterable[RecordProblem], path: Path) -> int:
    """Write invalid records to a JSON Lines rejects file; return how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as stream:
        for problem in problems:
            stream.write(json.dumps(asdict(problem), ensure_ascii=False, default=str) + "\n")
            count += 1
    return count
