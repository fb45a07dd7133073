"""Optional text cleaning applied before tokenization."""

import html
import re

_WHITESPACE = re.compile(r"\s+")
# Scraped reviews often come wrapped in runs of quotes ("""text""").
_WRAPPING_QUOTES = re.compile(r'^"+(.*?)"+$', re.DOTALL)


def clean_text(text: str) -> str:
    """Decodes HTML entities, strips wrapping quote runs and collapses whitespace.

    Args:
        text: the raw text.

    Returns:
        The cleaned text (possibly empty).

    Examples:
    >>> clean_text('""I didn&#039;t  like it.""')
    "I didn't like it."
    """
    text = html.unescape(html.unescape(text))
    text = _WHITESPACE.sub(" ", text).strip()
    match = _WRAPPING_QUOTES.match(text)
    if match:
        text = match.group(1).strip()
    return text
