"""The training text of an exported record: the `text` column and the WebDataset `.txt`.

Caption policies (`--caption-policy`):
- `panel` (default): a compound figure's panel gets its figure's preamble plus its own
  sub-caption, the text that describes that crop; any other record its full caption.
- `caption`: the full caption, for every record.
- `caption_mentions`: the full caption followed by the article's in-text mentions.

The text is cleaned (HTML entities and stray tags, control characters, white space runs)
and then fit to CLIP's 77-token text tower, counted in CLIP's own BPE tokens: whole
sentences are kept while they fit, and a first sentence longer than the budget is cut at
a word. The untruncated text travels in `text_full`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from transforms.extract.sentences import ends_sentence, stop_spans
from transforms.ledger import StageError

CAPTION_POLICIES = ("panel", "caption", "caption_mentions")
DEFAULT_CAPTION_POLICY = "panel"
# CLIP's context is 77 tokens, two of them the start and end markers
CLIP_CONTEXT_TOKENS = 77
CLIP_CONTENT_TOKENS = CLIP_CONTEXT_TOKENS - 2
# a hard character bound before tokenising: no caption needs more, and BPE is O(n) per word
MAX_TEXT_CHARS = 20_000

TokenCounter = Callable[[str], int]

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")


def clean_text(text: str | None) -> str:
    """Entities decoded, markup tags and control characters removed, white space squashed."""
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if not text.isprintable():
        # control and format characters (zero-width spaces, soft hyphens) are not text;
        # any white space character becomes a plain space below
        text = "".join(
            ch if ch.isspace() or unicodedata.category(ch)[0] != "C" else "" for ch in text
        )
    return " ".join(text.split())[:MAX_TEXT_CHARS]


def training_text(record: dict[str, Any], policy: str = DEFAULT_CAPTION_POLICY) -> str:
    """The untruncated, cleaned training text of `record` under `policy`."""
    caption = clean_text(record.get("caption"))
    if policy == "panel":
        own = clean_text(record.get("subcaption"))
        if record.get("is_compound") and own:
            preamble = clean_text(record.get("caption_preamble"))
            return f"{preamble} {own}" if preamble else own
        return caption
    if policy == "caption":
        return caption
    if policy == "caption_mentions":
        mentions = [clean_text(m) for m in record.get("mentions") or []]
        return " ".join([caption, *(m for m in mentions if m)]).strip()
    raise ValueError(f"unknown caption policy {policy!r}; one of {CAPTION_POLICIES}")


def sentence_ends(text: str) -> list[int]:
    """The offsets just past each sentence's stop (before the space that follows it)."""
    ends = []
    for start, end in stop_spans(text):
        if ends_sentence(text, start):
            ends.append(len(text[:end].rstrip()))
    return ends


def fit_tokens(text: str, budget: int, count_tokens: TokenCounter) -> str:
    """The longest run of whole leading sentences within `budget` tokens; a first sentence
    over the budget is cut at the last word that fits."""
    if budget <= 0 or count_tokens(text) <= budget:
        return text
    best = ""
    for end in sentence_ends(text):
        if count_tokens(text[:end]) > budget:
            break
        best = text[:end]
    if best:
        return best
    words = text.split(" ")
    lo, hi = 0, len(words)  # words[:lo] fits, words[:hi + 1] does not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(" ".join(words[:mid])) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def clip_token_counter() -> TokenCounter:
    """CLIP's BPE token count (open_clip's copy of OpenAI's tokenizer, loaded once)."""
    try:
        from open_clip.tokenizer import SimpleTokenizer
    except ImportError as exc:
        raise StageError(
            "missing_dependency",
            "the CLIP token budget needs open_clip_torch (pip install 'biomed-curate[train]'), "
            "or pass --text-max-tokens 0 to keep texts whole",
        ) from exc
    tokenizer = SimpleTokenizer()
    return lambda text: len(tokenizer.encode(text))
