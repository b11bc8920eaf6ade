"""The HTTP API against a real uvicorn server: endpoints, concurrency, bad input, API key."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from server_fixture import running_server

http = httpx.Client(timeout=120)


@pytest.fixture(scope="module")
def server(tiny_model):
    # A long batching window: a lone request must not wait it out, concurrent ones must still share batches.
    with running_server(tiny_model, max_texts=8, max_body_bytes=20_000, max_chars=300, batch_max_wait_ms=1000) as url:
        yield url


def test_operations_endpoints(server):
    assert http.get(f"{server}/healthz").json() == {"status": "ok"}
    assert http.get(f"{server}/readyz").json()["status"] == "ready"
    version = http.get(f"{server}/version").json()
    assert version["model_version"].startswith("tiny-") and version["schema_version"] and version["package_version"]
    labels = http.get(f"{server}/v1/labels").json()
    assert [c["name_ms"] for c in labels["causes"]][3] == "Isu harga"
    assert http.get(f"{server}/openapi.json").json()["paths"]["/v1/classify"]
    assert http.get(f"{server}/docs").status_code == 200


def test_classify_one_and_many(server):
    one = http.post(f"{server}/v1/classify", json={"text": "Barang rosak, seller tak reply"}).json()
    assert len(one["results"]) == 1
    result = one["results"][0]
    assert {"sentiment", "sentiment_scores", "cause", "cause_scores", "causes", "lang", "truncated", "model_version",
            "confidence", "uncertain"} <= set(result)
    many = http.post(f"{server}/v1/classify", json={"texts": ["Mantap gan", "Mahal sangat", "x" * 400],
                                                     "top_k_causes": 2, "explain": True}).json()["results"]
    assert [r["truncated"] for r in many] == [False, False, True]
    assert len(many[0]["top_causes"]) == 2
    assert {"sentiment", "cause"} == set(many[1]["explanation"])
    for word in many[1]["explanation"]["sentiment"]:
        assert "Mahal sangat"[word["start"]:word["end"]] == word["word"]


def test_a_lone_request_does_not_wait_for_the_batching_window(server):
    for _ in range(3):
        started = time.perf_counter()
        assert http.post(f"{server}/v1/classify", json={"text": "Barang rosak"}).status_code == 200
        assert time.perf_counter() - started < 0.5, "a lone request sat out the 1 s batching window"


def test_concurrent_requests_are_micro_batched(server):
    texts = [f"Pesanan nombor {i} sampai lambat, kecewa" for i in range(48)]
    with httpx.Client() as client, ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda t: client.post(f"{server}/v1/classify", json={"text": t}), texts))
    assert [r.status_code for r in responses] == [200] * len(texts)
    metrics = http.get(f"{server}/metrics").text
    batches = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines() if line.startswith("ulasan_batch_size_")}
    assert batches["ulasan_batch_size_count"] < batches["ulasan_batch_size_sum"], "no batch ever held two texts"
    assert 'ulasan_predictions_total{head="sentiment"' in metrics
    assert 'ulasan_request_seconds_count{endpoint="/v1/classify"}' in metrics, "latency not recorded by route"


@pytest.mark.parametrize("body, status, field", [
    ({"text": ""}, 422, "text"),
    ({"texts": ["ok", "   "]}, 422, "texts.1"),
    ({"text": 42}, 422, "text"),
    ({"texts": "not a list"}, 422, "texts"),
    ({"texts": [1, 2]}, 422, "texts.0"),
    ({}, 422, "text"),
    ({"text": "a", "texts": ["b"]}, 422, "text"),
    ({"texts": []}, 422, "texts"),
    ({"texts": ["a"] * 9}, 413, "texts"),
    ({"text": "ok", "explain": "yes"}, 422, "explain"),
    ({"text": "ok", "top_k_causes": 9}, 422, "top_k_causes"),
    ({"text": "ok", "colour": "blue"}, 422, "colour"),
])
def test_bad_bodies_get_4xx_naming_the_field(server, body, status, field):
    response = http.post(f"{server}/v1/classify", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and field in [f["field"] for f in error["fields"]]


@pytest.mark.parametrize("content, status, kind", [
    (b'{"text": "unterminated', 400, "invalid_json"),
    (b'{"text": "rosak \xff\xfe"}', 400, "invalid_json"),
    (json.dumps({"text": "x" * 30_000}).encode(), 413, "body_too_large"),
    (b"[1, 2]", 422, "validation_error"),
])
def test_broken_payloads_get_json_errors(server, content, status, kind):
    response = http.post(f"{server}/v1/classify", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == kind


def test_server_stays_healthy_after_errors(server):
    for _ in range(3):
        http.post(f"{server}/v1/classify", content=b"{", headers={"Content-Type": "application/json"})
    assert http.get(f"{server}/healthz").status_code == 200
    assert http.post(f"{server}/v1/classify", json={"text": "masih ok"}).status_code == 200
    assert 'ulasan_errors_total{type="invalid_json"}' in http.get(f"{server}/metrics").text


def test_api_key_guards_everything_but_healthz(tiny_model):
    with running_server(tiny_model, api_key="s3cret") as url:
        assert http.get(f"{url}/healthz").status_code == 200
        assert http.post(f"{url}/v1/classify", json={"text": "ok"}).status_code == 401
        assert http.get(f"{url}/metrics").status_code == 401
        assert http.post(f"{url}/v1/classify", json={"text": "ok"}, headers={"X-API-Key": "wrong"}).status_code == 401
        good = http.post(f"{url}/v1/classify", json={"text": "ok"}, headers={"X-API-Key": "s3cret"})
        assert good.status_code == 200
        assert "access-control-allow-origin" not in good.headers
