"""The web page, driven in headless Chromium: paste reviews, classify, see labels and highlighted words."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from browser import chromium
from server_fixture import running_server


def test_page_classifies_pasted_reviews(tiny_model, tmp_path):
    with running_server(tiny_model) as url:
        browser = chromium()
        try:
            browser.get(url + "/")
            assert "Kelaskan" in browser.find_element(By.ID, "classify").text
            box = browser.find_element(By.ID, "reviews")
            box.clear()
            box.send_keys("Barang rosak teruk, seller tak reply\nMantap gan, pengiriman cepat")
            browser.find_element(By.ID, "classify").click()
            WebDriverWait(browser, 60).until(expected_conditions.visibility_of_element_located((By.ID, "results")))
            rows = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
            assert len(rows) == 2
            for row in rows:
                assert row.find_element(By.CSS_SELECTOR, ".badge").text in {"positive", "neutral", "negative"}
                assert "/" in row.find_element(By.CSS_SELECTOR, ".cause").text
            assert browser.find_elements(By.CSS_SELECTOR, "#results mark"), "no explaining word is highlighted"
            shot = tmp_path / "page.png"
            browser.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
        finally:
            browser.quit()
