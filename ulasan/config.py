"""Typed configuration: machine settings from the environment, and training recipes from TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ulasan.base_model import PACKAGED_E5
from ulasan.schema import CAUSES, SENTIMENTS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where ulasan keeps caches and finds data; each field can be set as ``ULASAN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ULASAN_")

    home: Path = Field(default=Path.home() / ".cache" / "ulasan", description="cache folder for the built base model")
    data: Path = Field(default=PROJECT_ROOT.parent / "shared" / "data", description="folder holding the public and gold sets")


class Strict(BaseModel):
    """A config block that rejects unknown keys, so a typo in a recipe is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


SourceName = Literal["records", "smsa", "casa", "hoasa", "prdect", "gold"]


class SourceConfig(Strict):
    """One training or evaluation source: a records file or folder, or a named public set."""

    name: SourceName
    path: str | None = None
    """For ``records``: a file or a folder of JSON Lines / CSV / Parquet files, relative to the project root."""
    split: str = "train"
    """For named sets: which file of the set (``train``, ``valid``, ``all``, or ``id``/``ms`` for gold)."""
    label: str | None = None
    """Name to report this source under; defaults to ``name:split`` or the path."""
    silver_min_precision: float | None = Field(None, ge=0.0, le=1.0)
    """Fill missing cause labels with silver labels from labelling functions of at least this measured precision."""

    def display_name(self) -> str:
        """How this source is named in logs, metrics and the model card."""
        if self.label:
            return self.label
        return self.path if self.name == "records" and self.path else f"{self.name}:{self.split}"


class ModelConfig(Strict):
    """The encoder and how texts are fed to it."""

    base: str = PACKAGED_E5
    """``packaged:multilingual-e5-small``, a Hugging Face model id, or a local model folder."""
    init_from: str | None = None
    """A ulasan model artifact to continue from (its encoder, heads and tokenizer), e.g. ``models/quick``."""
    encoder_layers: int | None = Field(None, ge=1)
    """Keep only the lowest N transformer layers of the base encoder: faster to train, score and serve (None: all)."""
    max_length: int = Field(128, ge=16, le=512)
    head_fraction: float = Field(0.33, ge=0.0, le=1.0)
    """Share of the token budget kept from the start of a long text; the rest comes from its end."""
    text_prefix: str = "query: "
    """Prefix the e5 family was trained with; use "" for other encoders."""
    dropout: float = Field(0.1, ge=0.0, lt=1.0)


class DataConfig(Strict):
    """What to train on, what to validate on, and what to report on."""

    train: list[SourceConfig]
    validation_fraction: float = Field(0.1, gt=0.0, lt=0.5)
    """Share of the training records held out (stratified, seeded) for early stopping and calibration."""
    evaluate: list[SourceConfig] = []
    """Sets reported in metrics.json and the model card; their texts are removed from training."""
    near_duplicate_threshold: float = Field(0.8, gt=0.0, le=1.0)
    """Character 3-gram Jaccard similarity at which two texts count as the same."""
    complaint_prior: dict[str, float] | None = None
    """Expected share of each cause among real complaints. When set, the primary-cause logits are shifted by
    log(prior / share the head learned) (logit adjustment; the learned share accounts for the class weights),
    so a model trained on data rich in rare causes predicts them at their real rate. Causes left out share the
    rest in their training proportions."""
    sentiment_prior: dict[str, float] | None = None
    """Expected share of each sentiment in real reviews; the sentiment logits are shifted the same way.
    Sentiments left out share the rest in their training proportions."""

    @field_validator("complaint_prior", "sentiment_prior")
    @classmethod
    def _a_distribution(cls, prior: dict[str, float] | None, info) -> dict[str, float] | None:
        """A prior names known labels with shares in (0, 1], summing to 1 (all named) or less (some left out)."""
        if not prior:
            return prior
        labels = CAUSES if info.field_name == "complaint_prior" else SENTIMENTS
        unknown = sorted(set(prior) - set(labels))
        if unknown:
            raise ValueError(f"names unknown labels {unknown}; known: {', '.join(labels)}")
        outside = {label: share for label, share in prior.items() if not 0.0 < share <= 1.0}
        if outside:
            raise ValueError(f"shares must be above 0 and at most 1: {outside}")
        total = sum(prior.values())
        if len(prior) < len(labels) and total >= 1.0:
            raise ValueError(f"a prior that leaves out labels must sum to less than 1; it sums to {total:.3f}")
        if len(prior) == len(labels) and abs(total - 1.0) > 0.01:
            raise ValueError(f"a prior naming every label must sum to 1; it sums to {total:.3f}")
        return prior


