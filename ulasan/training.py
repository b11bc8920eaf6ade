"""Fine-tuning: ``ulasan train --config training/<recipe>.toml --output models/<name>``.

The loop, top to bottom:
1. prepare the data (``training_data.prepare``) and train the TF-IDF baseline on it;
2. fine-tune the encoder and heads with AdamW and a linear warm-up/decay schedule
   that reaches zero at the last step or at the end of the time budget, whichever
   comes first; in length-grouped batches, a share of the texts rewritten in case
   and punctuation each epoch (``ulasan.augment``); with class-weighted losses and
   masked heads for records that carry only some labels;
3. validate on the held-out split every epoch (and every ``eval_every_steps``),
   keep the best weights by validation macro-F1, stop early without progress;
4. checkpoint every ``checkpoint_every_steps`` so that an interrupted run resumes;
5. write the artifact, fit temperature scaling on validation logits, evaluate
   on validation and every evaluation set, and write metrics and the model card.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from ulasan.artifact import BASELINE_FOLDER, ModelInfo, load_artifact, save_artifact, write_info, write_metrics
from ulasan.base_model import resolve_base_model
from ulasan.augment import surface_augmented
from ulasan.baseline import TfidfBaseline
from ulasan.checkpoint import checkpoint_progress, load_checkpoint, save_checkpoint
from ulasan.config import PROJECT_ROOT, Recipe, Settings
from ulasan.evaluation import evaluate, summary_table
from ulasan.metrics import fit_temperature, head_report
from ulasan.model import ReviewClassifier, TextEncoder
from ulasan.model_card import write_model_card
from ulasan.predictor import Classifier, batched_logits, torch_forward
from ulasan.records import Example
from ulasan.schema import CAUSE_OUTCOMES, CAUSES, SENTIMENTS
from ulasan.training_data import TrainingData, label_counts, prepare

IGNORE = -100
CHECKPOINT_FOLDER = "checkpoint"


def train(recipe: Recipe, output: Path, settings: Settings, skip_invalid: bool = False) -> Path:
    """Run a recipe end to end and return the artifact folder."""
    hf_logging.set_verbosity_error()
    started = time.time()
    output.mkdir(parents=True, exist_ok=True)
    seed_everything(recipe.seed)
    if recipe.train.threads:
        torch.set_num_threads(recipe.train.threads)
    (output / "rejects.jsonl").unlink(missing_ok=True)  # an earlier run's rejects would be mistaken for this one's
    data = prepare(recipe, settings.data, skip_invalid, output / "rejects.jsonl")
    check_every_head_learns(recipe, data)
    _print_data_summary(data)
    baseline = TfidfBaseline.train(data.train, recipe.seed)
    seed_everything(recipe.seed)
    model, tokenizer, base_name = initial_model(recipe, settings)
    text_encoder = TextEncoder(tokenizer, recipe.model.max_length, recipe.model.head_fraction, recipe.model.text_prefix)
    history = fit(model, text_encoder, data, recipe, output / CHECKPOINT_FOLDER)
    info = ModelInfo(
        model_version=_model_version(recipe, model), recipe=recipe.name, base_model=base_name,
        max_length=recipe.model.max_length, head_fraction=recipe.model.head_fraction,
        text_prefix=recipe.model.text_prefix, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        package_version=version("ulasan"),
    )
    save_artifact(output, model, tokenizer, info)
    baseline.save(output / BASELINE_FOLDER)
    metrics = finalize(output, data, baseline, recipe, history, time.time() - started)
    shutil.rmtree(output / CHECKPOINT_FOLDER, ignore_errors=True)
    print(f"model written to {output} ({metrics['wall_seconds']:.0f} s)")
    return output


def initial_model(recipe: Recipe, settings: Settings) -> tuple[ReviewClassifier, PreTrainedTokenizerBase, str]:
    """The model to fine-tune: a ulasan artifact to continue from, or the base encoder with new heads."""
    if recipe.model.init_from:
        folder = Path(recipe.model.init_from)
        model, tokenizer, info = load_artifact(folder if folder.is_absolute() else PROJECT_ROOT / folder)
        return model, tokenizer, f"{info.base_model} via {info.model_version}"
    base_path = resolve_base_model(recipe.model.base, settings.home)
    model = ReviewClassifier.from_pretrained_encoder(base_path, recipe.model.dropout, recipe.model.encoder_layers)
    return model, AutoTokenizer.from_pretrained(base_path), recipe.model.base


def check_every_head_learns(recipe: Recipe, data: TrainingData) -> None:
    """Refuse data that would leave a head of a new model untrained (a continued model keeps its trained heads)."""
    if recipe.model.init_from:
        return
    for head in ("sentiment", "cause"):
        if not any(getattr(example, head) is not None for example in data.train):
            raise ValueError(f"no training record has a {head} label, so a new model's {head} head would stay "
                             f"untrained and predict noise: add {head} labels (for causes, silver ones via "
                             f"silver_min_precision), or continue a trained model with model.init_from")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _print_data_summary(data: TrainingData) -> None:
    for name, stats in data.stats.items():
        print(f"  {name}: loaded {stats.loaded}, invalid {stats.invalid}, in evaluation sets {stats.overlap_with_evaluation}, "
              f"duplicates {stats.duplicates} -> train {stats.train}, validation {stats.validation}")
    if data.rejects_file:
        print(f"  invalid records set aside in {data.rejects_file}")


def _targets(examples: list[Example]) -> dict[str, list]:
    """Per-head targets, IGNORE (or a zero mask) where a record carries no label for that head."""
    return {
        "sentiment": [SENTIMENTS.index(e.sentiment) if e.sentiment else IGNORE for e in examples],
        "cause": [CAUSE_OUTCOMES.index(e.cause) if e.cause else IGNORE for e in examples],
        "causes": [[float(c in e.causes) for c in CAUSES] if e.causes is not None else [0.0] * len(CAUSES)
                   for e in examples],
        "causes_mask": [float(e.causes is not None) for e in examples],
    }


def _tokenized(examples: list[Example], text_encoder: TextEncoder) -> Dataset:
    """A datasets.Dataset of token ids and head targets for the examples."""
    dataset = Dataset.from_dict({"text": [e.text for e in examples], **_targets(examples)})
    return dataset.map(lambda batch: {"input_ids": [e.input_ids for e in text_encoder.encode(batch["text"])]},
                       batched=True, desc="tokenising", keep_in_memory=True)


def inverse_frequency_weights(counts: np.ndarray, power: float) -> np.ndarray:
    """Weights (1 / frequency) ** power per class count (or share), normalised to mean 1 over seen classes."""
    weights = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1e-12)) ** power, 0.0)
    seen = weights > 0
    weights[seen] /= weights[seen].mean()
    return weights


def _class_weights(targets: list[int], classes: int, power: float) -> torch.Tensor:
    """Loss weights per class of integer targets (IGNORE skipped)."""
    counts = np.bincount([t for t in targets if t != IGNORE], minlength=classes).astype(float)
    return torch.tensor(inverse_frequency_weights(counts, power), dtype=torch.float32)


def _positive_weights(dataset: Dataset, power: float) -> torch.Tensor:
    labels = np.array(dataset["causes"])[np.array(dataset["causes_mask"]) > 0]
    positives = labels.sum(axis=0) if len(labels) else np.zeros(len(CAUSES))
    ratio = (len(labels) - positives) / np.maximum(positives, 1)
    return torch.tensor(np.clip(ratio ** power, 1.0, 20.0), dtype=torch.float32)


class MultiHeadLoss(nn.Module):
    """Class-weighted cross-entropy for sentiment and primary cause, BCE for the cause set; unlabelled heads masked."""

    def __init__(self, train: Dataset, power: float):
        super().__init__()
        self.sentiment = nn.CrossEntropyLoss(weight=_class_weights(train["sentiment"], len(SENTIMENTS), power),
                                             ignore_index=IGNORE)
        self.cause = nn.CrossEntropyLoss(weight=_class_weights(train["cause"], len(CAUSE_OUTCOMES), power),
                                         ignore_index=IGNORE)
        self.causes = nn.BCEWithLogitsLoss(pos_weight=_positive_weights(train, power), reduction="none")

    def forward(self, logits: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        total = logits["sentiment"].new_zeros(())
        for head in ("sentiment", "cause"):
            if (batch[head] != IGNORE).any():
                total = total + getattr(self, head)(logits[head], batch[head])
        mask = batch["causes_mask"]
        if mask.sum() > 0:
            per_row = self.causes(logits["causes"], batch["causes"]).mean(dim=1)
            total = total + (per_row * mask).sum() / mask.sum()
        return total


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Length-grouped batches for one epoch: shuffle, sort within pools of 50 batches, shuffle batches."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _collate(dataset: Dataset, rows: list[int], text_encoder: TextEncoder) -> dict[str, torch.Tensor]:
    items = dataset[rows]
    batch = {name: torch.from_numpy(array) for name, array in text_encoder.pad(items["input_ids"]).items()}
    batch["sentiment"] = torch.tensor(items["sentiment"], dtype=torch.long)
    batch["cause"] = torch.tensor(items["cause"], dtype=torch.long)
    batch["causes"] = torch.tensor(items["causes"], dtype=torch.float32)
    batch["causes_mask"] = torch.tensor(items["causes_mask"], dtype=torch.float32)
    return batch


def _freeze(model: ReviewClassifier, recipe: Recipe) -> None:
    """Stop gradients into the word embeddings and, when asked, the whole embedding block and the lowest layers."""
    if recipe.train.freeze_embeddings:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    if recipe.train.freeze_layers:
        frozen = [model.encoder.embeddings, *model.encoder.encoder.layer[: recipe.train.freeze_layers]]
        for module in frozen:
            module.requires_grad_(False)


def _optimizer(model: ReviewClassifier, recipe: Recipe) -> torch.optim.Optimizer:
    _freeze(model, recipe)
    encoder = [p for p in model.encoder.parameters() if p.requires_grad]
    heads = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    return torch.optim.AdamW(
        [{"params": encoder, "lr": recipe.train.learning_rate}, {"params": heads, "lr": recipe.train.head_learning_rate}],
        weight_decay=recipe.train.weight_decay,
    )


def budgeted_linear_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                             budget_used: Callable[[], float]) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then linear decay to zero at the last step or when ``budget_used()`` reaches 1, if sooner."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / warmup_steps
        progress = max((step - warmup_steps) / max(1, total_steps - warmup_steps), budget_used())
        return max(0.0, 1.0 - progress)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def validation_score(model: ReviewClassifier, text_encoder: TextEncoder, examples: list[Example]) -> dict[str, float]:
    """Macro-F1 of sentiment and primary cause on validation examples, and their mean (the early-stopping score)."""
    model.eval()
    logits = batched_logits(torch_forward(model), text_encoder, text_encoder.encode([e.text for e in examples]), 64)
    model.train()
    scores = {}
    for head, labels in (("sentiment", SENTIMENTS), ("cause", CAUSE_OUTCOMES)):
        rows = [i for i, e in enumerate(examples) if getattr(e, head) is not None]
        if rows:
            predicted = [labels[int(k)] for k in logits[head][rows].argmax(axis=1)]
            scores[head] = head_report([getattr(examples[i], head) for i in rows], predicted, labels)["macro_f1"]
    scores["score"] = round(float(np.mean(list(scores.values()))), 4) if scores else 0.0
    return scores


def fit(model: ReviewClassifier, text_encoder: TextEncoder, data: TrainingData, recipe: Recipe,
        checkpoint_folder: Path) -> list[dict]:
    """Fine-tune in place, resuming from a checkpoint when one exists; leaves the best weights loaded."""
    config = recipe.train
    train_set = _tokenized(data.train, text_encoder)
    steps_per_epoch = -(-len(train_set) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    loss_fn = MultiHeadLoss(train_set, config.class_weight_power)
    optimizer = _optimizer(model, recipe)
    progress = {"run_hash": _run_hash(recipe, data), "epoch": 0, "batch": 0, "step": 0, "best_score": -1.0,
                "best_step": 0, "evaluations_without_gain": 0, "elapsed": 0.0, "history": [], "done": False}
    best_state = None
    saved = checkpoint_progress(checkpoint_folder)
    resumed_at, clock = 0.0, time.time()

    def elapsed() -> float:
        return resumed_at + time.time() - clock

    def budget_used() -> float:
        return elapsed() / (config.max_minutes * 60) if config.max_minutes else 0.0

    scheduler = budgeted_linear_schedule(optimizer, int(total_steps * config.warmup_fraction), total_steps, budget_used)
    if saved and saved.get("run_hash") == progress["run_hash"]:
        progress, best_state = load_checkpoint(checkpoint_folder, model, optimizer, scheduler)
        print(f"resuming from step {progress['step']} (epoch {progress['epoch'] + 1})")
        resumed_at, clock = progress["elapsed"], time.time()
    elif saved:
        print(f"the checkpoint in {checkpoint_folder} is of another recipe or other data: training from the start")
    model.train()
    bar = tqdm(total=total_steps, initial=progress["step"], desc=f"training {recipe.name}", unit="step",
               dynamic_ncols=True, mininterval=0.2 if sys.stderr.isatty() else 30)

    def validate() -> None:
        nonlocal best_state
        scores = validation_score(model, text_encoder, data.validation)
        progress["history"].append({"step": progress["step"], "epoch": progress["epoch"] + 1, **scores})
        if scores["score"] > progress["best_score"]:
            progress.update(best_score=scores["score"], best_step=progress["step"], evaluations_without_gain=0)
            best_state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        else:
            progress["evaluations_without_gain"] += 1
        bar.set_postfix(val=scores["score"], best=progress["best_score"])
        tqdm.write(f"  step {progress['step']}: validation {scores}")

    def out_of_budget() -> bool:
        return (progress["step"] >= total_steps or progress["evaluations_without_gain"] >= config.patience
                or budget_used() > 1.0)

    while not progress["done"] and progress["epoch"] < config.epochs:
        epoch_set = train_set if not config.surface_noise else _tokenized(
            surface_augmented(data.train, config.surface_noise, recipe.seed, progress["epoch"]), text_encoder)
        lengths = [len(ids) for ids in epoch_set["input_ids"]]
        batches = epoch_batches(lengths, config.batch_size, recipe.seed, progress["epoch"])
        while progress["batch"] < len(batches) and not out_of_budget():
            batch = _collate(epoch_set, batches[progress["batch"]], text_encoder)
            loss = loss_fn(model(batch["input_ids"], batch["attention_mask"]), batch)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            progress["batch"] += 1
            progress["step"] += 1
            bar.update(1)
            bar.set_postfix(loss=round(loss.item(), 3), best=progress["best_score"], refresh=False)
            if config.eval_every_steps and progress["step"] % config.eval_every_steps == 0:
                validate()
            if progress["step"] % config.checkpoint_every_steps == 0:
                progress["elapsed"] = elapsed()
                save_checkpoint(checkpoint_folder, model, best_state, optimizer, scheduler, progress)
        if out_of_budget() and progress["batch"] < len(batches):
            progress["done"] = True
        else:
            progress.update(epoch=progress["epoch"] + 1, batch=0)
        if not progress["history"] or progress["history"][-1]["step"] != progress["step"]:
            validate()
        progress["done"] = progress["done"] or out_of_budget()
        progress["elapsed"] = elapsed()
        save_checkpoint(checkpoint_folder, model, best_state, optimizer, scheduler, progress)
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return progress["history"]


def _run_hash(recipe: Recipe, data: TrainingData) -> str:
    """What a checkpoint must match to be resumed: the recipe, and the training and validation records."""
    digest = hashlib.sha256(recipe.model_dump_json().encode())
    for example in data.train + data.validation:
        digest.update(json.dumps([example.text, example.sentiment, example.cause, example.causes]).encode())
    return digest.hexdigest()[:16]


def _model_version(recipe: Recipe, model: ReviewClassifier) -> str:
    """``<recipe>-<date>-<hash of the head weights>``."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if not name.startswith("encoder."):
            digest.update(tensor.numpy().tobytes())
    return f"{recipe.name}-{datetime.now(timezone.utc):%Y%m%d}-{digest.hexdigest()[:8]}"


