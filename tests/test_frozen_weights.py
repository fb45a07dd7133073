"""oneDNN's frozen-weights mode, which the printed TF Serving command turns on for 16-bit
models: a served SavedModel gives the same outputs with it as without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from bert_keras.export.frozen_weights import FROZEN_WEIGHTS_ENV, assume_frozen_weights
from bert_keras.export.serving_config import computes_in_16_bits, docker_command
from bert_keras.export.serving_module import ServingModule
from bert_keras.models.classifier import Classifier

LABELS = ["negative", "neutral", "positive"]

# Loads the SavedModel as a serving process would and prints predict_ids' probabilities.
SERVE = """
import sys, numpy as np, tensorflow as tf
import tensorflow_text  # noqa: F401
ids = np.load(sys.argv[2])
fn = tf.saved_model.load(sys.argv[1]).signatures["predict_ids"]
x = dict(input_word_ids=ids, input_mask=np.ones_like(ids), input_type_ids=np.zeros_like(ids))
for _ in range(2):  # the second call runs on the cached (reordered) weights
    out = fn(**{k: tf.constant(v) for k, v in x.items()})["probabilities"].numpy()
np.save(sys.argv[3], out)
"""


def _serve(saved: str, ids_file: str, out, frozen: bool) -> np.ndarray:
    env = {k: v for k, v in os.environ.items() if k != FROZEN_WEIGHTS_ENV}
    if frozen:
        env[FROZEN_WEIGHTS_ENV] = "1"
    subprocess.run([sys.executable, "-c", SERVE, saved, ids_file, str(out)], env=env,
                   check=True, timeout=300)
    return np.load(out)


def test_frozen_weights_serve_the_same_probabilities(tiny_handle, tmp_path):
    model = Classifier(str(tiny_handle), LABELS, seq_length=32, precision="bfloat16")
    assert model.store_variables_in_compute_dtype()
    module = ServingModule(model)
    saved = str(tmp_path / "bf16")
    tf.saved_model.save(module, saved, signatures=module.signatures())
    ids = np.random.default_rng(0).integers(5, 250, (8, 32)).astype(np.int32)
    ids_file = str(tmp_path / "ids.npy")
    np.save(ids_file, ids)
    plain = _serve(saved, ids_file, tmp_path / "plain.npy", frozen=False)
    frozen = _serve(saved, ids_file, tmp_path / "frozen.npy", frozen=True)
    assert plain.shape == (8, 3) and np.isfinite(plain).all()
    np.testing.assert_allclose(frozen, plain, atol=2e-3)


def test_assume_frozen_weights_keeps_a_users_setting(monkeypatch):
    monkeypatch.setenv(FROZEN_WEIGHTS_ENV, "0")
    assume_frozen_weights()
    assert os.environ[FROZEN_WEIGHTS_ENV] == "0"
    monkeypatch.delenv(FROZEN_WEIGHTS_ENV)
    assume_frozen_weights()
    assert os.environ[FROZEN_WEIGHTS_ENV] == "1"


def _facts(base, name: str, precision: str) -> None:
    assets = base / name / "1" / "assets"
    assets.mkdir(parents=True)
    (assets / "model_facts.json").write_text(json.dumps({"compute_precision": precision}))


def test_docker_command_serves_16_bit_models_with_frozen_weights(tmp_path):
    _facts(tmp_path, "full", "float32")
    assert not computes_in_16_bits(tmp_path)
    assert FROZEN_WEIGHTS_ENV not in docker_command(tmp_path)
    _facts(tmp_path, "half", "bfloat16")
    assert computes_in_16_bits(tmp_path)
    assert f"-e {FROZEN_WEIGHTS_ENV}=1 -v " in docker_command(tmp_path)
