"""Conversion of Google's TF1 BERT checkpoints: numerical parity with transformers.

transformers 5.x no longer has `load_tf_weights_in_bert`, so each test writes a tiny random
`transformers` model under Google's TF1 variable names (as `run_pretraining.py` saves
them) and compares the converted handle with that model. transformers 4.57's
`load_tf_weights_in_bert` reads what `write_tf1_release` writes back into exactly the
written tensors (checked once by hand), so the names and layouts here are the real ones.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import torch
import transformers
from conftest import write_vocab

from bert_keras.convert.encoder_config import build_bert_encoder
from bert_keras.convert.hf_checkpoint import assign_weights, encoder_weights
from bert_keras.convert.tf1 import convert_tf1, looks_like_tf1
from bert_keras.convert.tf1_checkpoint import (
    find_checkpoint_prefix,
    infer_do_lower_case,
    read_tf1_checkpoint,
)
from bert_keras.convert.tfhub_export import create_preprocessing
from bert_keras.errors import ConversionError
from bert_keras.hub.loader import load_encoder

CHINESE = list("我爱北京天安门今气很好们去公园这个模型的效果不错中文你是")
FULL_WIDTH = list("，。！？：；（）")
TEXTS = ["我爱北京天安门！", "今天天气很好，我们去公园。", "这个BERT模型的效果不错", "",
         "Hello World, the drug works great!", "ＢＥＲＴ中文（全角）？", "café 咖啡 naïve"]
PAIRS = ["中文", "the pain", "", "你好", "good", "天气", "world"]


def _tf1_name(key: str) -> str | None:
    """Google's TF1 name for a transformers state-dict key (None: not in TF1 checkpoints)."""
    fixed = {
        "cls.predictions.bias": "cls/predictions/output_bias",
        "cls.seq_relationship.weight": "cls/seq_relationship/output_weights",
        "cls.seq_relationship.bias": "cls/seq_relationship/output_bias",
    }
    if key in fixed:
        return fixed[key]
    if key.startswith("cls.predictions.decoder."):
        return None  # tied to the word embeddings
    name = key if key.startswith(("bert.", "cls.")) else f"bert.{key}"
    name = re.sub(r"\.layer\.(\d+)\.", r".layer_\1.", name).replace(".", "/")
    name = re.sub(r"_embeddings/weight$", "_embeddings", name)
    name = re.sub(r"LayerNorm/weight$", "LayerNorm/gamma", name)
    name = re.sub(r"LayerNorm/bias$", "LayerNorm/beta", name)
    return re.sub(r"/weight$", "/kernel", name)


