"""MatMulAttention: the native encoder's attention products as batched matmuls."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from bert_keras.convert.encoder_config import EncoderConfig, build_bert_encoder
from bert_keras.layers.matmul_attention import MatMulAttention, use_matmul_attention
from bert_keras.models.classifier import Classifier
from bert_keras.precision import policy_scope

LABELS = ["negative", "neutral", "positive"]


def _layer_pair(cls_a, cls_b, **kwargs):
    return cls_a(num_heads=3, key_dim=4, **kwargs), cls_b(num_heads=3, key_dim=4, **kwargs)


@pytest.mark.parametrize("precision,atol", [("float32", 1e-6), ("bfloat16", 0.0)])
def test_computes_what_multi_head_attention_computes(precision, atol):
    query = tf.random.stateless_normal([2, 5, 8], seed=[1, 2])
    value = tf.random.stateless_normal([2, 7, 8], seed=[3, 4])
    mask = tf.constant(np.tri(5, 7, 2, dtype=bool)[None].repeat(2, axis=0))
    with policy_scope(precision):
        plain, ours = _layer_pair(keras.layers.MultiHeadAttention, MatMulAttention)
    expected, expected_scores = plain(query, value, attention_mask=mask,
                                      return_attention_scores=True)
    ours(query, value)
    ours.set_weights(plain.get_weights())
    got, scores = ours(query, value, attention_mask=mask, return_attention_scores=True)
    assert got.dtype == expected.dtype and scores.shape == expected_scores.shape == [2, 3, 5, 7]
    for a, b in ((got, expected), (scores, expected_scores)):
        np.testing.assert_allclose(tf.cast(a, tf.float32), tf.cast(b, tf.float32), atol=atol)


def test_gradients_match_multi_head_attention():
    x = tf.random.stateless_normal([2, 6, 8], seed=[5, 6])
    plain, ours = _layer_pair(keras.layers.MultiHeadAttention, MatMulAttention)
    plain(x, x)
    ours(x, x)
    ours.set_weights(plain.get_weights())
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        losses = [tf.reduce_sum(layer(x, x) * tf.range(8, dtype=tf.float32))
                  for layer in (plain, ours)]
    for layer_loss, layer in zip(losses, (plain, ours), strict=True):
        assert all(g is not None for g in tape.gradient(layer_loss, layer.trainable_variables))
    for got, expected in zip(tape.gradient(losses[1], [x, *ours.trainable_variables]),
                             tape.gradient(losses[0], [x, *plain.trainable_variables]),
                             strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


def test_other_attention_axes_compute_as_multi_head_attention():
    x = tf.random.stateless_normal([2, 3, 4, 8], seed=[7, 8])  # attends over two axes
    plain, ours = _layer_pair(keras.layers.MultiHeadAttention, MatMulAttention,
                              attention_axes=(1, 2))
    expected = plain(x, x)
    ours(x, x)
    ours.set_weights(plain.get_weights())
    np.testing.assert_allclose(ours(x, x), expected, atol=1e-6)


def test_config_round_trips():
    layer = MatMulAttention(num_heads=2, key_dim=4, dropout=0.1)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is MatMulAttention and again.get_config() == layer.get_config()


def test_switches_a_bert_encoder_in_place_and_keeps_its_outputs():
    config = EncoderConfig(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2,
                           intermediate_size=32, max_position_embeddings=32,
                           hidden_dropout=0.0, attention_dropout=0.0)
    ids = {"input_word_ids": tf.constant([[2, 7, 9, 4, 0], [3, 5, 0, 0, 0]]),
           "input_mask": tf.constant([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]]),
           "input_type_ids": tf.zeros([2, 5], tf.int32)}
    plain, switched = build_bert_encoder(config), build_bert_encoder(config)
    plain(ids)
    switched(ids)
    switched.set_weights(plain.get_weights())
    names = [v.name for v in switched.variables]
    assert use_matmul_attention(switched) == 2
    assert use_matmul_attention(switched) == 0
    assert [v.name for v in switched.variables] == names
    np.testing.assert_allclose(switched(ids)["sequence_output"], plain(ids)["sequence_output"],
                               atol=1e-5)


def test_the_native_classifier_uses_it_and_the_hub_graph_does_not(tiny_handle):
    def attention_types(model):
        return {type(m).__name__ for m in model.submodules
                if isinstance(m, keras.layers.MultiHeadAttention)}

    assert attention_types(Classifier(str(tiny_handle), LABELS, precision="float32")) == {
        "MatMulAttention"}
    assert attention_types(Classifier(str(tiny_handle), LABELS, native=False)) == set()
