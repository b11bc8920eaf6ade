"""The offline base model: verified by sha256 before it is built; any Hugging Face folder loads too."""

from __future__ import annotations

import shutil

import pytest

from ulasan.base_model import E5_TOKENIZER, E5_WEIGHTS, PACKAGED_E5, ChecksumMismatchError, build_packaged_e5, resolve_base_model
from ulasan.config import Settings


def test_tampered_source_file_is_refused_and_nothing_is_built(tmp_path):
    weights = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(E5_WEIGHTS.locate(), weights)
    with weights.open("r+b") as stream:
        stream.seek(1000)
        stream.write(b"\x00\x01\x02\x03")
    target = tmp_path / "built"
    with pytest.raises(ChecksumMismatchError, match=f"expected {E5_WEIGHTS.sha256}"):
        build_packaged_e5(target, weights, E5_TOKENIZER.locate())
    assert not target.exists() and not (tmp_path / "built.partial").exists()


def test_packaged_model_is_a_loadable_hugging_face_folder():
    from transformers import AutoModel, AutoTokenizer

    folder = resolve_base_model(PACKAGED_E5, Settings().home)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 12
    ids = tokenizer("Barang tak sampai lagi, gak banget")["input_ids"]
    assert tokenizer.unk_token_id not in ids


def test_other_names_pass_through_to_from_pretrained():
    assert resolve_base_model("indobenchmark/indobert-base-p1", Settings().home) == "indobenchmark/indobert-base-p1"
