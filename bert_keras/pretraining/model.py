"""The masked-LM pre-training model: a handle's encoder rebuilt natively, plus an MLM head.

    handle --build_native_encoder--> networks.BertEncoder (the handle's weights)
      --official.nlp.models.BertPretrainerV2--> + layers.MaskedLM "cls/predictions"
      (transform dense + layer norm, output projection tied to the word embeddings)

A handle may carry the head's weights in `masked_lm.npz` (handles written by
`bert-keras pretrain`, and conversions of checkpoints that have `cls.predictions`);
they are reused. Otherwise the head is created (truncated-normal 0.02, as BERT).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras

from bert_keras.convert.tfhub_export import MASKED_LM_FILE
from bert_keras.errors import HandleError
from bert_keras.hub.handles import ResolvedHandle

_HEAD_SCOPE = "cls/predictions/"


def mlm_logits(pretrainer, inputs: dict, training: bool | None = None) -> tf.Tensor:
    """The pretrainer's `mlm_logits` for `inputs` (encoder inputs + masked_lm_positions)."""
    with warnings.catch_warnings():
        # BertPretrainerV2 hands its whole input dict to the encoder, which ignores (and
        # warns about) the positions.
        warnings.filterwarnings("ignore", message="Input dict contained keys")
        return pretrainer(inputs, training=training)["mlm_logits"]


def head_key(name: str) -> str:
    """The scope-free name of a MaskedLM head variable.

    Examples:
    >>> head_key("bert/cls/predictions/transform/dense/kernel:0")
    'transform/dense/kernel'
    """
    name = name.split(":")[0]
    index = name.find(_HEAD_SCOPE)
    return name[index + len(_HEAD_SCOPE):] if index >= 0 else name


def head_weights(masked_lm: keras.layers.Layer) -> dict[str, np.ndarray]:
    """The head's own weights by scope-free name (the tied embedding table left out)."""
    return {head_key(v.name): v.numpy() for v in masked_lm.weights
            if "word_embeddings" not in v.name}


def load_head_weights(masked_lm: keras.layers.Layer, path: str | Path) -> None:
    """Assigns the weights saved in `path` (a `masked_lm.npz`) to a built MaskedLM head."""
    with np.load(path) as saved:
        stored = {k: saved[k] for k in saved.files}
    own = {head_key(v.name): v for v in masked_lm.weights if "word_embeddings" not in v.name}
    if stored.keys() != own.keys():
        raise HandleError(f"{path}: its weights {sorted(stored)} do not match the masked-LM "
                          f"head {sorted(own)}")
    for key, variable in own.items():
        if tuple(variable.shape) != stored[key].shape:
            raise HandleError(f"{path}: {key} has shape {stored[key].shape}, the head "
                              f"{tuple(variable.shape)}")
        variable.assign(stored[key])


def check_pretrainable(resolved: ResolvedHandle) -> Path:
    """Checks that a handle can be pre-trained further; returns its vocabulary file.

    Raises:
        HandleError: no vocabulary (vocab.txt) or no recorded architecture.
    """
    vocab = resolved.vocab_file
    if vocab is None:
        raise HandleError(
            f"{resolved.handle}: the handle has no vocabulary (vocab.txt beside its encoder "
            "or in its assets): pre-training needs it to mask tokens and to write the new "
            "handle. Convert the checkpoint with bert-keras convert (which writes vocab.txt).")
    if not resolved.info.get("config"):
        raise HandleError(
            f"{resolved.handle}: the handle records no architecture (bert_keras_handle.json "
            "with a config), so its encoder cannot be rebuilt for pre-training; use a preset "
            "or a handle written by bert-keras convert / pretrain.")
    return vocab


