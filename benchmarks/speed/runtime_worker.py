"""Inference runtimes over exported files: ONNX Runtime on a tf2onnx conversion of the
SavedModel's `predict_ids` signature, and LiteRT on the TFLite bundles.

tf2onnx 1.17 and onnxruntime resolve against the pinned TF 2.20 stack without changing it,
and live in their own virtual environment (`benchmarks/.venv-onnx`) so that the package's
install stays as it is; the conversion runs there too.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from speed.common import cores, repeated, timed
from speed.plans import INPUT_NAMES, mean_length, pad
from speed.results import measurement


def _register_erfc() -> None:
    """tf2onnx 1.17 has no handler for TF's `Erfc` (Keras's exact GELU computes
    0.5 x erfc(-x / sqrt 2)) and leaves it in the graph, which ONNX Runtime then rejects:
    convert it as 1 - Erf(x)."""
    import numpy as np
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    @tf_op("Erfc")
    class Erfc:  # noqa: F841  (registered by the decorator)
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            node.type = "Erf"
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            one = ctx.make_const(utils.make_name("erfc_one"), np.array(1, dtype=dtype))
            ctx.insert_new_node_on_output("Sub", node.output[0],
                                          inputs=[one.output[0], node.output[0]])


def onnx_convert(job: dict, plan: dict) -> dict:
    """`python -m tf2onnx.convert --saved-model ... --signature_def predict_ids`, with
    tensorflow_text's ops registered first (the SavedModel's other signatures use them)
    and `Erfc` converted (see `_register_erfc`)."""
    import tensorflow_text  # noqa: F401
    from tf2onnx import convert

    _register_erfc()

    argv = sys.argv
    sys.argv = ["tf2onnx.convert", "--saved-model", job["saved_model"], "--signature_def",
                "predict_ids", "--output", job["onnx"], "--opset", str(job["opset"])]
    try:
        convert.main()
    finally:
        sys.argv = argv
    return {"onnx_bytes": Path(job["onnx"]).stat().st_size, "opset": job["opset"],
            "max_abs_probability_diff": _onnx_parity(job, plan)}


def _onnx_parity(job: dict, plan: dict) -> float:
    """Max abs difference of ONNX Runtime's probabilities from the SavedModel's
    `predict_ids` on the first batch of 32 of the plan."""
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    batch = plan["infer"]["natural"]["32"][0]
    x = pad(plan["ids"], batch["indices"], batch["length"])
    loaded = tf.saved_model.load(job["saved_model"])
    expected = loaded.signatures["predict_ids"](
        **{k: tf.constant(v) for k, v in x.items()})["probabilities"].numpy()
    session = ort.InferenceSession(job["onnx"], providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    got = session.run(["probabilities"], {k: v for k, v in x.items() if k in names})[0]
    return float(np.abs(got - expected).max())


def _size(batch: dict) -> int:
    return len(batch["indices"])


def onnx_infer(job: dict, plan: dict) -> list[dict]:
    """ONNX Runtime's CPU provider, all graph optimisations, one thread per core."""
    import onnxruntime as ort

    settings, ids = plan["settings"], plan["ids"]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = cores()
    session = ort.InferenceSession(job["onnx"], options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs() if o.name == "probabilities"] or None

    def step(batch):
        x = pad(ids, batch["indices"], batch["length"])
        session.run(outputs, {k: v for k, v in x.items() if k in names})

    results = []
    for batch_size in job["batches"]:  # smallest batch first: peak memory so far rises
        for table in job["tables"]:
            batches = plan["infer"][table][str(batch_size)]
            runs = repeated(step, batches, settings["warmup"], settings["repeats"], _size)
            results.append(measurement(
                task="infer", table=table, regime="identical", framework="onnxruntime",
                path="tf2onnx(predict_ids)", precision="float32", input="ids",
                batch=batch_size, seq=mean_length(batches), runs=runs))
    return results


def tflite_infer(job: dict, plan: dict) -> list[dict]:
    """A bundle's `model.tflite` on LiteRT's interpreter (as `bert_keras.lite` makes it),
    at the bundle's fixed `[1, seq_length]` inputs. Batch 32 resizes the inputs to
    `[32, seq_length]` when the graph allows it (checked against 32 single calls), else
    loops 32 single calls; the row says which."""

    from bert_keras.lite.classifier import MODEL_FILE, MODEL_JSON, _interpreter

    settings, ids = plan["settings"], plan["ids"]
    bundle = Path(job["bundle"])
    facts = json.loads((bundle / MODEL_JSON).read_text())
    seq = int(facts["seq_length"])
    interpreter = _interpreter(bundle / MODEL_FILE, cores())
    single = _Runner(interpreter, 1, seq)
    results = []
    for batch_size in job["batches"]:
        runner, how = single, f"{bundle.joinpath(MODEL_FILE).stat().st_size / 2**20:.1f} MiB"
        if batch_size > 1:
            runner, how = _batched(bundle / MODEL_FILE, single, ids, batch_size, seq)
        batches = plan["infer"]["fixed"][str(batch_size)]
        runs = repeated(lambda b, r=runner: r.run_batch(pad(ids, b["indices"], seq)), batches,
                        settings["warmup"], settings["repeats"], _size)
        results.append(measurement(
            task="infer", table="fixed", regime="standard", framework="tflite",
            path=f"TFLite {job['quantize']}", precision=job["quantize"], input="ids",
            batch=batch_size, seq=seq, runs=runs, note=how))
    return results


