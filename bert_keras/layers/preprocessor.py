"""The TF-Hub preprocessor as a Keras layer: strings (or string pairs) to BERT inputs."""

from __future__ import annotations

import warnings

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the ops the preprocessor uses)
import tf_keras as keras

with warnings.catch_warnings():  # tensorflow_hub 0.16 imports pkg_resources
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    import tensorflow_hub as hub

from bert_keras.layers.aspect_input import AspectInput
from bert_keras.layers.long_text import check_strategy, select_tokens, split_chunks
from bert_keras.layers.pack_inputs import keep_first, longest_first_counts
from bert_keras.lite.long_text import default_stride

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bert_keras")
class BertPreprocessor(keras.layers.Layer):
    """Tokenizes one text or a text pair per example and packs it to `seq_length`.

    Args:
        preprocessor: path or URL of a TF-Hub preprocessing SavedModel (with `tokenize`
            and `bert_pack_inputs`, as the TF-Hub Preprocessor API specifies).
        seq_length: the packed length, [CLS] and [SEP] included.
        long_text: what a text longer than `seq_length` keeps: "head" (its start),
            "tail" (its end), "head+tail" (both, `head_ratio` of the budget from the
            start) or "chunks" (every window of `seq_length`, `chunk_stride` apart, up to
            `max_chunks`). A pair's second segment (an aspect, a question) keeps its start;
            pairs share the budget longest-first.
        head_ratio: "head+tail": the share of the token budget taken from the start.
        chunk_stride: "chunks": tokens between window starts (default: half a window).
        max_chunks: "chunks": the most windows a text yields.
        aspect: for (text, aspect) pairs: the settings of an `AspectInput` (filter_text,
            lexicon, window, template) that filters the text down to the sentences about
            the aspect and phrases the aspect. A filtered text keeps its head; a text that
            never mentions the aspect keeps its head and tail (`head_ratio`).

    Call arguments:
        inputs: a string tensor `[batch]`, or a list of one or two of them (text, pair).

    Returns:
        `input_word_ids`, `input_mask`, `input_type_ids`, each int32 `[batch, seq_length]`;
        with "chunks" `[batch, chunks, seq_length]`, missing chunks all zeros.
        (`bert_keras.lite.preprocessor.LitePreprocessor` is its NumPy twin, for boards.)

    Examples:

        preprocess = BertPreprocessor("/path/to/handle/preprocessor", long_text="head+tail")
        preprocess([tf.constant(["the food"]), tf.constant(["price"])])
    """

    def __init__(self, preprocessor: str, seq_length: int = 128, long_text: str = "head",
                 head_ratio: float = 0.25, chunk_stride: int | None = None,
                 max_chunks: int = 8, aspect: dict | None = None, **kwargs):
        super().__init__(trainable=False, **kwargs)
        check_strategy(long_text, head_ratio)
        self.aspect = dict(aspect) if aspect is not None else None
        self.aspect_input = AspectInput(**self.aspect, name="aspect_input") \
            if self.aspect is not None else None
        self._filters = bool(self.aspect and self.aspect.get("filter_text", True))
        if self._filters and long_text == "chunks":
            raise ValueError("aspect text filtering and long_text='chunks' exclude each other")
        self.preprocessor = str(preprocessor)
        self.seq_length = int(seq_length)
        self.long_text = long_text
        self.head_ratio = float(head_ratio)
        self.chunk_stride = int(chunk_stride) if chunk_stride else None
        self.max_chunks = int(max_chunks)
        if self.max_chunks < 1 or (self.chunk_stride is not None and self.chunk_stride < 1):
            raise ValueError("max_chunks and chunk_stride must be positive")
        loaded = hub.load(self.preprocessor)
        self.tokenize = hub.KerasLayer(loaded.tokenize, name="tokenize")
        self.pack = hub.KerasLayer(loaded.bert_pack_inputs, name="pack",
                                   arguments={"seq_length": self.seq_length})

    def call(self, inputs) -> dict:
        segments = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        strategy, ratio = self.long_text, self.head_ratio
        if self.aspect_input is not None:
            if len(segments) != 2:
                raise ValueError("an aspect model takes [texts, aspects]")
            text, aspect, mentioned = self.aspect_input(segments)
            segments = [text, aspect]
            if self._filters:  # the kept sentences from the start, else head and tail
                strategy = "head+tail"
                ratio = tf.where(mentioned, tf.constant(1.0, tf.float64),
                                 tf.constant(self.head_ratio, tf.float64))
        tokens = [self.tokenize(tf.reshape(s, [-1])) for s in segments]
        if strategy == "head":  # the TF-Hub preprocessor's own truncation
            return self.pack(tokens)
        tokens = [t.merge_dims(1, -1) if t.shape.rank > 2 else t for t in tokens]
        budget = self.seq_length - len(tokens) - 1
        if len(tokens) == 2:
            lengths = tokens[0].row_lengths()
            # Chunks read all of the first segment: only the second's length limits a window.
            n1 = tf.fill(tf.shape(lengths), tf.cast(budget, lengths.dtype)) \
                if strategy == "chunks" else lengths
            keep1, keep2 = longest_first_counts(n1, tokens[1].row_lengths(), budget)
            second = keep_first(tokens[1], keep2)
        else:
            keep1, second = tf.constant(budget, tf.int64), None
        if strategy != "chunks":
            first = select_tokens(tokens[0], keep1, strategy, ratio)
            return self.pack([first] + ([second] if second is not None else []))
        stride = self.chunk_stride or default_stride(self.seq_length, len(tokens))
        chunks, counts = split_chunks(tokens[0], keep1, stride, self.max_chunks)
        packed_segments = [chunks]
        if second is not None:
            text_of_chunk = tf.repeat(tf.range(tf.size(counts, out_type=tf.int64)), counts)
            packed_segments.append(tf.gather(second, text_of_chunk))
        packed = self.pack(packed_segments)
        return {name: tf.RaggedTensor.from_row_lengths(packed[name], counts).to_tensor()
                for name in INPUT_NAMES}

    def get_config(self) -> dict:
        return {**super().get_config(), "preprocessor": self.preprocessor,
                "seq_length": self.seq_length, "long_text": self.long_text,
                "head_ratio": self.head_ratio, "chunk_stride": self.chunk_stride,
                "max_chunks": self.max_chunks, "aspect": self.aspect}
