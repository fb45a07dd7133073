"""Exports a trained run as a TFLite bundle for phones and ARM boards (builtin ops only).

    run directory --Classifier.load--> concrete function on int32 ids [1, seq_length]
        (input_word_ids, input_mask, input_type_ids -> probabilities, logits; a chunked
         model's function classifies one window; int8: over the encoder rebuilt natively
         with a bounded attention mask, see native_encoder.py)
        --TFLiteConverter, TFLITE_BUILTINS only (int8: TFLITE_BUILTINS_INT8, calibrated on
          training texts, weightless attention / LayerNorm ops kept float)-->
        model.tflite --op check (no Flex, no custom ops)-->
        bundle: model.tflite, vocab.txt, labels.txt, model.json, report.json  (+ .zip)

The string-input model would need Flex and tf-text custom ops (DESIGN.md section 2), so
the tokenizer runs beside the model: `model.json` says how (casing, special token ids,
long-text strategy and windows, aspect filter; see tflite_bundle.py), and `bert_keras.lite`
repeats it, pooling a chunked text's window logits as `ChunkLogitPooling` does.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from bert_keras.export import tflite_report as measure
from bert_keras.export.native_encoder import (
    INT8_FLOAT_OPS,
    native_encoder,
    native_probability_function,
)
from bert_keras.export.saved_model import (
    LABELS_FILE,
    VOCAB_FILE,
    ExportError,
    _check_run,
    _vocab_file,
)
from bert_keras.export.tflite_bundle import bundle_facts, make_readable, write_zip
from bert_keras.layers.preprocessor import INPUT_NAMES
from bert_keras.lite.classifier import MODEL_FILE, MODEL_JSON

if TYPE_CHECKING:
    from bert_keras.layers.preprocessor import BertPreprocessor
    from bert_keras.models.classifier import Classifier

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
REPORT_FILE = "report.json"
BUNDLE_FILES = (MODEL_FILE, VOCAB_FILE, LABELS_FILE, MODEL_JSON, REPORT_FILE)


@dataclasses.dataclass(frozen=True)
class TFLiteResult:
    """What `export_tflite` wrote.

    Args:
        path: the bundle directory; zip_file: its zip, beside it.
        quantize: the quantisation; ops: the builtin ops the model uses.
        facts: the contents of `model.json`; report: the contents of `report.json`.
    """

    path: Path
    zip_file: Path
    quantize: str
    ops: tuple[str, ...]
    facts: dict[str, Any]
    report: dict[str, Any]

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE


def tflite_ops(model_content: bytes) -> list[str]:
    """The op names a `.tflite` flatbuffer uses: builtin names, or the custom code of
    custom and Flex ops (e.g. "FlexErf", "TFText>RoundRobinTrim").

    Examples:

        tflite_ops(Path("model.tflite").read_bytes())  # ['ADD', 'FULLY_CONNECTED', ...]
    """
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(model_content, 0)
    used = set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            used.add((code.CustomCode() or b"?").decode())
        else:
            used.add(names.get(builtin, f"BUILTIN_{builtin}"))
    return sorted(used)


def check_builtin_only(model_content: bytes) -> list[str]:
    """Returns the model's ops; raises `ExportError` if any is a Flex or custom op.

    Args:
        model_content: the `.tflite` flatbuffer bytes.

    Examples:

        check_builtin_only(converter.convert())  # ['ADD', ...] or ExportError
    """
    from tensorflow.lite.python import schema_py_generated as schema

    builtin = set(vars(schema.BuiltinOperator))
    ops = tflite_ops(model_content)
    foreign = [op for op in ops if op not in builtin or op == "CUSTOM"]
    if foreign:
        raise ExportError(f"the .tflite model uses non-builtin ops {foreign}; plain LiteRT "
                          "runtimes (no Flex delegate, no custom ops) cannot run it.")
    return ops


def probability_function(model: Classifier, seq_length: int) -> Any:
    """A concrete function: int32 ids `[1, seq_length]` -> `probabilities` (softmax, or
    sigmoid for multi-label models) and `logits`; for a chunked model, of one window.

    Args:
        model: a `Classifier` (ids in, logits out).
        seq_length: the fixed sequence length of the three inputs.

    Examples:

        function = probability_function(Classifier.load("runs/x"), 128)
        function(input_word_ids=ids, input_mask=mask, input_type_ids=types)["probabilities"]
    """
    multi_label = model.settings["multi_label"]
    specs = [tf.TensorSpec([1, seq_length], tf.int32, name=name) for name in INPUT_NAMES]

    @tf.function(input_signature=specs)
    def probabilities(input_word_ids, input_mask, input_type_ids):
        logits = model.window_logits({"input_word_ids": input_word_ids,
                                      "input_mask": input_mask,
                                      "input_type_ids": input_type_ids}, training=False)
        logits = tf.cast(logits, tf.float32)
        activation = tf.sigmoid if multi_label else tf.nn.softmax
        return {"probabilities": activation(logits), "logits": logits}

    return probabilities.get_concrete_function()


def convert(variables: list[tf.Variable], function: Any, quantize: str,
            representative: dict[str, np.ndarray] | None = None) -> bytes:
    """Converts `function` with builtin ops only; the converter fails rather than use Flex.

    int8 keeps `INT8_FLOAT_OPS` (weightless arithmetic: attention scores, LayerNorm
    statistics, residual adds) in float; every weight and activation of the dense layers and
    the embedding lookups are int8.

    Args:
        variables: every variable the function reads.
        function: from `probability_function`.
        quantize: one of `QUANTIZATIONS`.
        representative: int8 only: ids `[n, seq_length]` of real texts for calibration.

    Returns:
        The `.tflite` flatbuffer.
    """
    # The converter saves its trackable as a temporary SavedModel: given the Keras model,
    # it would also trace every layer for Keras' own reloading (13 s of a 20 s conversion
    # of a tiny BERT), so the trackable holds only the variables.
    weights = tf.Module()
    weights.variables_read = list(variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], weights)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if representative is None or not len(representative[INPUT_NAMES[0]]):
            raise ExportError("int8 needs a representative dataset: the run's training "
                              "texts could not be read (see config.yaml).")
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.representative_dataset = lambda: (
            [row[name] for name in INPUT_NAMES] for row in measure.rows(representative))
    try:
        if quantize == "int8":
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter,  # the debug pass is never run: one row is enough
                debug_dataset=lambda: itertools.islice(converter.representative_dataset(), 1),
                debug_options=tf.lite.experimental.QuantizationDebugOptions(
                    denylisted_ops=list(INT8_FLOAT_OPS)))
            return debugger.get_nondebug_quantized_model()
        return converter.convert()
    except Exception as error:  # ConverterError, or a calibration failure
        first = str(error).strip().splitlines()[:3]
        raise ExportError(f"TFLite conversion ({quantize}) with builtin ops only failed: "
                          + " | ".join(first)) from error


def export_tflite(run_dir: str | os.PathLike, output: str | os.PathLike | None = None,
                  quantize: str = "none", seq_length: int | None = None,
                  representative_texts: int = 300, *, overwrite: bool = False,
                  eval_limit: int = measure.EVAL_LIMIT, quiet: bool = False) -> TFLiteResult:
    """Exports a trained run as a TFLite bundle directory and a zip of it.

    Args:
        run_dir: a run directory written by `bert-keras train` (or its `model/`).
        output: the bundle directory (default: `<run_dir>/tflite-<quantize>`).
        quantize: "none" (float32), "float16", "dynamic" (int8 weights) or "int8"
            (full-integer, calibrated on the run's training texts; inputs stay int32).
        seq_length: the fixed sequence length (default: the model's).
        representative_texts: int8 only: how many training texts calibrate.
        overwrite: replace an existing bundle.
        eval_limit: how many test (or validation) texts the report measures.
        quiet: do not print the report table.

    Returns:
        Where the bundle went, its ops, `model.json` and the export report.

    Examples:

        result = export_tflite("runs/drug-reviews-minilm-l6-uncased", quantize="int8")
        result.path  # runs/drug-reviews-minilm-l6-uncased/tflite-int8
        result.report["tflite"]["accuracy"]
    """
    from bert_keras.cache import atomic_directory
    from bert_keras.layers.preprocessor import BertPreprocessor
    from bert_keras.models.classifier import Classifier

    if quantize not in QUANTIZATIONS:
        raise ExportError(f"quantize must be one of {', '.join(QUANTIZATIONS)}, "
                          f"got {quantize!r}")
    run_dir = Path(run_dir)
    if run_dir.name == "model" and not (run_dir / "model").exists():
        run_dir = run_dir.parent
    _check_run(run_dir)
    final = Path(output) if output is not None else run_dir / f"tflite-{quantize}"
    if final.exists() and not overwrite:
        raise ExportError(f"{final} already exists; pass --overwrite to replace it.")

    model = Classifier.load(run_dir, precision="float32")  # TFLite converts float graphs
    seq_length = int(seq_length or model.settings["seq_length"])
    _check_seq_length(model, seq_length)
    trained = model.preprocessor
    preprocessor = trained if seq_length == model.settings["seq_length"] else \
        BertPreprocessor(model.resolved_handle.preprocessor, seq_length,
                         long_text=trained.long_text, head_ratio=trained.head_ratio,
                         chunk_stride=trained.chunk_stride, max_chunks=trained.max_chunks,
                         aspect=trained.aspect)
    data = measure.read_export_data(run_dir)
    pair = model.settings["pair"]
    representative = None
    if quantize == "int8" and data.train_texts:
        texts, pairs = measure.sample(data.train_texts, data.train_pairs if pair else None,
                                      representative_texts)
        representative = measure.windows(measure.token_ids(preprocessor, texts, pairs))

    function = probability_function(model, seq_length)
    graph_note = None
    if quantize == "int8":
        try:
            encoder = native_encoder(model)
        except ExportError as error:
            graph_note = (f"int8 used the TF-Hub encoder graph ({error}); its -1e9 attention "
                          "mask costs int8 accuracy")
            content = convert(model.variables, function, quantize, representative)
        else:
            content = convert(model.variables + encoder.variables,
                              native_probability_function(model, encoder, seq_length),
                              quantize, representative)
    else:
        content = convert(model.variables, function, quantize, representative)
    ops = check_builtin_only(content)
    report = _measure(model, preprocessor, data, content, quantize, eval_limit)
    if graph_note:
        report["note"] = "; ".join(n for n in (report.get("note"), graph_note) if n)
    report.update(tflite_bytes=len(content), ops=ops,
                  representative_texts=(len(representative[INPUT_NAMES[0]])
                                        if representative is not None else 0))
    if quantize == "int8":  # its size target is a share of the float32 model's size
        report["float32_tflite_bytes"] = len(convert(model.variables, function, "none"))
        report["targets"] = measure.targets(report)

    vocab = _vocab_file(model)
    facts = bundle_facts(model, run_dir, vocab, seq_length, quantize, report)
    try:
        with atomic_directory(final, overwrite=overwrite) as tmp:
            (tmp / MODEL_FILE).write_bytes(content)
            shutil.copyfile(vocab, tmp / VOCAB_FILE)
            (tmp / LABELS_FILE).write_text("".join(f"{lab}\n" for lab in model.labels),
                                           encoding="utf-8")
            (tmp / MODEL_JSON).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
            (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n",
                                           encoding="utf-8")
    except FileExistsError as error:  # a concurrent export took the folder
        raise ExportError(f"{final} already exists; pass --overwrite to replace it.") from error
    make_readable(final)
    zip_file = write_zip(final)
    if not quiet:
        print(measure.format_table(report))
    return TFLiteResult(final, zip_file, quantize, tuple(ops), facts, report)


def _check_seq_length(model: Classifier, seq_length: int) -> None:
    limit = model.encoder_config.get("max_position_embeddings")
    if seq_length < 2 or (limit and seq_length > int(limit)):
        raise ExportError(f"seq_length {seq_length} is outside 2..{limit or '?'} "
                          "(the encoder's position embeddings)")


def _measure(model: Classifier, preprocessor: BertPreprocessor, data: measure.ExportData,
             content: bytes, quantize: str, eval_limit: int) -> dict[str, Any]:
    report: dict[str, Any] = {"quantize": quantize, "eval_split": None, "eval_examples": 0,
                              "keras": None, "tflite": None, "note": data.note}
    if not data.eval_texts:
        report["note"] = report["note"] or "the run has no evaluation data"
        return report
    pair = model.settings["pair"]
    texts = data.eval_texts[:eval_limit]
    pairs = data.eval_pairs[:eval_limit] if pair and data.eval_pairs else None
    ids = measure.token_ids(preprocessor, texts, pairs)
    batch = tf.function(lambda **x: {"probabilities": _activate(model, model(x, training=False))})
    keras_probabilities, keras_seconds = measure.keras_run(batch, ids)
    lite_probabilities, lite_seconds = measure.TFLiteRunner(content).run(
        ids, chunk_aggregate=model.settings.get("chunk_aggregate", "mean"),
        multi_label=model.settings["multi_label"])
    report.update(eval_split=data.eval_name, eval_examples=len(texts),
                  keras={"latency_s": keras_seconds}, tflite={"latency_s": lite_seconds})
    report["max_abs_probability_diff"] = float(
        np.abs(keras_probabilities - lite_probabilities).max())
    if model.settings["multi_label"]:
        same = ((keras_probabilities >= 0.5) == (lite_probabilities >= 0.5)).all(axis=1)
    else:
        same = keras_probabilities.argmax(1) == lite_probabilities.argmax(1)
    report["same_label_share"] = float(same.mean())
    if data.eval_labels:
        truth = data.eval_labels[:eval_limit]
        for key, probabilities in (("keras", keras_probabilities),
                                   ("tflite", lite_probabilities)):
            report[key].update(measure.metrics(model.labels, model.settings["multi_label"],
                                               truth, probabilities))
    return report


def _activate(model: Classifier, logits: tf.Tensor) -> tf.Tensor:
    logits = tf.cast(logits, tf.float32)
    return tf.sigmoid(logits) if model.settings["multi_label"] else tf.nn.softmax(logits)


def main_summary(result: TFLiteResult) -> str:
    """The lines `bert-keras export --format tflite` prints after the report table.

    Args:
        result: what `export_tflite` returned.
    """
    return (f"exported {result.path} ({result.report['tflite_bytes'] / 2**20:.2f} MB, "
            f"{len(result.ops)} builtin ops, no Flex)\nzip: {result.zip_file}")

