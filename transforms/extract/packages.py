"""Legacy PMC `.tar.gz` article packages, streamed member by member, never extracted to disk.

A member with an absolute path, a `..` component, or a link makes the whole
package an error: a package that tries to escape is not trusted for anything else.
Only the members a figure can use (XML, images, PDFs) are kept in memory; the rest
(videos, data files) are decompressed past and dropped. Caps on the bytes of one kept
member and of all kept members are options; a package over one is an error record that
names the option.
"""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from typing import BinaryIO

from transforms.extract.jats import IMAGE_EXTENSIONS
from transforms.extract.sources import XML_SUFFIXES, suffix_of
from transforms.ledger import StageError

MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_PACKAGE_BYTES = 2 * 1024 * 1024 * 1024
KEPT_SUFFIXES = frozenset(XML_SUFFIXES) | IMAGE_EXTENSIONS


def _unsafe(name: str) -> bool:
    normalised = name.replace("\\", "/")
    return normalised.startswith("/") or ".." in normalised.split("/") or ":" in normalised[:3]


def read_package(
    stream: BinaryIO,
    uri: str,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_package_bytes: int = MAX_PACKAGE_BYTES,
) -> dict[str, bytes]:
    """Member path -> bytes for the regular files of a `.tar.gz` package a figure can use."""
    files: dict[str, bytes] = {}
    total, regular = 0, 0
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                if _unsafe(member.name):
                    raise StageError(
                        "tar_unsafe_member", f"{uri}: member {member.name!r} escapes the package"
                    )
                if member.issym() or member.islnk():
                    raise StageError(
                        "tar_unsafe_member", f"{uri}: member {member.name!r} is a link"
                    )
                regular += member.isfile()
                if not member.isfile() or suffix_of(member.name) not in KEPT_SUFFIXES:
                    continue
                if member.size > max_member_bytes:
                    raise StageError(
                        "tar_member_too_large",
                        f"{uri}: member {member.name!r} is {member.size} bytes, over "
                        f"--max-package-member-bytes={max_member_bytes}",
                    )
                total += member.size
                if total > max_package_bytes:
                    raise StageError(
                        "tar_too_large",
                        f"{uri}: its images and XML hold more than "
                        f"--max-package-bytes={max_package_bytes} bytes",
                    )
                name = posixpath.normpath(member.name)
                if name in files:  # which copy a figure would get is not ours to guess
                    raise StageError(
                        "tar_duplicate_member", f"{uri}: member {member.name!r} occurs twice"
                    )
                handle = tar.extractfile(member)
                files[name] = handle.read() if handle else b""
    except StageError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise StageError("tar_corrupt", f"{uri}: {type(exc).__name__}: {exc}") from None
    if not regular:
        raise StageError("tar_empty", f"{uri}: no files in the package")
    return files
