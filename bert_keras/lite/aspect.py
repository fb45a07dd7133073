"""Aspect inputs without TensorFlow: the NumPy twin of `bert_keras.layers.aspect_input`, so
a board filters a text by aspect mention and phrases the aspect exactly as the graph does.

    text --split_sentences (the graph's own pattern, run by Python's re)--> sentences
        --keep those whose lower-cased text contains the aspect or a synonym, plus
          `window` neighbours, in order--> filtered text (or the whole text, unmentioned)
    aspect --template "What do you think of the {aspect}?"--> second segment

The graph matches `(?s).*(term|...).*` (escaped terms) with RE2 on `tf.strings.lower`ed
sentences: a substring test here. Two quirks of TensorFlow's ICU lower-casing are repeated:
it stops at the first NUL character, and it leaves letters new in Unicode 14 as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

ASPECT_PLACEHOLDER = "{aspect}"
SENTENCE_BOUNDARY = "\x1e"  # ASCII record separator: never part of a real sentence
# Sentence ends: Chinese full stops / marks (with closing quotes), Western ones before
# whitespace or the end, and line breaks. Written for RE2 and Python's re alike: the
# whitespace class is RE2's `\s` (Python's `\s` also matches \v, \x1c-\x1f and Unicode
# spaces), and `$` only ever follows a failed whitespace match, where both mean the end.
SENTENCE_END = (r"([。！？；!?;…]+[”’」』）)\"']*[\t\n\f\r ]*"
                r"|\.+[”’)\"']*(?:[\t\n\f\r ]+|$)|\n+)")
# What `tf.strings.strip` removes (absl's ASCII whitespace).
_STRIPPED = " \t\n\v\f\r"
# Letters Python 3.11 (Unicode 14) lower-cases and TensorFlow's ICU does not (found by
# lower-casing every code point both ways).
_UNCHANGED_BY_TF = frozenset(
    [0x2C2F, 0xA7C0, 0xA7D0, 0xA7D6, 0xA7D8]
    + [c for c in range(0x10570, 0x10596) if c not in (0x1057B, 0x1058B, 0x10593)])
_UNCHANGED_SPLIT = re.compile("([" + "".join(map(chr, sorted(_UNCHANGED_BY_TF))) + "])")
_SENTENCE_END = re.compile(SENTENCE_END)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, each with its punctuation and trailing space (as the
    graph's `split_sentences`); joined they give the text back.

    Examples:
    >>> split_sentences("Food was great. Too dear! 服务很好。环境差")
    ['Food was great. ', 'Too dear! ', '服务很好。', '环境差']
    >>> split_sentences("")
    ['']
    """
    marked = _SENTENCE_END.sub(lambda match: match.group(1) + SENTENCE_BOUNDARY, text)
    marked = marked.removesuffix(SENTENCE_BOUNDARY)
    return marked.split(SENTENCE_BOUNDARY)


def lower_like_tf(text: str) -> str:
    """`tf.strings.lower(text, encoding="utf-8")`: Python's lower-casing, stopping at the
    first NUL and leaving the letters new in Unicode 14 alone.

    Examples:
    >>> lower_like_tf("ΣΑΣ Price"), lower_like_tf("AB\\x00CD")
    ('σας price', 'ab')
    """
    text = text.split("\x00", 1)[0]
    if not any(ord(char) in _UNCHANGED_BY_TF for char in text):
        return text.lower()
    # Lower-case the runs between them: to ICU they are unassigned, not letters.
    parts = _UNCHANGED_SPLIT.split(text)
    return "".join(part if i % 2 else part.lower() for i, part in enumerate(parts))


class AspectFilter:
    """Filters texts down to the sentences about an aspect, and phrases the aspect, as
    `bert_keras.layers.aspect_input.AspectInput` does in the graph.

    Args:
        filter_text: keep only the sentences that mention the aspect (or a synonym) and
            their neighbours.
        lexicon: synonyms by (lower-case) aspect, as the model recorded them.
        window: neighbouring sentences kept on each side of a mention.
        template: the second segment, "{aspect}" standing for the aspect (None: the
            aspect alone).

    Examples:
    >>> AspectFilter(lexicon={"price": ["cost"]}, window=0)(
    ...     "Food was great. The cost is absurd.", "price")
    ('The cost is absurd.', 'price', True)
    """

    def __init__(self, filter_text: bool = True,
                 lexicon: Mapping[str, Sequence[str]] | None = None, window: int = 1,
                 template: str | None = None):
        if template is not None and ASPECT_PLACEHOLDER not in template:
            raise ValueError(f"aspect template {template!r} lacks {ASPECT_PLACEHOLDER}")
        if int(window) < 0:
            raise ValueError(f"window must be >= 0, got {window}")
        self.filter_text = bool(filter_text)
        self.window = int(window)
        self.template = template
        # Keys lower-cased as the layer does (Python), values lower-cased and escaped there.
        self._synonyms = {str(key).lower(): [str(s).lower() for s in values if str(s)]
                          for key, values in (lexicon or {}).items()}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AspectFilter:
        """From a model's `aspect` settings (`filter_text`, `lexicon`, `window`,
        `template`), as `model.json` records them."""
        return cls(filter_text=settings.get("filter_text", True),
                   lexicon=settings.get("lexicon"), window=settings.get("window", 1),
                   template=settings.get("template"))

    def mentions(self, sentences: Sequence[str], aspect: str) -> list[bool]:
        """Whether each sentence mentions `aspect` or one of its synonyms (ignoring case)."""
        key = lower_like_tf(aspect.strip(_STRIPPED))
        terms = [key, *self._synonyms.get(key, [])]
        lowered = [lower_like_tf(sentence) for sentence in sentences]
        return [any(term in sentence for term in terms) for sentence in lowered]

    def __call__(self, text: str, aspect: str) -> tuple[str, str, bool]:
        """`(text, aspect, mentioned)`: the filtered text (the whole text when no
        sentence mentions the aspect), the phrased aspect, and whether one did."""
        mentioned = False
        if self.filter_text:
            sentences = split_sentences(text)
            hits = self.mentions(sentences, aspect)
            mentioned = any(hits)
            if mentioned:
                near = [any(hits[max(0, i - self.window):i + self.window + 1])
                        for i in range(len(sentences))]
                text = "".join(s for s, keep in zip(sentences, near, strict=True) if keep)
        if self.template is not None:
            before, _, after = self.template.partition(ASPECT_PLACEHOLDER)
            aspect = before + aspect + after
        return text, aspect, mentioned
