"""Loads an encoder handle as TF-Hub Keras layers."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple

from bert_keras.errors import HandleError
from bert_keras.hub.handles import ResolvedHandle, resolve_handle


class EncoderLayers(NamedTuple):
    """The preprocessing and encoder layers of a handle.

    Args:
        preprocessor: `hub.KerasLayer` mapping a batch of strings to `input_word_ids`,
            `input_mask` and `input_type_ids` (sequence length 128).
        encoder: `hub.KerasLayer` mapping those inputs to `pooled_output`,
            `sequence_output` and `encoder_outputs`.
        resolved: where both came from.
    """

    preprocessor: object
    encoder: object
    resolved: ResolvedHandle


def load_encoder(handle: str | Path, trainable: bool = True, *,
                 preprocessor: str | Path | None = None) -> EncoderLayers:
    """Returns the TF-Hub preprocessing and encoder layers for `handle`.

    Args:
        handle: a preset name, a local TF-Hub directory, or a tfhub.dev / Kaggle URL.
        trainable: whether the encoder's weights are fine-tuned.
        preprocessor: the TF-Hub preprocessor, for encoders that come without one.

    Returns:
        `EncoderLayers(preprocessor, encoder, resolved)`; unpack the first two.

    Examples:

        preprocessor, encoder, _ = load_encoder("minilm-l6-uncased")
        outputs = encoder(preprocessor(tf.constant(["great drug"])))
    """
    with warnings.catch_warnings():  # tensorflow_hub 0.16 imports pkg_resources
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the ops the preprocessor uses)

    resolved = resolve_handle(handle, preprocessor)
    try:
        pre = hub.KerasLayer(resolved.preprocessor, name="preprocessor")
        enc = hub.KerasLayer(resolved.encoder, trainable=trainable, name="encoder")
    except Exception as error:  # hub raises many types for network and format problems
        raise _load_error(resolved, error) from error
    return EncoderLayers(pre, enc, resolved)


def _load_error(resolved: ResolvedHandle, error: Exception) -> HandleError:
    if resolved.is_remote:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return HandleError(
            f"could not load {resolved.encoder} ({reason}): hub URLs need the network; "
            "offline, use a preset (bert_keras.presets()) or a local TF-Hub directory."
        )
    return HandleError(f"{resolved.handle}: not a loadable TF-Hub encoder ({error}).")
