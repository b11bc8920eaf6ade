"""The insight report: built from a scored fixture, checked for content, opened in headless Chromium."""

from __future__ import annotations

import json
import re

import httpx
import numpy as np
import pandas as pd
import pytest

from ulasan.report import ReportError, ReportOptions, build_report, load_scored
from ulasan.schema import CAUSES

from browser import chromium
from server_fixture import running_server

http = httpx.Client(timeout=120)


def scored_fixture(rows: int, seed: int, pricing_share: float = 0.15) -> pd.DataFrame:
    """Scored reviews with known structure: pricing costs 2 stars, product quality 1, over 20 weeks."""
    rng = np.random.default_rng(seed)
    causes, primary = [], []
    for _ in range(rows):
        voiced = [c for c, p in zip(CAUSES, [0.5, 0.04, 0.06, pricing_share, 0.05, 0.03]) if rng.random() < p]
        causes.append(voiced)
        primary.append(voiced[0] if voiced else None)
    rating = 4.6 - 2.0 * np.array([("pricing" in c) for c in causes]) - 1.0 * np.array([("product_quality" in c) for c in causes])
    rating = np.clip(np.round(rating + rng.normal(0, 0.4, rows)), 1, 5)
    sentiment = np.where(rating >= 4, "positive", np.where(rating <= 2, "negative", "neutral"))
    confidence = np.clip(rng.beta(5, 2, rows), 0, 1)
    return pd.DataFrame({
        "id": range(rows), "text": [f"ulasan nombor {i} " + "panjang " * (i % 7) for i in range(rows)],
        "sentiment": sentiment, "cause": primary, "causes": causes,
        "cause_scores": [{c: (0.9 if c == p else 0.02) for c in ["none", *CAUSES]} for p in primary],
        "confidence": confidence, "lang": rng.choice(["ms", "id", "mixed"], rows, p=[0.45, 0.5, 0.05]),
        "model_version": "fixture-1", "rating": rating,
        "date": pd.Timestamp("2026-06-01") + pd.to_timedelta(rng.integers(0, 140, rows), unit="D"),
        "store": rng.choice(["Kedai A", "Toko B", "Shop C"], rows),
    })


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    current, reference = scored_fixture(3000, 1, pricing_share=0.25), scored_fixture(2000, 2)
    current.to_json(folder / "scored.jsonl", orient="records", lines=True, date_format="iso")
    html = build_report(load_scored(folder / "scored.jsonl"),
                        ReportOptions(date_col="date", rating_col="rating", group_col="store"), reference, "scored.jsonl")
    (folder / "report.html").write_text(html, encoding="utf-8")
    return folder / "report.html", html


def test_report_sections_and_content(report_html):
    _, html = report_html
    for heading in ["Sentiment mix", "cause Pareto", "By language", "By store", "Trends by week", "key drivers",
                    "Examples", "Drift against the reference file"]:
        assert heading.lower() in html.lower(), heading
    assert "not a Net Promoter Score" in html and "Isu harga" in html and "Masalah harga" in html
    drivers = html[html.index('id="drivers"'):html.index('id="examples"')]
    ranked = re.findall(r"<tr><td>(\d)</td><td>(\w+)</td>", drivers)
    assert ranked[0][1] == "pricing" and ranked[1][1] == "product_quality"
    pricing_row = drivers[drivers.index("<td>pricing</td>"):].split("</tr>")[0]
    low, high = map(float, re.findall(r"\[−([\d.]+), −([\d.]+)\]", pricing_row)[0])
    assert high < 2.0 < low, "the 95% interval should hold the true 2-star impact"
    drift = html[html.index('id="drift"'):]
    assert "large shift" in drift.split("language mix")[0], "the cause mix moved by 10 points and must be flagged"


def test_report_is_self_contained_and_charts_render(report_html, tmp_path):
    path, html = report_html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    browser = chromium()
    try:
        browser.get(path.as_uri())
        widths = browser.execute_script("return [...document.images].map(i => i.naturalWidth)")
        assert len(widths) >= 8 and min(widths) > 100, widths
        shot = tmp_path / "report.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        browser.quit()


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "s.jsonl"
    scored_fixture(50, 3).to_json(path, orient="records", lines=True, date_format="iso")
    with pytest.raises(ReportError, match="column 'stars' is not in the scored file"):
        build_report(load_scored(path), ReportOptions(rating_col="stars"))
    (tmp_path / "plain.csv").write_text("text\nbarang ok\n")
    with pytest.raises(ReportError, match="not a scored file"):
        load_scored(tmp_path / "plain.csv")


def test_report_upload_on_the_server(tiny_model, tmp_path):
    path = tmp_path / "scored.csv"
    frame = scored_fixture(400, 4)
    frame["causes"] = frame["causes"].map(json.dumps)
    frame["cause_scores"] = frame["cause_scores"].map(json.dumps)
    frame.to_csv(path, index=False)
    with running_server(tiny_model) as url:
        with path.open("rb") as stream:
            response = http.post(f"{url}/v1/report", files={"file": ("scored.csv", stream, "text/csv")},
                                  data={"rating_col": "rating", "group_col": "store"}, timeout=120)
        assert response.status_code == 200, response.text
        assert "key drivers" in response.text.lower() and "By store" in response.text
        bad = http.post(f"{url}/v1/report", files={"file": ("x.csv", b"text\nhello\n", "text/csv")})
        assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "file"
