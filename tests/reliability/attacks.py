"""Builders of the attack files that tests/hostile.py does not make: lying image headers,
a gzip bomb package, tar members of every kind, and a local server that counts fetches."""

from __future__ import annotations

import io
import struct
import tarfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

HUGE = 60_000  # a side every header format can state: 3.6e9 pixels


def _saved(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, format=fmt)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_header(fmt: str) -> bytes:
    """A valid 8x8 image whose header says HUGE x HUGE, its checksums made to match."""
    data = bytearray(_saved(fmt))
    if fmt == "PNG":
        ihdr = struct.pack(">II", HUGE, HUGE) + bytes(data[24:29])
        return bytes(data[:8]) + _png_chunk(b"IHDR", ihdr) + bytes(data[33:])
    if fmt == "GIF":
        struct.pack_into("<HH", data, 6, HUGE, HUGE)  # the logical screen
        at = data.index(b"\x2c")  # the image descriptor
        struct.pack_into("<HH", data, at + 5, HUGE, HUGE)
    elif fmt == "BMP":
        struct.pack_into("<ii", data, 18, HUGE, HUGE)
    elif fmt == "JPEG":
        at = data.index(b"\xff\xc0")  # start of frame: length, precision, height, width
        struct.pack_into(">HH", data, at + 5, HUGE, HUGE)
    elif fmt == "TIFF":
        for tag in (256, 257):  # ImageWidth, ImageLength as one LONG each
            entry = struct.pack("<HHI", tag, 4, 1)
            at = data.index(entry)
            struct.pack_into("<I", data, at + 8, HUGE)
    return bytes(data)


def tar_gz(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


def gzip_bomb_package(name: str, size: int) -> bytes:
    """A .tar.gz of about size/1000 bytes whose one member is `size` zero bytes.

    Each MiB of zeros deflates, after a full flush, to the same bytes: they are made once
    and repeated, so the bomb costs no more to build than to refuse."""
    info = tarfile.TarInfo(name)
    info.size = size
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    mib = 1 << 20
    assert size % mib == 0
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = [deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)]
    block = deflate.compress(bytes(mib)) + deflate.flush(zlib.Z_FULL_FLUSH)
    body.append(block * (size // mib))
    body.append(deflate.compress(bytes(1024)) + deflate.flush())  # the end-of-archive blocks
    crc, zeros = zlib.crc32(header), bytes(mib)
    for _ in range(size // mib):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(1024), crc)
    total = len(header) + size + 1024
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return gzip_header + b"".join(body) + struct.pack("<II", crc, total & 0xFFFFFFFF)


@contextmanager
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 that serves a DTD and a secret to anyone who asks, and
    lists each path asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            asked.append(self.path)
            body = b'<!ENTITY secret "FETCHED-FROM-THE-NETWORK">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
