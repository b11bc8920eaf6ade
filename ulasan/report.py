"""Insight report from a scored file: ``ulasan report SCORED_FILE -o report.html``.

One self-contained HTML file (charts embedded as PNG data URIs, no network) with:
- sentiment mix and the net sentiment index (share positive minus share negative; a proxy, not NPS);
- the cause Pareto (complaint counts, shares, cumulative share), with Malay and Indonesian names;
- breakdowns by language and by ``--group-col``;
- trends by week or month when there is ``--date-col``;
- key drivers when there is ``--rating-col``: OLS of rating on cause indicators with HC3
  robust 95% intervals; causes ranked by impact x frequency;
- the most confident, representative example reviews for each cause;
- drift against ``--reference``: chi-square tests of label and language mix, a
  Kolmogorov-Smirnov test of confidence, with large shifts flagged.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from ulasan.schema import CAUSE_LIST, CAUSES, NEGATIVE, NEUTRAL, NO_CAUSE, POSITIVE, SENTIMENTS
from ulasan.tables import detect_format

NAMES = {c.key: c for c in CAUSE_LIST}
DRIFT_P = 0.01
DRIFT_SHARE = 0.05
"""A drift is flagged when p < DRIFT_P and some share moved by at least DRIFT_SHARE (5 points)."""


class ReportError(ValueError):
    """The scored file cannot be turned into a report."""


@dataclass(frozen=True)
class ReportOptions:
    """Optional columns and comparison of a report."""

    date_col: str | None = None
    rating_col: str | None = None
    group_col: str | None = None
    text_col: str = "text"
    title: str = "Customer dissatisfaction report"


def _decode(value):
    """A list or dict cell that CSV/TSV stored as JSON text, decoded."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_scored(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A scored file (from ``ulasan score``) as a DataFrame with decoded list and dict columns."""
    fmt = detect_format(Path(path))
    if fmt == "parquet":
        frame = pd.read_parquet(path)
    elif fmt == "jsonl":
        frame = pd.read_json(path, lines=True, dtype=False)
    else:
        frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False)
    missing = [c for c in ("sentiment", "cause", "causes", "confidence", "lang") if c not in frame.columns]
    if missing:
        raise ReportError(f"{path} is not a scored file: it lacks {', '.join(missing)} (run `ulasan score` first)")
    frame["causes"] = [_as_list(_decode(v)) for v in frame["causes"]]
    frame["cause"] = frame["cause"].map(lambda v: v if isinstance(v, str) and v in CAUSES else None)
    frame["confidence"] = pd.to_numeric(frame["confidence"], errors="coerce")
    if "cause_scores" in frame.columns:
        frame["cause_scores"] = [_decode(v) if not isinstance(v, dict) else v for v in frame["cause_scores"]]
    return frame


def _as_list(value) -> list:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else []