def finalize(output: Path, data: TrainingData, baseline: TfidfBaseline, recipe: Recipe, history: list[dict],
             wall_seconds: float) -> dict:
    """Calibrate on validation, evaluate everywhere, write metrics.json and the model card."""
    classifier = Classifier(output, backend="torch", finished=False)
    logits, _ = classifier.logits([e.text for e in data.validation])
    for head, labels in (("sentiment", SENTIMENTS), ("cause", CAUSE_OUTCOMES)):
        rows = [i for i, e in enumerate(data.validation) if getattr(e, head) is not None]
        targets = np.array([labels.index(getattr(data.validation[i], head)) for i in rows])
        setattr(classifier.info, f"{head}_temperature", fit_temperature(logits[head][rows], targets))
    power = recipe.train.class_weight_power
    classifier.info.sentiment_offsets = prior_offsets(
        SENTIMENTS, [e.sentiment for e in data.train if e.sentiment], recipe.data.sentiment_prior, power)
    classifier.info.cause_offsets = [0.0] + prior_offsets(
        CAUSES, [e.cause for e in data.train if e.cause in CAUSES], recipe.data.complaint_prior, power)
    write_info(output, classifier.info)
    reports = {"validation": evaluate(classifier, data.validation, baseline, output / "eval" / "validation", "validation")}
    for name, examples in data.evaluation.items():
        folder = output / "eval" / name.replace(":", "-").replace("/", "_")
        reports[name] = evaluate(classifier, examples, baseline, folder, name)
    for report in reports.values():
        print(summary_table(report))
    metrics = {
        "model_version": classifier.model_version,
        "recipe": recipe.model_dump(),
        "wall_seconds": round(wall_seconds, 1),
        "data": {name: vars(stats) for name, stats in data.stats.items()},
        "train_labels": label_counts(data.train),
        "history": history,
        "evaluations": reports,
    }
    write_metrics(output, metrics)
    write_model_card(output, metrics)
    return metrics


def prior_offsets(labels: tuple[str, ...], observed: list[str], prior: dict[str, float] | None,
                  class_weight_power: float = 0.0) -> list[float]:
    """Logit offsets log(target share / learned share) that move a head from its training mix to ``prior``.

    Cross-entropy weighted by (1 / share) ** power teaches a head the shares share ** (1 - power), so the
    offsets undo the class weights as well as the training mix. Labels the prior leaves out share the rest
    of the mass in their training proportions.
    """
    if not prior:
        return [0.0] * len(labels)
    counts = np.array([observed.count(label) for label in labels], dtype=float)
    share = np.maximum(counts / max(1.0, counts.sum()), 1e-4)
    learned = share * inverse_frequency_weights(share, class_weight_power)
    learned /= learned.sum()
    named = np.array([label in prior for label in labels])
    rest = 1.0 - sum(prior.values())  # the recipe's validation keeps it above 0 when labels are left out
    target = np.array([prior.get(label, 0.0) for label in labels])
    if named.all():
        target /= target.sum()
    else:
        target[~named] = rest * share[~named] / share[~named].sum()
    return [round(float(np.log(t / l)), 4) for t, l in zip(target, learned)]
