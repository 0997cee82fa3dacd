"""The file operations of `JSONLSink`. Every one that matters for a commit fsyncs before
it returns, and a new file's directory is fsynced too, so a commit survives power loss."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ._base import SinkError

__all__ = [
    "append",
    "cut_back",
    "fsync_dir",
    "lines",
    "listing",
    "recover",
    "remove_strays",
    "replace",
    "rewrite",
    "write_temporary",
]


def listing(directory: Path) -> list[Path]:
    """The entries of ``directory``; none when it does not exist."""
    return list(directory.iterdir()) if directory.is_dir() else []


def lines(path: Path, length: int) -> Iterator[bytes]:
    """The lines (without their ``\\n``) in the first ``length`` bytes of ``path``."""
    if length == 0:
        return
    remaining = length
    with path.open("rb") as file:
        for line in file:
            remaining -= len(line)
            if remaining < 0 or not line.endswith(b"\n"):
                break
            yield line[:-1]
            if remaining == 0:
                return
    raise SinkError(f"{path} does not hold the {length} bytes committed to it in whole lines")


def append(root: Path, relative: str, committed: int, payload: bytes | bytearray) -> int:
    """Write ``payload`` at offset ``committed`` of ``root/relative`` (dropping anything
    after it), fsync, and return the new length."""
    path = root / relative
    created = not path.exists()
    if created:
        _make_dirs(path.parent)
    with path.open("ab") as file:
        file.truncate(committed)
        file.write(payload)
        file.flush()
        os.fsync(file.fileno())
    if created:
        fsync_dir(path.parent)
    return committed + len(payload)


def replace(path: Path, content: bytes) -> None:
    """Replace ``path`` by ``content`` atomically: a temporary file, fsync, rename."""
    os.replace(write_temporary(path, content), path)
    fsync_dir(path.parent)


def write_temporary(path: Path, content: bytes) -> Path:
    """Write ``content`` durably next to ``path``, ready to be renamed over it."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    return temporary


def rewrite(path: Path, records: Iterable[bytes]) -> int:
    """Replace ``path`` atomically by ``records`` (lines); return its new length."""
    content = b"".join(line + b"\n" for line in records)
    replace(path, content)
    return len(content)


def recover(root: Path, committed: Mapping[str, int]) -> dict[str, int]:
    """Cut every file back to its committed length; return the files found shorter.

    Appends only lengthen a file and compaction only shortens it, so a shorter file is a
    compaction that was replaced but not yet recorded: its content is valid as it is.
    """
    shorter: dict[str, int] = {}
    for relative, length in committed.items():
        path = root / relative
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            if length:
                raise SinkError(f"{path} is missing; {length} bytes were committed") from None
            continue
        if size > length:
            _truncate(path, length)
        elif size < length:
            with path.open("rb") as file:
                file.seek(max(size - 1, 0))
                if size and file.read(1) != b"\n":
                    raise SinkError(f"{path} is shorter than committed and ends mid-line")
            shorter[relative] = size
    return shorter


def cut_back(root: Path, committed: Mapping[str, int], touched: Iterable[str]) -> None:
    """Best effort after a failed write: drop what it appended to ``touched`` files."""
    for relative in touched:
        path = root / relative
        with contextlib.suppress(OSError):
            if relative in committed:
                _truncate(path, committed[relative])
            else:
                path.unlink(missing_ok=True)


def remove_strays(root: Path, folders: Iterable[str], committed: Mapping[str, int]) -> None:
    """Remove the files a killed run left in ``folders``: data files no commit knows of
    (created by an uncommitted write) and temporary files of an unfinished replacement."""
    name = re.compile(r"-?[0-9]+\.jsonl")
    for folder in folders:
        for path in listing(root / folder):
            relative = f"{folder}/{path.name}"
            stray = name.fullmatch(path.name) is not None and relative not in committed
            if stray or path.name.endswith(".tmp"):
                path.unlink()


def _truncate(path: Path, length: int) -> None:
    with path.open("r+b") as file:
        file.truncate(length)
        os.fsync(file.fileno())


def _make_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents, each made durable in its parent."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        fsync_dir(new.parent)


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (a new or renamed file) durable."""
    # Windows cannot open a directory, and makes renames durable by itself.
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
