"""A WordPiece tokenizer layer whose text normalisation matches the original BERT."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_text as text
from official.nlp.modeling import layers as nlp_layers
from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer

# Hugging Face's BertNormalizer (as the original BERT) first drops NUL, U+FFFD and
# "other" characters (Unicode C*: control, format, private use, surrogates) except
# tab/newline/carriage return, then turns every White_Space character into a space.
# tf-text's own lower_case=True path applies NFKC case folding instead, which changes
# full-width punctuation and ligatures and so gives different ids.
_DROPPED = r"[\p{Cc}\p{Cf}\p{Co}\p{Cs}\x{FFFD}]"
_WHITESPACE = r"[\t\n\r\p{Zs}\x{2028}\x{2029}]"
_PROTECTED = "\t\n\r"
# Hugging Face's WordPiece (as the original BERT) turns a word of more than 100
# *characters* into [UNK]; tf-text's counts UTF-8 bytes (`max_bytes_per_word=100`), so 34
# full-width letters would already be [UNK]. The word splitter below marks the long words
# itself, and WordPiece gets a byte limit no word of 100 characters reaches (4 bytes each).
MAX_CHARS_PER_WORD = 100
UNKNOWN_TOKEN = "[UNK]"


def normalize_for_bert(texts: tf.Tensor, lower_case: bool) -> tf.Tensor:
    """Applies BERT's text cleaning (and, for uncased vocabularies, accent stripping).

    Args:
        texts: a string tensor of any shape.
        lower_case: lower-case, decompose (NFD) and drop combining marks (Mn), as the
            uncased BERT vocabularies expect.

    Returns:
        The normalised strings, same shape.
    """
    # Tab, newline and carriage return are Cc but count as whitespace: map them first.
    texts = tf.strings.regex_replace(texts, f"[{_PROTECTED}]", " ")
    texts = tf.strings.regex_replace(texts, _DROPPED, "")
    texts = tf.strings.regex_replace(texts, _WHITESPACE, " ")
    if lower_case:
        # ICU lower-cases a word-final capital sigma to final sigma; BERT maps each
        # character on its own.
        texts = tf.strings.regex_replace(texts, "\u03a3", "\u03c3")
        texts = text.normalize_utf8(texts, "NFD")
        texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


class CharLimitedBasicTokenizer(BasicTokenizer):
    """tf-text's BERT word splitter, with every word of more than `MAX_CHARS_PER_WORD`
    characters replaced by the unknown token, which WordPiece then looks up whole.

    Given to `text.BertTokenizer` as its `basic_tokenizer_class`; the offsets it returns
    still span the original words.
    """

    def tokenize_with_offsets(self, text_input):
        words, starts, ends = super().tokenize_with_offsets(text_input)
        flat = words.flat_values
        too_long = tf.strings.length(flat, unit="UTF8_CHAR") > MAX_CHARS_PER_WORD
        words = words.with_flat_values(tf.where(too_long, UNKNOWN_TOKEN, flat))
        return words, starts, ends


class NormalizingBertTokenizer(nlp_layers.BertTokenizer):
    """`official.nlp` BertTokenizer with the original BERT's normalisation in front.

    The wrapped tf-text `BertTokenizer` runs with `lower_case=False` (no NFKC), after
    `normalize_for_bert` has done the cleaning, lower-casing and accent stripping, and
    turns words of more than 100 characters (not UTF-8 bytes) into [UNK], as Hugging
    Face's `BertTokenizerFast` does.

    Args:
        vocab_file: path of the WordPiece vocabulary.
        lower_case: whether the vocabulary is uncased.
        **kwargs: passed to `official.nlp.modeling.layers.BertTokenizer`.

    Examples:
    >>> import pathlib, tempfile
    >>> vocab = pathlib.Path(tempfile.mkdtemp()) / "vocab.txt"
    >>> _ = vocab.write_text("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...                                   "cafe", ",", "fi", "ж", "##ж"]))
    >>> tokenizer = NormalizingBertTokenizer(vocab_file=str(vocab), lower_case=True)
    >>> tokenizer(tf.constant(["Café，\ufb01"])).flat_values.numpy().tolist()
    [5, 1, 1]
    >>> [len(tokenizer(tf.constant(["ж" * n])).flat_values) for n in (100, 101)]
    [100, 1]
    """

    def __init__(self, *, vocab_file: str, lower_case: bool, **kwargs):
        kwargs.pop("tokenize_with_offsets", None)  # offsets would refer to normalised text
        tokenizer_kwargs = {"max_bytes_per_word": 4 * MAX_CHARS_PER_WORD,
                            "unknown_token": UNKNOWN_TOKEN,
                            "basic_tokenizer_class": CharLimitedBasicTokenizer}
        super().__init__(vocab_file=vocab_file, lower_case=False,
                         tokenizer_kwargs=tokenizer_kwargs, **kwargs)
        self.normalize_lower_case = lower_case

    def call(self, inputs: tf.Tensor):
        return super().call(normalize_for_bert(inputs, self.normalize_lower_case))
