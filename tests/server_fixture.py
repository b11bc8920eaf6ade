"""A real uvicorn server, started on a free port in a subprocess, for the HTTP tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(model: Path, **settings):
    """Start ``ulasan serve`` and yield its base URL once the model is ready."""
    port = free_port()
    env = {**os.environ, **{f"ULASAN_{k.upper()}": str(v) for k, v in settings.items()}}
    process = subprocess.Popen([sys.executable, "-m", "ulasan.cli", "serve", "--model", str(model), "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": settings["api_key"]} if "api_key" in settings else {}
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(process.stdout.read().decode())
            try:
                if httpx.get(f"{url}/readyz", headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise TimeoutError("server did not become ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
