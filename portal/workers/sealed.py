"""Files holding personal data at rest (roster uploads, rejected rows): sealed with AES-GCM and
the NIK keys, in segments so they are written and read in a stream, created with mode 0600.

A sealed file is a header (a magic string, the key id, a random file id) and segments of up
to SEGMENT bytes of plaintext, each with its own nonce. A segment's associated data binds it
to the header, its position and whether it is the last, so segments cannot be reordered,
swapped between files or cut off unnoticed. A writer may stop at a checkpoint and a later
writer carry on from it (an import resumed after its worker died).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.workers.pii import NONCE_BYTES, PiiCipher

MAGIC = b"PIJAR-SEALED-1\n"
SEGMENT = 64 * 1024
_SEGMENT_HEAD = struct.Struct(">BI")  # last segment?, ciphertext length
_TAG_BYTES = 16


class SealedFileError(ValueError):
    """The file is not a sealed file, or it was changed or cut short since it was written."""


def create_private(path: Path) -> BinaryIO:
    """A new file only its owner can read or write (0600, whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


class SealedWriter:
    """Writes a sealed file; close() marks its end. checkpoint() seals what is buffered and
    returns (bytes on disk, segments), from which SealedWriter(..., resume=...) carries on."""

    def __init__(self, cipher: PiiCipher, path: Path, resume: tuple[int, int] | None = None):
        self._buffer = bytearray()
        if resume is None:
            self._file = create_private(path)
            key_id = cipher.current.encode()
            self._header = MAGIC + bytes([len(key_id)]) + key_id + os.urandom(16)
            self._file.write(self._header)
            self._index = 0
        else:
            self._file = open(path, "r+b")  # noqa: SIM115 - closed by close()/abort()
            self._header, key_id = _read_header(self._file)
            size, self._index = resume
            self._file.truncate(size)
            self._file.seek(size)
        self._aead = cipher.aead(key_id.decode())

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > SEGMENT:
            self._seal(bytes(self._buffer[:SEGMENT]), last=False)
            del self._buffer[:SEGMENT]

    def checkpoint(self) -> tuple[int, int]:
        if self._buffer:
            self._seal(bytes(self._buffer), last=False)
            self._buffer.clear()
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell(), self._index

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._file.close()

    def abort(self) -> None:
        """Stop without marking the end (the file is unreadable until a writer resumes it)."""
        self._file.close()

    def _seal(self, plaintext: bytes, last: bool) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, _associated(self._header, self._index, last))
        self._file.write(_SEGMENT_HEAD.pack(last, len(sealed)) + nonce + sealed)
        self._index += 1


def seal_file(cipher: PiiCipher, chunks: Iterable[bytes], path: Path) -> int:
    """Write the chunks to a new sealed file; returns the plaintext size."""
    writer = SealedWriter(cipher, path)
    size = 0
    try:
        for chunk in chunks:
            writer.write(chunk)
            size += len(chunk)
    except BaseException:
        writer.abort()
        path.unlink(missing_ok=True)
        raise
    writer.close()
    return size


def open_sealed(cipher: PiiCipher, path: Path) -> Iterator[bytes]:
    """The plaintext of a sealed file, a segment at a time. Raises SealedFileError (at the
    segment where the damage is), OSError, KeyConfigError."""
    with open(path, "rb") as source:
        header, key_id = _read_header(source)
        aead = cipher.aead(key_id.decode())
        index = 0
        while True:
            plaintext, last = _open_segment(source, aead, header, index)
            yield plaintext
            if last:
                if source.read(1):
                    raise SealedFileError("data after the last segment")
                return
            index += 1


def _open_segment(source: BinaryIO, aead: AESGCM, header: bytes, index: int) -> tuple[bytes, bool]:
    head = source.read(_SEGMENT_HEAD.size)
    if len(head) < _SEGMENT_HEAD.size:
        raise SealedFileError("the file is cut short")
    last, length = _SEGMENT_HEAD.unpack(head)
    if length > SEGMENT + _TAG_BYTES or last > 1:
        raise SealedFileError("a segment header is damaged")
    body = source.read(NONCE_BYTES + length)
    if len(body) < NONCE_BYTES + length:
        raise SealedFileError("the file is cut short")
    try:
        plaintext = aead.decrypt(
            body[:NONCE_BYTES], body[NONCE_BYTES:], _associated(header, index, bool(last))
        )
    except InvalidTag:
        raise SealedFileError(f"segment {index} does not open with its key") from None
    return plaintext, bool(last)


def _read_header(source: BinaryIO) -> tuple[bytes, bytes]:
    magic = source.read(len(MAGIC) + 1)
    if magic[: len(MAGIC)] != MAGIC or len(magic) <= len(MAGIC):
        raise SealedFileError("not a sealed file")
    key_id = source.read(magic[-1])
    file_id = source.read(16)
    if len(key_id) != magic[-1] or len(file_id) != 16:
        raise SealedFileError("the file is cut short")
    return magic + key_id + file_id, key_id


def _associated(header: bytes, index: int, last: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")
