"""The HTTP API: ``ulasan serve``. This file is the whole request path.

A request to ``POST /v1/classify`` goes through, in order:
1. ``BodyLimit``: bodies over ``max_body_bytes`` get 413 before they are read in full;
   ``Observe`` times the request and counts it among the classify requests in flight;
2. the API-key check (only when ``ULASAN_API_KEY`` is set);
3. validation of the JSON body against ``ClassifyRequest`` (4xx naming the field);
4. the ``MicroBatcher``: each text joins a queue; a background task gathers up
   to ``batch_max_size`` texts, waiting at most ``batch_max_wait_ms`` and only
   while other classify requests are still arriving (a lone request runs at
   once), and runs the batch in an inference thread, never on the event loop;
5. optional occlusion explanations, also in the inference thread;
6. metrics, and the JSON response.
Every error is JSON: ``{"error": {"type", "message", "fields"}}``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.exceptions import HTTPException

from ulasan.config import ServerSettings
from ulasan.predictor import Classifier
from ulasan.schema import CAUSES, NO_CAUSE, SCHEMA_VERSION, schema_dict


CLASSIFY_PATH = "/v1/classify"


class ApiError(Exception):
    """An error answered with a JSON body and a 4xx/5xx status."""

    def __init__(self, status: int, type_: str, message: str, fields: list[dict] | None = None):
        super().__init__(message)
        self.status, self.type, self.message, self.fields = status, type_, message, fields or []


def error_response(error: ApiError) -> JSONResponse:
    """The JSON response for an ApiError."""
    body = {"error": {"type": error.type, "message": error.message, "fields": error.fields}}
    return JSONResponse(body, status_code=error.status, headers={"WWW-Authenticate": "ApiKey"} if error.status == 401 else None)


class ClassifyRequest(BaseModel):
    """One review as ``text``, or several as ``texts``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "Barang rosak, seller tak reply"}]})

    text: StrictStr | None = Field(None, description="one review")
    texts: list[StrictStr] | None = Field(None, description="several reviews")
    explain: StrictBool = Field(False, description="add the words that pushed each predicted label")
    top_k_causes: Annotated[int, Field(ge=1, le=len(CAUSES), strict=True)] | None = Field(
        None, description="also list the k most likely causes with their scores")


class Metrics:
    """Prometheus metrics of one app, in a registry of its own."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.latency = Histogram("ulasan_request_seconds", "Request latency", ["endpoint"], registry=self.registry,
                                 buckets=(0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12))
        self.batch_size = Histogram("ulasan_batch_size", "Texts per model batch", registry=self.registry,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128))
        self.predictions = Counter("ulasan_predictions_total", "Predicted labels", ["head", "label"],
                                   registry=self.registry)
        self.errors = Counter("ulasan_errors_total", "Error responses by type", ["type"], registry=self.registry)

    def count_predictions(self, results: list[dict]) -> None:
        """Count the sentiment and primary cause of each result."""
        for result in results:
            self.predictions.labels("sentiment", result["sentiment"]).inc()
            self.predictions.labels("cause", result["cause"] or NO_CAUSE).inc()


class InFlight:
    """How many classify requests the app holds now, from arrival to response."""

    def __init__(self):
        self.count = 0


class MicroBatcher:
    """Gathers texts from concurrent requests into batches run in one inference thread."""

    def __init__(self, classifier: Classifier, max_size: int, max_wait_ms: float, metrics: Metrics,
                 in_flight: InFlight):
        self.classifier = classifier
        self.max_size = max_size
        self.max_wait = max_wait_ms / 1000
        self.metrics = metrics
        self.in_flight = in_flight
        self.requests_queued = 0
        """Requests inside :meth:`classify`: their texts are queued, in the batch being gathered, or being run."""
        self.queue: asyncio.Queue = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        """Start gathering batches."""
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop gathering batches and release the inference thread."""
        if self.task:
            self.task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def classify(self, texts: list[str]) -> list[dict]:
        """Predictions for texts, batched with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in texts]
        for text, future in zip(texts, futures):
            self.queue.put_nowait((text, future))
        self.requests_queued += 1
        try:
            return list(await asyncio.gather(*futures))
        finally:
            self.requests_queued -= 1

    def _others_arriving(self) -> bool:
        """Whether classify requests are in the app whose texts have not reached the queue yet."""
        return self.in_flight.count > self.requests_queued

    async def in_thread(self, function, *args):
        """Run a function in the inference thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_size:
                if not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._others_arriving():
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            live = [(text, future) for text, future in batch if not future.done()]
            if not live:
                continue
            self.metrics.batch_size.observe(len(live))
            try:
                results = await self.in_thread(self.classifier.predict, [text for text, _ in live])
            except Exception as error:  # one failed batch fails its requests, never the server
                for _, future in live:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(live, results):
                if not future.done():
                    future.set_result(result)


