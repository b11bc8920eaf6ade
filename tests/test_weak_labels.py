"""Labelling functions: cues per cause in both languages, negation, trusted subsets, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ulasan.schema import HARD_TO_COMMUNICATE, LACK_OF_PERSONALIZATION, POOR_AFTER_SALES, PRICING, PRODUCT_QUALITY
from ulasan.weak_labels import MIN_FIRES, measured_precision, suggest, trusted_functions


@pytest.mark.parametrize("text, cause", [
    ("Mahal gila untuk kualiti macam ni", PRICING),
    ("Kemahalan, di toko sebelah lebih murah", PRICING),
    ("Chat seller tak reply dah 3 hari", HARD_TO_COMMUNICATE),
    ("Chat gak dibalas sama sekali", HARD_TO_COMMUNICATE),
    ("Refund dah sebulan tak masuk lagi", POOR_AFTER_SALES),
    ("Retur ditolak padahal barang cacat", POOR_AFTER_SALES),
    ("Sudah minta ukuran L di catatan, tapi dikirim M", LACK_OF_PERSONALIZATION),
    ("Barangnya rusak pas datang", PRODUCT_QUALITY),
])
def test_cues_suggest_the_cause(text, cause):
    assert suggest(text).cause == cause


@pytest.mark.parametrize("text", ["Harga tak mahal pun, berbaloi", "Pengiriman gak lambat, aman", "barang tidak rusak"])
def test_negated_cues_do_not_fire(text):
    silver = suggest(text)
    assert silver.cause is None, silver.rules


def test_rules_fired_are_recorded():
    silver = suggest("Barang rosak, seller tak reply")
    assert {"product_quality.broken", "hard_to_communicate.no_reply"} <= set(silver.rules)
    assert set(silver.causes) == {PRODUCT_QUALITY, HARD_TO_COMMUNICATE} and silver.causes[0] == silver.cause


def test_trusted_functions_meet_the_precision_bar():
    precision = measured_precision()
    trusted = trusted_functions(0.8)
    assert trusted, "no labelling function reaches 0.8 precision"
    for name in trusted:
        assert precision[name]["precision"] >= 0.8 and precision[name]["fires"] >= MIN_FIRES


def test_suggest_command_writes_silver_columns(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,Kurir lambat sampai\n2,\n3,Mantap banget\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    done = subprocess.run([sys.executable, "-m", "ulasan.cli", "label", "suggest", str(source), "-o", str(output)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "row 3: skipped" in done.stderr  # line 3 of the file
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "3"]
    assert rows[0]["silver_cause"] == PRODUCT_QUALITY and "product_quality.slow_delivery" in rows[0]["rules_fired"]
    assert rows[1]["silver_sentiment"] == "positive"
