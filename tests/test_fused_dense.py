"""MatMulDense: the native encoder's dense layers as fused MatMul + BiasAdd + gelu."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from official.modeling import activations as official_activations

from bert_keras.convert.encoder_config import EncoderConfig, build_bert_encoder
from bert_keras.layers.fused_dense import MatMulDense, matmul_split, use_fused_dense
from bert_keras.models.classifier import Classifier
from bert_keras.precision import policy_scope

LABELS = ["negative", "neutral", "positive"]
# The equations of a BERT block: q/k/v projection, attention output, feed-forward.
BERT_EQUATIONS = [("abc,cde->abde", (None, 4, 6), "de", [2, 5, 8]),
                  ("abcd,cde->abe", (None, 8), "e", [2, 5, 4, 6]),
                  ("abc,cd->abd", (None, 16), "d", [2, 5, 8])]


def test_matmul_split_refuses_what_is_not_a_plain_matmul():
    assert matmul_split("abc,cd->abd", "d") == 1
    assert matmul_split("abc,cd->abd", None) == 1
    assert matmul_split("abc,cd->abd", "b") is None  # bias on a kept input axis
    assert matmul_split("...b,bc->...c", "c") is None
    assert matmul_split("abc,acd->abd", "d") is None  # batch axis in the kernel


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", BERT_EQUATIONS)
def test_computes_what_einsum_dense_computes(equation, output_shape, bias_axes, shape,
                                             precision):
    x = tf.random.stateless_normal(shape, seed=[1, 2])
    with policy_scope(precision):
        einsum = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes,
                                          activation="gelu", bias_initializer="glorot_uniform")
        fused = MatMulDense(equation, output_shape, bias_axes=bias_axes, activation="gelu")
    expected = einsum(x)
    fused(x)
    fused.set_weights(einsum.get_weights())
    tolerance = 1e-5 if precision == "float32" else 3e-2
    got = fused(x)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(tf.cast(got, tf.float32), tf.cast(expected, tf.float32),
                               atol=tolerance, rtol=tolerance)


def test_other_equations_run_as_einsum_dense():
    x = tf.random.stateless_normal([3, 4, 5], seed=[0, 1])
    einsum = keras.layers.EinsumDense("abc,cd->adb", (7, None), bias_axes="d")
    fused = MatMulDense("abc,cd->adb", (7, None), bias_axes="d")
    expected = einsum(x)
    fused(x)
    fused.set_weights(einsum.get_weights())
    np.testing.assert_allclose(fused(x), expected, atol=1e-6)


@pytest.mark.parametrize("activation", ["gelu", official_activations.gelu])
def test_gelu_and_its_gradient_match_einsum_dense(activation):
    keras.utils.set_random_seed(0)
    x = tf.random.stateless_normal([6, 10], seed=[3, 4]) * 3
    layer = MatMulDense("ab,bc->ac", (12,), bias_axes="c", activation=activation)
    layer(x)
    reference = keras.layers.EinsumDense("ab,bc->ac", (12,), bias_axes="c",
                                         activation=activation)
    reference(x)
    reference.set_weights(layer.get_weights())
    results = []
    for model in (layer, reference):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=True)
            loss = tf.reduce_sum(y * tf.range(12, dtype=tf.float32))
        results.append((y, *tape.gradient(loss, [x, *model.trainable_variables])))
    for got, expected in zip(*results, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


def test_config_round_trips():
    layer = MatMulDense("abc,cd->abd", (None, 8), bias_axes="d", activation="gelu")
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is MatMulDense and again.get_config() == layer.get_config()


def _encoder_pair(precision: str):
    config = EncoderConfig(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2,
                           intermediate_size=32, max_position_embeddings=32,
                           hidden_dropout=0.0, attention_dropout=0.0)
    ids = {"input_word_ids": tf.constant([[2, 7, 9, 4, 0], [3, 5, 0, 0, 0]]),
           "input_mask": tf.constant([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]]),
           "input_type_ids": tf.zeros([2, 5], tf.int32)}
    with policy_scope(precision):
        plain, fused = build_bert_encoder(config), build_bert_encoder(config)
    plain(ids)
    fused(ids)
    fused.set_weights(plain.get_weights())
    return plain, fused, ids


def test_switches_a_bert_encoder_in_place_and_keeps_its_outputs_and_gradients():
    plain, fused, ids = _encoder_pair("float32")
    names = [v.name for v in fused.variables]
    assert use_fused_dense(fused) == 2 * 6  # q, k, v, attention output, intermediate, output
    assert use_fused_dense(fused) == 0
    assert [v.name for v in fused.variables] == names
    blocks = [m for m in fused.submodules if hasattr(m, "_intermediate_dense")]
    assert len(blocks) == 2
    for block in blocks:
        assert block._intermediate_dense.activation is keras.activations.gelu
        assert block._intermediate_activation_layer.activation is keras.activations.linear

    for training in (False, True):
        with tf.GradientTape(persistent=True) as tape:
            outputs = [model(ids, training=training)["pooled_output"] for model in (plain, fused)]
            losses = [tf.reduce_sum(o * tf.range(16, dtype=tf.float32)) for o in outputs]
        np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-5)
        for got, expected in zip(tape.gradient(losses[1], fused.trainable_variables),
                                 tape.gradient(losses[0], plain.trainable_variables),
                                 strict=True):
            np.testing.assert_allclose(tf.convert_to_tensor(got), tf.convert_to_tensor(expected),
                                       atol=1e-4, rtol=1e-4)


def test_under_mixed_bfloat16_the_block_stays_in_bfloat16():
    plain, fused, ids = _encoder_pair("bfloat16")
    use_fused_dense(fused)
    got, expected = (model(ids, training=False)["sequence_output"] for model in (fused, plain))
    np.testing.assert_allclose(tf.cast(got, tf.float32), tf.cast(expected, tf.float32),
                               atol=5e-2)
    # The emptied activation layer no longer casts the feed-forward to float32.
    block = next(m for m in fused.submodules if hasattr(m, "_intermediate_dense"))
    inner = block._intermediate_dense(tf.ones([2, 5, 16]))
    assert inner.dtype == tf.bfloat16
    assert block._intermediate_activation_layer(inner).dtype == tf.bfloat16


def test_the_native_classifier_uses_it_and_the_hub_graph_does_not(tiny_handle):
    def dense_types(model):
        return {type(m).__name__ for m in model.submodules
                if isinstance(m, keras.layers.EinsumDense)}

    assert dense_types(Classifier(str(tiny_handle), LABELS, precision="float32")) == {
        "MatMulDense"}
    assert dense_types(Classifier(str(tiny_handle), LABELS, native=False)) == set()
