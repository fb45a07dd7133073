"""Reads a Hugging Face BERT directory and maps its tensors onto `BertEncoder`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from bert_keras.convert.encoder_config import EncoderConfig
from bert_keras.errors import ConversionError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclasses.dataclass
class HFCheckpoint:
    """A Hugging Face BERT checkpoint read into NumPy.

    Args:
        config: the encoder architecture.
        weights: tensors by Hugging Face name, without the `bert.` prefix.
        vocab_file: path of the WordPiece vocabulary.
        do_lower_case: whether the vocabulary expects lower-cased, accent-stripped text.
    """

    config: EncoderConfig
    weights: dict[str, np.ndarray]
    vocab_file: Path
    do_lower_case: bool


def read_hf_checkpoint(src_dir: str | Path) -> HFCheckpoint:
    """Reads `config.json`, the weights and `vocab.txt` of a Hugging Face BERT directory.

    Args:
        src_dir: a directory as `save_pretrained` writes it.

    Returns:
        The checkpoint, validated against the config.
    """
    src = Path(src_dir)
    if not src.is_dir():
        raise ConversionError(f"{src}: not a directory.")
    config_path = src / "config.json"
    if not config_path.exists():
        raise ConversionError(f"{src}: no config.json; a Hugging Face model directory has one.")
    hf_config = json.loads(config_path.read_text(encoding="utf-8"))
    config = EncoderConfig.from_hf_config(hf_config, source=str(config_path))
    vocab_file = src / "vocab.txt"
    if not vocab_file.exists():
        raise ConversionError(f"{src}: no vocab.txt (a BERT WordPiece vocabulary is required).")
    vocab_size = _count_lines(vocab_file)
    if vocab_size != config.vocab_size:
        raise ConversionError(
            f"{vocab_file}: {vocab_size} tokens, but config.json says vocab_size "
            f"{config.vocab_size}."
        )
    weights = _strip_prefix(_read_weights(src))
    _check_shapes(weights, config, src)
    return HFCheckpoint(config, weights, vocab_file, _do_lower_case(src, vocab_file))


def _read_weights(src: Path) -> dict[str, np.ndarray]:
    safetensors_path, bin_path = (src / name for name in WEIGHT_FILES)
    if safetensors_path.exists():
        from safetensors.numpy import load_file

        return load_file(str(safetensors_path))
    if bin_path.exists():
        try:
            import torch
        except ImportError:
            raise ConversionError(
                f"{bin_path}: reading pytorch_model.bin needs torch "
                "(pip install torch), or save the model as model.safetensors."
            ) from None
        state = torch.load(bin_path, map_location="cpu", weights_only=True)
        return {k: v.float().numpy() for k, v in state.items()}
    raise ConversionError(f"{src}: no weights ({' or '.join(WEIGHT_FILES)}).")


def _strip_prefix(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # BertFor* models prefix the encoder with "bert."; old checkpoints say gamma/beta.
    out = {}
    for name, value in weights.items():
        if name.startswith("bert."):
            name = name[len("bert.") :]
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight")
        name = name.replace("LayerNorm.beta", "LayerNorm.bias")
        out[name] = np.asarray(value, dtype=np.float32)
    return out


def _check_shapes(weights: dict[str, np.ndarray], config: EncoderConfig, src: Path) -> None:
    expected = {
        "embeddings.word_embeddings.weight": (config.vocab_size, config.hidden_size),
        "embeddings.position_embeddings.weight": (
            config.max_position_embeddings,
            config.hidden_size,
        ),
        "embeddings.token_type_embeddings.weight": (config.type_vocab_size, config.hidden_size),
        f"encoder.layer.{config.num_layers - 1}.output.dense.weight": (
            config.hidden_size,
            config.intermediate_size,
        ),
    }
    for name, shape in expected.items():
        if name not in weights:
            raise ConversionError(f"{src}: tensor {name} is missing; is this a BERT checkpoint?")
        if tuple(weights[name].shape) != shape:
            raise ConversionError(
                f"{src}: tensor {name} has shape {tuple(weights[name].shape)}, "
                f"config.json implies {shape}."
            )
    if f"encoder.layer.{config.num_layers}.output.dense.weight" in weights:
        raise ConversionError(f"{src}: more layers than num_hidden_layers={config.num_layers}.")


def _do_lower_case(src: Path, vocab_file: Path) -> bool:
    tokenizer_config = src / "tokenizer_config.json"
    if tokenizer_config.exists():
        value = json.loads(tokenizer_config.read_text(encoding="utf-8")).get("do_lower_case")
        if value is not None:
            return bool(value)
    # Without a tokenizer config, a vocabulary with capitalised words is a cased one.
    tokens = vocab_file.read_text(encoding="utf-8").splitlines()
    capitalised = sum(1 for t in tokens if t[:1].isupper() and not t.startswith("["))
    return capitalised < 0.01 * len(tokens)


def _count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f)


def encoder_weights(ckpt: HFCheckpoint) -> dict[str, np.ndarray]:
    """Maps the checkpoint onto `BertEncoder` variable names (without the `:0` suffix).

    Dense kernels are the transposed torch weights; attention kernels are reshaped to
    (hidden, heads, head_size) and the attention output to (heads, head_size, hidden).
    Without pooler weights the pooler is left out (it keeps its initialisation).
    """
    c, w = ckpt.config, ckpt.weights
    heads, head_size = c.num_heads, c.hidden_size // c.num_heads
    out = {
        "word_embeddings/embeddings": w["embeddings.word_embeddings.weight"],
        "position_embedding/embeddings": w["embeddings.position_embeddings.weight"],
        "type_embeddings/embeddings": w["embeddings.token_type_embeddings.weight"],
        "embeddings/layer_norm/gamma": w["embeddings.LayerNorm.weight"],
        "embeddings/layer_norm/beta": w["embeddings.LayerNorm.bias"],
    }
    for i in range(c.num_layers):
        hf, tf = f"encoder.layer.{i}.", f"transformer/layer_{i}/"
        for part in ("query", "key", "value"):
            kernel = w[f"{hf}attention.self.{part}.weight"].T
            out[f"{tf}self_attention/{part}/kernel"] = kernel.reshape(c.hidden_size, heads, -1)
            bias = w[f"{hf}attention.self.{part}.bias"]
            out[f"{tf}self_attention/{part}/bias"] = bias.reshape(heads, head_size)
        attention_output = w[f"{hf}attention.output.dense.weight"].T
        out[f"{tf}self_attention/attention_output/kernel"] = attention_output.reshape(
            heads, head_size, c.hidden_size
        )
        out[f"{tf}self_attention/attention_output/bias"] = w[f"{hf}attention.output.dense.bias"]
        out[f"{tf}self_attention_layer_norm/gamma"] = w[f"{hf}attention.output.LayerNorm.weight"]
        out[f"{tf}self_attention_layer_norm/beta"] = w[f"{hf}attention.output.LayerNorm.bias"]
        out[f"{tf}intermediate/kernel"] = w[f"{hf}intermediate.dense.weight"].T
        out[f"{tf}intermediate/bias"] = w[f"{hf}intermediate.dense.bias"]
        out[f"{tf}output/kernel"] = w[f"{hf}output.dense.weight"].T
        out[f"{tf}output/bias"] = w[f"{hf}output.dense.bias"]
        out[f"{tf}output_layer_norm/gamma"] = w[f"{hf}output.LayerNorm.weight"]
        out[f"{tf}output_layer_norm/beta"] = w[f"{hf}output.LayerNorm.bias"]
    if "pooler.dense.weight" in w:
        out["pooler_transform/kernel"] = w["pooler.dense.weight"].T
        out["pooler_transform/bias"] = w["pooler.dense.bias"]
    return out


def assign_weights(encoder, weights: dict[str, np.ndarray]) -> list[str]:
    """Assigns mapped weights to a built `BertEncoder`; returns the names left unassigned."""
    unassigned = []
    for variable in encoder.weights:
        name = variable.name.split(":")[0]
        if name in weights:
            if tuple(variable.shape) != weights[name].shape:
                raise ConversionError(
                    f"{name}: shape {weights[name].shape} does not fit {tuple(variable.shape)}."
                )
            variable.assign(weights[name])
        else:
            unassigned.append(name)
    return unassigned
