"""`python -m bert_keras.lite BUNDLE TEXT...`: classify texts on a board, no TensorFlow.

Prints one JSON object a text: the label and the probability of every label. With `-`
as the only text, reads one text a line from standard input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from bert_keras.errors import BertKerasError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bert_keras.lite",
        description="Classify texts with a TFLite bundle from `bert-keras export --format "
                    "tflite`, using LiteRT and the NumPy tokenizer (no TensorFlow).")
    parser.add_argument("bundle", help="the bundle directory (model.tflite, vocab.txt, "
                        "labels.txt, model.json)")
    parser.add_argument("texts", nargs="+", help="texts to classify; '-' reads one text a "
                        "line from standard input")
    parser.add_argument("--threads", type=int, default=None, help="LiteRT CPU threads")
    args = parser.parse_args(argv)
    texts = [line.rstrip("\n") for line in sys.stdin] if args.texts == ["-"] else args.texts
    from bert_keras.lite.classifier import LiteClassifier

    try:
        classifier = LiteClassifier(args.bundle, num_threads=args.threads)
        if classifier.pair:
            raise BertKerasError("this bundle classifies text pairs; use "
                                 "LiteClassifier(...).predict(texts, pairs) from Python")
        probabilities = classifier.predict(texts)
        labels = classifier.predict_labels(texts)
    except (BertKerasError, ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for text, label, row in zip(texts, labels, probabilities, strict=True):
        scores = dict(zip(classifier.labels, map(float, row), strict=True))
        print(json.dumps({"text": text, "label": label, "probabilities": scores},
                         ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
