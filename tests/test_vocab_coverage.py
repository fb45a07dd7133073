"""A vocabulary that does not cover the training text's script is reported before training."""

from __future__ import annotations

import io

from bert_keras.data.vocab_coverage import warn_if_uncovered
from bert_keras.models.classifier import Classifier


def test_chinese_text_through_an_english_vocabulary_warns(tiny_handle):
    model = Classifier(str(tiny_handle), ["negative", "positive"])
    stream = io.StringIO()
    share = warn_if_uncovered(model, ["这个药很好，没有副作用。", "服务很差，价格太贵。"] * 5,
                              stream=stream)
    assert share > 0.8
    assert "are [UNK] in the vocabulary of encoder" in stream.getvalue()
    assert "zh-m3e-small" in stream.getvalue()
    quiet = io.StringIO()
    assert warn_if_uncovered(model, ["the drug was great", "terrible pain"],
                             stream=quiet) < 0.3
    assert quiet.getvalue() == ""