def build_pretrainer(resolved: ResolvedHandle, precision: str = "float32") -> tuple[Any, bool]:
    """Builds `BertPretrainerV2` on the handle's encoder, with its weights.

    Args:
        resolved: the handle (see `check_pretrainable`).
        precision: compute precision of encoder and head ("float32", "bfloat16", ...).

    Returns:
        The pretrainer, and whether its MLM head weights came from the handle (False: a
        new head).
    """
    from official.nlp.modeling import models

    from bert_keras.convert.encoder_config import _ACTIVATIONS
    from bert_keras.hub.native import build_native_encoder
    from bert_keras.precision import policy_scope

    check_pretrainable(resolved)
    config = resolved.info["config"]
    encoder = build_native_encoder(config, resolved.encoder, precision=precision)
    activation = _ACTIVATIONS.get(config.get("hidden_act", "gelu"), "gelu")
    activation = keras.activations.get("gelu") if activation == "gelu" else \
        (lambda x: keras.activations.gelu(x, approximate=True)) \
        if activation == "gelu_approximate" else keras.activations.get(activation)
    with policy_scope(precision):
        pretrainer = models.BertPretrainerV2(
            encoder_network=encoder, mlm_activation=activation,
            mlm_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="bert")
        mlm_logits(pretrainer, _dummy_inputs())
    saved = Path(resolved.encoder).parent / MASKED_LM_FILE
    if saved.exists():
        load_head_weights(pretrainer.masked_lm, saved)
    return pretrainer, saved.exists()


def _dummy_inputs() -> dict[str, tf.Tensor]:
    ids = tf.constant([[2, 5, 3]], tf.int32)
    return {"input_word_ids": ids, "input_mask": tf.ones_like(ids),
            "input_type_ids": tf.zeros_like(ids),
            "masked_lm_positions": tf.constant([[1]], tf.int32)}


def masked_lm_loss_sum(masked_lm_ids: tf.Tensor, logits: tf.Tensor,
                       weights: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The weighted sum of per-token cross-entropies and the sum of the weights."""
    losses = tf.keras.losses.sparse_categorical_crossentropy(
        masked_lm_ids, tf.cast(logits, tf.float32), from_logits=True)
    weights = tf.cast(weights, tf.float32)
    return tf.reduce_sum(losses * weights), tf.reduce_sum(weights)


class MaskedLMModel(keras.Model):
    """Trains a `BertPretrainerV2` on `(features, masked_lm_ids, masked_lm_weights)`.

    The loss is the mean cross-entropy over the real predictions of a batch (padding
    predictions weigh 0); `accuracy` is the share of masked tokens predicted exactly.

    Args:
        pretrainer: a built `BertPretrainerV2`.
        train_encoder: False trains the MLM head alone (the encoder stays frozen).
    """

    def __init__(self, pretrainer, train_encoder: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.pretrainer = pretrainer
        self.train_encoder = train_encoder
        self.pretrainer.encoder_network.trainable = train_encoder
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    def call(self, inputs, training=None):
        return mlm_logits(self.pretrainer, inputs, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy]

    def _step(self, data, training: bool):
        features, ids, weights = data
        logits = self(features, training=training)
        total, count = masked_lm_loss_sum(ids, logits, weights)
        return logits, total / tf.maximum(count, 1.0), ids, weights

    @property
    def updated_variables(self) -> list[tf.Variable]:
        """What training changes: everything, or (head only) the head's own weights. The
        head holds the encoder's word-embedding table (tied output), which a frozen
        encoder keeps unchanged."""
        if self.train_encoder:
            return self.trainable_variables
        encoder = {id(v) for v in self.pretrainer.encoder_network.variables}
        return [v for v in self.trainable_variables if id(v) not in encoder]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            logits, loss, ids, weights = self._step(data, training=True)
        self.optimizer.minimize(loss, self.updated_variables, tape=tape)
        return self._update(loss, ids, logits, weights)

    def test_step(self, data):
        logits, loss, ids, weights = self._step(data, training=False)
        return self._update(loss, ids, logits, weights)

    def _update(self, loss, ids, logits, weights):
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(ids, tf.cast(logits, tf.float32), weights)
        return {m.name: m.result() for m in self.metrics}
