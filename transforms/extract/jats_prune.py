"""Cut what extract never reads out of a JATS file's bytes, before it is parsed.

Reference lists and tables are 38% of the bytes of testdata/jats (27.6% and 10.6%), and
parsing them was the largest single cost of a caption-only run. By the extract rules
neither holds anything extract reads: no field comes from the references, a graphic in a
table is not a figure, and mentions strip tables. Each element is cut from its start tag
to its matching end tag, so its tail text stays, as `strip_elements(with_tail=False)`
leaves it. A byte search costs about a tenth of parsing the same bytes, so the searches
are kept to the cut spans where they can be: the last `<ref-list>` is found from the end
of the file (it sits in `<back>`), and tables are looked for outside it.

Guards: nothing before the end of the DOCTYPE is cut; a span that holds a comment or a
CDATA section is left alone; unbalanced tags end the cutting; and the caller parses the
whole file when the cut one does not parse.
"""

from __future__ import annotations

_NAME_ENDS = frozenset(bytes([b]) for b in b" \t\r\n>/")


def prune_unread(data: bytes) -> bytes:
    """`data` without its last reference list and its tables; `data` itself if none."""
    begin = _content_start(data)
    refs = last_element_span(data, b"ref-list", begin)
    if refs is None:
        spans = element_spans(data, b"table-wrap", begin, len(data))
    else:
        spans = element_spans(data, b"table-wrap", begin, refs[0])
        spans.append(refs)
        spans += element_spans(data, b"table-wrap", refs[1], len(data))
    if not spans:
        return data
    view = memoryview(data)  # slices of a view are not copies: join copies once
    kept = []
    pos = 0
    for start, end in spans:
        kept.append(view[pos:start])
        pos = end
    kept.append(view[pos:])
    return b"".join(kept)


def _content_start(data: bytes) -> int:
    """Past the DOCTYPE and its internal subset, if any: nothing there is ever cut."""
    doctype = data.find(b"<!DOCTYPE", 0, 65536)
    if doctype < 0:
        return 0
    close = data.find(b">", doctype)
    bracket = data.find(b"[", doctype, close if close > 0 else None)
    if bracket >= 0:
        close = data.find(b"]>", bracket)
        close = close + 1 if close >= 0 else -1
    return close + 1 if close >= 0 else len(data)


def _is_tag(data: bytes, at: int, marker: bytes) -> bool:
    after = at + len(marker)
    return data[after : after + 1] in _NAME_ENDS


def _find_tag(data: bytes, marker: bytes, lo: int, hi: int) -> int:
    """First `marker` (b'<name' or b'</name') in [lo, hi) that ends a name there, or -1."""
    at = data.find(marker, lo, hi)
    while at >= 0 and not _is_tag(data, at, marker):
        at = data.find(marker, at + 1, hi)
    return at


def _rfind_tag(data: bytes, marker: bytes, lo: int, hi: int) -> int:
    at = data.rfind(marker, lo, hi)
    while at >= 0 and not _is_tag(data, at, marker):
        at = data.rfind(marker, lo, at)
    return at


def _opaque(data: bytes, start: int, end: int) -> bool:
    """Whether [start, end) holds a comment or CDATA, which could hide or fake a tag."""
    if data.find(b"!", start, end) < 0:  # memchr: most spans have no "!" at all
        return False
    region = data[start:end]
    return b"<!--" in region or b"<![CDATA[" in region


def last_element_span(data: bytes, tag: bytes, begin: int) -> tuple[int, int] | None:
    """(start, end) of the last top-level `<tag>` element after `begin`, or None."""
    opener, closer = b"<" + tag, b"</" + tag
    close = _rfind_tag(data, closer, begin, len(data))
    end = data.find(b">", close) if close >= 0 else -1
    if end < 0:
        return None
    # back to the start tag that this end tag closes, counting nested elements
    depth, pos = 1, close
    while depth:
        start = _rfind_tag(data, opener, begin, pos)
        if start < 0:
            return None  # unbalanced: leave the file whole
        inner_close = _rfind_tag(data, closer, start, pos)
        if inner_close >= 0:
            depth, pos = depth + 1, inner_close
        else:
            depth, pos = depth - 1, start
    return None if _opaque(data, start, end) else (start, end + 1)


def element_spans(data: bytes, tag: bytes, lo: int, hi: int) -> list[tuple[int, int]]:
    """(start, end) of each top-level `<tag>` element in [lo, hi), in order."""
    opener, closer = b"<" + tag, b"</" + tag
    spans = []
    pos = lo
    while (start := _find_tag(data, opener, pos, hi)) >= 0:
        head_end = data.find(b">", start, hi)
        if head_end < 0:
            break
        if data[head_end - 1] == ord("/"):  # <tag … />
            end = head_end + 1
        else:
            end = _matching_end(data, opener, closer, head_end + 1, hi)
            if end < 0:
                break  # unbalanced: leave the rest whole
        if not _opaque(data, start, end):
            spans.append((start, end))
        pos = end
    return spans


def _matching_end(data: bytes, opener: bytes, closer: bytes, pos: int, hi: int) -> int:
    """Just past the end tag that closes an element whose start tag ends before `pos`."""
    depth = 1
    while depth:
        close = _find_tag(data, closer, pos, hi)
        if close < 0:
            return -1
        nested = _find_tag(data, opener, pos, close)
        if nested >= 0:
            head_end = data.find(b">", nested, close)
            if head_end < 0:
                return -1
            depth += data[head_end - 1] != ord("/")
            pos = head_end + 1
            continue
        pos = data.find(b">", close, hi)
        if pos < 0:
            return -1
        pos += 1
        depth -= 1
    return pos
