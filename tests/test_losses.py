"""Tests for bert_keras.losses: values against NumPy references, selection, serialization."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from sklearn.utils.class_weight import compute_class_weight

from bert_keras.errors import BertKerasError
from bert_keras.losses import (
    FocalLoss,
    SigmoidCrossEntropy,
    SparseCrossEntropy,
    WeightedCrossEntropy,
    balanced_class_weights,
    get_loss,
)

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(scale=2.0, size=(8, 4)).astype(np.float32)
LABELS = RNG.integers(0, 4, size=8)
MULTI_LOGITS = RNG.normal(scale=2.0, size=(6, 3)).astype(np.float32)
MULTI_HOT = RNG.integers(0, 2, size=(6, 3)).astype(np.float32)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _targets(labels: np.ndarray, k: int, smoothing: float) -> np.ndarray:
    return np.eye(k)[labels] * (1 - smoothing) + smoothing / k


def ref_cross_entropy(logits, labels, smoothing=0.0):
    return -(_targets(labels, logits.shape[1], smoothing) * _log_softmax(logits)).sum(-1)


def ref_focal(logits, labels, gamma, alpha=None, smoothing=0.0):
    log_p = _log_softmax(logits)
    alpha = np.ones(logits.shape[1]) if alpha is None else np.broadcast_to(alpha, log_p.shape)
    q = _targets(labels, logits.shape[1], smoothing)
    return -(alpha * q * (1 - np.exp(log_p)) ** gamma * log_p).sum(-1)


def ref_sigmoid(logits, y, smoothing=0.0, pos_weight=1.0):
    y = y * (1 - smoothing) + 0.5 * smoothing
    log_sig = -np.logaddexp(0, -logits.astype(np.float64))
    log_one_minus = -np.logaddexp(0, logits.astype(np.float64))
    return -(pos_weight * y * log_sig + (1 - y) * log_one_minus).mean(-1)


def per_example(loss: keras.losses.Loss, y_true, logits) -> np.ndarray:
    config = loss.get_config()
    config["reduction"] = keras.losses.Reduction.NONE
    return type(loss).from_config(config)(y_true, logits).numpy()


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_reference(smoothing):
    got = per_example(SparseCrossEntropy(label_smoothing=smoothing), LABELS, LOGITS)
    np.testing.assert_allclose(got, ref_cross_entropy(LOGITS, LABELS, smoothing), rtol=1e-5)
    mean = SparseCrossEntropy(label_smoothing=smoothing)(LABELS, LOGITS)
    np.testing.assert_allclose(mean, ref_cross_entropy(LOGITS, LABELS, smoothing).mean(), 1e-5)


def test_cross_entropy_accepts_column_labels_and_float_labels():
    loss = SparseCrossEntropy()
    expected = ref_cross_entropy(LOGITS, LABELS).mean()
    np.testing.assert_allclose(loss(LABELS[:, None], LOGITS), expected, rtol=1e-5)
    np.testing.assert_allclose(loss(LABELS.astype(np.float32), LOGITS), expected, rtol=1e-5)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_weighted_cross_entropy_is_plain_mean_of_weighted_losses(smoothing):
    weights = [0.5, 1.0, 2.0, 4.0]
    loss = WeightedCrossEntropy(weights, label_smoothing=smoothing)
    reference = np.array(weights)[LABELS] * ref_cross_entropy(LOGITS, LABELS, smoothing)
    np.testing.assert_allclose(per_example(loss, LABELS, LOGITS), reference, rtol=1e-5)
    np.testing.assert_allclose(loss(LABELS, LOGITS), reference.mean(), rtol=1e-5)


@pytest.mark.parametrize("gamma, alpha, smoothing", [
    (2.0, None, 0.0), (0.5, 0.25, 0.0), (3.0, [0.1, 0.2, 0.3, 0.4], 0.1),
])
def test_focal_matches_reference(gamma, alpha, smoothing):
    loss = FocalLoss(gamma=gamma, alpha=alpha, label_smoothing=smoothing)
    reference = ref_focal(LOGITS, LABELS, gamma, alpha, smoothing)
    np.testing.assert_allclose(per_example(loss, LABELS, LOGITS), reference, rtol=1e-5)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_focal_with_gamma_zero_is_cross_entropy(smoothing):
    focal = FocalLoss(gamma=0.0, label_smoothing=smoothing)(LABELS, LOGITS)
    ce = SparseCrossEntropy(label_smoothing=smoothing)(LABELS, LOGITS)
    np.testing.assert_allclose(focal, ce, rtol=1e-6)


def test_focal_gradient_is_finite_when_confident():
    logits = tf.constant([[60.0, 0.0, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = FocalLoss(gamma=0.5)([0], logits)
    assert np.isfinite(tape.gradient(value, logits).numpy()).all()


@pytest.mark.parametrize("smoothing, pos_weight", [
    (0.0, None), (0.1, None), (0.0, 3.0), (0.1, [1.0, 2.0, 0.5]),
])
def test_sigmoid_matches_reference(smoothing, pos_weight):
    loss = SigmoidCrossEntropy(label_smoothing=smoothing, pos_weight=pos_weight)
    reference = ref_sigmoid(MULTI_LOGITS, MULTI_HOT, smoothing,
                            1.0 if pos_weight is None else np.array(pos_weight))
    np.testing.assert_allclose(per_example(loss, MULTI_HOT, MULTI_LOGITS), reference, rtol=1e-5)


@pytest.mark.parametrize("dtype", [tf.bfloat16, tf.float16])
def test_half_precision_logits_give_float32_loss(dtype):
    logits = tf.cast(LOGITS, dtype)
    value = FocalLoss()(LABELS, logits)
    assert value.dtype == tf.float32
    reference = ref_focal(tf.cast(logits, tf.float32).numpy(), LABELS, 2.0).mean()
    np.testing.assert_allclose(value, reference, rtol=1e-5)


def test_per_class_lists_must_match_the_number_of_classes():
    with pytest.raises(BertKerasError, match="class_weights has 2 entries"):
        WeightedCrossEntropy([1.0, 2.0])(LABELS, LOGITS)
    with pytest.raises(BertKerasError, match="alpha has 3 entries"):
        FocalLoss(alpha=[1.0, 2.0, 3.0])(LABELS, LOGITS)
    with pytest.raises(BertKerasError, match="label_smoothing"):
        SparseCrossEntropy(label_smoothing=1.0)


def test_balanced_class_weights():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 0])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    np.testing.assert_allclose(balanced_class_weights(labels, 3), expected)
    # A class without examples gets 1.0 instead of a division by zero.
    assert balanced_class_weights(np.array([0, 0, 1]), 3) == [0.5, 1.0, 1.0]
    with pytest.raises(BertKerasError):
        balanced_class_weights(np.array([], dtype=int), 3)
    with pytest.raises(BertKerasError):
        balanced_class_weights(np.array([0, 3]), 3)


def test_get_loss_defaults_and_names():
    assert isinstance(get_loss(None, num_classes=3), SparseCrossEntropy)
    assert isinstance(get_loss(None, num_classes=3, multi_label=True), SigmoidCrossEntropy)
    focal = get_loss("focal", num_classes=4, gamma=1.5, alpha=[1, 2, 3, 4], label_smoothing=0.1)
    assert (focal.gamma, focal.alpha, focal.label_smoothing) == (1.5, [1, 2, 3, 4], 0.1)
    # Options left at None count as unset.
    assert get_loss("Cross-Entropy", num_classes=2, gamma=None).label_smoothing == 0.0


def test_get_loss_balanced_weights_from_training_labels():
    labels = np.array([0, 0, 0, 1])
    loss = get_loss("weighted_cross_entropy", num_classes=2, train_label_ids=labels,
                    class_weights="balanced")
    assert loss.class_weights == balanced_class_weights(labels, 2)
    focal = get_loss("focal", num_classes=2, train_label_ids=labels, alpha="balanced")
    assert focal.alpha == loss.class_weights
    with pytest.raises(BertKerasError, match="training labels"):
        get_loss("weighted_cross_entropy", num_classes=2, class_weights="balanced")


def test_get_loss_instances_callables_and_import_paths():
    instance = FocalLoss()
    assert get_loss(instance, num_classes=3) is instance

    def my_loss(y_true, y_pred):
        return tf.reduce_mean(y_pred)

    assert get_loss(my_loss, num_classes=3) is my_loss
    for path in ("bert_keras.losses:FocalLoss", "bert_keras.losses.FocalLoss"):
        loss = get_loss(path, num_classes=3, gamma=1.0, alpha=0.5)
        assert isinstance(loss, FocalLoss) and (loss.gamma, loss.alpha) == (1.0, 0.5)
    # A class is instantiated with the options, "balanced" resolved first.
    loss = get_loss(WeightedCrossEntropy, num_classes=2, class_weights="balanced",
                    train_label_ids=np.array([0, 1, 1, 1]))
    assert loss.class_weights == [2.0, 2 / 3]
    assert get_loss("tf_keras.losses:mean_squared_error", num_classes=3) is (
        keras.losses.mean_squared_error)


@pytest.mark.parametrize("spec, kwargs, match", [
    ("hinge_loss", {}, "known losses: cross_entropy, focal"),
    ("focal", {"multi_label": True}, "single-label"),
    ("sigmoid_cross_entropy", {}, "multi-label"),
    ("bert_keras.losses:WeightedCrossEntropy", {"multi_label": True}, "single-label"),
    (SigmoidCrossEntropy(), {}, "multi-label"),
    ("focal", {"class_weights": [1, 2, 3]}, "alpha"),
    ("cross_entropy", {"gama": 2.0}, "gama"),
    ("weighted_cross_entropy", {}, "needs class_weights"),
    ("weighted_cross_entropy", {"class_weights": [1.0, 2.0]}, "2 entries for 3 classes"),
    ("no_such_module.sub:Loss", {}, "cannot import"),
    ("bert_keras.losses:NoSuchLoss", {}, "cannot import"),
    ("bert_keras.losses:FocalLoss", {"gama": 1.0}, "cannot build"),
    (FocalLoss(), {"gamma": 1.0}, "cannot apply"),
])
def test_get_loss_errors(spec, kwargs, match):
    kwargs = {"num_classes": 3, **kwargs}
    with pytest.raises(BertKerasError, match=match):
        get_loss(spec, **kwargs)


ALL_LOSSES = [
    SparseCrossEntropy(label_smoothing=0.1),
    WeightedCrossEntropy([1.0, 2.0, 0.5], label_smoothing=0.05),
    FocalLoss(gamma=1.5, alpha=[0.5, 1.0, 2.0], label_smoothing=0.1),
    SigmoidCrossEntropy(label_smoothing=0.1, pos_weight=[1.0, 2.0, 3.0]),
]


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=lambda loss: type(loss).__name__)
def test_config_round_trip(loss):
    config = loss.get_config()
    assert type(loss).from_config(config).get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == config
    assert keras.saving.get_registered_name(type(loss)) == f"bert_keras>{type(loss).__name__}"


def _data(loss: keras.losses.Loss) -> tuple[np.ndarray, np.ndarray]:
    x = RNG.normal(size=(16, 5)).astype(np.float32)
    if isinstance(loss, SigmoidCrossEntropy):
        return x, RNG.integers(0, 2, size=(16, 3)).astype(np.float32)
    return x, RNG.integers(0, 3, size=16)


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
@pytest.mark.parametrize("loss", ALL_LOSSES, ids=lambda loss: type(loss).__name__)
def test_model_fits_saves_and_reloads(loss, tmp_path):
    x, y = _data(loss)
    model = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    expected = model.evaluate(x, y, verbose=0)
    for path in (tmp_path / "saved_model", tmp_path / "model.keras", tmp_path / "model.h5"):
        model.save(path, save_format="tf" if path.suffix == "" else None)
        restored = keras.models.load_model(path)
        assert type(restored.loss) is type(loss)
        assert restored.loss.get_config() == loss.get_config()
        np.testing.assert_allclose(restored.evaluate(x, y, verbose=0), expected, rtol=1e-5)


def test_reduction_passes_through_under_a_strategy():
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    loss = FocalLoss(reduction=keras.losses.Reduction.SUM)
    assert loss.get_config()["reduction"] == "sum"
    # AUTO raises inside strategy.run; an explicit reduction must reach keras.losses.Loss.
    value = strategy.run(lambda: loss(LABELS, LOGITS))
    np.testing.assert_allclose(value, ref_focal(LOGITS, LABELS, 2.0).sum(), rtol=1e-5)
    with strategy.scope():
        model = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(3)])
        model.compile(optimizer="sgd", loss=FocalLoss())
    x, y = _data(model.loss)
    assert np.isfinite(model.fit(x, y, batch_size=8, verbose=0).history["loss"]).all()
