"""The classifier: a multilingual encoder, mean pooling, and three heads.

- ``sentiment``: softmax over the three sentiments;
- ``cause``: softmax over "no complaint" and the six causes, so the primary
  cause (or none) is its argmax and each cause gets a probability;
- ``causes``: an independent sigmoid per cause, for the set of every cause voiced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedTokenizerBase

from ulasan.schema import CAUSE_OUTCOMES, CAUSES, SENTIMENTS


class ReviewClassifier(nn.Module):
    """Encoder plus sentiment, primary-cause and cause-set heads."""

    def __init__(self, encoder: nn.Module, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.sentiment_head = nn.Linear(hidden, len(SENTIMENTS))
        self.cause_head = nn.Linear(hidden, len(CAUSE_OUTCOMES))
        self.causes_head = nn.Linear(hidden, len(CAUSES))

    @classmethod
    def from_pretrained_encoder(cls, name_or_path: str, dropout: float, layers: int | None = None) -> ReviewClassifier:
        """A classifier with pretrained encoder weights (only the lowest ``layers`` when given) and new heads."""
        config = AutoConfig.from_pretrained(name_or_path)
        if layers is not None:
            if layers > config.num_hidden_layers:
                raise ValueError(f"encoder_layers = {layers}, but {name_or_path} has only {config.num_hidden_layers} layers")
            config.num_hidden_layers = layers
        return cls(AutoModel.from_pretrained(name_or_path, config=config), dropout)

    @classmethod
    def from_encoder_config(cls, config_folder: str) -> ReviewClassifier:
        """An untrained classifier shaped by a saved encoder config; weights are loaded afterwards."""
        return cls(AutoModel.from_config(AutoConfig.from_pretrained(config_folder)))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits of each head for a padded batch."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = self.dropout((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))
        return {
            "sentiment": self.sentiment_head(pooled),
            "cause": self.cause_head(pooled),
            "causes": self.causes_head(pooled),
        }


@dataclass(frozen=True)
class EncodedText:
    """Token ids of one text, and whether the middle of the text was cut out to fit."""

    input_ids: list[int]
    truncated: bool


class TextEncoder:
    """Tokenises texts to at most ``max_length`` tokens, keeping the head and the tail of long ones."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_length: int, head_fraction: float, prefix: str):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.prefix = prefix
        self._start = [tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id]
        self._end = [tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id]
        budget = max_length - len(self._start) - len(self._end)
        self._head = int(round(budget * head_fraction))
        self._tail = budget - self._head

    def encode(self, texts: list[str]) -> list[EncodedText]:
        """Token ids for each text, with special tokens, head-and-tail truncated."""
        if not texts:
            return []
        pieces = self.tokenizer([self.prefix + text for text in texts], add_special_tokens=False,
                                verbose=False)["input_ids"]  # no "too long" warning: the cut is made below
        encoded = []
        for ids in pieces:
            truncated = len(ids) > self._head + self._tail
            if truncated:
                ids = ids[: self._head] + (ids[-self._tail:] if self._tail else [])
            encoded.append(EncodedText(self._start + ids + self._end, truncated))
        return encoded

    def pad(self, batch: list[list[int]]) -> dict[str, np.ndarray]:
        """Pad a batch of id lists to its own longest member (dynamic padding), as int64 arrays."""
        width = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), width), self.tokenizer.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}
