"""Load, soak and fuzz figures of ``ulasan serve``, with the load generator on the same machine.

    python benchmarks/serve_load.py --model models/quick [--soak-seconds 300] [--fuzz-examples 100]

1. latency: one client, sequential single short reviews: p50 / p99 (client side, keep-alive), and the CPU time
   the server's event loop spends per request;
2. throughput: wrk, 32 connections, 30 s: requests/s, non-2xx responses, socket errors;
3. soak: wrk, 32 connections, ``--soak-seconds``: errors, and server RSS at the end against RSS after warm-up;
4. fuzz: Schemathesis against /openapi.json, checking that no response is a 5xx;
5. the cost of ``explain: true`` on a single review.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

SHORT_REVIEWS = ["Barang rosak, seller tak reply", "Pengiriman cepat, mantap gan", "Mahal gila untuk kualiti macam ni",
                 "Chat gak dibalas sama sekali", "Refund dah sebulan tak masuk", "Bagus, sesuai pesanan"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "ulasan.cli", "serve", "--model", str(model), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("server not ready")


def event_loop_cpu_seconds(server: psutil.Process) -> float:
    """CPU time used so far by the server's main thread, which runs the event loop (HTTP, validation, JSON)."""
    main = next(thread for thread in server.threads() if thread.id == server.pid)
    return main.user_time + main.system_time


def latency(url: str, server: psutil.Process, requests: int) -> dict:
    timings = []
    with httpx.Client(timeout=30) as client:
        for i in range(requests):
            if i == 20:  # the first requests warm up the connection
                cpu_before = event_loop_cpu_seconds(server)
            started = time.perf_counter()
            response = client.post(f"{url}/v1/classify", json={"text": SHORT_REVIEWS[i % len(SHORT_REVIEWS)]})
            timings.append(1000 * (time.perf_counter() - started))
            response.raise_for_status()
    timings = timings[20:]
    cuts = statistics.quantiles(timings, n=100)
    loop_ms = 1000 * (event_loop_cpu_seconds(server) - cpu_before) / len(timings)
    return {"requests": len(timings), "p50_ms": round(cuts[49], 2), "p99_ms": round(cuts[98], 2),
            "event_loop_cpu_ms_per_request": round(loop_ms, 2)}


def wrk(url: str, seconds: int, connections: int = 32) -> dict:
    bodies = ", ".join(json.dumps(json.dumps({"text": text})) for text in SHORT_REVIEWS)
    script = f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {{{bodies}}}
local i = 0
request = function() i = i + 1; return wrk.format(nil, "/v1/classify", nil, bodies[(i % #bodies) + 1]) end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    done = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", handle.name, url],
                          capture_output=True, text=True, check=True)
    os.unlink(handle.name)
    output = done.stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"seconds": seconds, "connections": connections,
            "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "requests": int(re.search(r"(\d+) requests in", output).group(1)),
            "p50": re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1),
            "p99": re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def fuzz(url: str, examples: int) -> dict:
    done = subprocess.run([str(Path(sys.executable).with_name("st")), "run", f"{url}/openapi.json", "--checks", "not_a_server_error", "-n", str(examples),
                           "--no-color"], capture_output=True, text=True)
    text = done.stdout + done.stderr
    cases = sum(int(n) for n in re.findall(r"(\d+) generated", text)) or None
    return {"exit_code": done.returncode, "server_errors_found": "not_a_server_error" in text and done.returncode != 0,
            "generated_cases": cases, "summary": "\n".join(text.strip().splitlines()[-12:])}


def explain_cost(url: str, requests: int = 30) -> dict:
    result = {}
    with httpx.Client(timeout=60) as client:
        for explain in (False, True):
            timings = []
            for i in range(requests):
                started = time.perf_counter()
                client.post(f"{url}/v1/classify", json={"text": SHORT_REVIEWS[i % len(SHORT_REVIEWS)], "explain": explain})
                timings.append(1000 * (time.perf_counter() - started))
            result["with_explain_ms" if explain else "without_explain_ms"] = round(statistics.median(timings), 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/quick"))
    parser.add_argument("--soak-seconds", type=int, default=300)
    parser.add_argument("--fuzz-examples", type=int, default=100, help="examples per API operation")
    parser.add_argument("--fuzz-only", action="store_true", help="skip latency, throughput and soak")
    args = parser.parse_args()
    process, url = start_server(args.model)
    server = psutil.Process(process.pid)
    try:
        print("backend:", httpx.get(f"{url}/version").json()["backend"], "| cores:", os.cpu_count(), flush=True)
        if not args.fuzz_only:
            load(url, server, args.soak_seconds)
        result = fuzz(url, args.fuzz_examples)
        print("fuzz:", json.dumps({k: v for k, v in result.items() if k != "summary"}))
        print(result["summary"])
    finally:
        process.terminate()
        process.wait(timeout=30)


def load(url: str, server: psutil.Process, soak_seconds: int) -> None:
    """Latency, explain cost, throughput and soak."""
    print("latency, 1 client:", json.dumps(latency(url, server, 520)), flush=True)
    print("explain cost:", json.dumps(explain_cost(url)), flush=True)
    print("throughput, 32 clients:", json.dumps(wrk(url, 30)), flush=True)
    warm_rss = server.memory_info().rss / 2**20
    soak = wrk(url, soak_seconds)
    end_rss = server.memory_info().rss / 2**20
    soak.update(rss_after_warmup_mb=round(warm_rss), rss_end_mb=round(end_rss),
                rss_growth_pct=round(100 * (end_rss - warm_rss) / warm_rss, 1))
    print(f"soak, 32 clients, {soak_seconds} s:", json.dumps(soak), flush=True)


if __name__ == "__main__":
    main()
