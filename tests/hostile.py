"""Builders of hostile inputs for the tests: bombs, escapes, truncations."""

from __future__ import annotations

import io
import struct
import tarfile
import zlib
from pathlib import Path

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE article [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<article><front><article-meta><title-group><article-title>&lol9;</article-title>
</title-group></article-meta></front><body><fig id="F1"><caption><p>&lol9;</p></caption>
<graphic xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="f1.png"/></fig></body></article>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE article [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<article><body><fig id="F1"><caption><p>&xxe;</p></caption>
<graphic xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="f1.png"/></fig></body></article>
"""


def article_xml(pmcid: str, hrefs: list[str], article_type: str = "research-article") -> bytes:
    """A small valid JATS article with one figure per href."""
    figs = "".join(
        f'<fig id="F{i + 1}"><label>Figure {i + 1}</label><caption><title>Panel {i + 1}.</title>'
        f"<p>Caption of figure {i + 1}.</p></caption>"
        f'<graphic xlink:href="{href}"/></fig>'
        for i, href in enumerate(hrefs)
    )
    return (
        f'<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="{article_type}">'
        f'<front><article-meta><article-id pub-id-type="pmc">{pmcid}</article-id>'
        f"<title-group><article-title>Test {pmcid}</article-title></title-group>"
        f"</article-meta></front><body><p>See Figure 1.</p>{figs}</body></article>"
    ).encode()


def png_bytes(width: int = 40, height: int = 30, color: int = 120) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (color, 60, 200)).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(side: int = 12_000) -> bytes:
    """A valid greyscale PNG of side x side zeros: ~144 MB of pixels in a few hundred KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def targz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
