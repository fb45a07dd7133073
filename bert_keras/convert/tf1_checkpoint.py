"""Reads Google's original TF1 BERT checkpoint directory into Hugging Face tensor layout.

A release such as `chinese_L-12_H-768_A-12` holds `bert_config.json`, `vocab.txt` and a
TF1 checkpoint (`bert_model.ckpt.index` + `bert_model.ckpt.data-*` shards) whose variables
are named `bert/encoder/layer_0/attention/self/query/kernel` and so on. Renamed to the
Hugging Face names (kernels transposed to torch's (out, in) layout) they map onto
`BertEncoder` through `hf_checkpoint.encoder_weights`, as a Hugging Face checkpoint does.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np

from bert_keras.convert.encoder_config import EncoderConfig
from bert_keras.convert.hf_checkpoint import HFCheckpoint
from bert_keras.errors import ConversionError

CONFIG_FILE = "bert_config.json"
VOCAB_FILE = "vocab.txt"
DEFAULT_PREFIX = "bert_model.ckpt"
# What `hidden_act: "gelu"` in bert_config.json is built as: the exact (erf) GELU, as
# transformers reads it, or the tanh approximation that Google's TF1 `modeling.gelu`
# computes (recorded as Hugging Face's name for it, "gelu_new").
GELU_VARIANTS = {"exact": "gelu", "tanh": "gelu_new"}

# A dimension the config fixes: (bert_config.json key, value).
Dim = tuple[str, int]

# Per-layer dense layers: TF1 scope under bert/encoder/layer_i/ -> (HF name, in dim, out dim).
_DENSE = {
    "attention/self/query": ("attention.self.query", "H", "H"),
    "attention/self/key": ("attention.self.key", "H", "H"),
    "attention/self/value": ("attention.self.value", "H", "H"),
    "attention/output/dense": ("attention.output.dense", "H", "H"),
    "intermediate/dense": ("intermediate.dense", "H", "I"),
    "output/dense": ("output.dense", "I", "H"),
}
_LAYER_NORMS = {
    "attention/output/LayerNorm": "attention.output.LayerNorm",
    "output/LayerNorm": "output.LayerNorm",
}


@dataclasses.dataclass
class TF1Release:
    """A TF1 BERT release read into Hugging Face layout.

    Args:
        checkpoint: the encoder weights under Hugging Face names (without `bert.`, the
            `cls/` pre-training heads and optimizer slots), with config, vocab and casing.
        prefix: the checkpoint prefix that was read.
        casing: a sentence saying where `do_lower_case` came from.
    """

    checkpoint: HFCheckpoint
    prefix: Path
    casing: str


def find_checkpoint_prefix(src: str | Path) -> Path:
    """Returns the checkpoint prefix (`.../bert_model.ckpt`) of a directory or prefix path.

    Args:
        src: the release directory, or the checkpoint prefix itself (the path without
            `.index`, as TF1's `--init_checkpoint` takes it).
    """
    src = Path(src)
    if not src.is_dir():
        if Path(f"{src}.index").exists():
            return src
        raise ConversionError(f"{src}: neither a directory nor a checkpoint prefix "
                              f"({src.name}.index does not exist).")
    if (src / f"{DEFAULT_PREFIX}.index").exists():
        return src / DEFAULT_PREFIX
    indexes = sorted(src.glob("*.index"))
    if len(indexes) == 1:
        return indexes[0].with_suffix("")
    if indexes:
        # Several checkpoints (a pre-training run): the `checkpoint` state file names the last.
        state = src / "checkpoint"
        match = state.exists() and re.search(r'^model_checkpoint_path:\s*"([^"]+)"',
                                              state.read_text(encoding="utf-8"), re.M)
        if match:
            return src / Path(match.group(1)).name
        names = ", ".join(p.name for p in indexes[:5])
        raise ConversionError(f"{src}: several checkpoints ({names}); pass the prefix of one, "
                              f"e.g. {indexes[-1].with_suffix('')}.")
    raise ConversionError(f"{src}: no {DEFAULT_PREFIX}.index; a TF1 BERT checkpoint directory "
                          f"holds {DEFAULT_PREFIX}.index and {DEFAULT_PREFIX}.data-* shards.")


def read_tf1_checkpoint(src: str | Path, *, do_lower_case: bool | None = None,
                        gelu: str = "exact") -> TF1Release:
    """Reads and validates a TF1 BERT release; returns it in Hugging Face layout.

    Args:
        src: the release directory (or checkpoint prefix).
        do_lower_case: whether the vocabulary is uncased; `None` infers it from the vocabulary.
        gelu: what `hidden_act: "gelu"` means: "exact" (erf, as transformers) or "tanh"
            (the approximation of Google's TF1 code); see `GELU_VARIANTS`.

    Returns:
        The release, validated: config against variable shapes, vocab against embeddings.
    """
    prefix = find_checkpoint_prefix(src)
    directory = prefix.parent
    config_path, vocab_file = directory / CONFIG_FILE, directory / VOCAB_FILE
    if not config_path.exists():
        raise ConversionError(f"{directory}: no {CONFIG_FILE}; a TF1 BERT release has one "
                              "beside the checkpoint.")
    if not vocab_file.exists():
        raise ConversionError(f"{directory}: no {VOCAB_FILE} (a BERT WordPiece vocabulary "
                              "is required).")
    config = _gelu_variant(_read_config(config_path), gelu, config_path)
    _check_shards(prefix)
    variables = _read_variables(prefix, config, config_path)
    # Split on "\n" only, as tf-text reads the file: str.splitlines() also splits on
    # U+2028, U+0085 and others, which may be vocabulary tokens.
    vocab = vocab_file.read_text(encoding="utf-8").removesuffix("\n").split("\n")
    rows = variables["embeddings.word_embeddings.weight"].shape[0]
    if len(vocab) != rows:
        raise ConversionError(f"{vocab_file}: {len(vocab)} tokens, but the checkpoint's "
                              f"bert/embeddings/word_embeddings has {rows} rows.")
    _check_unique(vocab, vocab_file)
    if do_lower_case is None:
        do_lower_case, how = infer_do_lower_case(vocab)
    else:
        how = f"do_lower_case={do_lower_case} as given"
    checkpoint = HFCheckpoint(config, variables, vocab_file, do_lower_case)
    return TF1Release(checkpoint, prefix, how)


def _check_unique(tokens: list[str], vocab_file: Path) -> None:
    # The preprocessor's lookup table refuses duplicates with an obscure error at export.
    first: dict[str, int] = {}
    for line, token in enumerate(tokens, start=1):
        if token in first:
            raise ConversionError(f"{vocab_file}: token {token!r} on lines {first[token]} "
                                  f"and {line}; vocabulary tokens must be unique.")
        first[token] = line


def infer_do_lower_case(tokens: list[str]) -> tuple[bool, str]:
    """Guesses whether a vocabulary is uncased; TF1 releases do not record it.

    A vocabulary is taken as uncased when under 1% of its tokens with Latin letters have
    an upper-case one (special tokens such as `[CLS]` or `<S>` aside). Chinese
    vocabularies, whose few Latin tokens are lower case, come out uncased.

    Returns:
        `(do_lower_case, a sentence saying why)`.
    """
    latin = [t for t in tokens if re.search(r"[A-Za-z]", t) and not _is_special(t)]
    upper = [t for t in latin if re.search(r"[A-Z]", t)]
    uncased = len(upper) < 0.01 * len(latin)
    examples = f" (e.g. {', '.join(upper[:3])})" if upper else ""
    return uncased, (
        f"inferred do_lower_case={uncased}: {len(upper)} of {len(latin)} vocabulary tokens "
        f"with Latin letters have upper-case ones{examples}; pass do_lower_case to override"
    )


def _is_special(token: str) -> bool:
    return bool(re.fullmatch(r"\[[^\]]*\]|<[^>]*>", token))


def _read_config(config_path: Path) -> EncoderConfig:
    try:
        values = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConversionError(f"{config_path}: not valid JSON ({error}).") from None
    # bert_config.json has the Hugging Face keys but no model_type.
    config = EncoderConfig.from_hf_config({**values, "model_type": "bert"},
                                          source=str(config_path))
    if config.hidden_size % config.num_heads:
        raise ConversionError(f"{config_path}: hidden_size {config.hidden_size} is not a "
                              f"multiple of num_attention_heads {config.num_heads}.")
    return config


def _gelu_variant(config: EncoderConfig, gelu: str, config_path: Path) -> EncoderConfig:
    if gelu not in GELU_VARIANTS:
        raise ConversionError(f"gelu must be one of {', '.join(GELU_VARIANTS)}, got {gelu!r}")
    if config.hidden_act != "gelu":
        if gelu != "exact":
            raise ConversionError(f"{config_path}: hidden_act is {config.hidden_act!r}; "
                                  f"--gelu {gelu} applies to hidden_act 'gelu' only.")
        return config
    return dataclasses.replace(config, hidden_act=GELU_VARIANTS[gelu])


def _check_shards(prefix: Path) -> None:
    # TF names the data files only when a tensor is read; check them all up front.
    shards = sorted(prefix.parent.glob(f"{prefix.name}.data-*-of-*"))
    match = shards and re.search(r"-of-(\d+)$", shards[0].name)
    if not match:
        raise ConversionError(f"{prefix}.data-00000-of-00001: missing; the checkpoint's "
                              "weights live in its .data-* shards.")
    total = match.group(1)
    for i in range(int(total)):
        shard = prefix.parent / f"{prefix.name}.data-{i:0{len(total)}d}-of-{total}"
        if not shard.exists():
            raise ConversionError(f"{shard}: missing (shard {i + 1} of {int(total)}).")


def variable_layout(config: EncoderConfig) -> dict[str, tuple[str, tuple[Dim, ...]]]:
    """TF1 variable name -> (Hugging Face name, expected shape as config dimensions).

    The pooler is included; callers treat it as optional.
    """
    dims = {
        "H": ("hidden_size", config.hidden_size),
        "I": ("intermediate_size", config.intermediate_size),
    }
    h = dims["H"]
    out: dict[str, tuple[str, tuple[Dim, ...]]] = {
        "bert/embeddings/word_embeddings": (
            "embeddings.word_embeddings.weight", (("vocab_size", config.vocab_size), h)),
        "bert/embeddings/position_embeddings": (
            "embeddings.position_embeddings.weight",
            (("max_position_embeddings", config.max_position_embeddings), h)),
        "bert/embeddings/token_type_embeddings": (
            "embeddings.token_type_embeddings.weight",
            (("type_vocab_size", config.type_vocab_size), h)),
        "bert/embeddings/LayerNorm/gamma": ("embeddings.LayerNorm.weight", (h,)),
        "bert/embeddings/LayerNorm/beta": ("embeddings.LayerNorm.bias", (h,)),
        "bert/pooler/dense/kernel": ("pooler.dense.weight", (h, h)),
        "bert/pooler/dense/bias": ("pooler.dense.bias", (h,)),
    }
    for i in range(config.num_layers):
        tf1, hf = f"bert/encoder/layer_{i}/", f"encoder.layer.{i}."
        for scope, (name, n_in, n_out) in _DENSE.items():
            out[f"{tf1}{scope}/kernel"] = (f"{hf}{name}.weight", (dims[n_in], dims[n_out]))
            out[f"{tf1}{scope}/bias"] = (f"{hf}{name}.bias", (dims[n_out],))
        for scope, name in _LAYER_NORMS.items():
            out[f"{tf1}{scope}/gamma"] = (f"{hf}{name}.weight", (h,))
            out[f"{tf1}{scope}/beta"] = (f"{hf}{name}.bias", (h,))
    return out


def _read_variables(prefix: Path, config: EncoderConfig,
                    config_path: Path) -> dict[str, np.ndarray]:
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes = reader.get_variable_to_shape_map()
    except tf.errors.OpError as error:
        raise ConversionError(f"{prefix}.index: cannot read the checkpoint "
                              f"({_first_line(error)}).") from None
    _check_architecture(prefix, shapes, config, config_path)
    layout = variable_layout(config)
    out = {}
    for tf1_name, (hf_name, dims) in layout.items():
        if tf1_name not in shapes:
            if tf1_name.startswith("bert/pooler/"):
                continue  # many fine-tuned and some released checkpoints drop the pooler
            raise ConversionError(f"{prefix}: variable {tf1_name} is missing.")
        shape, expected = tuple(shapes[tf1_name]), tuple(value for _, value in dims)
        if shape != expected:
            said = ", ".join(f"{key}={value}" for key, value in dict(dims).items())
            raise ConversionError(
                f"{prefix}: variable {tf1_name} has shape {shape}, but {config_path.name} "
                f"says {said} (expected {expected})."
            )
        try:
            value = reader.get_tensor(tf1_name)
        # A missing shard raises OpError; a truncated one IndexError.
        except (tf.errors.OpError, IndexError, ValueError) as error:
            raise ConversionError(f"{prefix}: cannot read variable {tf1_name} from the .data "
                                  f"shards ({_first_line(error)}).") from None
        value = np.asarray(value, dtype=np.float32)
        out[hf_name] = value.T if tf1_name.endswith("/kernel") else value
    out.update(_masked_lm_head(reader, shapes, config))
    return out


# The masked-LM head of a pre-training checkpoint (kept for further pre-training).
_HEAD = {
    "cls/predictions/transform/dense/kernel": "cls.predictions.transform.dense.weight",
    "cls/predictions/transform/dense/bias": "cls.predictions.transform.dense.bias",
    "cls/predictions/transform/LayerNorm/gamma": "cls.predictions.transform.LayerNorm.weight",
    "cls/predictions/transform/LayerNorm/beta": "cls.predictions.transform.LayerNorm.bias",
    "cls/predictions/output_bias": "cls.predictions.bias",
}


def _masked_lm_head(reader, shapes: dict[str, list[int]],
                    config: EncoderConfig) -> dict[str, np.ndarray]:
    """The `cls/predictions` head in Hugging Face names, or {} when absent or misshapen."""
    h = config.hidden_size
    expected = {name: (h, h) if name.endswith("/kernel") else (h,) for name in _HEAD}
    expected["cls/predictions/output_bias"] = (config.vocab_size,)
    if any(tuple(shapes.get(name, ())) != shape for name, shape in expected.items()):
        return {}
    head = {}
    for tf1_name, hf_name in _HEAD.items():
        value = np.asarray(reader.get_tensor(tf1_name), dtype=np.float32)
        head[hf_name] = value.T if tf1_name.endswith("/kernel") else value
    return head


def _check_architecture(prefix: Path, shapes: dict[str, list[int]], config: EncoderConfig,
                        config_path: Path) -> None:
    if "bert/embeddings/word_embeddings" not in shapes:
        scopes = sorted({name.split("/")[0] for name in shapes})
        raise ConversionError(f"{prefix}: no bert/embeddings/word_embeddings variable "
                              f"(top-level scopes: {', '.join(scopes[:8])}); only Google's "
                              "BERT checkpoints are supported (not ELECTRA, ALBERT, ...).")
    if any(name.startswith("bert/encoder/transformer/") for name in shapes):
        raise ConversionError(f"{prefix}: an ALBERT checkpoint (shared layers under "
                              "bert/encoder/transformer/); only BERT is supported.")
    layers = {int(m.group(1)) for name in shapes
              if (m := re.match(r"bert/encoder/layer_(\d+)/", name))}
    if len(layers) != config.num_layers:
        raise ConversionError(f"{prefix}: the checkpoint has {len(layers)} layers "
                              f"(bert/encoder/layer_*), but {config_path.name} says "
                              f"num_hidden_layers={config.num_layers}.")


def _first_line(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__

