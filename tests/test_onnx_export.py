"""``ulasan export --onnx [--int8]``: a fused ONNX model that matches PyTorch, and an int8 model kept only on parity."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from ulasan.artifact import load_torch_model
from ulasan.onnx_export import matches_pytorch
from ulasan.predictor import ONNX_FP32, ONNX_INT8, Classifier

TEXTS = ["Barang rosak", "Pengiriman lama banget, chat gak dibalas, refund pun belum masuk sampai sekarang",
         "ok", "Harga mahal gila tapi kualiti biasa je, seller pun lambat reply bila tanya pasal saiz"]


def _export(model, *extra):
    return subprocess.run([sys.executable, "-m", "ulasan.cli", "export", "--onnx", *extra, str(model)],
                          capture_output=True, text=True, timeout=600)


def _op_types(path):
    return {node.op_type for node in onnx.load(str(path)).graph.node}


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory):
    """A copy of the tiny model after ``ulasan export --onnx --int8``, and what the command printed."""
    model = shutil.copytree(tiny_model, tmp_path_factory.mktemp("export") / "model")
    return model, _export(model, "--int8")


def test_onnx_model_is_fused_and_matches_pytorch(exported):
    model, done = exported
    assert (model / ONNX_FP32).is_file(), done.stderr
    assert {"Attention", "SkipLayerNormalization"} <= _op_types(model / ONNX_FP32)
    torch_logits, _ = Classifier(model, backend="torch").logits(TEXTS)
    for batch_size in (1, 3):  # shapes other than the one traced at export
        onnx_logits, _ = Classifier(model, backend="onnx", batch_size=batch_size).logits(TEXTS)
        for head, values in torch_logits.items():
            np.testing.assert_allclose(onnx_logits[head], values, atol=1e-4)


def test_the_fused_graph_is_checked_against_pytorch(exported):
    model, _ = exported
    torch_model = load_torch_model(model)
    assert matches_pytorch(torch_model, model / ONNX_FP32)
    with torch.no_grad():
        torch_model.cause_head.bias[1] += 0.01
    assert not matches_pytorch(torch_model, model / ONNX_FP32)


def test_int8_model_is_kept_only_when_it_passes_the_parity_check(exported):
    model, done = exported
    assert "int8 vs fp32 parity on" in done.stdout, done.stderr
    passed = "PASS" in done.stdout
    assert (done.returncode == 0) == passed == (model / ONNX_INT8).is_file()
    if passed:
        assert "QAttention" in _op_types(model / ONNX_INT8)
        assert Classifier(model).backend == "onnx-int8"
    else:
        assert "does not meet the parity bar" in done.stderr
        assert Classifier(model).backend == "onnx"
