"""Classification losses on logits, and `get_loss` to pick one from a config.

Every loss takes the model's raw logits (any float dtype; the math runs in float32 so that
mixed-precision models lose nothing here). Single-label targets are integer class ids of shape
`[batch]` (or `[batch, 1]`, which Keras' `fit` passes); multi-label targets are multi-hot floats of
shape `[batch, num_labels]`. Each class is registered for Keras serialization, so models compiled
with it save and reload in the SavedModel, `.keras` and `.h5` formats.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras

from bert_keras.errors import BertKerasError

_SERIALIZABLE = keras.saving.register_keras_serializable(package="bert_keras")


def _float_logits(y_pred: Any) -> tf.Tensor:
    # bfloat16 / float16 softmax and log lose precision the loss value cannot afford.
    return tf.cast(y_pred, tf.float32)


def _int_labels(y_true: Any) -> tf.Tensor:
    # Keras' fit expands [batch] targets to [batch, 1] and may hand them over as floats.
    return tf.reshape(tf.cast(y_true, tf.int32), [-1])


def _check_per_class(values: Sequence[float], logits: tf.Tensor, what: str) -> None:
    num_classes = logits.shape[-1]
    if num_classes is not None and len(values) != num_classes:
        raise BertKerasError(
            f"{what} has {len(values)} entries but the model has {num_classes} classes"
        )


def _smoothed_one_hot(labels: tf.Tensor, num_classes: tf.Tensor, smoothing: float) -> tf.Tensor:
    one_hot = tf.one_hot(labels, depth=num_classes, dtype=tf.float32)
    if smoothing:
        one_hot = one_hot * (1.0 - smoothing) + smoothing / tf.cast(num_classes, tf.float32)
    return one_hot


class _LogitsLoss(keras.losses.Loss):
    """Shared constructor and config of the losses below; subclasses implement `call`."""

    def __init__(
        self,
        label_smoothing: float = 0.0,
        reduction: str = keras.losses.Reduction.AUTO,
        name: str | None = None,
    ) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise BertKerasError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        super().__init__(reduction=reduction, name=name)
        self.label_smoothing = float(label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@_SERIALIZABLE
class SparseCrossEntropy(_LogitsLoss):
    """Softmax cross-entropy between integer class ids and logits.

    Args:
        label_smoothing: mass in [0, 1) spread uniformly over all classes: the target becomes
            `one_hot * (1 - label_smoothing) + label_smoothing / num_classes`.
        reduction: a `keras.losses.Reduction`; AUTO averages over the (global) batch.
        name: the loss name.

    Examples:
    >>> loss = SparseCrossEntropy()
    >>> round(float(loss([0, 1], [[2.0, 0.0], [0.0, 2.0]])), 4)
    0.1269
    """

    def __init__(self, label_smoothing: float = 0.0, reduction: str = keras.losses.Reduction.AUTO,
                 name: str | None = "sparse_cross_entropy") -> None:
        super().__init__(label_smoothing=label_smoothing, reduction=reduction, name=name)

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        logits = _float_logits(y_pred)
        one_hot = tf.one_hot(_int_labels(y_true), depth=tf.shape(logits)[-1], dtype=tf.float32)
        return keras.losses.categorical_crossentropy(
            one_hot, logits, from_logits=True, label_smoothing=self.label_smoothing
        )


@_SERIALIZABLE
class WeightedCrossEntropy(SparseCrossEntropy):
    """Cross-entropy where each example counts with the weight of its true class.

    The reduction is the plain mean of the weighted per-example losses over the batch (not the
    weighted mean that divides by the sum of weights, as PyTorch does): batches with many
    rare-class examples thus give larger losses, and with "balanced" weights the scale stays
    close to unweighted cross-entropy.

    Args:
        class_weights: one non-negative weight per class, e.g. from `balanced_class_weights`.
        label_smoothing: as in `SparseCrossEntropy`.
        reduction: a `keras.losses.Reduction`.
        name: the loss name.

    Examples:
    >>> loss = WeightedCrossEntropy(class_weights=[1.0, 3.0])
    >>> round(float(loss([0, 1], [[2.0, 0.0], [0.0, 2.0]])), 4)
    0.2539
    """

    def __init__(self, class_weights: Sequence[float], label_smoothing: float = 0.0,
                 reduction: str = keras.losses.Reduction.AUTO,
                 name: str | None = "weighted_cross_entropy") -> None:
        super().__init__(label_smoothing=label_smoothing, reduction=reduction, name=name)
        self.class_weights = [float(w) for w in class_weights]
        if not self.class_weights or min(self.class_weights) < 0:
            raise BertKerasError(f"class_weights must be non-negative, got {class_weights}")

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        logits = _float_logits(y_pred)
        _check_per_class(self.class_weights, logits, "class_weights")
        weights = tf.gather(tf.constant(self.class_weights, tf.float32), _int_labels(y_true))
        return weights * super().call(y_true, logits)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_weights": self.class_weights}


@_SERIALIZABLE
class FocalLoss(_LogitsLoss):
    """Multi-class softmax focal loss, `-alpha_t * (1 - p_t) ** gamma * log(p_t)`.

    It down-weights examples the model already gets right, so the rare and hard ones dominate
    (Lin et al., 2017). With label smoothing each class c contributes
    `-alpha_c * q_c * (1 - p_c) ** gamma * log(p_c)` for the smoothed target q; with `gamma=0`
    and `alpha=None` the loss equals `SparseCrossEntropy`.

    Args:
        gamma: the focusing exponent, >= 0.
        alpha: None (no class weighting), a float that scales every class alike, or one weight
            per class (e.g. from `balanced_class_weights`).
        label_smoothing: as in `SparseCrossEntropy`.
        reduction: a `keras.losses.Reduction`.
        name: the loss name.

    Examples:
    >>> logits = [[2.0, 0.0], [0.0, 2.0]]
    >>> round(float(FocalLoss(gamma=0.0)([0, 1], logits)), 4)
    0.1269
    >>> round(float(FocalLoss(gamma=2.0)([0, 1], logits)), 4)
    0.0018
    """

    def __init__(self, gamma: float = 2.0, alpha: float | Sequence[float] | None = None,
                 label_smoothing: float = 0.0, reduction: str = keras.losses.Reduction.AUTO,
                 name: str | None = "focal_loss") -> None:
        super().__init__(label_smoothing=label_smoothing, reduction=reduction, name=name)
        if gamma < 0:
            raise BertKerasError(f"gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)
        if alpha is None or isinstance(alpha, (int, float)):
            self.alpha = None if alpha is None else float(alpha)
        else:
            self.alpha = [float(a) for a in alpha]

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        logits = _float_logits(y_pred)
        targets = _smoothed_one_hot(_int_labels(y_true), tf.shape(logits)[-1], self.label_smoothing)
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        losses = -targets * log_probs
        if self.gamma:
            # -expm1(log p) is 1 - p without cancellation; the floor keeps pow's gradient
            # finite for gamma < 1 when p rounds to 1.
            one_minus_p = tf.maximum(-tf.math.expm1(log_probs), 1e-12)
            losses *= tf.pow(one_minus_p, self.gamma)
        if isinstance(self.alpha, list):
            _check_per_class(self.alpha, logits, "alpha")
            losses *= tf.constant(self.alpha, tf.float32)
        elif self.alpha is not None:
            losses *= self.alpha
        return tf.reduce_sum(losses, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gamma": self.gamma, "alpha": self.alpha}


@_SERIALIZABLE
class SigmoidCrossEntropy(_LogitsLoss):
    """Multi-label loss: independent sigmoid cross-entropy per label, averaged over labels.

    Args:
        label_smoothing: moves targets towards 0.5: `y * (1 - label_smoothing) + 0.5 *
            label_smoothing`, as `keras.losses.binary_crossentropy` does.
        pos_weight: None, a float, or one float per label multiplying the positive term
            (`> 1` raises recall on rare labels), as `tf.nn.weighted_cross_entropy_with_logits`.
        reduction: a `keras.losses.Reduction`.
        name: the loss name.

    Examples:
    >>> loss = SigmoidCrossEntropy()
    >>> round(float(loss([[1.0, 0.0]], [[0.0, 0.0]])), 4)
    0.6931
    """

    def __init__(self, label_smoothing: float = 0.0,
                 pos_weight: float | Sequence[float] | None = None,
                 reduction: str = keras.losses.Reduction.AUTO,
                 name: str | None = "sigmoid_cross_entropy") -> None:
        super().__init__(label_smoothing=label_smoothing, reduction=reduction, name=name)
        if pos_weight is None or isinstance(pos_weight, (int, float)):
            self.pos_weight = None if pos_weight is None else float(pos_weight)
        else:
            self.pos_weight = [float(w) for w in pos_weight]

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        logits = _float_logits(y_pred)
        labels = tf.cast(y_true, tf.float32)
        if self.label_smoothing:
            labels = labels * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.pos_weight is None:
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        else:
            if isinstance(self.pos_weight, list):
                _check_per_class(self.pos_weight, logits, "pos_weight")
            losses = tf.nn.weighted_cross_entropy_with_logits(
                labels=labels, logits=logits, pos_weight=tf.constant(self.pos_weight, tf.float32)
            )
        return tf.reduce_mean(losses, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pos_weight": self.pos_weight}


def balanced_class_weights(label_ids: np.ndarray, num_classes: int) -> list[float]:
    """Weights `n_samples / (num_classes * count)`, as scikit-learn's "balanced" heuristic.

    A class with no examples gets weight 1.0: it never is a true class in training, so its
    weight has no effect, and 1.0 keeps the list finite and printable.

    Args:
        label_ids: integer class ids of the training examples, any shape.
        num_classes: the number of classes (ids must lie in `[0, num_classes)`).

    Returns:
        One float per class.

    Examples:
    >>> balanced_class_weights(np.array([0, 0, 0, 1]), 3)
    [0.4444444444444444, 1.3333333333333333, 1.0]
    """
    ids = np.asarray(label_ids).reshape(-1)
    if ids.size == 0:
        raise BertKerasError("cannot compute balanced class weights from zero labels")
    if not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= num_classes:
        raise BertKerasError(f"label ids must be integers in [0, {num_classes}), got {ids[:5]}...")
    counts = np.bincount(ids, minlength=num_classes)
    return [float(ids.size / (num_classes * c)) if c else 1.0 for c in counts]


_CLASSES: dict[str, type[_LogitsLoss]] = {
    "cross_entropy": SparseCrossEntropy,
    "weighted_cross_entropy": WeightedCrossEntropy,
    "focal": FocalLoss,
    "sigmoid_cross_entropy": SigmoidCrossEntropy,
}
_OPTIONS = {  # which options each named loss understands
    "cross_entropy": {"label_smoothing"},
    "weighted_cross_entropy": {"label_smoothing", "class_weights"},
    "focal": {"label_smoothing", "gamma", "alpha"},
    "sigmoid_cross_entropy": {"label_smoothing", "pos_weight"},
}


def get_loss(
    spec: str | keras.losses.Loss | Callable | None,
    *,
    num_classes: int,
    multi_label: bool = False,
    train_label_ids: np.ndarray | None = None,
    **options: Any,
) -> keras.losses.Loss | Callable:
    """Builds the loss a config names.

    Args:
        spec: None (cross-entropy, or sigmoid cross-entropy when `multi_label`); a name:
            "cross_entropy", "weighted_cross_entropy", "focal" or "sigmoid_cross_entropy"; a
            `keras.losses.Loss` or any callable (returned as is); a class (instantiated with
            `options`); or an import path "package.module:attr" / "package.module.attr" to such
            an object.
        num_classes: the number of classes (labels, for multi-label).
        multi_label: whether targets are multi-hot.
        train_label_ids: training class ids, needed when `class_weights` or `alpha` is
            "balanced".
        **options: `label_smoothing`, `class_weights` (a list or "balanced"), `gamma`, `alpha`
            (a float, a list or "balanced"), `pos_weight`. Options set to None count as unset;
            any other option the chosen loss does not take is an error.

    Returns:
        A loss to pass to `model.compile`.

    Examples:
    >>> get_loss("focal", num_classes=3, gamma=1.0).gamma
    1.0
    >>> get_loss(None, num_classes=4, multi_label=True).name
    'sigmoid_cross_entropy'
    """
    options = {key: value for key, value in options.items() if value is not None}
    for key in ("class_weights", "alpha"):
        if isinstance(options.get(key), str) and options[key] == "balanced":
            if train_label_ids is None:
                raise BertKerasError(f'{key}="balanced" needs the training labels')
            options[key] = balanced_class_weights(train_label_ids, num_classes)
    if spec is None:
        spec = "sigmoid_cross_entropy" if multi_label else "cross_entropy"
    if isinstance(spec, str):
        name = spec.strip().lower().replace("-", "_")
        if name in _OPTIONS:
            return _named_loss(name, num_classes, multi_label, options)
        if "." not in spec and ":" not in spec:
            raise BertKerasError(
                f"unknown loss {spec!r}; known losses: {', '.join(sorted(_OPTIONS))}, "
                "or an import path such as 'my_package.my_module:MyLoss'"
            )
        spec = _import(spec)
    _check_task(spec, multi_label)
    if inspect.isclass(spec):
        try:
            return spec(**options)
        except TypeError as err:
            raise BertKerasError(f"cannot build loss {spec.__name__}: {err}") from err
    if not callable(spec):
        raise BertKerasError(f"a loss must be callable, got {type(spec).__name__}")
    if options:
        raise BertKerasError(f"options {sorted(options)} cannot apply to the built loss {spec!r}")
    return spec


def _check_task(spec: Any, multi_label: bool) -> None:
    # Our own classes know their task; a foreign loss is the user's responsibility.
    kind = spec if inspect.isclass(spec) else type(spec)
    single = issubclass(kind, (SparseCrossEntropy, FocalLoss))
    if multi_label and single:
        raise BertKerasError(f"loss {kind.__name__} is single-label; use "
                             "'sigmoid_cross_entropy' for a multi-label task")
    if not multi_label and issubclass(kind, SigmoidCrossEntropy):
        raise BertKerasError(f"loss {kind.__name__} is for multi-label tasks; use "
                             "'cross_entropy', 'weighted_cross_entropy' or 'focal'")


def _named_loss(name: str, num_classes: int, multi_label: bool,
                options: dict[str, Any]) -> keras.losses.Loss:
    _check_task(_CLASSES[name], multi_label)
    unknown = set(options) - _OPTIONS[name]
    if unknown:
        hint = " (focal takes per-class weights as alpha)" if name == "focal" else ""
        raise BertKerasError(f"loss {name!r} takes options {sorted(_OPTIONS[name])}, "
                             f"not {sorted(unknown)}{hint}")
    for key in ("class_weights", "alpha", "pos_weight"):
        value = options.get(key)
        if isinstance(value, str):
            raise BertKerasError(f"{key} must be a number, a list or 'balanced', got {value!r}")
        if value is not None and np.ndim(value) == 1 and len(value) != num_classes:
            raise BertKerasError(f"{key} has {len(value)} entries for {num_classes} classes")
    if name == "weighted_cross_entropy" and "class_weights" not in options:
        raise BertKerasError('weighted_cross_entropy needs class_weights (list or "balanced")')
    return _CLASSES[name](**options)


def _import(path: str) -> Any:
    module_name, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, ValueError) as err:
        raise BertKerasError(f"cannot import loss {path!r}: {err}") from err
    return target
