"""The TF-Hub BERT encoder as a Keras layer that saves its handle in its config."""

from __future__ import annotations

import re
import warnings

import tf_keras as keras

with warnings.catch_warnings():  # tensorflow_hub 0.16 imports pkg_resources
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    import tensorflow_hub as hub

_LAYER_INDEX = re.compile(r"transformer/layer_(\d+)/")


@keras.saving.register_keras_serializable(package="bert_keras")
class HubEncoder(keras.layers.Layer):
    """Wraps a TF-Hub encoder SavedModel (`hub.KerasLayer`), optionally freezing its bottom.

    Args:
        encoder: path or URL of the TF-Hub encoder.
        trainable: fine-tune the encoder's weights.
        frozen_layers: keep the embeddings and the lowest `frozen_layers` transformer
            blocks fixed while the rest trains (0: train everything).

    Examples:

        encoder = HubEncoder("/path/to/handle/encoder")
        outputs = encoder({"input_word_ids": ids, "input_mask": mask,
                           "input_type_ids": types})
        outputs["sequence_output"]
    """

    def __init__(self, encoder: str, trainable: bool = True, frozen_layers: int = 0, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self.encoder = str(encoder)
        self.frozen_layers = int(frozen_layers)
        self.hub_layer = hub.KerasLayer(self.encoder, trainable=trainable, name="hub")

    def call(self, inputs: dict, training=None) -> dict:
        return self.hub_layer(inputs, training=training)

    def _is_frozen(self, variable) -> bool:
        if self.frozen_layers <= 0:
            return False
        match = _LAYER_INDEX.search(variable.name)
        if match:
            return int(match.group(1)) < self.frozen_layers
        return "embedding" in variable.name  # embeddings sit below every block

    @property
    def trainable_weights(self):
        return [w for w in super().trainable_weights if not self._is_frozen(w)]

    @property
    def non_trainable_weights(self):
        frozen = [w for w in super().trainable_weights if self._is_frozen(w)]
        return super().non_trainable_weights + frozen

    def get_config(self) -> dict:
        return {**super().get_config(), "encoder": self.encoder,
                "frozen_layers": self.frozen_layers}