def _batched(model_file: Path, single: _Runner, ids, batch_size: int, seq: int):
    """An interpreter resized to `[batch_size, seq]` if it gives what `batch_size` single
    calls give, else the single one (looped); and a note saying which, and why."""
    import numpy as np

    from bert_keras.lite.classifier import _interpreter

    batched = _Runner(_interpreter(model_file, cores()), batch_size, seq)
    if not batched.ok:
        return single, f"batch {batch_size}: {batch_size} single calls (resize failed: " \
                       f"{batched.error})"
    probe = pad(ids, list(range(batch_size)), seq)
    expected = np.concatenate([single.run({k: v[i:i + 1] for k, v in probe.items()})
                               for i in range(batch_size)])
    try:
        got = batched.run(probe)
    except (RuntimeError, ValueError) as error:
        return single, f"batch {batch_size}: {batch_size} single calls (resized model " \
                       f"fails: {str(error).splitlines()[0][:80]})"
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-4):
        return single, f"batch {batch_size}: {batch_size} single calls (resized model " \
                       "differs from single calls)"
    return batched, f"batch {batch_size}: inputs resized to [{batch_size}, {seq}]"


def tflite_in_turns(job: dict, plan: dict) -> list[dict]:
    """Batch-1 examples/s of every TFLite bundle, measured in turns in one process.

    This VM's speed drifts within seconds, and a bundle's own job times 72 single calls:
    the int8 / float32 ratio of those jobs was 1.51x in the 2026-12-04 run, and 2.3x, 4.4x
    and 2.4x when the same bundles were timed again minutes later. Here each round times
    every bundle on the same slice of examples, one after the other, and the rounds cycle
    through the repetitions' slices, so a slow spell slows every bundle alike. The issue's
    TFLite target is read from these rows; `tflite_rounds` in the run's settings sets how
    many rounds.
    """
    from bert_keras.lite.classifier import MODEL_FILE, MODEL_JSON, _interpreter

    settings, ids = plan["settings"], plan["ids"]
    runners = {}
    for quantize, bundle in job["bundles"].items():
        seq = int(json.loads((Path(bundle) / MODEL_JSON).read_text())["seq_length"])
        runners[quantize] = (_Runner(_interpreter(Path(bundle) / MODEL_FILE, cores()), 1, seq),
                             seq)
    batches = plan["infer"]["fixed"]["1"]
    warmup, repeats = settings["warmup"], settings["repeats"]
    steps = (len(batches) - warmup) // repeats
    slices = [batches[warmup + r * steps:warmup + (r + 1) * steps] for r in range(repeats)]
    for runner, seq in runners.values():
        for batch in batches[:warmup]:
            runner.run(pad(ids, batch["indices"], seq))
    runs = {quantize: [] for quantize in runners}
    rounds = settings["tflite_rounds"]
    for round_ in range(rounds):
        for quantize, (runner, seq) in runners.items():
            runs[quantize].append(timed(
                lambda b, r=runner, n=seq: r.run(pad(ids, b["indices"], n)),
                slices[round_ % repeats], _size))
    return [measurement(
        task="infer", table="fixed", regime="in turns", framework="tflite",
        path=f"TFLite {quantize}, in turns", precision=quantize, input="ids", batch=1,
        seq=seq, runs=runs[quantize],
        note=f"the {len(runners)} bundles in turns in one process, {rounds} rounds")
        for quantize, (_, seq) in runners.items()]


class _Runner:
    """One interpreter whose three id inputs are `[batch, seq]`."""

    def __init__(self, interpreter, batch: int, seq: int):
        self.interpreter, self.batch, self.ok, self.error = interpreter, batch, True, None
        details = interpreter.get_input_details()
        self.inputs = {d["name"]: d["index"] for d in details}
        try:
            if batch != 1:
                for index in self.inputs.values():
                    interpreter.resize_tensor_input(index, [batch, seq], strict=False)
            interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as error:
            self.ok, self.error = False, str(error).splitlines()[0][:80]
        self.output = next(d["index"] for d in interpreter.get_output_details())

    def _index(self, name: str) -> int:
        return next(index for key, index in self.inputs.items() if name in key)

    def run(self, x: dict):
        for name in INPUT_NAMES:
            self.interpreter.set_tensor(self._index(name), x[name])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)

    def run_batch(self, x: dict) -> None:
        rows = len(x["input_word_ids"])
        if self.batch == rows:
            self.run(x)
        else:
            for i in range(rows):
                self.run({k: v[i:i + 1] for k, v in x.items()})


def versions() -> dict:
    from importlib import metadata

    found = {}
    for dist in ("onnxruntime", "tf2onnx", "onnx", "ai-edge-litert"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found
