"""A TF-Hub BERT encoder rebuilt natively as `networks.BertEncoder`, with its weights.

A loaded SavedModel graph computes in the dtypes it was written with, so a TF-Hub encoder
can neither use mixed precision nor be changed inside (int8 export bounds its attention
mask). Handles written by bert_keras record their architecture (`bert_keras_handle.json`),
and their variables carry `BertEncoder`'s own names, so the same network can be built in
tf_keras under any dtype policy and given the handle's weights, one to one by name:

    encoder SavedModel --read_saved_variables--> variables by name
    handle config --build_bert_encoder (under a dtype policy)--> BertEncoder --assign-->
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import tensorflow as tf

from bert_keras.errors import HandleError

# Variable names inside a BertEncoder start at one of these, whatever the enclosing scopes.
_NAME_ANCHORS = ("transformer/", "word_embeddings", "position_embedding", "type_embeddings",
                 "embeddings/layer_norm", "pooler_transform")


def variable_key(name: str) -> str:
    """The scope-free name of a BertEncoder variable.

    Examples:
    >>> variable_key("model/encoder/transformer/layer_0/self_attention/query/kernel:0")
    'transformer/layer_0/self_attention/query/kernel'
    """
    name = name.split(":")[0]
    for anchor in _NAME_ANCHORS:
        index = name.find(anchor)
        if index >= 0:
            return name[index:]
    return name


def can_rebuild(info: dict[str, Any]) -> bool:
    """Whether a handle's record holds the architecture needed to rebuild it natively."""
    return bool(info.get("config"))


def copy_variables(source: Mapping[str, Any] | Iterable[tf.Variable], encoder: Any,
                   origin: str) -> None:
    """Assigns the `source` values to the same-named variables of `encoder` (cast to their
    dtype).

    Args:
        source: the weights of a BertEncoder-built network, by variable name (a handle's
            `read_saved_variables`), or its variables (the encoder of a trained model);
            non-float ones (`do_lower_case`) are ignored.
        encoder: a built `networks.BertEncoder`.
        origin: named in errors (the handle or model the variables come from).

    Raises:
        HandleError: the variables do not map one to one, or a shape differs.
    """
    named = source.items() if isinstance(source, Mapping) else ((v.name, v) for v in source)
    floats = [(name, value) for name, value in named if tf.as_dtype(value.dtype).is_floating]
    by_key = {variable_key(name): value for name, value in floats}
    target = {variable_key(v.name): v for v in encoder.variables}
    if len(by_key) != len(floats) or by_key.keys() != target.keys():
        raise HandleError(f"{origin}: its variables do not map onto networks.BertEncoder "
                          f"(differences: {sorted(set(by_key) ^ set(target))[:4]})")
    for key, variable in target.items():
        if tuple(variable.shape) != tuple(by_key[key].shape):
            raise HandleError(f"{origin}: {key} has shape {tuple(by_key[key].shape)}, its "
                              f"recorded architecture gives {tuple(variable.shape)}")
        variable.assign(tf.cast(by_key[key], variable.dtype))


def build_native_encoder(config: dict[str, Any], weights_from: str | None = None,
                         precision: str = "float32",
                         variables_in_compute_dtype: bool = False) -> Any:
    """Builds `networks.BertEncoder` for a handle's architecture, with its weights.

    Args:
        config: the architecture a handle records (`info["config"]`).
        weights_from: the handle's encoder SavedModel directory whose weights to copy in
            (None: keep the random initialisation, e.g. before loading a checkpoint).
        precision: "float32", "bfloat16" or "float16" compute (variables stay float32),
            or "auto" (see `bert_keras.precision.resolve_precision`).
        variables_in_compute_dtype: store the variables in the compute dtype as well (for
            inference: no per-call weight casts, half the weight memory; not for training).

    Returns:
        The built encoder, called once so that its variables exist.

    Examples:

        encoder = build_native_encoder(resolved.info["config"], resolved.encoder,
                                       precision="bfloat16")
        encoder(inputs)["sequence_output"]  # bfloat16
    """
    from bert_keras.convert.encoder_config import EncoderConfig, build_bert_encoder
    from bert_keras.layers.byte_mask_dropout import use_byte_mask_dropout
    from bert_keras.layers.fused_dense import use_fused_dense
    from bert_keras.layers.matmul_attention import use_matmul_attention
    from bert_keras.precision import policy_scope

    with policy_scope(precision, variables_in_compute_dtype):
        encoder = build_bert_encoder(EncoderConfig.from_dict(config))
    use_byte_mask_dropout(encoder)  # the attention dropout's sampling is a hot spot
    use_fused_dense(encoder)  # one fused matmul + bias + gelu instead of einsum and 6 ops
    use_matmul_attention(encoder)  # batched matmuls instead of oneDNN's slower einsums
    if weights_from is not None:
        from bert_keras.hub.saved_variables import read_saved_variables

        copy_variables(read_saved_variables(weights_from), encoder, str(weights_from))
    return encoder
