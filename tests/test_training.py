"""Fine-tuning through the Python API (`bert_keras.training.train`) on the tiny random BERT.

Each configuration trains once per module (lazily, in `runs`) and the tests share the result;
the data are synthetic CSVs whose labels follow sentiment words the tiny vocabulary knows.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from conftest import WORDS

from bert_keras.config import TrainConfig
from bert_keras.errors import BertKerasError, DataError
from bert_keras.layers.hub_encoder import HubEncoder
from bert_keras.losses import FocalLoss, SparseCrossEntropy, WeightedCrossEntropy
from bert_keras.models.classifier import Classifier
from bert_keras.optimization import LayerwiseAdamWeightDecay, create_optimizer
from bert_keras.training import train

LABEL_WORDS = {
    "positive": ["great", "good", "excellent", "best", "love", "happy"],
    "negative": ["terrible", "bad", "awful", "worst", "hate", "horrible"],
    "neutral": ["okay", "fine", "neutral", "still", "just", "only"],
}
FILLER = ["the", "drug", "it", "was", "for", "my", "pain", "day", "doctor", "this", "took",
          "after", "week", "pill", "dose", "sleep"]
TOPICS = ["food", "price", "service"]
PROBES = ["great good excellent drug", "terrible bad awful pain", "okay fine neutral day",
          "the doctor took it"]


def labelled_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` (text, label) rows, labels cycling through the three sentiments."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = list(LABEL_WORDS)[i % 3]
        words = rng.sample(FILLER, 4) + rng.sample(LABEL_WORDS[label], 2)
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _multi_label_rows(n: int, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topics = [TOPICS[i % 3]] + ([TOPICS[(i + 1) % 3]] if i % 2 else [])
        words = rng.sample(FILLER, 3) + topics
        rng.shuffle(words)
        rows.append((" ".join(words), "|".join(topics)))
    return rows


def _pair_rows(n: int, seed: int = 2) -> list[tuple[str, str, str]]:
    return [(text, TOPICS[i % 3], label)
            for i, (text, label) in enumerate(labelled_rows(n, seed))]


# Bad rows as bytes; "{pair}" stands for the aspect field of text-pair files.
BAD_ROWS = {
    "empty text": (b",{pair}positive\n", "empty text in 'text'"),
    "missing label": (b"the drug was great,{pair}\n", "missing label in 'label'"),
    "field count": (b"the drug,was great,{pair}positive\n", "fields as in the header, found"),
    "invalid utf-8": (b"the drug was \xff great,{pair}positive\n", "invalid UTF-8"),
}
BAD_LINE = 7  # of the first bad row


def _bad_csv(path: Path, kinds: list[str], pair: bool = False) -> Path:
    """A CSV with good rows on lines 2-6, then bad rows of `kinds` on lines 7, 9, 11, ..."""
    columns = [0, 1, 2] if pair else [0, 2]  # of (text, aspect, label)
    encoded = [(",".join(row[c] for c in columns) + "\n").encode()
               for row in [("text", "aspect", "label"), *_pair_rows(40, seed=3)]]
    header, good = encoded[0], iter(encoded[1:])
    aspect = b"food," if pair else b""
    lines = [header] + [next(good) for _ in range(5)]
    for kind in kinds:
        lines += [BAD_ROWS[kind][0].replace(b"{pair}", aspect), next(good)]
    path.write_bytes(b"".join(lines + list(good)))
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("training-data")
    write_csv(directory / "train.csv", labelled_rows(90, seed=0))
    write_csv(directory / "test.csv", labelled_rows(30, seed=1))
    write_csv(directory / "multi.csv", _multi_label_rows(60))
    _bad_csv(directory / "bad-pairs.csv", list(BAD_ROWS), pair=True)
    return directory


def _config(handle: Path, data: Path, output: Path, **overrides) -> TrainConfig:
    values = dict(
        train=str(data / "train.csv"), encoder=str(handle), epochs=1, batch_size=8,
        max_seq_length=32, learning_rate=5e-3, early_stopping_patience=0,
        backup_every_steps=10, output=str(output),
    )
    return TrainConfig(**{**values, **overrides})


RUNS = {
    # name: TrainConfig overrides (train / encoder / output filled in by `_config`)
    "mean-smoothing": dict(pooler="mean", loss="cross_entropy", label_smoothing=0.1,
                           epochs=6, test="test.csv"),
    "cls-weighted-frozen": dict(pooler="cls", loss="weighted_cross_entropy",
                                class_weights="balanced", freeze_encoder=True),
    "attention-focal-frozen-1": dict(pooler="attention", loss="focal", focal_gamma=2.0,
                                     frozen_layers=1),
    "multi-label": dict(train="multi.csv", label_separator="|", loss="sigmoid_cross_entropy",
                        pooler="mean"),
    # text pairs, an import-path loss with an option, and bad rows skipped:
    "pair-import-path-skip": dict(train="bad-pairs.csv", text_pair_column="aspect",
                                  loss="bert_keras.losses:FocalLoss", focal_gamma=1.0,
                                  skip_bad_rows=True),
}


class Runs:
    """Trains each named configuration on first use and keeps the result for the module."""

    def __init__(self, handle: Path, data: Path, root: Path):
        self.handle, self.data, self.root = handle, data, root
        self.results: dict = {}

    def config(self, name: str, output: Path | None = None) -> TrainConfig:
        overrides = dict(RUNS[name])
        for key in ("train", "test"):
            if key in overrides:
                overrides[key] = str(self.data / overrides[key])
        return _config(self.handle, self.data, output or self.root / name, **overrides)

    def __getitem__(self, name: str):
        if name not in self.results:
            self.results[name] = train(self.config(name))
        return self.results[name]


@pytest.fixture(scope="module")
def runs(tiny_handle, data_dir, tmp_path_factory) -> Runs:
    return Runs(tiny_handle, data_dir, tmp_path_factory.mktemp("runs"))


def _encoder_weights(model: Classifier) -> dict[str, np.ndarray]:
    return {w.name: w.numpy() for w in model.get_layer("encoder").weights}


def test_label_words_are_in_the_tiny_vocabulary():
    used = set(FILLER) | set(TOPICS) | {w for ws in LABEL_WORDS.values() for w in ws}
    assert used <= set(WORDS)


def test_run_directory_layout(runs):
    result = runs["mean-smoothing"]
    run_dir = result.run_dir
    assert TrainConfig.from_yaml(run_dir / "config.yaml") == runs.config("mean-smoothing")
    assert json.loads((run_dir / "labels.json").read_text()) == {
        "labels": ["negative", "neutral", "positive"], "multi_label": False}
    best = json.loads((run_dir / "checkpoints" / "best.json").read_text())
    assert best["monitor"] == "val_macro_f1" and 1 <= best["epoch"] <= 6
    assert (run_dir / "checkpoints" / "best.index").exists()
    for part in ("train", "validation"):
        assert list((run_dir / "logs" / part).glob("events.out.tfevents.*")), part
    tags = {value.tag for events in (run_dir / "logs" / "train").glob("events.*")
            for event in tf.compat.v1.train.summary_iterator(str(events))
            for value in event.summary.value}
    assert {"epoch_loss", "epoch_macro_f1", "epoch_learning_rate"} <= tags
    assert (run_dir / "model" / "classifier.json").exists()
    assert (run_dir / "model" / "weights.index").exists()
    for name in ("metrics.json", "confusion_matrix.png", "precision_recall.png"):
        assert (run_dir / "eval-test" / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["test"]["num_examples"] == 30
    assert summary["validation"]["num_examples"] == 9  # 10% of 90, held out
    assert summary["best_checkpoint"] == best
    assert summary["skipped_rows"] == []
    assert set(result.history) >= {"loss", "val_loss", "val_macro_f1"}
    assert len(result.history["loss"]) == 6


def test_backup_is_removed_when_the_run_completes(runs):
    assert not (runs["mean-smoothing"].run_dir / "backup").exists()


def test_labels_are_learned(runs):
    result = runs["mean-smoothing"]
    assert result.test.to_dict()["accuracy"] >= 0.75
    predicted = [r["label"] for r in result.model.predict_labels(PROBES[:3])]
    assert predicted == ["positive", "negative", "neutral"]


@pytest.mark.parametrize("name, pooler, loss_type", [
    ("mean-smoothing", "mean", SparseCrossEntropy),
    ("cls-weighted-frozen", "cls", WeightedCrossEntropy),
    ("attention-focal-frozen-1", "attention", FocalLoss),
    ("pair-import-path-skip", "cls", FocalLoss),
])
def test_reloaded_model_predicts_the_same(runs, name, pooler, loss_type):
    result = runs[name]
    assert isinstance(result.model.loss, loss_type)
    assert result.model.get_layer(f"{pooler}_pooler") is not None
    loaded = Classifier.load(result.run_dir)
    assert loaded.settings == result.model.settings
    assert loaded.get_layer(f"{pooler}_pooler") is not None
    pairs = ["food"] * len(PROBES) if loaded.settings["pair"] else None
    np.testing.assert_allclose(loaded.predict(PROBES, pairs=pairs, verbose=0),
                               result.model.predict(PROBES, pairs=pairs, verbose=0), atol=1e-5)


def test_loss_options_reach_the_loss(runs):
    assert runs["mean-smoothing"].model.loss.label_smoothing == pytest.approx(0.1)
    weights = runs["cls-weighted-frozen"].model.loss.class_weights
    assert len(weights) == 3 and all(w > 0 for w in weights)
    assert runs["attention-focal-frozen-1"].model.loss.gamma == 2.0
    assert runs["pair-import-path-skip"].model.loss.gamma == 1.0


def test_skipped_rows_are_listed(runs, data_dir):
    result = runs["pair-import-path-skip"]
    skipped = json.loads((result.run_dir / "metrics.json").read_text())["skipped_rows"]
    path = str(data_dir / "bad-pairs.csv")
    assert len(skipped) == len(BAD_ROWS)
    for row, (_, reason) in zip(skipped, BAD_ROWS.values(), strict=True):
        assert row.startswith(f"{path}:") and reason in row
    assert skipped[0].startswith(f"{path}:{BAD_LINE}:")


def test_multi_label_run(runs):
    result = runs["multi-label"]
    assert json.loads((result.run_dir / "labels.json").read_text()) == {
        "labels": TOPICS, "multi_label": True}
    loaded = Classifier.load(result.run_dir)
    texts = ["the food was good", "the price and the service"]
    np.testing.assert_allclose(loaded.predict(texts, verbose=0),
                               result.model.predict(texts, verbose=0), atol=1e-5)
    predictions = loaded.predict_labels(texts)
    for prediction in predictions:
        assert set(prediction["labels"]) <= set(TOPICS)
        assert set(prediction["probabilities"]) == set(TOPICS)
        assert "label" not in prediction


def test_text_pair_run(runs):
    model = runs["pair-import-path-skip"].model  # reloaded in test_reloaded_model_...
    assert model.settings["pair"]
    texts, pairs = PROBES[:3], ["food", "price", "service"]
    predictions = model.predict_labels(texts, pairs)
    assert [p["label"] in LABEL_WORDS for p in predictions] == [True] * 3
    swapped = model.predict(texts, pairs=list(reversed(pairs)), verbose=0)
    assert not np.allclose(swapped, model.predict(texts, pairs=pairs, verbose=0))
    with pytest.raises(BertKerasError, match="pairs"):
        model.predict(texts)


def test_same_seed_gives_the_same_model(runs, tmp_path):
    # The encoder is frozen: its SavedModel's own dropout is unseeded (see the next test).
    first = runs["cls-weighted-frozen"]
    config = runs.config("cls-weighted-frozen", output=tmp_path / "again")
    second = train(config.to_dict())  # train() also takes a dict of the settings
    np.testing.assert_allclose(second.model.predict(PROBES, verbose=0),
                               first.model.predict(PROBES, verbose=0), atol=1e-6)
    assert second.history["loss"] == pytest.approx(first.history["loss"], abs=1e-6)


def test_seed_fixes_the_encoder_dropout(tiny_handle):
    ids = tf.constant([[2, 60, 61, 62, 3]])
    inputs = {"input_word_ids": ids, "input_mask": tf.ones_like(ids),
              "input_type_ids": tf.zeros_like(ids)}
    outputs = []
    for _ in range(2):
        keras.utils.set_random_seed(5)
        encoder = HubEncoder(str(tiny_handle / "encoder"))
        outputs.append(encoder(inputs, training=True)["sequence_output"].numpy())
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)


@pytest.fixture(scope="module")
def initial_encoder(tiny_handle) -> dict[str, np.ndarray]:
    return _encoder_weights(Classifier(str(tiny_handle), ["a", "b", "c"]))


def test_frozen_encoder_keeps_its_weights(runs, initial_encoder):
    result = runs["cls-weighted-frozen"]
    after = _encoder_weights(result.model)
    assert initial_encoder.keys() == after.keys()
    for name, value in initial_encoder.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    assert {w.name for w in result.model.trainable_weights} == {"logits/kernel:0",
                                                                "logits/bias:0"}


def test_frozen_layers_keep_embeddings_and_lower_blocks(runs, initial_encoder):
    result = runs["attention-focal-frozen-1"]
    before, after = initial_encoder, _encoder_weights(result.model)
    frozen = [n for n in before if "embedding" in n or "transformer/layer_0/" in n]
    top = [n for n in before if "transformer/layer_1/" in n]
    assert len(frozen) >= 20 and len(top) == 16
    for name in frozen:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    changes = {n: float(np.abs(after[n] - before[n]).max()) for n in top}
    assert sum(change > 1e-4 for change in changes.values()) >= 12, changes


def test_layerwise_decay_factors():
    optimizer = LayerwiseAdamWeightDecay(num_layers=2, layer_decay=0.5, learning_rate=1e-3)
    assert optimizer._factor("transformer/layer_1/output/kernel:0") == 0.5
    assert optimizer._factor("transformer/layer_0/self_attention/query/kernel:0") == 0.25
    assert optimizer._factor("word_embeddings/embeddings:0") == 0.125
    assert optimizer._factor("embeddings/layer_norm/gamma:0") == 0.125
    assert optimizer._factor("logits/kernel:0") == 1.0
    assert optimizer._factor("attention_pooler/projection/kernel:0") == 1.0
    plain = LayerwiseAdamWeightDecay(num_layers=2, layer_decay=1.0)
    assert plain._factor("word_embeddings/embeddings:0") == 1.0


def test_layerwise_decay_scales_the_updates():
    names = {"word_embeddings/embeddings": 0.125, "transformer/layer_0/kernel": 0.25,
             "transformer/layer_1/kernel": 0.5, "logits/kernel": 1.0}
    variables = [tf.Variable(tf.ones((4, 3)), name=name) for name in names]
    optimizer = create_optimizer(learning_rate=1e-2, total_steps=1000, warmup_steps=0,
                                 weight_decay=0.0, clip_norm=0.0, num_layers=2,
                                 layer_decay=0.5)
    gradients = [tf.fill((4, 3), 0.3) for _ in variables]
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    moved = [float(np.abs(1.0 - v.numpy()).mean()) for v in variables]
    # Adam's first step moves every weight by about the learning rate, whatever the gradient.
    np.testing.assert_allclose(moved, [1e-2 * f for f in names.values()], rtol=1e-3)


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_bad_training_row_stops_before_training(runs, tmp_path, kind):
    reason = BAD_ROWS[kind][1]
    path = _bad_csv(tmp_path / "train.csv", [kind])
    output = tmp_path / "run"
    config = _config(runs.handle, runs.data, output, train=str(path))
    with pytest.raises(DataError) as error:
        train(config)
    message = str(error.value)
    assert message.startswith(f"{path}:{BAD_LINE}:") and reason in message
    assert not (output / "checkpoints").exists()
    assert not (output / "config.yaml").exists()


def test_unknown_validation_label_is_an_error(runs, tmp_path):
    validation = write_csv(tmp_path / "validation.csv",
                           labelled_rows(5) + [("the drug was strange", "mystery")])
    output = tmp_path / "run"
    with pytest.raises(DataError, match="mystery") as error:
        train(_config(runs.handle, runs.data, output, validation=str(validation)))
    assert f"{validation}:7:" in str(error.value)
    assert not (output / "checkpoints").exists()


def test_config_from_yaml_with_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train: data/train.csv\nepochs: 3\npooler: mean\nclass_weights: balanced\n"
                    "label_smoothing: 0.1\n", encoding="utf-8")
    config = TrainConfig.from_yaml(path, epochs=1, seed=7)
    assert (config.train, config.epochs, config.seed, config.pooler) == (
        "data/train.csv", 1, 7, "mean")
    assert config.loss_options() == {"label_smoothing": 0.1, "class_weights": "balanced"}
    config.save(tmp_path / "saved.yaml")
    assert TrainConfig.from_yaml(tmp_path / "saved.yaml") == config


def test_config_rejects_unknown_settings(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epoch: 3\nlearning_rate: 1.0e-4\n", encoding="utf-8")
    with pytest.raises(BertKerasError, match="unknown settings.*'epoch'"):
        TrainConfig.from_yaml(path)
    good = tmp_path / "good.yaml"
    good.write_text("epochs: 3\n", encoding="utf-8")
    with pytest.raises(BertKerasError, match="unknown settings.*'batchsize'"):
        TrainConfig.from_yaml(good, batchsize=8)
    listed = tmp_path / "list.yaml"
    listed.write_text("- epochs\n", encoding="utf-8")
    with pytest.raises(BertKerasError, match="mapping"):
        TrainConfig.from_yaml(listed)
    with pytest.raises(BertKerasError, match="cannot read"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")
