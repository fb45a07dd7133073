"""Does the encoder's vocabulary cover the data? Chinese text through an English WordPiece
vocabulary trains without error, but most of its characters become [UNK] and the model
learns from almost nothing; this check says so before training starts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

UNKNOWN_SHARE_WARNING = 0.3
_SAMPLE = 500


def unknown_share(preprocessor, unknown_id: int, texts: Sequence[str],
                  sample: int = _SAMPLE) -> float:
    """The share of [UNK] among the word pieces of (up to `sample` of) `texts`.

    Args:
        preprocessor: a `BertPreprocessor` (its TF-Hub `tokenize`).
        unknown_id: the id of [UNK] in its vocabulary.
        texts: the texts to look at; an evenly spaced sample is taken.
    """
    if not texts:
        return 0.0
    picked = [texts[i] for i in np.linspace(0, len(texts) - 1, min(sample, len(texts)),
                                            dtype=int)]
    pieces = preprocessor.tokenize(tf.constant(picked)).flat_values.numpy()
    return float(np.mean(pieces == unknown_id)) if pieces.size else 0.0


def warn_if_uncovered(model, texts: Sequence[str], stream=sys.stderr) -> float | None:
    """Prints a warning when most word pieces of `texts` are [UNK] for `model`'s encoder.

    Returns:
        The [UNK] share, or None when the handle's vocabulary is not local (a hub URL).
    """
    from bert_keras.lite.wordpiece import load_vocab

    vocab_file = model.resolved_handle.vocab_file
    if vocab_file is None:
        return None
    unknown_id = load_vocab(vocab_file).get("[UNK]")
    if unknown_id is None:
        return None
    share = unknown_share(model.preprocessor, unknown_id, texts)
    if share >= UNKNOWN_SHARE_WARNING:
        print(f"warning: {share:.0%} of the word pieces of the training texts are [UNK] in "
              f"the vocabulary of encoder {model.settings['encoder']!r} ({vocab_file}): it "
              "does not cover this text's language or script; the model will learn from "
              "little. For Chinese use zh-m3e-small or a converted Chinese BERT.",
              file=stream)
    return share