class Observe:
    """ASGI middleware timing each request by route and counting the classify requests in flight."""

    def __init__(self, app, metrics: Metrics, in_flight: InFlight):
        self.app, self.metrics, self.in_flight = app, metrics, in_flight

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        classifying = scope["path"] == CLASSIFY_PATH
        self.in_flight.count += classifying
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.count -= classifying
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


class BodyLimit:
    """ASGI middleware answering 413 to request bodies over a size limit (per path), declared or streamed."""

    def __init__(self, app, max_bytes: int, path_limits: dict[str, int]):
        self.app, self.max_bytes, self.path_limits = app, max_bytes, path_limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = ApiError(413, "body_too_large", f"request body is over the {limit}-byte limit",
                             [{"field": "body", "problem": f"larger than {limit} bytes"}])
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await error_response(too_large)(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge(too_large)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge as error:
            await error_response(error.error)(scope, receive, send)


class _BodyTooLarge(Exception):
    def __init__(self, error: ApiError):
        super().__init__(error.message)
        self.error = error


class ServiceState:
    """The model, batcher and readiness of a running app; the model loads in the background."""

    def __init__(self, settings: ServerSettings, metrics: Metrics):
        self.settings, self.metrics = settings, metrics
        self.classifier: Classifier | None = None
        self.batcher: MicroBatcher | None = None
        self.in_flight = InFlight()
        self.ready = threading.Event()
        self.load_error: str | None = None

    def load(self) -> None:
        """Load and warm up the model (run in a background thread)."""
        try:
            classifier = Classifier(self.settings.model, backend=self.settings.backend,
                                    batch_size=self.settings.batch_max_size, threads=self.settings.inference_threads)
            classifier.predict(["warm up: barang sampai, terima kasih", "pesanan belum sampai, kecewa banget"])
            self.classifier = classifier
            self.ready.set()
        except Exception as error:
            self.load_error = f"{type(error).__name__}: {error}"

    def require_ready(self) -> Classifier:
        """The classifier, or a 503 while it is not ready."""
        if not self.ready.is_set() or self.batcher is None:
            raise ApiError(503, "not_ready", self.load_error or "the model is still loading")
        return self.classifier


def _problems(error: RequestValidationError) -> tuple[int, str, list[dict]]:
    """Status, type and field-by-field problems of a request that failed validation."""
    fields = []
    status, kind = 422, "validation_error"
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        if item.get("type") in ("json_invalid", "value_error.jsondecode") or "JSON decode" in item.get("msg", ""):
            status, kind = 400, "invalid_json"
        fields.append({"field": ".".join(location) or "body", "problem": item.get("msg", "invalid")})
    return status, kind, fields


def _check_texts(request: ClassifyRequest, settings: ServerSettings) -> tuple[list[str], list[bool]]:
    """The texts of a request, each cut to max_chars (and flagged); ApiError naming the field when invalid."""
    if (request.text is None) == (request.texts is None):
        raise ApiError(422, "validation_error", "give exactly one of text or texts",
                       [{"field": "text", "problem": "give exactly one of text or texts"}])
    texts = [request.text] if request.text is not None else request.texts
    name = "text" if request.text is not None else "texts"
    if not texts:
        raise ApiError(422, "validation_error", "texts is empty", [{"field": "texts", "problem": "must not be empty"}])
    if len(texts) > settings.max_texts:
        raise ApiError(413, "too_many_texts", f"{len(texts)} texts in one request; the limit is {settings.max_texts}",
                       [{"field": "texts", "problem": f"more than {settings.max_texts} texts"}])
    blank = [f"{name}.{i}" if name == "texts" else name for i, t in enumerate(texts) if not t.strip()]
    if blank:
        raise ApiError(422, "validation_error", "texts must not be empty or only whitespace",
                       [{"field": field, "problem": "empty or only whitespace"} for field in blank])
    cut = [len(t) > settings.max_chars for t in texts]
    return [t[: settings.max_chars] for t in texts], cut


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI application."""
    settings = settings or ServerSettings()
    metrics = Metrics()
    state = ServiceState(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threading.Thread(target=state.load, name="model-loader", daemon=True).start()
        waiter = asyncio.create_task(_start_batcher_when_ready(state))
        yield
        waiter.cancel()
        if state.batcher:
            await state.batcher.stop()

    app = FastAPI(title="ulasan", version=version("ulasan"), lifespan=lifespan,
                  description="Sentiment and dissatisfaction causes of Malay and Indonesian customer reviews.")
    app.state.service = state
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization"])

    async def require_key(request: Request) -> None:
        if settings.api_key is None:
            return
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not secrets.compare_digest(given.encode(), settings.api_key.encode()):
            raise ApiError(401, "unauthorized", "a valid API key is needed (header X-API-Key)")

    protected = [Depends(require_key)]

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError):
        metrics.errors.labels(error.type).inc()
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, error: RequestValidationError):
        status, kind, fields = _problems(error)
        metrics.errors.labels(kind).inc()
        message = "request body is not valid JSON" if kind == "invalid_json" else "request does not match the schema"
        return error_response(ApiError(status, kind, message, fields))

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, error: HTTPException):
        if error.status_code == 400:  # FastAPI could not decode the body (bad JSON or invalid UTF-8)
            metrics.errors.labels("invalid_json").inc()
            return error_response(ApiError(400, "invalid_json", "request body is not valid UTF-8 JSON",
                                           [{"field": "body", "problem": str(error.detail)}]))
        kind = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        metrics.errors.labels(kind).inc()
        return error_response(ApiError(error.status_code, kind, str(error.detail)))

    @app.exception_handler(Exception)
    async def on_internal_error(request: Request, error: Exception):
        metrics.errors.labels("internal").inc()
        return error_response(ApiError(500, "internal", f"internal error: {type(error).__name__}"))

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], dependencies=protected)
    async def readyz() -> dict:
        """The model is loaded and warmed up."""
        state.require_ready()
        return {"status": "ready", "model_version": state.classifier.model_version}

    @app.get("/version", tags=["operations"], dependencies=protected)
    async def version_info() -> dict:
        """Model, schema and package versions."""
        classifier = state.require_ready()
        return {"model_version": classifier.model_version, "schema_version": SCHEMA_VERSION,
                "package_version": version("ulasan"), "backend": classifier.backend}

    @app.get("/metrics", tags=["operations"], dependencies=protected)
    async def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/labels", tags=["classification"], dependencies=protected)
    async def labels() -> dict:
        """The label schema, with the Malay and Indonesian display names of each cause."""
        return schema_dict()

    @app.post(CLASSIFY_PATH, tags=["classification"], dependencies=protected)
    async def classify(request: ClassifyRequest) -> dict:
        """Sentiment, causes, language and confidence of each review."""
        state.require_ready()
        texts, cut = _check_texts(request, settings)
        results = await state.batcher.classify(texts)
        results = [{**r, "truncated": r["truncated"] or was_cut} for r, was_cut in zip(results, cut)]
        if request.top_k_causes:
            for result in results:
                ranked = sorted(((c, result["cause_scores"][c]) for c in CAUSES), key=lambda item: -item[1])
                result["top_causes"] = [{"cause": c, "score": s} for c, s in ranked[: request.top_k_causes]]
        if request.explain:
            from ulasan.explain import explain

            explanations = await state.batcher.in_thread(
                lambda: [explain(state.classifier, t, r) for t, r in zip(texts, results)])
            for result, explanation in zip(results, explanations):
                result["explanation"] = explanation
        metrics.count_predictions(results)
        return {"model_version": state.classifier.model_version, "results": results}

    @app.post("/v1/report", tags=["reports"], dependencies=protected, response_class=HTMLResponse)
    async def report(file: UploadFile, date_col: Annotated[str | None, Form()] = None,
                     rating_col: Annotated[str | None, Form()] = None, group_col: Annotated[str | None, Form()] = None,
                     text_col: Annotated[str, Form()] = "text") -> HTMLResponse:
        """The insight report (self-contained HTML) of an uploaded scored file."""
        from ulasan.report import ReportError, ReportOptions, build_report, load_scored
        from ulasan.tables import TableError

        suffix = Path(file.filename or "").suffix.lower()
        options = ReportOptions(date_col=date_col or None, rating_col=rating_col or None,
                                group_col=group_col or None, text_col=text_col)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(await file.read())
            try:
                html = await run_in_threadpool(lambda: build_report(load_scored(path), options, None, file.filename))
            except (ReportError, TableError, ValueError, KeyError) as error:
                raise ApiError(422, "invalid_file", str(error), [{"field": "file", "problem": str(error)}]) from None
        return HTMLResponse(html)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        """The web page: paste reviews, see labels and the words that explain them."""
        return files("ulasan").joinpath("static/index.html").read_text(encoding="utf-8")

    app.add_middleware(Observe, metrics=metrics, in_flight=state.in_flight)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, path_limits={"/v1/report": settings.max_upload_bytes})
    return app


async def _start_batcher_when_ready(state: ServiceState) -> None:
    while not state.ready.is_set():
        if state.load_error:
            return
        await asyncio.sleep(0.05)
    state.batcher = MicroBatcher(state.classifier, state.settings.batch_max_size, state.settings.batch_max_wait_ms,
                                 state.metrics, state.in_flight)
    state.batcher.start()


def serve(settings: ServerSettings) -> None:
    """Run the app under uvicorn; settings reach every worker process through ULASAN_* variables."""
    import os

    import uvicorn

    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            os.environ[f"ULASAN_{name.upper()}"] = json.dumps(value) if isinstance(value, list) else str(value)
    uvicorn.run("ulasan.server:create_app", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, log_level="info", access_log=False)
