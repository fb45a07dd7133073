"""ByteMaskDropout: the native encoder's dropout, one random byte per element."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from bert_keras.layers.byte_mask_dropout import (
    ByteMaskDropout,
    byte_mask_dropout,
    use_byte_mask_dropout,
)
from bert_keras.models.classifier import Classifier

LABELS = ["negative", "neutral", "positive"]


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_drops_the_rounded_rate_and_keeps_the_expectation(rate, dtype):
    tf.random.set_seed(1)
    x = tf.ones([64, 12, 33, 31], dtype)  # an odd size: the last word's bytes are cut
    y = tf.cast(byte_mask_dropout(x, rate), tf.float32).numpy()
    effective = round(rate * 256) / 256
    assert abs(float((y == 0).mean()) - effective) < 0.005
    values = np.unique(y)
    assert len(values) == 2 and values[0] == 0
    assert values[1] == pytest.approx(1 / (1 - effective), rel=1e-2)  # bf16 rounds it
    assert abs(float(y.mean()) - 1.0) < 0.01


def test_masks_differ_between_calls_and_positions():
    layer = ByteMaskDropout(0.5)
    x = tf.ones([4096])
    first, second = (layer(x, training=True).numpy() == 0 for _ in range(2))
    assert 0.4 < first.mean() < 0.6
    assert (first != second).mean() > 0.3


def test_gradient_is_the_mask_scaled():
    x = tf.random.normal([8, 16])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = byte_mask_dropout(x, 0.25)
        total = tf.reduce_sum(y)
    grad = tape.gradient(total, x).numpy()
    kept = y.numpy() != 0
    np.testing.assert_allclose(grad[kept], 256 / (256 - 64))
    assert (grad[~kept] == 0).all()


def test_inference_and_zero_rate_pass_through():
    x = tf.random.normal([3, 5])
    np.testing.assert_array_equal(ByteMaskDropout(0.3)(x, training=False), x)
    np.testing.assert_array_equal(ByteMaskDropout(0.0)(x, training=True), x)


def test_a_rate_that_rounds_to_one_is_refused():
    with pytest.raises(ValueError, match="must stay below 1"):
        byte_mask_dropout(tf.ones([4]), 0.999)


def test_config_round_trips_and_noise_shape_falls_back():
    layer = ByteMaskDropout(0.2, noise_shape=[None, 1], seed=3)
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is ByteMaskDropout
    assert again.get_config() == layer.get_config()
    y = layer(tf.ones([6, 1000]), training=True).numpy()
    assert all(len(set(row.tolist())) == 1 for row in y)  # one draw per row


def test_switches_plain_dropouts_in_place():
    inputs = keras.Input([4])
    outputs = keras.layers.Dropout(0.1)(keras.layers.Dense(3)(keras.layers.Dropout(0.2)(inputs)))
    model = keras.Model(inputs, outputs)
    assert use_byte_mask_dropout(model) == 2
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        "ByteMaskDropout", "Dense", "ByteMaskDropout"]
    assert use_byte_mask_dropout(model) == 0


def test_the_native_encoder_draws_byte_masks_and_the_hub_graph_is_untouched(tiny_handle):
    def dropouts(model):
        return [type(m).__name__ for m in model.submodules
                if isinstance(m, keras.layers.Dropout) and m.name != "head_dropout"]

    native = dropouts(Classifier(str(tiny_handle), LABELS, precision="float32"))
    assert native and set(native) == {"ByteMaskDropout"}  # embeddings and every block
    assert dropouts(Classifier(str(tiny_handle), LABELS, native=False)) == []