def _chart(draw) -> str:
    """Render a matplotlib drawing function to an embedded PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 3.6))
    draw(axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def net_sentiment_index(sentiments: pd.Series) -> float:
    """Share positive minus share negative, in points (-100..100)."""
    if len(sentiments) == 0:
        return 0.0
    return round(100 * ((sentiments == POSITIVE).mean() - (sentiments == NEGATIVE).mean()), 1)


def sentiment_section(frame: pd.DataFrame) -> dict:
    counts = frame["sentiment"].value_counts().reindex(list(SENTIMENTS), fill_value=0)
    shares = (counts / max(1, len(frame)) * 100).round(1)

    def draw(axes):
        axes.barh(list(SENTIMENTS), shares.values, color=["#16a34a", "#9ca3af", "#dc2626"])
        axes.set_xlabel("% of reviews")
        axes.set_title(f"Sentiment mix; net sentiment index {net_sentiment_index(frame['sentiment']):+.1f}")
    return {"counts": counts.to_dict(), "shares": shares.to_dict(), "nsi": net_sentiment_index(frame["sentiment"]),
            "chart": _chart(draw)}


def pareto_section(frame: pd.DataFrame) -> dict:
    complaints = frame[frame["cause"].notna()]
    counts = complaints["cause"].value_counts().reindex(list(CAUSES), fill_value=0).sort_values(ascending=False)
    total = max(1, int(counts.sum()))
    rows, cumulative = [], 0
    for cause, count in counts.items():
        cumulative += count
        rows.append({"cause": cause, "name_ms": NAMES[cause].name_ms, "name_id": NAMES[cause].name_id,
                     "count": int(count), "share": round(100 * count / total, 1),
                     "cumulative": round(100 * cumulative / total, 1),
                     "voiced": int(sum(cause in c for c in frame["causes"]))})

    def draw(axes):
        axes.bar([r["cause"].replace("_", "\n") for r in rows], [r["count"] for r in rows], color="#2563eb")
        axes.set_ylabel("complaints (primary cause)")
        twin = axes.twinx()
        twin.plot(range(len(rows)), [r["cumulative"] for r in rows], color="#f59e0b", marker="o")
        twin.set_ylim(0, 105)
        twin.set_ylabel("cumulative %")
        axes.tick_params(axis="x", labelsize=7)
        axes.set_title("Cause Pareto")
    return {"rows": rows, "complaints": total if len(complaints) else 0, "chart": _chart(draw)}


def breakdown(frame: pd.DataFrame, column: str, limit: int = 20) -> dict:
    """Per value of a column: count, sentiment shares, net sentiment index, and cause shares of complaints."""
    top = frame[column].astype(str).value_counts().head(limit).index
    rows = []
    for value in top:
        part = frame[frame[column].astype(str) == value]
        complaints = part["cause"].dropna()
        shares = {c: round(100 * (complaints == c).mean(), 1) if len(complaints) else 0.0 for c in CAUSES}
        rows.append({"value": value, "n": len(part), "nsi": net_sentiment_index(part["sentiment"]),
                     "negative": round(100 * (part["sentiment"] == NEGATIVE).mean(), 1),
                     "complaints": len(complaints), "cause_shares": shares})
    matrix = np.array([[row["cause_shares"][c] for c in CAUSES] for row in rows]) if rows else np.zeros((0, 6))

    def draw(axes):
        image = axes.imshow(matrix, aspect="auto", cmap="Reds", vmin=0, vmax=100)
        axes.set_xticks(range(len(CAUSES)), [c.replace("_", "\n") for c in CAUSES], fontsize=7)
        axes.set_yticks(range(len(rows)), [r["value"][:28] for r in rows], fontsize=7)
        axes.figure.colorbar(image, ax=axes, label="% of complaints")
        axes.set_title(f"Cause share of complaints by {column}")
    return {"column": column, "rows": rows, "chart": _chart(draw) if rows else None}


def trend_section(frame: pd.DataFrame, date_col: str) -> dict:
    dates = pd.to_datetime(frame[date_col], errors="coerce", utc=True)
    valid = frame.assign(_date=dates).dropna(subset=["_date"])
    if valid.empty:
        raise ReportError(f"no parseable dates in column {date_col!r}")
    span_days = (valid["_date"].max() - valid["_date"].min()).days
    label = "month" if span_days > 180 else "week"
    periods = valid["_date"].dt.tz_localize(None).dt.to_period("M" if label == "month" else "W-MON").dt.start_time
    rows = []
    for period, part in valid.groupby(periods):
        complaints = part["cause"].dropna()
        rows.append({"period": period.strftime("%Y-%m-%d"), "n": len(part), "nsi": net_sentiment_index(part["sentiment"]),
                     "complaints": len(complaints),
                     "cause_shares": {c: round(100 * (complaints == c).mean(), 1) if len(complaints) else 0.0
                                      for c in CAUSES}})

    def draw_nsi(axes):
        axes.plot([r["period"] for r in rows], [r["nsi"] for r in rows], marker="o", color="#2563eb")
        axes.axhline(0, color="#9ca3af", linewidth=0.8)
        axes.set_ylabel("net sentiment index")
        axes.set_title(f"Net sentiment index by {label} (n per point in the table)")
        axes.tick_params(axis="x", rotation=45, labelsize=7)

    def draw_causes(axes):
        for cause in CAUSES:
            axes.plot([r["period"] for r in rows], [r["cause_shares"][cause] for r in rows], marker=".", label=cause)
        axes.set_ylabel("% of complaints")
        axes.set_title(f"Cause shares by {label}")
        axes.legend(fontsize=6, ncol=3)
        axes.tick_params(axis="x", rotation=45, labelsize=7)
    return {"unit": label, "rows": rows, "nsi_chart": _chart(draw_nsi), "cause_chart": _chart(draw_causes),
            "dropped": int(len(frame) - len(valid))}


def key_drivers(frame: pd.DataFrame, rating_col: str) -> dict:
    """OLS of rating on cause indicators; impact = rating drop when a cause is voiced, with HC3 95% intervals."""
    import statsmodels.api as sm

    ratings = pd.to_numeric(frame[rating_col], errors="coerce")
    usable = frame.assign(_rating=ratings).dropna(subset=["_rating"])
    present = [c for c in CAUSES if sum(c in causes for causes in usable["causes"]) >= 5]
    if len(usable) < 30 or not present:
        raise ReportError(f"too few rated reviews voicing a cause to estimate key drivers from {rating_col!r}")
    design = pd.DataFrame({c: [float(c in causes) for causes in usable["causes"]] for c in present}, index=usable.index)
    fit = sm.OLS(usable["_rating"].astype(float), sm.add_constant(design)).fit(cov_type="HC3")
    intervals = fit.conf_int(alpha=0.05)
    rows = []
    for cause in present:
        frequency = float(design[cause].mean())
        impact = -float(fit.params[cause])
        rows.append({"cause": cause, "name_ms": NAMES[cause].name_ms, "name_id": NAMES[cause].name_id,
                     "impact": round(impact, 3), "low": round(-float(intervals.loc[cause, 1]), 3),
                     "high": round(-float(intervals.loc[cause, 0]), 3), "p": float(fit.pvalues[cause]),
                     "frequency": round(100 * frequency, 1), "priority": round(impact * frequency, 4)})
    rows.sort(key=lambda r: -r["priority"])

    def draw(axes):
        names = [r["cause"] for r in rows][::-1]
        impacts = [r["impact"] for r in rows][::-1]
        errors = [[r["impact"] - r["low"] for r in rows][::-1], [r["high"] - r["impact"] for r in rows][::-1]]
        axes.barh(names, impacts, xerr=errors, color="#dc2626", capsize=3)
        axes.axvline(0, color="#6b7280", linewidth=0.8)
        axes.set_xlabel(f"drop in {rating_col} when the cause is voiced (95% CI)")
        axes.set_title("Key drivers of low ratings")
        axes.tick_params(axis="y", labelsize=7)
    return {"rating_col": rating_col, "n": len(usable), "baseline": round(float(fit.params["const"]), 3),
            "r_squared": round(float(fit.rsquared), 3), "rows": rows, "chart": _chart(draw)}


def examples_section(frame: pd.DataFrame, text_col: str, per_cause: int = 3) -> dict:
    """For each cause: confident reviews whose length is closest to the cause's median (representative)."""
    examples = {}
    if text_col not in frame.columns:
        return examples
    for cause in CAUSES:
        part = frame[frame["cause"] == cause]
        if part.empty:
            continue
        scores = part["cause_scores"].map(lambda s: s.get(cause, 0.0) if isinstance(s, dict) else 0.0) \
            if "cause_scores" in part.columns else part["confidence"]
        confident = part.assign(_score=scores).nlargest(20, "_score")
        lengths = confident[text_col].astype(str).str.len()
        chosen = confident.assign(_gap=(lengths - lengths.median()).abs()).nsmallest(per_cause, "_gap")
        examples[cause] = [{"text": str(r[text_col])[:400], "score": round(float(r["_score"]), 3),
                            "sentiment": r["sentiment"]} for _, r in chosen.iterrows()]
    return examples


