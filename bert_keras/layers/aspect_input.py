"""Aspect-level inputs in the graph: text filtering by aspect mention, and the aspect as an
auxiliary sentence. In-graph, so training, evaluation, prediction and the exported
SavedModel (which takes raw `text` and `aspect` strings) filter identically.

    text, aspect --split into sentences (Chinese and Western punctuation, newlines)-->
        keep the sentences that mention the aspect or a synonym, plus `window` neighbours,
        in their original order --> filtered text (the whole text when none mentions it,
        and `mentioned` False: the caller then keeps its head and tail)
    aspect --template "What do you think of the {aspect}?"--> second segment

`bert_keras.lite.aspect` repeats all of it in NumPy for boards (tested against this layer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import tensorflow as tf
import tf_keras as keras

# One pattern for the graph and for the NumPy twin that boards run.
from bert_keras.lite.aspect import (
    ASPECT_PLACEHOLDER,
    SENTENCE_BOUNDARY,
    SENTENCE_END,
    AspectFilter,
)

_RE2_SPECIAL = r"([\\.^$|?*+()\[\]{}-])"


def split_sentences(texts: tf.Tensor) -> tf.RaggedTensor:
    """Splits strings `[batch]` into sentences `[batch, (sentences)]`, each keeping its
    punctuation and trailing space, so joining them gives the text back.

    Examples:
    >>> sentences = split_sentences(tf.constant(["Food was great. Too dear! 服务很好。环境差"]))
    >>> [s.decode() for s in sentences.to_list()[0]]
    ['Food was great. ', 'Too dear! ', '服务很好。', '环境差']
    """
    marked = tf.strings.regex_replace(texts, SENTENCE_END, r"\1" + SENTENCE_BOUNDARY)
    marked = tf.strings.regex_replace(marked, SENTENCE_BOUNDARY + "$", "")
    return tf.strings.split(marked, SENTENCE_BOUNDARY)


def _shift(values: tf.Tensor, k: int) -> tf.Tensor:
    """`values` moved `k` places right (k > 0) or left, padded with False."""
    n = tf.shape(values)[0]
    if k > 0:
        return tf.pad(values, [[k, 0]])[:n]
    return tf.pad(values, [[0, -k]])[-k:]


@keras.saving.register_keras_serializable(package="bert_keras")
class AspectInput(keras.layers.Layer):
    """Filters a long text down to the sentences about an aspect, and phrases the aspect.

    Args:
        filter_text: keep only the sentences that mention the aspect (or a synonym) and
            their neighbours.
        lexicon: synonyms by aspect, e.g. {"price": ["cost", "expensive", "价格"]}; the
            aspect itself always counts. Matching ignores case.
        window: neighbouring sentences kept on each side of a mention.
        template: the second segment, with "{aspect}" standing for the aspect, e.g.
            "What do you think of the {aspect}?" (None: the aspect alone).

    Call arguments:
        inputs: `[texts, aspects]`, string tensors `[batch]`.

    Returns:
        `(texts, aspects, mentioned)`: the filtered texts, the phrased aspects and, per
        example, whether any sentence mentioned the aspect.

    Examples:
    >>> layer = AspectInput(lexicon={"price": ["cost"]}, window=0)
    >>> text, aspect, hit = layer([tf.constant(["Food was great. The cost is absurd."]),
    ...                            tf.constant(["price"])])
    >>> text.numpy()[0].decode(), bool(hit.numpy()[0])
    ('The cost is absurd.', True)
    """

    def __init__(self, filter_text: bool = True, lexicon: Mapping[str, Sequence[str]] | None = None,
                 window: int = 1, template: str | None = None, **kwargs):
        super().__init__(trainable=False, **kwargs)
        AspectFilter(filter_text, lexicon, window, template)  # the same checks as on boards
        self.filter_text = bool(filter_text)
        self.lexicon = {str(k).lower(): [str(s) for s in v] for k, v in (lexicon or {}).items()}
        self.window = int(window)
        self.template = template
        keys = list(self.lexicon) or [""]
        values = ["|".join(re.escape(s.lower()) for s in self.lexicon.get(k, []) if s)
                  for k in keys]
        self._synonyms = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values), default_value="")

    def _patterns(self, aspects: tf.Tensor) -> tf.Tensor:
        lower = tf.strings.lower(tf.strings.strip(aspects), encoding="utf-8")
        escaped = tf.strings.regex_replace(lower, _RE2_SPECIAL, r"\\\1")
        synonyms = self._synonyms.lookup(lower)
        terms = tf.where(tf.strings.length(synonyms) > 0,
                         tf.strings.join([escaped, synonyms], "|"), escaped)
        return tf.strings.join(["(?s).*(", terms, ").*"])

    def _filter_one(self, args):
        text, pattern = args
        sentences = split_sentences(tf.reshape(text, [1])).values
        hits = tf.strings.regex_full_match(tf.strings.lower(sentences, encoding="utf-8"),
                                           pattern)
        near = hits
        for k in range(1, self.window + 1):
            near = near | _shift(hits, k) | _shift(hits, -k)
        mentioned = tf.reduce_any(hits)
        kept = tf.strings.reduce_join(tf.boolean_mask(sentences, near))
        return tf.where(mentioned, kept, text), mentioned

    def call(self, inputs):
        texts, aspects = (tf.reshape(x, [-1]) for x in inputs)
        if self.filter_text:
            texts, mentioned = tf.map_fn(
                self._filter_one, (texts, self._patterns(aspects)),
                fn_output_signature=(tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.bool)))
        else:
            mentioned = tf.zeros(tf.shape(texts), tf.bool)
        if self.template is not None:
            before, _, after = self.template.partition(ASPECT_PLACEHOLDER)
            aspects = tf.strings.join([before, aspects, after])
        return texts, aspects, mentioned

    def get_config(self) -> dict:
        return {**super().get_config(), "filter_text": self.filter_text,
                "lexicon": self.lexicon, "window": self.window, "template": self.template}