def write_tf1_release(directory, *, heads=True, pooler=True, cased=False,
                      optimizer_slots=False, seed=0, initializer_range=0.02):
    """Writes bert_config.json, vocab.txt and bert_model.ckpt.*; returns the HF model."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(directory / "vocab.txt", cased=cased)
    tokens = vocab.read_text(encoding="utf-8").splitlines() + CHINESE + FULL_WIDTH
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(tokens), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, initializer_range=initializer_range,
    )
    if heads:
        model = transformers.BertForPreTraining(config)
    else:
        model = transformers.BertModel(config, add_pooling_layer=pooler)
    model.eval()
    variables = {}
    for key, value in model.state_dict().items():
        name = _tf1_name(key)
        if name is None:
            continue
        value = value.numpy()
        variables[name] = value.T if name.endswith("/kernel") else value
    if optimizer_slots:  # as a pre-training run saves them
        for name, value in list(variables.items()):
            variables[f"{name}/adam_m"] = np.zeros_like(value)
            variables[f"{name}/adam_v"] = np.ones_like(value)
        variables["global_step"] = np.array(1000, dtype=np.int64)
    tf.raw_ops.SaveV2(
        prefix=str(directory / "bert_model.ckpt"), tensor_names=list(variables),
        shape_and_slices=[""] * len(variables), tensors=list(variables.values()),
    )
    keys = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "hidden_act", "max_position_embeddings", "type_vocab_size", "vocab_size",
            "initializer_range", "hidden_dropout_prob", "attention_probs_dropout_prob")
    bert_config = {k: getattr(config, k) for k in keys}
    bert_config["directionality"] = "bidi"  # as the Chinese releases have
    (directory / "bert_config.json").write_text(json.dumps(bert_config), encoding="utf-8")
    return model.bert if heads else model


@pytest.fixture(scope="module")
def chinese_release(tmp_path_factory):
    """A release with the cls/ heads and optimizer slots, converted with inferred casing."""
    src = tmp_path_factory.mktemp("tf1") / "chinese_L-2_H-32_A-2"
    model = write_tf1_release(src, optimizer_slots=True)
    handle = convert_tf1(src, tmp_path_factory.mktemp("handles") / "zh", quiet=True)
    return src, model, handle


def _pack(preprocessor, texts, pairs=None, seq_length=32):
    segments = [preprocessor.tokenize(tf.constant(texts))]
    if pairs is not None:
        segments.append(preprocessor.tokenize(tf.constant(pairs)))
    # `.__call__`: in memory (not yet saved) the wrapper's call is an instance attribute.
    pack = preprocessor.bert_pack_inputs.__call__
    return pack(segments, seq_length=tf.constant(seq_length))


def _assert_parity(preprocessor, encoder, model, pooled=True):
    """`encoder` equals `model` on single texts and on pairs."""
    for pairs in (None, PAIRS):
        inputs = _pack(preprocessor, TEXTS, pairs)
        ours = encoder(inputs)
        with torch.no_grad():
            ref = model(**{name: torch.tensor(inputs[key].numpy(), dtype=torch.long)
                           for name, key in (("input_ids", "input_word_ids"),
                                             ("attention_mask", "input_mask"),
                                             ("token_type_ids", "input_type_ids"))})
        np.testing.assert_allclose(ours["sequence_output"].numpy(),
                                   ref.last_hidden_state.numpy(), atol=1e-4)
        if pooled:
            np.testing.assert_allclose(ours["pooled_output"].numpy(),
                                       ref.pooler_output.numpy(), atol=1e-4)
    assert inputs["input_type_ids"].numpy().max() == 1


def _assert_same_ids(preprocessor, vocab, do_lower_case):
    tokenizer = transformers.BertTokenizerFast(vocab=str(vocab), do_lower_case=do_lower_case)
    ref = tokenizer(TEXTS, PAIRS, padding="max_length", max_length=32, truncation=True)
    inputs = _pack(preprocessor, TEXTS, PAIRS)
    for ours, theirs in (("input_word_ids", "input_ids"), ("input_type_ids", "token_type_ids")):
        np.testing.assert_array_equal(inputs[ours].numpy(), np.array(ref[theirs]))
    return inputs["input_word_ids"].numpy()


def test_release_with_heads_matches_transformers(chinese_release):
    _, model, handle = chinese_release
    _, encoder, _ = load_encoder(handle)
    _assert_parity(hub.load(str(handle / "preprocessor")), encoder, model)
    info = json.loads((handle / "bert_keras_handle.json").read_text())
    assert info["do_lower_case"] is True and info["pooler_weights"] is True
    assert info["source"]["format"] == "tf1"
    assert "inferred do_lower_case=True" in info["do_lower_case_from"]
    assert info["masked_lm_head"] is True  # cls/predictions kept for further pre-training
    reader = tf.train.load_checkpoint(str(chinese_release[0] / "bert_model.ckpt"))
    with np.load(handle / "masked_lm.npz") as head:
        np.testing.assert_array_equal(head["output_bias/bias"],
                                      reader.get_tensor("cls/predictions/output_bias"))
        np.testing.assert_array_equal(head["transform/dense/kernel"], reader.get_tensor(
            "cls/predictions/transform/dense/kernel"))


def test_preprocessor_ids_match_bert_tokenizer(chinese_release):
    src, _, handle = chinese_release
    ids = _assert_same_ids(hub.load(str(handle / "preprocessor")), src / "vocab.txt", True)
    assert (ids[:3] != 1).all()  # [UNK]: the Chinese sentences are covered, punctuation too


def test_cased_release_without_heads_or_pooler(tmp_path):
    # The export path is the one tested above: check the reading in memory (much faster).
    src = tmp_path / "cased_L-2_H-32_A-2"
    model = write_tf1_release(src, heads=False, pooler=False, cased=True, seed=1)
    # The checkpoint prefix works too, as TF1's --init_checkpoint takes it.
    release = read_tf1_checkpoint(src / "bert_model.ckpt")
    ckpt = release.checkpoint
    assert ckpt.do_lower_case is False and release.prefix == src / "bert_model.ckpt"
    encoder = build_bert_encoder(ckpt.config)
    unassigned = assign_weights(encoder, encoder_weights(ckpt))
    assert unassigned == ["pooler_transform/kernel", "pooler_transform/bias"]
    preprocessor = create_preprocessing(vocab_file=str(ckpt.vocab_file), do_lower_case=False)
    _assert_parity(preprocessor, lambda x: encoder(x, training=False), model, pooled=False)
    _assert_same_ids(preprocessor, ckpt.vocab_file, False)


def _google_gelu(x):
    """`gelu` of Google's TF1 BERT (modeling.py): the tanh approximation."""
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def _layer_norm(x, gamma, beta):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-12) * gamma + beta