def drift_section(current: pd.DataFrame, reference: pd.DataFrame) -> dict:
    """Chi-square tests of sentiment, cause and language mix; KS test of confidence; big shifts flagged."""
    from scipy.stats import chi2_contingency, ks_2samp

    tests = []
    for name, column, labels in (("sentiment mix", "sentiment", list(SENTIMENTS)),
                                 ("cause mix", "cause", [NO_CAUSE, *CAUSES]),
                                 ("language mix", "lang", sorted(set(current["lang"]) | set(reference["lang"])))):
        now = current[column].fillna(NO_CAUSE).value_counts().reindex(labels, fill_value=0)
        before = reference[column].fillna(NO_CAUSE).value_counts().reindex(labels, fill_value=0)
        keep = (now + before) > 0
        table = np.array([now[keep].values, before[keep].values])
        p = float(chi2_contingency(table)[1]) if keep.sum() > 1 else 1.0
        shares_now, shares_before = now / max(1, now.sum()), before / max(1, before.sum())
        change = (shares_now - shares_before) * 100
        biggest = change.abs().idxmax()
        tests.append({"name": name, "test": "chi-square", "p": p,
                      "largest_change": f"{biggest}: {shares_before[biggest] * 100:.1f}% -> {shares_now[biggest] * 100:.1f}%",
                      "flagged": p < DRIFT_P and abs(change[biggest]) >= DRIFT_SHARE * 100,
                      "changes": {k: round(float(v), 1) for k, v in change.items()}})
    result = ks_2samp(current["confidence"].dropna(), reference["confidence"].dropna())
    shift = float(current["confidence"].mean() - reference["confidence"].mean())
    tests.append({"name": "confidence distribution", "test": "Kolmogorov-Smirnov", "p": float(result.pvalue),
                  "largest_change": f"mean {reference['confidence'].mean():.3f} -> {current['confidence'].mean():.3f}",
                  "flagged": result.pvalue < DRIFT_P and abs(shift) >= DRIFT_SHARE, "statistic": float(result.statistic)})

    def draw(axes):
        bins = np.linspace(0, 1, 21)
        axes.hist(reference["confidence"].dropna(), bins=bins, alpha=0.5, density=True, label="reference")
        axes.hist(current["confidence"].dropna(), bins=bins, alpha=0.5, density=True, label="this file")
        axes.set_xlabel("confidence")
        axes.legend()
        axes.set_title("Confidence distribution")
    return {"reference_n": len(reference), "tests": tests, "chart": _chart(draw)}


