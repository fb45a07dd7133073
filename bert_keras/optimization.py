"""AdamW with linear warm-up and decay (tf-models-official), plus layer-wise LR decay."""

from __future__ import annotations

import re

import tensorflow as tf
import tf_keras as keras
from official.modeling.optimization.legacy_adamw import AdamWeightDecay
from official.nlp.optimization import WarmUp

_LAYER = re.compile(r"transformer/layer_(\d+)/")
_NO_DECAY = ["LayerNorm", "layer_norm", "bias"]


@keras.saving.register_keras_serializable(package="bert_keras")
class LayerwiseAdamWeightDecay(AdamWeightDecay):
    """`AdamWeightDecay` whose learning rate shrinks towards the encoder's bottom.

    Block i of n gets `rate * layer_decay ** (n - i)`, the embeddings
    `rate * layer_decay ** (n + 1)`, everything above the encoder the full rate.
    Scaling gradients would not do this: Adam's update ignores the gradient scale.

    Args:
        num_layers: transformer blocks of the encoder.
        layer_decay: factor per block (1.0: plain AdamW).
        **kwargs: `AdamWeightDecay` arguments.
    """

    def __init__(self, num_layers: int = 0, layer_decay: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.layer_decay = layer_decay

    def _factor(self, name: str) -> float:
        if self.layer_decay == 1.0:
            return 1.0
        match = _LAYER.search(name)
        if match:
            return self.layer_decay ** (self.num_layers - int(match.group(1)))
        if "embedding" in name:
            return self.layer_decay ** (self.num_layers + 1)
        return 1.0

    def _scaled(self, var, apply_state):
        factor = self._factor(var.name)
        if factor == 1.0 or not apply_state:
            return apply_state
        key = (var.device, var.dtype.base_dtype)
        coefficients = dict(apply_state.get(key) or self._fallback_apply_state(*key))
        coefficients["lr_t"] = coefficients["lr_t"] * tf.cast(factor, coefficients["lr_t"].dtype)
        return {**apply_state, key: coefficients}

    def _resource_apply_dense(self, grad, var, apply_state=None):
        return super()._resource_apply_dense(grad, var, self._scaled(var, apply_state))

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        return super()._resource_apply_sparse(grad, var, indices,
                                              self._scaled(var, apply_state))

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers,
                "layer_decay": self.layer_decay}


def learning_rate_schedule(learning_rate: float, total_steps: int, warmup_steps: int):
    """Linear warm-up to `learning_rate`, then linear decay to 0 at `total_steps`."""
    decay = keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=learning_rate, decay_steps=max(total_steps - warmup_steps, 1),
        end_learning_rate=0.0,
    )
    if warmup_steps <= 0:
        return decay
    return WarmUp(initial_learning_rate=learning_rate, decay_schedule_fn=_Shifted(decay,
                  warmup_steps), warmup_steps=warmup_steps)


@keras.saving.register_keras_serializable(package="bert_keras")
class _Shifted(keras.optimizers.schedules.LearningRateSchedule):
    """Starts a decay schedule after warm-up (WarmUp hands it the global step)."""

    def __init__(self, schedule, offset: int):
        self.schedule = schedule
        self.offset = offset

    def __call__(self, step):
        return self.schedule(tf.maximum(tf.cast(step, tf.float32) - self.offset, 0.0))

    def get_config(self):
        return {"schedule": keras.optimizers.schedules.serialize(self.schedule),
                "offset": self.offset}


def create_optimizer(*, learning_rate: float, total_steps: int, warmup_steps: int,
                     weight_decay: float = 0.01, clip_norm: float = 1.0,
                     num_layers: int = 0, layer_decay: float = 1.0) -> AdamWeightDecay:
    """AdamW (decoupled weight decay, no decay on biases and layer norms) for fine-tuning.

    Examples:
    >>> opt = create_optimizer(learning_rate=1e-3, total_steps=100, warmup_steps=10)
    >>> [round(float(opt.learning_rate(s)), 6) for s in (0, 5, 10, 55, 100)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0]
    """
    return LayerwiseAdamWeightDecay(
        num_layers=num_layers,
        layer_decay=layer_decay,
        learning_rate=learning_rate_schedule(learning_rate, total_steps, warmup_steps),
        weight_decay_rate=weight_decay,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        exclude_from_weight_decay=_NO_DECAY,
        gradient_clip_norm=clip_norm,
    )
