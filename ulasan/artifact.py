"""The model artifact: a versioned folder holding everything needed to predict.

Layout::

    model.safetensors      weights of the encoder and the three heads
    encoder/config.json    the encoder's Hugging Face config
    tokenizer.json ...     the tokenizer
    ulasan.json            model version, text handling, calibration temperatures
    schema.json            the label schema the model was trained with
    metrics.json           validation and evaluation metrics
    README.md              the model card
    baseline/              the TF-IDF baseline trained on the same records

Nothing in it is loaded with pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from ulasan.model import ReviewClassifier
from ulasan.schema import check_schema, write_schema

WEIGHTS_FILE = "model.safetensors"
INFO_FILE = "ulasan.json"
ENCODER_FOLDER = "encoder"
BASELINE_FOLDER = "baseline"


class ModelInfo(BaseModel):
    """What ``ulasan.json`` records about a trained model."""

    model_version: str
    recipe: str
    base_model: str
    max_length: int
    head_fraction: float
    text_prefix: str
    sentiment_temperature: float = 1.0
    cause_temperature: float = 1.0
    sentiment_offsets: list[float] = [0.0] * 3
    """Added to the sentiment logits (positive, neutral, negative) before the softmax."""
    cause_offsets: list[float] = [0.0] * 7
    """Added to the primary-cause logits (no complaint first, then the six causes) before the softmax."""
    causes_threshold: float = 0.5
    uncertain_below: float = 0.5
    """A prediction whose confidence is below this is flagged ``uncertain``."""
    created: str
    package_version: str


def save_artifact(folder: Path, model: ReviewClassifier, tokenizer: PreTrainedTokenizerBase, info: ModelInfo) -> None:
    """Write weights, encoder config, tokenizer, ``ulasan.json`` and ``schema.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"model_version": info.model_version})
    model.encoder.config.save_pretrained(folder / ENCODER_FOLDER)
    tokenizer.save_pretrained(folder)
    write_info(folder, info)
    write_schema(folder)


def write_info(folder: Path, info: ModelInfo) -> None:
    """Write ``ulasan.json``."""
    (folder / INFO_FILE).write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_info(folder: Path) -> ModelInfo:
    """Read ``ulasan.json`` of an artifact."""
    return ModelInfo.model_validate_json((folder / INFO_FILE).read_text(encoding="utf-8"))


METRICS_FILE = "metrics.json"
"""Written when training has finished (calibrated and evaluated): an artifact without it is unfinished."""


def check_artifact(folder: Path, finished: bool = True) -> None:
    """Refuse a folder that is not a ulasan artifact, whose training has not finished (unless ``finished`` is
    False, as while training finishes it), or whose label schema differs from this code's."""
    if not (folder / INFO_FILE).is_file():
        raise FileNotFoundError(f"{folder} is not a ulasan model artifact (no {INFO_FILE})")
    if finished and not (folder / METRICS_FILE).is_file():
        raise FileNotFoundError(f"{folder} holds a model whose training did not finish (no {METRICS_FILE}): "
                                f"run the same `ulasan train` command again to finish it")
    check_schema(folder)


def load_torch_model(folder: Path) -> ReviewClassifier:
    """The PyTorch classifier of an artifact, in eval mode."""
    model = ReviewClassifier.from_encoder_config(str(folder / ENCODER_FOLDER))
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)), strict=True)
    return model.eval()


def load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """The tokenizer saved in an artifact."""
    return AutoTokenizer.from_pretrained(str(folder))


def load_artifact(folder: Path) -> tuple[ReviewClassifier, PreTrainedTokenizerBase, ModelInfo]:
    """Model, tokenizer and info of an artifact, after checking its label schema."""
    folder = Path(folder)
    check_artifact(folder)
    return load_torch_model(folder), load_tokenizer(folder), read_info(folder)


def write_metrics(folder: Path, metrics: dict) -> None:
    """Write ``metrics.json``."""
    (folder / METRICS_FILE).write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