def build_report(frame: pd.DataFrame, options: ReportOptions = ReportOptions(),
                 reference: pd.DataFrame | None = None, source_name: str = "") -> str:
    """The report as a self-contained HTML string."""
    import jinja2

    for column in (options.date_col, options.rating_col, options.group_col):
        if column and column not in frame.columns:
            raise ReportError(f"column {column!r} is not in the scored file; it has {', '.join(map(str, frame.columns))}")
    sections = {
        "sentiment": sentiment_section(frame),
        "pareto": pareto_section(frame),
        "by_language": breakdown(frame, "lang"),
        "by_group": breakdown(frame, options.group_col) if options.group_col else None,
        "trend": trend_section(frame, options.date_col) if options.date_col else None,
        "drivers": key_drivers(frame, options.rating_col) if options.rating_col else None,
        "examples": examples_section(frame, options.text_col),
        "drift": drift_section(frame, reference) if reference is not None else None,
    }
    template = jinja2.Template(files("ulasan").joinpath("static/report.html.j2").read_text(encoding="utf-8"),
                               autoescape=True)
    models = sorted(frame["model_version"].dropna().astype(str).unique()) if "model_version" in frame else []
    return template.render(title=options.title, source=source_name, n=len(frame), models=models, names=NAMES,
                           created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                           package_version=version("ulasan"), neutral=NEUTRAL, **sections)


def write_report(source: Path, output: Path, options: ReportOptions, reference: Path | None = None) -> Path:
    """Build the report of a scored file and write it to ``output``."""
    html = build_report(load_scored(source), options, load_scored(reference) if reference else None, source.name)
    output.write_text(html, encoding="utf-8")
    return output