class TrainConfig(Strict):
    """Optimisation settings."""

    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    freeze_embeddings: bool = True
    """Freeze the 96M-parameter word-embedding table: 2.5x faster steps on a CPU."""
    freeze_layers: int = Field(0, ge=0)
    """Also freeze the embeddings and the lowest N encoder layers: no backward pass through them, faster steps."""
    surface_noise: float = Field(0.0, ge=0.0, le=1.0)
    """Share of training texts rewritten each epoch in letter case and punctuation (ulasan.augment)."""
    class_weight_power: float = Field(0.5, ge=0.0, le=1.0)
    """Class weight = (1 / frequency) ** power; 0 disables re-weighting, 1 is full inverse frequency."""
    eval_every_steps: int = Field(0, ge=0)
    """Validate every N steps as well as at each epoch end (0: epoch ends only)."""
    patience: int = Field(2, ge=1)
    """Stop after this many validations without a better validation macro-F1."""
    checkpoint_every_steps: int = Field(50, ge=1)
    max_steps: int = Field(0, ge=0)
    """Stop after this many optimiser steps (0: no limit)."""
    max_minutes: float = Field(0, ge=0)
    """Stop training after this many minutes (0: no limit); the best validated weights are kept."""
    threads: int = Field(0, ge=0)
    """torch threads (0: torch's default)."""


class Recipe(Strict):
    """A complete, reproducible training recipe."""

    name: str
    description: str = ""
    seed: int = 13
    model: ModelConfig = ModelConfig()
    data: DataConfig
    train: TrainConfig = TrainConfig()

    @model_validator(mode="after")
    def _encoder_layers_fit(self) -> Recipe:
        layers = self.model.encoder_layers
        if layers is not None and self.model.init_from:
            raise ValueError("encoder_layers shapes a new model from the base; a model continued via init_from keeps its own")
        if layers is not None and self.train.freeze_layers >= layers:
            raise ValueError(f"freeze_layers = {self.train.freeze_layers} would freeze all {layers} encoder layers")
        return self


def load_recipe(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read and validate a recipe TOML file, with ``section.key=value`` overrides applied on top."""
    if not path.is_file():
        raise FileNotFoundError(f"no recipe file {path}")
    try:
        with path.open("rb") as stream:
            raw = tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from None
    for override in overrides:
        _apply_override(raw, override)
    return Recipe.model_validate(raw)


def _apply_override(raw: dict, override: str) -> None:
    """Set one ``dotted.key=value`` in a raw recipe; the value is read as TOML (``6``, ``true``), else as a string."""
    key, separator, value = override.partition("=")
    if not separator or not key.strip():
        raise ValueError(f"override {override!r} is not of the form section.key=value")
    *parents, leaf = key.strip().split(".")
    target = raw
    for depth, name in enumerate(parents):
        target = target.setdefault(name, {})
        if not isinstance(target, dict):
            raise ValueError(f"override {override!r}: {'.'.join(parents[:depth + 1])} is a value, not a section")
    try:
        target[leaf] = tomllib.loads(f"value = {value.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        target[leaf] = value.strip()


class ServerSettings(BaseSettings):
    """Settings of ``ulasan serve``; each can be set as ``ULASAN_<NAME>`` (e.g. ``ULASAN_MAX_TEXTS=64``)."""

    model_config = SettingsConfigDict(env_prefix="ULASAN_", protected_namespaces=())

    model: Path = PROJECT_ROOT / "models" / "quick"
    backend: str = "auto"
    """Inference backend: auto (int8 ONNX, else ONNX, else torch), torch, onnx or onnx-int8."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_texts: int = Field(64, ge=1, description="most texts in one request")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="largest request body accepted")
    max_chars: int = Field(5_000, ge=1, description="longer texts are cut to this many characters and flagged")
    batch_max_size: int = Field(32, ge=1, description="most texts run through the model together")
    batch_max_wait_ms: float = Field(3.0, ge=0, description="longest a text waits for other arriving requests to join its batch")
    inference_threads: int = Field(0, ge=0, description="threads per inference call (0: all cores)")
    api_key: str | None = Field(None, description="when set, every endpoint but /healthz needs it")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS (default: none)")
    max_upload_bytes: int = Field(50_000_000, ge=1024, description="largest scored file accepted for a report")
