"""What the encoder's dropout costs: `tf.nn.dropout` against `ByteMaskDropout`.

    python benchmarks/dropout_cost.py [--steps 15] [--precision bfloat16] [--seq 96]

1. One dropout over BERT attention probabilities `[32, 12, 128, 128]`, float32 and
   bfloat16: median ms of 10 calls after 2 warm-up calls.
2. A MiniLM-L6 fine-tuning step (batch 32, the given length) with the encoder's dropouts
   as shipped (ByteMaskDropout) and switched back to `keras.layers.Dropout`: median ms and
   the mean of the faster half of the steps (this 2-core VM has occasional 2x slow steps).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _ms(function, calls: int = 10, warmup: int = 2) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def op_cost() -> None:
    import tensorflow as tf

    from bert_keras.layers.byte_mask_dropout import byte_mask_dropout

    shape = [32, 12, 128, 128]
    for dtype in (tf.float32, tf.bfloat16):
        x = tf.cast(tf.random.normal(shape), dtype)
        plain = tf.function(lambda t: tf.nn.dropout(t, 0.1))
        byte = tf.function(lambda t: byte_mask_dropout(t, 0.1))
        a = _ms(lambda f=plain, t=x: f(t).numpy())
        b = _ms(lambda f=byte, t=x: f(t).numpy())
        print(f"dropout {shape} {dtype.name}: tf.nn.dropout {a:.1f} ms, "
              f"byte_mask_dropout {b:.1f} ms ({a / b:.2f}x)")


def step_cost(precision: str, seq: int, steps: int) -> None:
    import tf_keras as keras

    from bert_keras.config import TrainConfig
    from bert_keras.layers.byte_mask_dropout import ByteMaskDropout
    from bert_keras.models.classifier import Classifier
    from bert_keras.training import compile_classifier

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, (32, seq)).astype(np.int32)
    x = {"input_word_ids": ids, "input_mask": np.ones_like(ids),
         "input_type_ids": np.zeros_like(ids)}
    y = rng.integers(0, 3, 32).astype(np.int32)
    results = {}
    for kind in ("ByteMaskDropout", "Dropout"):
        model = Classifier("minilm-l6-uncased", ["a", "b", "c"], precision=precision)
        if kind == "Dropout":
            for module in model.submodules:
                if type(module) is ByteMaskDropout:
                    module.__class__ = keras.layers.Dropout
        compile_classifier(model, TrainConfig(precision=precision), 1000,
                           train_label_ids=np.array([0, 1, 2]))
        for _ in range(3):
            model.train_on_batch(x, y)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - start)
        times = np.sort(times) * 1000
        results[kind] = times[: max(1, steps // 2)].mean()
        print(f"train step {precision} [32, {seq}] with {kind}: median {np.median(times):.0f} "
              f"ms, faster half {results[kind]:.0f} ms", flush=True)
    print(f"train step speed-up from ByteMaskDropout: "
          f"{results['Dropout'] / results['ByteMaskDropout']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--precision", default="bfloat16")
    parser.add_argument("--seq", type=int, default=96)
    args = parser.parse_args()
    op_cost()
    step_cost(args.precision, args.seq, args.steps)


if __name__ == "__main__":
    main()
