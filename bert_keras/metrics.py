"""Keras metrics on logits that the training loop monitors."""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras


@keras.saving.register_keras_serializable(package="bert_keras")
class MacroF1(keras.metrics.F1Score):
    """Macro-averaged F1 from logits and class ids (or multi-hot rows when multi-label).

    Accuracy flatters imbalanced data; macro-F1 weighs every class equally, which makes
    it the better metric for choosing the best checkpoint.

    Args:
        num_classes: number of classes (labels).
        multi_label: targets are multi-hot and each logit is a sigmoid (threshold 0.5).

    Examples:
    >>> metric = MacroF1(num_classes=2)
    >>> metric.update_state([0, 1, 1], [[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    >>> round(float(metric.result()), 3)
    0.667
    """

    def __init__(self, num_classes: int, multi_label: bool = False, name: str = "macro_f1",
                 **kwargs):
        kwargs.pop("average", None)
        kwargs.pop("threshold", None)
        super().__init__(average="macro", threshold=0.5 if multi_label else None, name=name,
                         **kwargs)
        self.num_classes = num_classes
        self.multi_label = multi_label

    def update_state(self, y_true, y_pred, sample_weight=None):
        logits = tf.cast(y_pred, tf.float32)
        if self.multi_label:
            return super().update_state(tf.cast(y_true, tf.float32), tf.sigmoid(logits),
                                        sample_weight)
        ids = tf.reshape(tf.cast(y_true, tf.int32), [-1])
        one_hot = tf.one_hot(ids, self.num_classes, dtype=tf.float32)
        return super().update_state(one_hot, tf.nn.softmax(logits), sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, multi_label=self.multi_label)
        return config


def classification_metrics(num_classes: int, multi_label: bool) -> list:
    """Accuracy and macro-F1, named `accuracy` and `macro_f1` in logs."""
    if multi_label:
        accuracy = keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)  # on logits
    else:
        accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    return [accuracy, MacroF1(num_classes, multi_label)]
