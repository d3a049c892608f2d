"""Legacy PMC `.tar.gz` article packages, read in memory and never extracted to disk.

A member with an absolute path, a `..` component, or a link makes the whole
package an error: a package that tries to escape is not trusted for anything else.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zlib

from transforms.ledger import StageError

MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_PACKAGE_BYTES = 4 * 1024 * 1024 * 1024


def _unsafe(name: str) -> bool:
    normalised = name.replace("\\", "/")
    return normalised.startswith("/") or ".." in normalised.split("/") or ":" in normalised[:3]


def read_package(
    data: bytes, uri: str, max_member_bytes: int = MAX_MEMBER_BYTES
) -> dict[str, bytes]:
    """Member path -> bytes for the regular files of a `.tar.gz` package."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                if _unsafe(member.name):
                    raise StageError(
                        "tar_unsafe_member", f"{uri}: member {member.name!r} escapes the package"
                    )
                if member.issym() or member.islnk():
                    raise StageError(
                        "tar_unsafe_member", f"{uri}: member {member.name!r} is a link"
                    )
                if not member.isfile():
                    continue
                if member.size > max_member_bytes:
                    raise StageError(
                        "tar_member_too_large",
                        f"{uri}: member {member.name!r} is {member.size} bytes",
                    )
                total += member.size
                if total > MAX_PACKAGE_BYTES:
                    raise StageError("tar_too_large", f"{uri}: more than {MAX_PACKAGE_BYTES} bytes")
                handle = tar.extractfile(member)
                files[posixpath.normpath(member.name)] = handle.read() if handle else b""
    except StageError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise StageError("tar_corrupt", f"{uri}: {type(exc).__name__}: {exc}") from None
    if not files:
        raise StageError("tar_empty", f"{uri}: no files in the package")
    return files
