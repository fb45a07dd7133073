"""Native encoders and mixed precision: the same function as the TF-Hub graph, in 16 bits.

The tiny random BERT handle records its architecture, so `Classifier` rebuilds it natively
(`networks.BertEncoder` with the SavedModel's weights) unless told not to.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from test_training import PROBES, labelled_rows, write_csv

from bert_keras import precision as precision_module
from bert_keras.config import TrainConfig
from bert_keras.data import pipeline
from bert_keras.data.examples import LabelledTexts
from bert_keras.errors import BertKerasError
from bert_keras.models.classifier import CONFIG_FILE, Classifier
from bert_keras.precision import resolve_precision
from bert_keras.training import train

LABELS = ["negative", "neutral", "positive"]
TEXTS = PROBES + ["", "great " * 40, "the doctor took it and it worked, no side effects"]


@pytest.mark.parametrize("setting", ["float32", "bfloat16", "float16"])
def test_explicit_precisions_resolve_to_themselves(setting):
    assert resolve_precision(setting) == setting


def test_unknown_precision_is_refused():
    with pytest.raises(BertKerasError, match="precision must be one of"):
        resolve_precision("int4")
    with pytest.raises(BertKerasError, match="precision must be one of"):
        TrainConfig(precision="half")


@pytest.mark.parametrize(("flags", "gpu", "expected"), [
    (frozenset({"avx512f", "avx512_bf16"}), None, "bfloat16"),
    (frozenset({"amx_bf16", "amx_tile"}), None, "bfloat16"),
    (frozenset({"avx2", "avx512f"}), None, "float32"),
    (frozenset(), (8, 0), "bfloat16"),
    (frozenset(), (7, 5), "float16"),
    (frozenset(), (6, 1), "float32"),
])
def test_auto_follows_the_hardware(monkeypatch, flags, gpu, expected):
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: flags)
    monkeypatch.setattr(precision_module, "_gpu_compute_capability", lambda: gpu)
    assert resolve_precision("auto") == expected


def test_policy_scope_restores_the_global_policy():
    before = keras.mixed_precision.global_policy().name
    with precision_module.policy_scope("bfloat16") as name:
        assert name == keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == before


def _logits(model: Classifier) -> np.ndarray:
    return model.predict(TEXTS, batch_size=3)


def test_native_float32_encoder_equals_the_tfhub_graph(tiny_handle):
    tf.random.set_seed(1)
    hub = Classifier(str(tiny_handle), LABELS, native=False)
    native = Classifier(str(tiny_handle), LABELS, precision="float32")
    assert native.settings["native"] and not hub.settings["native"]
    assert native.get_layer("encoder").is_native
    native.get_layer("logits").set_weights(hub.get_layer("logits").get_weights())
    ids = hub.preprocessor([tf.constant(TEXTS)])
    for key in ("sequence_output", "pooled_output"):
        want = hub.get_layer("encoder")(ids)[key].numpy()
        got = native.get_layer("encoder")(ids)[key].numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(_logits(native), _logits(hub), atol=1e-5)


def test_bfloat16_computes_in_16_bits_and_keeps_float32_weights(tiny_handle):
    model = Classifier(str(tiny_handle), LABELS, precision="bfloat16")
    encoder = model.get_layer("encoder")
    assert model.compute_precision == "bfloat16"
    matmuls = [m for m in encoder.network.submodules
               if isinstance(m, keras.layers.Layer) and hasattr(m, "kernel")]
    assert matmuls and {m.compute_dtype for m in matmuls} == {"bfloat16"}
    assert {w.dtype for w in model.weights if w.dtype.is_floating} == {tf.float32}
    ids = model.preprocessor([tf.constant(TEXTS)])
    assert encoder(ids)["sequence_output"].dtype == tf.float32  # cast for the head
    full = Classifier(str(tiny_handle), LABELS, precision="float32")
    full.set_weights(model.get_weights())
    close = np.abs(_logits(model) - _logits(full)).max()
    assert 0 < close < 0.1  # bfloat16 rounds (8 bits of mantissa), but stays close


def test_inference_weights_in_bfloat16_give_the_same_logits(tiny_handle):
    model = Classifier(str(tiny_handle), LABELS, precision="bfloat16")
    before = _logits(model)  # traces predict with the float32 weights
    count = len(model.weights)
    assert model.store_variables_in_compute_dtype()
    encoder = model.get_layer("encoder")
    assert len(model.weights) == count and not encoder.trainable
    assert {w.dtype for w in encoder.weights if "kernel" in w.name} == {tf.bfloat16}
    assert model.get_layer("logits").kernel.dtype == tf.float32
    # mixed precision cast these same values on every call
    np.testing.assert_allclose(_logits(model), before, atol=1e-6)
    embeddings = next(w for w in encoder.weights if "word_embeddings" in w.name)
    embeddings.assign(tf.zeros_like(embeddings))
    assert np.abs(_logits(model) - before).max() > 1e-3  # predict runs the new weights
    full = Classifier(str(tiny_handle), LABELS, precision="float32")
    assert not full.store_variables_in_compute_dtype()
    assert not Classifier(str(tiny_handle), LABELS, native=False).store_variables_in_compute_dtype()


def test_a_tfhub_graph_refuses_mixed_precision(tiny_handle):
    with pytest.raises(BertKerasError, match="float32 only"):
        Classifier(str(tiny_handle), LABELS, native=False, precision="bfloat16")
    # "auto" on a graph quietly means the only thing it can do
    assert Classifier(str(tiny_handle), LABELS, native=False).compute_precision == "float32"


def test_length_sorted_batches_give_the_same_logits_in_input_order(tiny_handle):
    model = Classifier(str(tiny_handle), LABELS, precision="float32")
    one_by_one = np.concatenate([model.predict([text], batch_size=1) for text in TEXTS])
    np.testing.assert_allclose(model.predict(TEXTS, batch_size=2), one_by_one, atol=1e-5)
    full = model.preprocessor([tf.constant(TEXTS)])  # padded to the full sequence length
    np.testing.assert_allclose(model.predict_on_batch(full), one_by_one, atol=1e-5)
    assert model.predict([], batch_size=2).shape == (0, 3)


def test_validation_batches_are_sorted_by_length(tiny_handle):
    model = Classifier(str(tiny_handle), LABELS, precision="float32")
    examples = LabelledTexts(TEXTS)
    dataset = pipeline.length_sorted(pipeline.tokenize(examples, model.preprocessor),
                                     batch_size=2)
    batches = list(dataset)
    lengths = [int(b["input_mask"].shape[1]) for b in batches]
    assert lengths == sorted(lengths) and sum(len(b["input_mask"]) for b in batches) == 7


def test_bfloat16_run_trains_saves_and_reloads_in_any_precision(tiny_handle, tmp_path):
    write_csv(tmp_path / "train.csv", labelled_rows(90, seed=0))
    result = train(TrainConfig(train=str(tmp_path / "train.csv"), output=str(tmp_path / "run"),
                               encoder=str(tiny_handle), epochs=6, batch_size=8, pooler="mean",
                               max_seq_length=32, learning_rate=5e-3, precision="bfloat16",
                               early_stopping_patience=0))
    saved = json.loads((tmp_path / "run" / "model" / CONFIG_FILE).read_text())
    assert saved["precision"] == "bfloat16" and saved["native"] is True
    assert result.validation.to_dict()["accuracy"] > 0.5  # it learned, in bfloat16
    again = Classifier.load(result.run_dir)
    assert again.compute_precision == "bfloat16"
    exact = Classifier.load(result.run_dir, precision="float32")
    assert exact.compute_precision == "float32"
    np.testing.assert_allclose(_logits(exact), _logits(again), atol=0.1)


def test_float16_training_scales_the_loss(tiny_handle, tmp_path):
    write_csv(tmp_path / "train.csv", labelled_rows(24, seed=4))
    result = train(TrainConfig(train=str(tmp_path / "train.csv"), output=str(tmp_path / "run"),
                               encoder=str(tiny_handle), epochs=1, batch_size=8,
                               max_seq_length=16, precision="float16",
                               early_stopping_patience=0))
    assert isinstance(result.model.optimizer, keras.mixed_precision.LossScaleOptimizer)
    assert np.isfinite(result.history["loss"]).all()


def test_runs_saved_before_native_encoders_still_load(tiny_handle, tmp_path):
    legacy = Classifier(str(tiny_handle), LABELS, native=False)
    legacy.save_to(tmp_path / "model")
    config = json.loads((tmp_path / "model" / CONFIG_FILE).read_text())
    for key in ("native", "precision"):  # what older versions wrote
        config.pop(key)
    (tmp_path / "model" / CONFIG_FILE).write_text(json.dumps(config))
    loaded = Classifier.load(tmp_path)
    assert not loaded.get_layer("encoder").is_native
    np.testing.assert_allclose(_logits(loaded), _logits(legacy), atol=1e-6)
