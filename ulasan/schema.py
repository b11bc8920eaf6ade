"""The one label schema shared by training, scoring and serving.

Every label string used by ulasan is defined here and nowhere else. The
meanings follow the project's labelling guide (``shared/docs/labeling-guide.md``).
The schema is written into every model artifact as ``schema.json``; loading an
artifact whose schema differs from this one is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

SCHEMA_VERSION = "1.0.0"

POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
SENTIMENTS: tuple[str, ...] = (POSITIVE, NEUTRAL, NEGATIVE)

NO_CAUSE = "none"
"""The cause outcome of a record that voices no complaint about a product, service or company."""

LANGUAGES: tuple[str, ...] = ("ms", "id", "mixed", "other")
MALAY, INDONESIAN, MIXED, OTHER_LANGUAGE = LANGUAGES


@dataclass(frozen=True)
class Cause:
    """One dissatisfaction cause with its display names and definition."""

    key: str
    name_ms: str
    name_id: str
    definition: str


CAUSE_LIST: tuple[Cause, ...] = (
    Cause(
        "product_quality",
        "Kualiti produk dan perkhidmatan",
        "Kualitas produk dan layanan",
        "The product or the service itself falls short.",
    ),
    Cause(
        "lack_of_personalization",
        "Kekurangan penyesuaian",
        "Kurangnya personalisasi",
        "The customer's own needs or stated request are not accommodated.",
    ),
    Cause(
        "hard_to_communicate",
        "Sukar untuk berkomunikasi",
        "Sulit berkomunikasi",
        "The company is hard to reach or does not answer.",
    ),
    Cause(
        "pricing",
        "Isu harga",
        "Masalah harga",
        "The price, its fairness or its transparency.",
    ),
    Cause(
        "poor_after_sales",
        "Perkhidmatan selepas jualan yang lemah",
        "Layanan purnajual yang buruk",
        "Support after the purchase fails.",
    ),
    Cause(
        "profit_over_customer",
        "Berorientasikan keuntungan, bukan pelanggan",
        "Mementingkan keuntungan, bukan pelanggan",
        "The company puts its money or its rules before the customer.",
    ),
)
CAUSES: tuple[str, ...] = tuple(cause.key for cause in CAUSE_LIST)
PRODUCT_QUALITY, LACK_OF_PERSONALIZATION, HARD_TO_COMMUNICATE, PRICING, POOR_AFTER_SALES, PROFIT_OVER_CUSTOMER = CAUSES

CAUSE_OUTCOMES: tuple[str, ...] = (NO_CAUSE, *CAUSES)
"""Classes of the primary-cause head: no complaint, or one of the six causes."""


class SchemaMismatchError(ValueError):
    """An artifact was trained with a label schema that differs from this code's."""


def schema_dict() -> dict:
    """The schema as the JSON-ready dictionary written to ``schema.json``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "sentiments": list(SENTIMENTS),
        "no_cause": NO_CAUSE,
        "causes": [asdict(cause) for cause in CAUSE_LIST],
        "languages": list(LANGUAGES),
    }


def write_schema(folder: Path) -> None:
    """Write ``schema.json`` into an artifact folder."""
    (folder / "schema.json").write_text(json.dumps(schema_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def schema_differences(other: dict) -> list[str]:
    """Describe, field by field (and cause by cause), how another schema differs from this code's schema."""
    ours = schema_dict()
    differences = []
    for field in sorted(set(ours) | set(other)):
        if ours.get(field) == other.get(field):
            continue
        if field == "causes" and isinstance(other.get(field), list):
            differences += _cause_differences(other[field], ours[field])
        else:
            differences.append(f"{field}: artifact has {other.get(field)!r}, code has {ours.get(field)!r}")
    return differences


def _cause_differences(theirs: list, ours: list[dict]) -> list[str]:
    """The causes that differ between two schemas' cause lists, by position, naming the differing entries only."""
    differences = []
    for position in range(max(len(theirs), len(ours))):
        artifact = theirs[position] if position < len(theirs) else None
        code = ours[position] if position < len(ours) else None
        if artifact == code:
            continue
        if isinstance(artifact, dict) and code is not None:
            fields = [key for key in sorted(set(artifact) | set(code)) if artifact.get(key) != code.get(key)]
            changes = ", ".join(f"{key} {artifact.get(key)!r} vs {code.get(key)!r}" for key in fields)
            differences.append(f"cause {position + 1}: artifact and code differ in {changes}")
        else:
            differences.append(f"cause {position + 1}: artifact has {artifact!r}, code has {code!r}")
    return differences


def check_schema(folder: Path) -> None:
    """Refuse an artifact folder whose ``schema.json`` differs from this code's schema."""
    path = folder / "schema.json"
    if not path.is_file():
        raise SchemaMismatchError(f"{path} is missing: the artifact has no label schema")
    differences = schema_differences(json.loads(path.read_text(encoding="utf-8")))
    if differences:
        raise SchemaMismatchError(f"label schema of {folder} differs from this code's: " + "; ".join(differences))
