"""Resolving and loading encoder handles, and the errors users see."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from bert_keras.errors import HandleError
from bert_keras.hub.handles import default_preprocessor_url, resolve_handle
from bert_keras.hub.loader import load_encoder
from bert_keras.hub.presets import presets


def test_load_encoder_on_a_local_handle(tiny_handle):
    preprocessor, encoder, resolved = load_encoder(tiny_handle)
    outputs = encoder(preprocessor(tf.constant(["good drug", "bad"])))
    assert outputs["sequence_output"].shape == (2, 128, 32)
    assert outputs["pooled_output"].shape == (2, 32)
    assert len(outputs["encoder_outputs"]) == 2
    assert encoder.trainable and len(encoder.trainable_weights) > 30
    assert resolved.do_lower_case is True and resolved.vocab_file.exists()


def test_frozen_encoder_has_no_trainable_weights(tiny_handle):
    _, encoder, _ = load_encoder(tiny_handle, trainable=False)
    assert encoder.trainable_weights == []


def test_plain_tfhub_encoder_directory_with_a_preprocessor(tiny_handle):
    resolved = resolve_handle(tiny_handle / "encoder")  # sibling preprocessor is found
    assert resolved.preprocessor.endswith("preprocessor")
    _, encoder, _ = load_encoder(tiny_handle / "encoder",
                                 preprocessor=tiny_handle / "preprocessor")
    ids = np.ones((1, 8), np.int32)
    out = encoder({"input_word_ids": ids, "input_mask": ids, "input_type_ids": 0 * ids})
    assert out["default"].shape == (1, 32)


def test_encoder_directory_without_preprocessor_says_so(tiny_handle, tmp_path):
    shutil.copytree(tiny_handle / "encoder", tmp_path / "just-encoder")
    with pytest.raises(HandleError, match="without a preprocessor"):
        resolve_handle(tmp_path / "just-encoder")


def test_directory_that_is_not_an_encoder_names_what_is_missing(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(HandleError, match="no saved_model.pb"):
        load_encoder(tmp_path)


def test_broken_handle_names_the_missing_part(tiny_handle, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_handle, broken)
    shutil.rmtree(broken / "preprocessor")
    with pytest.raises(HandleError, match="preprocessor/saved_model.pb is missing"):
        resolve_handle(broken)


def test_handle_of_an_older_format_warns_and_still_resolves(tmp_path):
    import json
    import warnings

    for part in ("encoder", "preprocessor"):
        (tmp_path / part).mkdir()
        (tmp_path / part / "saved_model.pb").touch()
    handle_file = tmp_path / "bert_keras_handle.json"
    handle_file.write_text(json.dumps({"format": 2, "do_lower_case": True}))
    with pytest.warns(UserWarning, match=r"handle format 2.*100 UTF-8 bytes.*bert-keras "
                                         r"convert"):
        resolved = resolve_handle(tmp_path)
    assert resolved.preprocessor == str(tmp_path / "preprocessor")
    handle_file.write_text(json.dumps({"format": 3, "do_lower_case": True}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_handle(tmp_path)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(HandleError) as error:
        load_encoder("bert-huge-klingon")
    for preset in presets():
        assert preset.name in str(error.value)


def test_presets_describe_themselves():
    (minilm,) = [p for p in presets() if p.name == "minilm-l6-uncased"]
    assert (minilm.num_layers, minilm.hidden_size, minilm.languages) == (6, 384, ("en",))
    assert "Apache" in minilm.license and "384" in minilm.summary()


def test_hub_urls_resolve_with_their_preprocessor():
    url = "https://tfhub.dev/tensorflow/bert_en_cased_L-12_H-768_A-12/4"
    resolved = resolve_handle(url)
    assert resolved.is_remote
    assert resolved.preprocessor == "https://tfhub.dev/tensorflow/bert_en_cased_preprocess/3"
    kaggle = "https://www.kaggle.com/models/tensorflow/bert/TensorFlow2/multi-cased-l-12-h-768-a-12/4"
    assert "multi_cased" in default_preprocessor_url(kaggle)
    with pytest.raises(HandleError, match="preprocessor="):
        resolve_handle("https://example.org/my-encoder/1")


def test_unreachable_hub_url_is_one_clear_line(tmp_path):
    # Runs the CLI-visible path in a subprocess with an empty TF-Hub cache and no
    # network route to the URL (an unroutable local port), so it never needs the network.
    code = (
        "import bert_keras\n"
        "try:\n"
        "    bert_keras.load_encoder('http://127.0.0.1:9/tensorflow/bert_en_uncased_L-2/1')\n"
        "except bert_keras.BertKerasError as e:\n"
        "    print('ERROR:', e)\n"
    )
    env = {"TFHUB_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    lines = [line for line in out.stdout.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1, out.stdout + out.stderr
    assert "need the network" in lines[0] and "preset" in lines[0]
    assert "Traceback" not in out.stdout


def test_saved_variables_are_read_without_loading_the_graph(tiny_handle, tmp_path):
    """The checkpoint reader gives every variable of the encoder SavedModel, with the values
    `tf.saved_model.load` restores; a directory without a SavedModel is named in the error."""
    from bert_keras.hub.saved_variables import read_saved_variables

    read = read_saved_variables(tiny_handle / "encoder")
    loaded = {v.name.split(":")[0]: v.numpy() for v in tf.saved_model.load(
        str(tiny_handle / "encoder")).variables}
    assert read.keys() == loaded.keys() and len(read) > 30
    for name, value in loaded.items():
        np.testing.assert_array_equal(read[name], value, err_msg=name)
    with pytest.raises(HandleError, match=str(tmp_path)):
        read_saved_variables(tmp_path)