def _tf1_forward(prefix, config, ids, mask, types):
    """Google's TF1 `BertModel` forward pass in NumPy (float64), from the checkpoint."""
    reader = tf.train.load_checkpoint(str(prefix))

    def var(name):
        return reader.get_tensor(f"bert/{name}").astype(np.float64)

    def dense(x, scope):
        return x @ var(f"{scope}/kernel") + var(f"{scope}/bias")

    x = var("embeddings/word_embeddings")[ids] + var("embeddings/token_type_embeddings")[types]
    x = x + var("embeddings/position_embeddings")[: ids.shape[1]]
    x = _layer_norm(x, var("embeddings/LayerNorm/gamma"), var("embeddings/LayerNorm/beta"))
    heads = config["num_attention_heads"]
    size = config["hidden_size"] // heads
    adder = (1.0 - mask[:, None, None, :]) * -10000.0
    for i in range(config["num_hidden_layers"]):
        layer = f"encoder/layer_{i}"

        def split(t):
            return t.reshape(t.shape[0], t.shape[1], heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(x, f"{layer}/attention/self/{n}")) for n in ("query", "key",
                                                                           "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + adder
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        attended = _layer_norm(dense(context, f"{layer}/attention/output/dense") + x,
                               var(f"{layer}/attention/output/LayerNorm/gamma"),
                               var(f"{layer}/attention/output/LayerNorm/beta"))
        inner = _google_gelu(dense(attended, f"{layer}/intermediate/dense"))
        x = _layer_norm(dense(inner, f"{layer}/output/dense") + attended,
                        var(f"{layer}/output/LayerNorm/gamma"),
                        var(f"{layer}/output/LayerNorm/beta"))
    return x, np.tanh(dense(x[:, 0], "pooler/dense"))


def test_tanh_gelu_reproduces_google_tf1_bert(tmp_path):
    # Weights 10x the usual scale, so that the feed-forward inputs reach the range where the
    # two GELUs differ (~1e-4); in memory, as the cased test above.
    src = tmp_path / "release"
    write_tf1_release(src, heads=False, seed=3, initializer_range=0.2)
    config = json.loads((src / "bert_config.json").read_text())
    assert config["hidden_act"] == "gelu"
    preprocessor = create_preprocessing(vocab_file=str(src / "vocab.txt"), do_lower_case=True)
    inputs = _pack(preprocessor, TEXTS, PAIRS)
    ids, mask, types = (inputs[k].numpy() for k in ("input_word_ids", "input_mask",
                                                    "input_type_ids"))
    reference, pooled = _tf1_forward(src / "bert_model.ckpt", config, ids,
                                     mask.astype(np.float64), types)
    errors = {}
    for gelu in ("tanh", "exact"):
        ckpt = read_tf1_checkpoint(src, gelu=gelu).checkpoint
        assert ckpt.config.hidden_act == {"tanh": "gelu_new", "exact": "gelu"}[gelu]
        encoder = build_bert_encoder(ckpt.config)
        assign_weights(encoder, encoder_weights(ckpt))
        ours = encoder(inputs, training=False)
        errors[gelu] = np.abs(ours["sequence_output"].numpy() - reference).max()
        if gelu == "tanh":
            np.testing.assert_allclose(ours["pooled_output"].numpy(), pooled, atol=1e-5)
    assert errors["tanh"] <= 1e-5, errors
    assert errors["exact"] > 1e-4, errors  # the reference tells the two GELUs apart


def test_gelu_option_applies_to_gelu_configs_only(broken):
    config = json.loads((broken / "bert_config.json").read_text())
    (broken / "bert_config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    assert read_tf1_checkpoint(broken).checkpoint.config.hidden_act == "relu"
    with pytest.raises(ConversionError, match="hidden_act is 'relu'; --gelu tanh applies"):
        read_tf1_checkpoint(broken, gelu="tanh")
    with pytest.raises(ConversionError, match="gelu must be one of exact, tanh"):
        read_tf1_checkpoint(broken, gelu="erf")


def test_casing_inference():
    chinese = ["[PAD]", "[UNK]", "[CLS]", "<S>", "<T>", "的", "a", "##s", "the", "我"]
    assert infer_do_lower_case(chinese)[0] is True
    assert infer_do_lower_case(["[CLS]", "the", "The", "John", "a"])[0] is False
    uncased, how = infer_do_lower_case(["the", "Hello"])
    assert not uncased and "1 of 2" in how and "Hello" in how


def test_looks_like_tf1(chinese_release, hf_tiny_dir, tmp_path):
    src, _, _ = chinese_release
    assert looks_like_tf1(src) and looks_like_tf1(src / "bert_model.ckpt")
    assert not looks_like_tf1(hf_tiny_dir) and not looks_like_tf1(tmp_path)


@pytest.fixture
def broken(chinese_release, tmp_path):
    """A fresh copy of the release to break."""
    src = tmp_path / "release"
    shutil.copytree(chinese_release[0], src)
    return src


def _convert_fails(src, out, match):
    with pytest.raises(ConversionError, match=match):
        convert_tf1(src, out, quiet=True)
    assert not out.exists()


@pytest.mark.parametrize("name", ["bert_config.json", "vocab.txt", "bert_model.ckpt.index",
                                  "bert_model.ckpt.data-00000-of-00001"])
def test_missing_files_are_named(broken, tmp_path, name):
    (broken / name).unlink()
    _convert_fails(broken, tmp_path / "out", re.escape(name))


def test_unreadable_shard_is_a_conversion_error(broken, tmp_path):
    shard = broken / "bert_model.ckpt.data-00000-of-00001"
    shard.write_bytes(shard.read_bytes()[:100])
    _convert_fails(broken, tmp_path / "out", r"bert_model\.ckpt: cannot read variable")


@pytest.mark.parametrize(("key", "value", "match"), [
    ("intermediate_size", 48, r"layer_0/intermediate/dense/kernel has shape \(32, 64\), but "
                              r"bert_config.json says hidden_size=32, intermediate_size=48"),
    ("hidden_size", 64, r"word_embeddings has shape \(\d+, 32\), .*hidden_size=64"),
    ("vocab_size", 99, r"word_embeddings has shape \(\d+, 32\), .*vocab_size=99"),
    ("max_position_embeddings", 512, r"position_embeddings .*max_position_embeddings=512"),
    ("num_hidden_layers", 3, r"has 2 layers .*num_hidden_layers=3"),
])
def test_config_mismatch_names_the_variable(broken, tmp_path, key, value, match):
    config = json.loads((broken / "bert_config.json").read_text())
    config[key] = value
    (broken / "bert_config.json").write_text(json.dumps(config))
    _convert_fails(broken, tmp_path / "out", match)


def test_vocab_size_mismatch(broken, tmp_path):
    with open(broken / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("extra\n")
    _convert_fails(broken, tmp_path / "out",
                   r"vocab.txt: \d+ tokens, but .*word_embeddings has \d+ rows")


def test_duplicate_vocab_token(broken, tmp_path):
    # tf-text's vocabulary table refuses duplicates, deep inside the export.
    lines = (broken / "vocab.txt").read_text(encoding="utf-8").splitlines()
    lines[-1] = "的"  # same size, so only the duplicate is wrong
    (broken / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _convert_fails(broken, tmp_path / "out", r"vocab.txt: token '的' on lines \d+ and \d+")


def test_not_a_bert_checkpoint(tmp_path):
    src = tmp_path / "electra"
    src.mkdir()
    write_vocab(src / "vocab.txt")
    tf.raw_ops.SaveV2(prefix=str(src / "model.ckpt"), tensor_names=["electra/x"],
                      shape_and_slices=[""], tensors=[np.zeros(2, np.float32)])
    (src / "bert_config.json").write_text(json.dumps(
        {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
         "intermediate_size": 64, "vocab_size": 10}))
    _convert_fails(src, tmp_path / "out", "scopes: electra.*only Google.s BERT")


def test_checkpoint_prefix_of_a_pretraining_run(tmp_path):
    for step in (1000, 2000):
        (tmp_path / f"model.ckpt-{step}.index").touch()
    with pytest.raises(ConversionError, match="several checkpoints.*pass the prefix"):
        find_checkpoint_prefix(tmp_path)
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-2000"\n'
                                         'all_model_checkpoint_paths: "model.ckpt-1000"\n')
    assert find_checkpoint_prefix(tmp_path) == tmp_path / "model.ckpt-2000"


def test_cli_detects_tf1_and_rejects_casing_for_hf(chinese_release, hf_tiny_dir, tmp_path):
    import subprocess
    import sys

    run = [sys.executable, "-m", "bert_keras.cli", "convert"]
    src = chinese_release[0]
    done = subprocess.run(run + [str(src), "--out", str(tmp_path / "zh"),
                                 "--no-do-lower-case", "--gelu", "tanh"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"wrote {tmp_path / 'zh'}" in done.stdout
    handle = json.loads((tmp_path / "zh" / "bert_keras_handle.json").read_text())
    assert handle["source"]["format"] == "tf1" and handle["do_lower_case"] is False
    assert handle["config"]["hidden_act"] == "gelu_new"  # Google's tanh GELU, as transformers
    bad = subprocess.run(run + ["--from", "hf", str(hf_tiny_dir), "--out",
                                str(tmp_path / "hf"), "--do-lower-case"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "--do-lower-case applies to --from tf1 only" in bad.stderr
