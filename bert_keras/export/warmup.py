"""Warm-up requests for TF Serving: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays the PredictionLog records of that TFRecord file when it loads a
version, before it reports the version as available, so the first real request does not
pay for graph initialisation. The records here use real texts of the run's data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf

from bert_keras.export.serving_module import CLASSIFY_INPUTS, TEXT, TEXT_PAIR

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
FALLBACK_TEXTS = ["This medicine worked well and I had no side effects.",
                  "Terrible headaches after the first week, I stopped taking it.",
                  "It is okay."]


def sample_texts(run_dir: str | os.PathLike, pair: bool,
                 count: int = 4) -> tuple[list[str], list[str] | None]:
    """Up to `count` texts (and pairs) of the run's own data, for warm-up and examples.

    Falls back to a few fixed sentences when the run's data files are gone.
    """
    from bert_keras.config import TrainConfig
    from bert_keras.data.sources import read_for

    config_file = Path(run_dir) / "config.yaml"
    if config_file.exists():
        config = TrainConfig.from_yaml(config_file)
        paths = [config.validation, config.test, config.train]
        if config.train is None:
            from bert_keras.data.datasets import DEFAULT_DATASET, dataset_dir

            paths += [str(dataset_dir(DEFAULT_DATASET) / "test.csv")]
        for path in paths:
            if not path or not Path(path).exists():
                continue
            try:
                data = read_for(config, path, require_labels=False)
            except Exception:  # warm-up texts are a nicety: any readable file will do
                continue
            if len(data):
                texts = data.texts[:count]
                pairs = data.pairs[:count] if pair and data.pairs is not None else None
                if not pair or pairs is not None:
                    return texts, pairs
    texts = FALLBACK_TEXTS[:count]
    return texts, (["price"] * len(texts) if pair else None)


def _model_spec(name: str, signature: str):
    from tensorflow_serving.apis import model_pb2

    return model_pb2.ModelSpec(name=name, signature_name=signature)


def _example(text: str, pair: str | None) -> tf.train.Example:
    feature = {TEXT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))}
    if pair is not None:
        feature[TEXT_PAIR] = tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[pair.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def warmup_records(name: str, texts: Sequence[str], pairs: Sequence[str] | None,
                   preprocessor) -> list[Any]:
    """PredictionLog records: `serving_default` for one text and for all, `predict_ids`
    and `classify` for all.

    Args:
        name: the model name (as TF Serving will know it).
        texts: real texts; pairs: their second segments (pair models) or None.
        preprocessor: the model's `BertPreprocessor` (tokenizes the `predict_ids` record).
    """
    from tensorflow_serving.apis import classification_pb2, predict_pb2, prediction_log_pb2

    def text_inputs(count: int) -> dict[str, Any]:
        inputs = {TEXT: tf.make_tensor_proto(list(texts[:count]), tf.string)}
        if pairs is not None:
            inputs[TEXT_PAIR] = tf.make_tensor_proto(list(pairs[:count]), tf.string)
        return inputs

    records = []
    for count in (1, len(texts)):
        request = predict_pb2.PredictRequest(model_spec=_model_spec(name, "serving_default"))
        for key, proto in text_inputs(count).items():
            request.inputs[key].CopyFrom(proto)
        records.append(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)))
    segments = [tf.constant(list(texts))] + ([tf.constant(list(pairs))] if pairs else [])
    ids = preprocessor(segments)
    request = predict_pb2.PredictRequest(model_spec=_model_spec(name, "predict_ids"))
    for key, value in ids.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(tf.cast(value, tf.int32).numpy()))
    records.append(prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)))
    request = classification_pb2.ClassificationRequest(model_spec=_model_spec(name, "classify"))
    for i, text in enumerate(texts):
        request.input.example_list.examples.append(
            _example(text, pairs[i] if pairs is not None else None))
    records.append(prediction_log_pb2.PredictionLog(
        classify_log=prediction_log_pb2.ClassifyLog(request=request)))
    return records


def write_warmup(export_dir: str | os.PathLike, records: Sequence[Any]) -> Path:
    """Writes the records as `<export_dir>/assets.extra/tf_serving_warmup_requests`."""
    path = Path(export_dir) / WARMUP_DIR / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record.SerializeToString())
    return path


def read_warmup(export_dir: str | os.PathLike) -> list[Any]:
    """Parses the warm-up file of a version directory into PredictionLog records."""
    from tensorflow_serving.apis import prediction_log_pb2

    path = Path(export_dir) / WARMUP_DIR / WARMUP_FILE
    records = []
    for raw in tf.data.TFRecordDataset(str(path)):
        records.append(prediction_log_pb2.PredictionLog.FromString(raw.numpy()))
    return records


def replay(loaded, record) -> dict[str, tf.Tensor]:
    """Runs one PredictionLog record against a `tf.saved_model.load`-ed model, as TF
    Serving's warm-up does (Predict and Classify logs)."""
    kind = record.WhichOneof("log_type")
    if kind == "predict_log":
        request = record.predict_log.request
        inputs = {key: tf.constant(tf.make_ndarray(proto))
                  for key, proto in request.inputs.items()}
        return loaded.signatures[request.model_spec.signature_name or "serving_default"](**inputs)
    if kind == "classify_log":
        request = record.classify_log.request
        serialized = [e.SerializeToString() for e in request.input.example_list.examples]
        function = loaded.signatures[request.model_spec.signature_name or "serving_default"]
        return function(**{CLASSIFY_INPUTS: tf.constant(serialized)})
    raise ValueError(f"unsupported warm-up record type: {kind}")
