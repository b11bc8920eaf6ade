"""Resumable training checkpoints, written atomically, without pickle.

A checkpoint folder holds the current weights, the best weights so far, the
optimiser and scheduler state (tensors as safetensors, the rest as JSON), the
RNG state, and the loop's progress.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save_checkpoint(folder: Path, model: torch.nn.Module, best_state: dict[str, torch.Tensor] | None,
                    optimizer: torch.optim.Optimizer, scheduler, progress: dict) -> None:
    """Write a checkpoint to a staging folder, then swap it into place."""
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_file(_contiguous(model.state_dict()), str(staging / "current.safetensors"))
    if best_state is not None:
        save_file(_contiguous(best_state), str(staging / "best.safetensors"))
    tensors, structure = _flatten_optimizer(optimizer.state_dict())
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(staging / "optimizer.safetensors"))
    meta = {"optimizer": structure, "scheduler": scheduler.state_dict(), "progress": progress}
    (staging / "state.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler) -> tuple[dict, dict[str, torch.Tensor] | None]:
    """Restore model, optimiser, scheduler and RNG from a checkpoint; return (progress, best weights)."""
    meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    model.load_state_dict(load_file(str(folder / "current.safetensors")), strict=True)
    tensors = load_file(str(folder / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("rng.torch"))
    optimizer.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
    scheduler.load_state_dict(meta["scheduler"])
    best_path = folder / "best.safetensors"
    return meta["progress"], load_file(str(best_path)) if best_path.is_file() else None


def checkpoint_progress(folder: Path) -> dict | None:
    """The progress record of a checkpoint, or None when there is none."""
    path = folder / "state.json"
    return json.loads(path.read_text(encoding="utf-8"))["progress"] if path.is_file() else None


def _contiguous(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().contiguous() for name, tensor in state.items()}


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimiser state dict into named tensors and a JSON-ready structure."""
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        scalars[str(index)] = {}
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{key}"] = value.contiguous()
            else:
                scalars[str(index)][key] = value
    return tensors, {"scalars": scalars, "param_groups": state["param_groups"]}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], structure: dict) -> dict:
    state: dict[int, dict] = {int(index): dict(values) for index, values in structure["scalars"].items()}
    for name, tensor in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = tensor
    return {"state": state, "param_groups": structure["param_groups"]}
