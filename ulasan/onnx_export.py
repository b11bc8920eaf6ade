"""``ulasan export --onnx [--int8] MODEL``: an ONNX Runtime model beside the artifact, with a parity check.

The encoder is exported with plain (eager) attention, which ONNX Runtime's
transformer optimiser recognises: it fuses each layer's attention into one
``Attention`` node, and the embeddings, skip connections and GELUs likewise.
The fused graph runs fewer, larger operations, which helps single reviews most;
it is kept only when its logits match PyTorch's.

The int8 model is dynamically quantised: the embeddings, the fused attention
(its query, key and value projections) and the attention output projections in
int8, per channel; the feed-forward blocks and the heads stay fp32, because
quantising them flipped 4-5% of labels on validation data. The parity check
scores validation data with both models; the int8 model is kept only when its
labels agree with fp32 on at least 99% of texts per head and its macro-F1 drops
by at most 0.5 points.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ulasan.artifact import load_torch_model
from ulasan.metrics import head_report
from ulasan.predictor import HEADS, ONNX_FP32, ONNX_INT8, Classifier
from ulasan.records import Example
from ulasan.schema import CAUSE_OUTCOMES, NO_CAUSE, SENTIMENTS

MIN_AGREEMENT = 0.99
MAX_F1_DROP = 0.005
_LABELS = {"sentiment": SENTIMENTS, "cause": CAUSE_OUTCOMES}


class _Logits(torch.nn.Module):
    """The classifier with its outputs as a tuple, in HEADS order, for ONNX export."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        outputs = self.model(input_ids, attention_mask)
        return tuple(outputs[head] for head in HEADS)


def export_fp32(folder: Path) -> Path:
    """Export the artifact's PyTorch model to ``model.onnx`` (dynamic batch and sequence axes), fused for inference.

    The fused graph is kept only when its logits match PyTorch's; otherwise (an encoder whose layout the
    optimiser misreads) the plain traced graph is written, with a warning.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    model = load_torch_model(folder)
    model.encoder.set_attn_implementation("eager")
    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    axes.update({head: {0: "batch"} for head in HEADS})
    with tempfile.TemporaryDirectory() as scratch:
        plain, fused = Path(scratch) / "plain.onnx", Path(scratch) / "fused.onnx"
        torch.onnx.export(_Logits(model).eval(), example, str(plain), input_names=["input_ids", "attention_mask"],
                          output_names=list(HEADS), dynamic_axes=axes, opset_version=17, dynamo=False)
        config = model.encoder.config
        optimize_model(str(plain), model_type="bert", num_heads=config.num_attention_heads,
                       hidden_size=config.hidden_size, opt_level=0).save_model_to_file(str(fused))
        chosen = fused if matches_pytorch(model, fused) else plain
        if chosen is plain:
            warnings.warn("the fused ONNX graph does not match PyTorch for this encoder; the unfused graph is used")
        shutil.move(chosen, folder / ONNX_FP32)
    return folder / ONNX_FP32


def matches_pytorch(model: torch.nn.Module, path: Path, tolerance: float = 1e-3) -> bool:
    """Whether an ONNX graph gives the PyTorch model's logits on a padded batch of random token ids."""
    import onnxruntime as ort

    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, model.encoder.config.vocab_size, (3, 24), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, 10:] = 0
    with torch.inference_mode():
        expected = _Logits(model.eval())(input_ids, attention_mask)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(list(HEADS), {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})
    return all(np.allclose(a, e.numpy(), atol=tolerance) for a, e in zip(actual, expected))


def _kept_in_fp32(model_path: Path) -> list[str]:
    """MatMul/Gemm nodes left in fp32: the feed-forward blocks and the heads, where int8 error flips labels."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    sensitive = re.compile(r"intermediate|layer\.\d+/output/|_head/")
    return [node.name for node in graph.node if node.op_type in ("MatMul", "Gemm") and sensitive.search(node.name)]


def quantize_int8(folder: Path) -> Path:
    """Dynamically quantise ``model.onnx`` to ``model.int8.onnx``: embeddings and attention in int8, per channel."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = folder / ONNX_INT8
    quantize_dynamic(str(folder / ONNX_FP32), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization"],
                     nodes_to_exclude=_kept_in_fp32(folder / ONNX_FP32),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # the fused nodes' output type
    return target


@dataclass
class Parity:
    """How closely the int8 model follows the fp32 model on validation data."""

    agreement: dict[str, float]
    macro_f1: dict[str, tuple[float, float]]

    @property
    def passed(self) -> bool:
        """Whether every head meets the agreement and macro-F1-drop bars."""
        return all(value >= MIN_AGREEMENT for value in self.agreement.values()) and all(
            fp32 - int8 <= MAX_F1_DROP for fp32, int8 in self.macro_f1.values())

    def table(self) -> str:
        """A printable summary of the check."""
        lines = [f"{'head':<10} {'agreement':>9} {'fp32 F1':>8} {'int8 F1':>8} {'drop':>6}"]
        for head, agreement in self.agreement.items():
            fp32, int8 = self.macro_f1.get(head, (float("nan"), float("nan")))
            lines.append(f"{head:<10} {agreement:>9.4f} {fp32:>8.4f} {int8:>8.4f} {100 * (fp32 - int8):>5.2f}pt")
        lines.append("PASS" if self.passed else
                     f"FAIL: needs agreement >= {MIN_AGREEMENT:.0%} and a macro-F1 drop <= {100 * MAX_F1_DROP:.1f} points")
        return "\n".join(lines)


def parity_check(folder: Path, examples: list[Example]) -> Parity:
    """Compare int8 and fp32 ONNX predictions on labelled examples."""
    texts = [e.text for e in examples]
    fp32 = Classifier(folder, backend="onnx").predict(texts)
    int8 = Classifier(folder, backend="onnx-int8").predict(texts)
    agreement, macro_f1 = {}, {}
    for head in _LABELS:
        key = (lambda p: p["cause"] or NO_CAUSE) if head == "cause" else (lambda p: p["sentiment"])
        agreement[head] = sum(key(a) == key(b) for a, b in zip(fp32, int8)) / max(1, len(texts))
        rows = [i for i, e in enumerate(examples) if getattr(e, head) is not None]
        if rows:
            truth = [getattr(examples[i], head) for i in rows]
            macro_f1[head] = tuple(head_report(truth, [key(p[i]) for i in rows], _LABELS[head])["macro_f1"]
                                   for p in (fp32, int8))
    return Parity(agreement, macro_f1)
