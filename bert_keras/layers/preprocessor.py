"""The TF-Hub preprocessor as a Keras layer: strings (or string pairs) to BERT inputs."""

from __future__ import annotations

import warnings

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the ops the preprocessor uses)
import tf_keras as keras

with warnings.catch_warnings():  # tensorflow_hub 0.16 imports pkg_resources
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    import tensorflow_hub as hub

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bert_keras")
class BertPreprocessor(keras.layers.Layer):
    """Tokenizes one text or a text pair per example and packs it to `seq_length`.

    Args:
        preprocessor: path or URL of a TF-Hub preprocessing SavedModel (with `tokenize`
            and `bert_pack_inputs`, as the TF-Hub Preprocessor API specifies).
        seq_length: the packed length, [CLS] and [SEP] included; longer input is
            truncated (pairs longest-first).

    Call arguments:
        inputs: a string tensor `[batch]`, or a list of one or two of them (text, pair).

    Returns:
        `input_word_ids`, `input_mask`, `input_type_ids`, each int32 `[batch, seq_length]`.

    Examples:

        preprocess = BertPreprocessor("/path/to/handle/preprocessor")
        preprocess([tf.constant(["the food"]), tf.constant(["price"])])
    """

    def __init__(self, preprocessor: str, seq_length: int = 128, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.preprocessor = str(preprocessor)
        self.seq_length = int(seq_length)
        loaded = hub.load(self.preprocessor)
        self.tokenize = hub.KerasLayer(loaded.tokenize, name="tokenize")
        self.pack = hub.KerasLayer(loaded.bert_pack_inputs, name="pack",
                                   arguments={"seq_length": self.seq_length})

    def call(self, inputs) -> dict:
        segments = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self.pack([self.tokenize(tf.reshape(s, [-1])) for s in segments])

    def get_config(self) -> dict:
        return {**super().get_config(), "preprocessor": self.preprocessor,
                "seq_length": self.seq_length}
