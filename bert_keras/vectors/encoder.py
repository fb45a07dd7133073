"""`TextEncoder`: strings to token vectors, from an encoder handle or a trained run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from bert_keras.errors import BertKerasError, HandleError

DEFAULT_MODEL = "minilm-l6-uncased"
# all-MiniLM-L6-v2 was trained and is used (sentence-transformers) at 256 word pieces.
DEFAULT_SEQ_LENGTH = 256
SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]")


@dataclass
class EncodedBatch:
    """One encoded batch, trimmed to its longest text.

    Args:
        ids: int32 `[batch, length]` word-piece ids ([CLS] first, [SEP] last, 0 padding).
        mask: int32 `[batch, length]`, 1 on real tokens (specials included).
        vectors: float32 `[batch, length, hidden]` from the chosen layer(s).
    """

    ids: np.ndarray
    mask: np.ndarray
    vectors: np.ndarray


def is_run_dir(path: str | Path) -> bool:
    """Whether `path` is a trained bert_keras run (or its `model/` folder)."""
    from bert_keras.models.classifier import CONFIG_FILE

    path = Path(path)
    return (path / "model" / CONFIG_FILE).exists() or (path / CONFIG_FILE).exists()


class TextEncoder:
    """Tokenizes strings and runs the encoder, returning the vectors of every token.

    Args:
        model: an encoder handle (preset name, TF-Hub handle directory, hub URL) or a
            trained run directory, whose fine-tuned encoder is used.
        seq_length: word pieces per text, [CLS] and [SEP] included; longer texts keep
            their start (default: the run's length, else 256 capped by the encoder's
            position table).
        layer: which transformer block's output (`encoder_outputs[layer]`; -1: the last,
            which is `sequence_output`).
        last_layers: average the outputs of the last N blocks instead of one `layer`.

    Examples:

        encoder = TextEncoder("minilm-l6-uncased")
        batch = encoder.encode(["a sentence", "another one"])
        batch.vectors.shape  # (2, 5, 384)
    """

    def __init__(self, model: str | Path = DEFAULT_MODEL, *, seq_length: int | None = None,
                 layer: int = -1, last_layers: int | None = None):
        from bert_keras.layers.preprocessor import BertPreprocessor

        self.model = str(model)
        if is_run_dir(model):
            from bert_keras.models.classifier import Classifier

            classifier = Classifier.load(model, precision="float32")
            self.resolved = classifier.resolved_handle
            encoder_layer = classifier.get_layer("encoder").network
            seq_length = seq_length or classifier.settings["seq_length"]
        else:
            from bert_keras.hub.loader import load_encoder

            _, encoder_layer, self.resolved = load_encoder(model, trainable=False)
        positions = self.resolved.info.get("config", {}).get("max_position_embeddings")
        self.seq_length = int(seq_length or min(DEFAULT_SEQ_LENGTH, positions or 512))
        if self.seq_length < 3:
            raise BertKerasError(f"seq_length {self.seq_length}: needs at least 3 word pieces")
        self.layer, self.last_layers = int(layer), last_layers
        self.preprocessor = BertPreprocessor(self.resolved.preprocessor, self.seq_length)
        self.hub_layer = encoder_layer
        self._encode = tf.function(self._forward, reduce_retracing=True)
        self._vocabulary: list[str] | None = None

    def _forward(self, inputs: dict) -> tf.Tensor:
        outputs = self.hub_layer(inputs, training=False)
        blocks = outputs["encoder_outputs"]
        if self.last_layers:
            if not 1 <= self.last_layers <= len(blocks):
                raise BertKerasError(f"last_layers={self.last_layers}: the encoder has "
                                     f"{len(blocks)} layers")
            return tf.add_n(blocks[-self.last_layers:]) / float(self.last_layers)
        if not -len(blocks) <= self.layer < len(blocks):
            raise BertKerasError(f"layer={self.layer}: the encoder has {len(blocks)} layers "
                                 f"(0..{len(blocks) - 1}, or -1 for the last)")
        return blocks[self.layer]

    def encode(self, texts: list[str]) -> EncodedBatch:
        """Encodes a batch of strings (an empty string becomes [CLS] [SEP])."""
        packed = self.preprocessor(tf.constant(list(texts), tf.string))
        # Padding columns change nothing under the attention mask: drop them for speed.
        length = int(tf.reduce_max(tf.reduce_sum(packed["input_mask"], axis=1)))
        inputs = {name: value[:, :length] for name, value in packed.items()}
        vectors = self._encode(inputs)
        return EncodedBatch(inputs["input_word_ids"].numpy(), inputs["input_mask"].numpy(),
                            vectors.numpy().astype(np.float32))

    @property
    def vocabulary(self) -> list[str]:
        """The word pieces by id (raises when the handle ships no vocab.txt)."""
        if self._vocabulary is None:
            candidates = [self.resolved.vocab_file]
            if not self.resolved.is_remote:
                candidates.append(Path(self.resolved.preprocessor) / "assets" / "vocab.txt")
            found = next((p for p in candidates if p is not None and Path(p).exists()), None)
            if found is None:
                raise HandleError(
                    f"{self.model}: no vocabulary (vocab.txt) found beside the encoder or in "
                    "its preprocessor's assets; token strings need one. Use a local handle "
                    "(bert-keras prepare / convert)."
                )
            # Split on "\n" only: splitlines() also breaks at U+0085, U+2028 and other
            # separators that large (e.g. Chinese) vocabularies hold as tokens.
            lines = Path(found).read_text(encoding="utf-8").split("\n")
            self._vocabulary = [line.rstrip("\r") for line in lines]
            if self._vocabulary and not self._vocabulary[-1]:
                self._vocabulary.pop()
        return self._vocabulary

    def special_ids(self) -> np.ndarray:
        """The ids of [CLS], [SEP] and [PAD] (left out of token vectors and tables)."""
        index = {token: i for i, token in enumerate(self.vocabulary)}
        return np.array([index[t] for t in SPECIAL_TOKENS if t in index] + [0], np.int64)

    def input_embeddings(self) -> np.ndarray:
        """The encoder's input (word-piece) embedding table, `[vocab, hidden]`."""
        for weight in self.hub_layer.weights:
            if "word_embeddings" in weight.name:
                return weight.numpy().astype(np.float32)
        raise HandleError(f"{self.model}: the encoder has no word_embeddings variable")

    @property
    def hidden_size(self) -> int:
        return int(self.encode([""]).vectors.shape[-1])
