"""`Classifier`: BERT encoder -> pooler -> dropout -> dense head, predicting from strings.

Data flow (one screen):

    strings (text[, text_pair]) --BertPreprocessor (tf-text, in tf.data)--> token ids
    token ids --HubEncoder--> sequence_output --pooler--> dropout --Dense--> logits

The Keras graph starts at token ids, so that training reads tokenized, length-bucketed
batches from tf.data; the preprocessor travels with the model and `predict` accepts
strings, as keras-hub's tasks do.
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras

from bert_keras.layers.chunk_pooling import ChunkFlatten, ChunkLogitPooling
from bert_keras.layers.hub_encoder import HubEncoder
from bert_keras.layers.poolers import get_pooler
from bert_keras.layers.preprocessor import INPUT_NAMES, BertPreprocessor

CONFIG_FILE = "classifier.json"
WEIGHTS_FILE = "weights"


@keras.saving.register_keras_serializable(package="bert_keras")
class Classifier(keras.Model):
    """A text classifier on a TF-Hub BERT encoder.

    Args:
        encoder: encoder handle: preset name, local TF-Hub directory or hub URL.
        labels: the class names, in id order.
        preprocessor: the TF-Hub preprocessor (default: the handle's own).
        pooler: "cls", "mean" or "attention".
        dropout: dropout rate before the dense head.
        seq_length: packed sequence length (truncation beyond it).
        pair: whether each example is a text pair (text, text_pair).
        multi_label: independent sigmoid per label instead of a softmax.
        trainable_encoder: fine-tune the encoder (False: train only the head).
        frozen_layers: freeze the embeddings and this many lowest transformer blocks.
        long_text: what a text longer than `seq_length` keeps: "head", "tail",
            "head+tail" or "chunks" (see `BertPreprocessor`). With "chunks" the model
            takes `[batch, chunks, seq]` ids and pools the windows' logits.
        head_ratio: "head+tail": the share of the tokens taken from the start.
        chunk_stride: "chunks": tokens between window starts (None: half a window).
        max_chunks: "chunks": the most windows read per text.
        chunk_aggregate: "chunks": "mean" or "max" of the window logits.
        aspect: aspect models (text, aspect pairs): `AspectInput` settings that filter
            the text by aspect mention and phrase the aspect, in the preprocessor.
        precision: the encoder's compute precision: "auto" (bfloat16 where the CPU or GPU
            computes it natively, else float32), "float32", "bfloat16" or "float16".
            Variables, heads and outputs stay float32.
        native: rebuild the encoder as `networks.BertEncoder` (needed for mixed precision)
            rather than run its SavedModel graph (None: native when the handle records its
            architecture, as every handle bert_keras writes does).

    Examples:

        model = Classifier("minilm-l6-uncased", labels=["negative", "positive"])
        model.predict_labels(["Works great"])
    """

    def __init__(self, encoder: str, labels: Sequence[str], *, preprocessor: str | None = None,
                 pooler: str = "cls", dropout: float = 0.1, seq_length: int = 128,
                 pair: bool = False, multi_label: bool = False, trainable_encoder: bool = True,
                 frozen_layers: int = 0, long_text: str = "head", head_ratio: float = 0.25,
                 chunk_stride: int | None = None, max_chunks: int = 8,
                 chunk_aggregate: str = "mean", aspect: dict | None = None,
                 precision: str = "auto", native: bool | None = None, **kwargs):
        from bert_keras.hub.handles import resolve_handle
        from bert_keras.hub.native import can_rebuild
        from bert_keras.precision import resolve_precision

        if (pooler == "aspect_attention" or aspect is not None) and not pair:
            from bert_keras.errors import BertKerasError

            raise BertKerasError("aspect models classify (text, aspect) pairs: give the "
                                 "aspect column (--text-pair-column, default 'aspect')")
        resolved = resolve_handle(encoder, preprocessor)
        native = can_rebuild(resolved.info) if native is None else bool(native)
        if native and not can_rebuild(resolved.info):
            from bert_keras.errors import BertKerasError

            raise BertKerasError(f"{encoder}: the handle records no architecture, so its "
                                 "encoder cannot be rebuilt natively (native=False runs it)")
        # "auto" on a SavedModel graph means float32: the graph cannot compute otherwise.
        compute = resolve_precision(precision) if native or precision != "auto" else "float32"
        # Built first: it checks the long-text settings before any weights are made.
        preprocess = BertPreprocessor(resolved.preprocessor, seq_length, long_text=long_text,
                                      head_ratio=head_ratio, chunk_stride=chunk_stride,
                                      max_chunks=max_chunks, aspect=aspect,
                                      name="preprocessor")
        chunked = long_text == "chunks"
        inputs = {name: keras.Input(shape=(None, None) if chunked else (None,),
                                    dtype=tf.int32, name=name) for name in INPUT_NAMES}
        windows = ChunkFlatten(name="chunk_flatten")(inputs) if chunked else inputs
        hub_encoder = HubEncoder(resolved.encoder, trainable=trainable_encoder,
                                 frozen_layers=frozen_layers, name="encoder",
                                 architecture=resolved.info["config"] if native else None,
                                 precision=compute)
        encoded = hub_encoder({name: windows[name] for name in INPUT_NAMES})
        pooled = get_pooler(pooler)({"sequence_output": encoded["sequence_output"],
                                     "input_mask": windows["input_mask"],
                                     "input_type_ids": windows["input_type_ids"]})
        dropped = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
        logits = keras.layers.Dense(
            len(labels), name="logits", dtype="float32",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )(dropped)
        if chunked:
            logits = ChunkLogitPooling(chunk_aggregate, name="chunk_pooling")(
                [logits, windows["text_index"], windows["num_texts"]])
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.settings = {
            "encoder": str(encoder), "labels": list(labels), "preprocessor": preprocessor,
            "pooler": pooler, "dropout": dropout, "seq_length": seq_length, "pair": pair,
            "multi_label": multi_label, "trainable_encoder": trainable_encoder,
            "frozen_layers": frozen_layers, "long_text": long_text, "head_ratio": head_ratio,
            "chunk_stride": chunk_stride, "max_chunks": max_chunks,
            "chunk_aggregate": chunk_aggregate, "aspect": aspect, "precision": precision,
            "native": native,
        }
        # The preprocessor holds no weights; keep it out of the checkpointed graph.
        self._untracked = types.SimpleNamespace(preprocessor=preprocess, resolved=resolved)

    @property
    def preprocessor(self) -> BertPreprocessor:
        return self._untracked.preprocessor

    @property
    def compute_precision(self) -> str:
        """The precision the encoder computes in here ("float32", "bfloat16", "float16")."""
        return self.get_layer("encoder").precision

    def store_variables_in_compute_dtype(self) -> bool:
        """For inference: keeps a 16-bit encoder's weights in bfloat16 / float16.

        Same results without the per-call casts of mixed precision, and half the
        encoder's weight memory (see `HubEncoder.store_variables_in_compute_dtype`); the
        encoder is frozen afterwards. Functions traced before (predict) are dropped, so
        that they retrace with the new weights.

        Returns:
            Whether the weights were converted (False for a float32 encoder).
        """
        if not self.get_layer("encoder").store_variables_in_compute_dtype():
            return False
        self._untracked.inference = None
        self.predict_function = self.train_function = self.test_function = None
        return True

    @property
    def labels(self) -> list[str]:
        return self.settings["labels"]

    @property
    def resolved_handle(self):
        """Where the encoder and preprocessor came from (`ResolvedHandle`)."""
        return self._untracked.resolved

    @property
    def encoder_config(self) -> dict[str, Any]:
        """The encoder's architecture as its handle records it ({} for other TF-Hub models)."""
        return dict(self.resolved_handle.info.get("config", {}))

    def window_logits(self, ids: dict, training: bool = False) -> tf.Tensor:
        """Logits of single windows: ids `[batch, seq]` through the encoder, pooler and
        head, without the chunk flattening and pooling of a "chunks" model (for other
        models, the model itself). `bert_keras.lite` pools a chunked text's windows.

        Args:
            ids: `input_word_ids`, `input_mask`, `input_type_ids`, `[batch, seq]`.
            training: run dropout.

        Returns:
            Logits `[batch, labels]`.
        """
        if self.settings["long_text"] != "chunks":
            return self(ids, training=training)
        encoded = self.get_layer("encoder")({name: ids[name] for name in INPUT_NAMES},
                                            training=training)
        pooled = self.get_layer(f"{self.settings['pooler']}_pooler")(
            {"sequence_output": encoded["sequence_output"], "input_mask": ids["input_mask"],
             "input_type_ids": ids["input_type_ids"]})
        dropped = self.get_layer("head_dropout")(pooled, training=training)
        return self.get_layer("logits")(dropped)

    def get_config(self) -> dict[str, Any]:
        return dict(self.settings)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Classifier:
        return cls(**config)

    def save_to(self, directory: str | Path) -> Path:
        """Writes config and weights to `directory` atomically (reload with `load`)."""
        from bert_keras.cache import atomic_directory

        directory = Path(directory)
        with atomic_directory(directory, overwrite=True) as tmp:
            self.save_weights(str(tmp / WEIGHTS_FILE))
            (tmp / CONFIG_FILE).write_text(json.dumps(self.get_config(), indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, precision: str | None = None) -> Classifier:
        """Rebuilds a classifier saved by `save_to` (a run's `model/` directory).

        Args:
            directory: a run directory or its `model/` folder.
            precision: compute precision here (None: the saved setting, resolved on this
                machine); exports pass "float32".
        """
        directory = Path(directory)
        if (directory / "model" / CONFIG_FILE).exists():
            directory = directory / "model"
        config_file = directory / CONFIG_FILE
        if not config_file.exists():
            from bert_keras.errors import BertKerasError

            raise BertKerasError(f"{directory}: no {CONFIG_FILE}; not a trained bert_keras model.")
        config = json.loads(config_file.read_text())
        config.setdefault("native", False)  # saved before native encoders: a hub graph
        if precision is not None:
            config["precision"] = precision
        model = cls.from_config(config)
        model.load_weights(str(directory / WEIGHTS_FILE)).expect_partial()
        return model

    def _text_segments(self, texts, pairs) -> tuple[list[str], list[str] | None]:
        if isinstance(texts, str):
            texts = [texts]
        if not self.settings["pair"]:
            return [str(t) for t in texts], None
        if pairs is None:
            from bert_keras.errors import BertKerasError

            raise BertKerasError("this model classifies text pairs: pass pairs=[...]")
        if isinstance(pairs, str):
            pairs = [pairs]
        if len(pairs) != len(texts):
            from bert_keras.errors import BertKerasError

            raise BertKerasError(f"{len(texts)} texts but {len(pairs)} pairs")
        return [str(t) for t in texts], [str(p) for p in pairs]

    def fit(self, x=None, y=None, *args, pairs=None, batch_size: int = 32, seed: int = 0,
            **kwargs):
        """Keras `fit`; also accepts lists of strings `x` with their labels `y` (label
        strings, or lists of them for multi-label), tokenized and length-bucketed."""
        if _is_text(x):
            from bert_keras.data import pipeline
            from bert_keras.data.label_vocab import LabelVocabulary
            from bert_keras.data.readers import from_lists

            rows = [list(v) if isinstance(v, (list, tuple)) else [str(v)] for v in y]
            examples = from_lists(list(x), rows, pairs)
            vocab = LabelVocabulary(self.labels, self.settings["multi_label"])
            tokens = pipeline.tokenize(examples, self.preprocessor, vocab.encode(rows))
            x = pipeline.training_dataset(tokens, pipeline.token_lengths(tokens),
                                          batch_size=batch_size,
                                          max_seq_length=self.settings["seq_length"], seed=seed)
            y = None
        return super().fit(x, y, *args, **kwargs)

    def predict(self, x, *args, pairs=None, batch_size: int = 32, **kwargs):
        """Keras `predict`; also accepts a list of strings (and `pairs=`), run in batches
        of similar length (see `text_inference`). Returns logits."""
        if _is_text(x):
            from bert_keras.models.text_inference import predict_texts

            texts, pairs = self._text_segments(x, pairs)
            return predict_texts(self, texts, pairs, batch_size=batch_size,
                                 verbose=kwargs.get("verbose", 0))
        return super().predict(x, *args, **kwargs)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Turns logits into probabilities (softmax, or sigmoid for multi-label)."""
        from bert_keras.lite.long_text import activate

        return activate(logits, self.settings["multi_label"])

    def predict_labels(self, texts, pairs=None, *, top_k: int = 1, threshold: float = 0.5,
                       batch_size: int = 32, verbose=0) -> list[dict[str, Any]]:
        """Predicts labels for strings.

        Returns:
            One dict per text: `label` (multi-label: `labels`), `label_id`, `probabilities`
            (by label) and, with `top_k > 1`, `top_k` as (label, probability) pairs.
        """
        probabilities = self.probabilities(
            self.predict(texts, pairs=pairs, batch_size=batch_size, verbose=verbose)
        )
        results = []
        for row in probabilities:
            result: dict[str, Any] = {
                "probabilities": {lab: float(p) for lab, p in zip(self.labels, row, strict=True)}
            }
            if self.settings["multi_label"]:
                result["labels"] = [lab for lab, p in zip(self.labels, row, strict=True)
                                    if p >= threshold]
            else:
                best = int(np.argmax(row))
                result.update(label=self.labels[best], label_id=best)
            if top_k > 1:
                order = np.argsort(-row)[:top_k]
                result["top_k"] = [(self.labels[i], float(row[i])) for i in order]
            results.append(result)
        return results


def _is_text(x) -> bool:
    if isinstance(x, str):
        return True
    if isinstance(x, (list, tuple)) and (not x or isinstance(x[0], str)):
        return True  # an empty list is no texts
    return isinstance(x, np.ndarray) and x.dtype.kind in "OUS"
