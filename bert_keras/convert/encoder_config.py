"""The architecture of a BERT encoder, and how to build it natively in tf_keras."""

from __future__ import annotations

import dataclasses
from typing import Any

from bert_keras.errors import ConversionError

# Hugging Face `hidden_act` values we can reproduce exactly. "gelu" is the exact (erf)
# GELU; official.modeling's "gelu" is the tanh approximation, so it must not be used.
_ACTIVATIONS = {
    "gelu": "gelu",
    "relu": "relu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
}


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Hyper-parameters of a post-norm BERT encoder.

    Args:
        vocab_size: number of WordPiece tokens.
        hidden_size: width of every layer.
        num_layers: number of transformer blocks.
        num_heads: attention heads per block.
        intermediate_size: width of the feed-forward inner layer.
        max_position_embeddings: longest sequence the position table covers.
        type_vocab_size: number of segment (token type) ids.
        hidden_act: feed-forward activation, as Hugging Face names it.
        hidden_dropout: dropout on layer outputs during fine-tuning.
        attention_dropout: dropout on attention probabilities.
        layer_norm_eps: epsilon of every layer normalisation.
    """

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    hidden_act: str = "gelu"
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-12

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EncoderConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def from_hf_config(cls, hf: dict[str, Any], source: str = "config.json") -> EncoderConfig:
        """Reads a Hugging Face BERT `config.json`, rejecting other architectures."""
        model_type = hf.get("model_type")
        if model_type != "bert":
            found = model_type or "no model_type"
            archs = ", ".join(hf.get("architectures") or []) or "no architectures"
            raise ConversionError(
                f"{source}: found model_type {found!r} ({archs}); only the BERT architecture "
                "(model_type 'bert': BertModel, BertForMaskedLM, BertForSequenceClassification, "
                "...) is supported. RoBERTa, DistilBERT, XLM-R and ALBERT use other layouts."
            )
        if hf.get("position_embedding_type", "absolute") != "absolute":
            raise ConversionError(
                f"{source}: position_embedding_type {hf['position_embedding_type']!r} is not "
                "supported (only 'absolute')."
            )
        act = hf.get("hidden_act", "gelu")
        if act not in _ACTIVATIONS:
            raise ConversionError(
                f"{source}: hidden_act {act!r} is not supported; known: {sorted(_ACTIVATIONS)}."
            )
        try:
            return cls(
                vocab_size=int(hf["vocab_size"]),
                hidden_size=int(hf["hidden_size"]),
                num_layers=int(hf["num_hidden_layers"]),
                num_heads=int(hf["num_attention_heads"]),
                intermediate_size=int(hf["intermediate_size"]),
                max_position_embeddings=int(hf.get("max_position_embeddings", 512)),
                type_vocab_size=int(hf.get("type_vocab_size", 2)),
                hidden_act=act,
                hidden_dropout=float(hf.get("hidden_dropout_prob", 0.1)),
                attention_dropout=float(hf.get("attention_probs_dropout_prob", 0.1)),
                layer_norm_eps=float(hf.get("layer_norm_eps", 1e-12)),
            )
        except KeyError as missing:
            raise ConversionError(f"{source}: missing required key {missing}.") from None


def build_bert_encoder(config: EncoderConfig):
    """Builds `official.nlp.modeling.networks.BertEncoder` for `config` (random weights).

    Args:
        config: the architecture.

    Returns:
        A `BertEncoder` with dict outputs `sequence_output`, `pooled_output` and
        `encoder_outputs`.
    """
    import tf_keras as keras
    from official.modeling import activations
    from official.nlp.modeling import networks

    # networks.BertEncoder hard-codes layer-norm epsilon 1e-12, as the original BERT.
    if abs(config.layer_norm_eps - 1e-12) > 1e-15:
        raise ConversionError(
            f"layer_norm_eps {config.layer_norm_eps} is not supported (BertEncoder uses 1e-12)."
        )
    activation = _ACTIVATIONS[config.hidden_act]
    if activation == "gelu_approximate":
        activation = activations.gelu
    return networks.BertEncoder(
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        max_sequence_length=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size,
        inner_dim=config.intermediate_size,
        inner_activation=activation,
        output_dropout=config.hidden_dropout,
        attention_dropout=config.attention_dropout,
        initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        dict_outputs=True,
    )
