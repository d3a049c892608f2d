"""Find the file an `xlink:href` names among an article's files.

Hrefs come with or without an extension, in any case, and sometimes with the
wrong extension (an eLife JPEG declared as TIFF): match the exact name first,
then the stem with the image extensions taken off.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from transforms.extract.jats import IMAGE_EXTENSIONS, href_stem

REMOTE_PREFIXES = ("http://", "https://", "ftp://", "info:", "doi:", "urn:", "data:")
# when one stem has several files, prefer the ones that decode best
EXTENSION_PREFERENCE = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".webp")


def is_remote(href: str) -> bool:
    return href.strip().lower().startswith(REMOTE_PREFIXES)


class MediaIndex:
    """Lookup of an article's files by lower-cased name and by image stem."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.by_name: dict[str, str] = {}
        self.by_stem: dict[str, list[str]] = {}
        for path in sorted(paths):
            name = posixpath.basename(path).lower()
            self.by_name.setdefault(name, path)
            ext = posixpath.splitext(name)[1]
            if ext in IMAGE_EXTENSIONS:
                self.by_stem.setdefault(href_stem(name), []).append(path)

    def resolve(self, href: str) -> str | None:
        if not href or is_remote(href):
            return None
        name = posixpath.basename(href.strip().replace("\\", "/")).lower()
        if name in self.by_name and posixpath.splitext(name)[1] in IMAGE_EXTENSIONS:
            return self.by_name[name]
        candidates = self.by_stem.get(href_stem(name), [])
        if not candidates:
            return None

        def rank(path: str) -> int:
            ext = posixpath.splitext(path)[1].lower()
            return EXTENSION_PREFERENCE.index(ext) if ext in EXTENSION_PREFERENCE else 99

        return min(candidates, key=rank)
