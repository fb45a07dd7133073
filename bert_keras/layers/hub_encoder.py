"""The BERT encoder of a handle as a Keras layer that saves its handle in its config."""

from __future__ import annotations

import re
import warnings

import tensorflow as tf
import tf_keras as keras

with warnings.catch_warnings():  # tensorflow_hub 0.16 imports pkg_resources
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    import tensorflow_hub as hub

_LAYER_INDEX = re.compile(r"transformer/layer_(\d+)/")


@keras.saving.register_keras_serializable(package="bert_keras")
class HubEncoder(keras.layers.Layer):
    """A TF-Hub encoder, run as the SavedModel graph or rebuilt natively.

    With `architecture` (what a bert_keras handle records), the encoder is rebuilt as
    `networks.BertEncoder` and given the SavedModel's weights: the same function, but it can
    compute in mixed precision. Without it, any TF-Hub encoder runs through
    `hub.KerasLayer`, always in float32. Outputs are float32 either way.

    BERT's pooler (the dense layer behind `pooled_output`) is not trained: bert_keras's
    heads pool `sequence_output` themselves, so it would get no gradient, only optimizer
    state.

    Args:
        encoder: path or URL of the TF-Hub encoder SavedModel.
        trainable: fine-tune the encoder's weights.
        frozen_layers: keep the embeddings and the lowest `frozen_layers` transformer
            blocks fixed while the rest trains (0: train everything).
        architecture: the encoder config of a bert_keras handle (None: `hub.KerasLayer`).
        precision: compute precision of a native encoder ("float32", "bfloat16",
            "float16" or "auto"); a `hub.KerasLayer` encoder takes "float32" only.

    Examples:

        encoder = HubEncoder("/path/to/handle/encoder", architecture=config,
                             precision="bfloat16")
        outputs = encoder({"input_word_ids": ids, "input_mask": mask,
                           "input_type_ids": types})
        outputs["sequence_output"]  # float32
    """

    def __init__(self, encoder: str, trainable: bool = True, frozen_layers: int = 0,
                 architecture: dict | None = None, precision: str = "float32", **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self.encoder = str(encoder)
        self.frozen_layers = int(frozen_layers)
        self.architecture = dict(architecture) if architecture else None
        self.precision = precision
        if self.architecture:
            from bert_keras.hub.native import build_native_encoder

            self.network = build_native_encoder(self.architecture, self.encoder, precision)
        else:
            if precision != "float32":
                from bert_keras.errors import BertKerasError

                raise BertKerasError(
                    f"{self.encoder}: a TF-Hub SavedModel graph computes in float32 only; "
                    f"precision {precision!r} needs a handle that records its architecture "
                    "(bert-keras prepare / convert)")
            self.network = hub.KerasLayer(self.encoder, trainable=trainable, name="hub")

    @property
    def is_native(self) -> bool:
        return self.architecture is not None

    def store_variables_in_compute_dtype(self) -> bool:
        """For inference: keeps the native encoder's weights in its 16-bit compute dtype.

        Mixed precision keeps float32 variables and casts every weight to bfloat16 (or
        float16) on every call; stored in 16 bits the casts go and the weights take half
        the memory, with the same results (the values cast are the same). The encoder is
        frozen afterwards: training needs the float32 copy. A float32 or TF-Hub-graph
        encoder is left as it is.

        Returns:
            Whether the weights were converted.
        """
        if not self.is_native or self.network.compute_dtype == "float32":
            return False
        from bert_keras.hub.native import build_native_encoder, copy_variables

        network = build_native_encoder(self.architecture, precision=self.precision,
                                       variables_in_compute_dtype=True)
        copy_variables(self.network.variables, network, self.encoder)
        self.network = network
        self.trainable = False
        return True

    def call(self, inputs: dict, training=None) -> dict:
        if not self.trainable:
            training = False  # a frozen encoder drops out nothing (as hub.KerasLayer does)
        outputs = dict(self.network(inputs, training=training))
        outputs.setdefault("default", outputs["pooled_output"])
        # Heads and losses stay float32 whatever the encoder computes in.
        return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), outputs)

    def _is_frozen(self, variable) -> bool:
        if "pooler_transform" in variable.name:
            return True
        if self.frozen_layers <= 0:
            return False
        match = _LAYER_INDEX.search(variable.name)
        if match:
            return int(match.group(1)) < self.frozen_layers
        return "embedding" in variable.name  # embeddings sit below every block

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w in self.network.trainable_weights if not self._is_frozen(w)]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.network.weights
        frozen = [w for w in self.network.trainable_weights if self._is_frozen(w)]
        return self.network.non_trainable_weights + frozen

    def get_config(self) -> dict:
        return {**super().get_config(), "encoder": self.encoder,
                "frozen_layers": self.frozen_layers, "architecture": self.architecture,
                "precision": self.precision}
