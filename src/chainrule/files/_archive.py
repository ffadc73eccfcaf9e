"""The ZIP archives that hold model files, read strictly.

chainrule writes its files with :mod:`zipfile`: members one after another, then
the central directory, then the end record. Reading goes through this small
parser instead, which accepts that layout and nothing looser, so that reading a
file never costs more than the file's own size and ``MAX_INFLATED_BYTES``:

* the file is a regular file (not a FIFO or a device), starts with a local
  header and ends with the end record (no comment, nothing appended);
* every member is stored or deflated, unencrypted, without a data descriptor,
  with no extra field but ZIP64's, and its local header repeats its central
  entry (name, flags, method, CRC and sizes);
* the members tile the archive: the first starts at byte 0, each one where the
  previous one ends, and the last ends where the central directory begins. No
  member overlaps another or reaches outside the file, so all members together
  hold fewer bytes than the file;
* the sizes deflated members declare add up to at most ``MAX_INFLATED_BYTES``
  (a decompression bomb is refused by its headers), and inflating one stops at
  its declared size: a stream that would give more, or less, or that has bytes
  after its end, is refused.

Each check reads a fixed number of bytes (the central directory is bounded by
the member limit), so a file is refused before any member's data is read. A
member's data is checked against its CRC-32 (of the inflated bytes) when it is
read. Which members may be deflated is the reader's choice (``io`` allows the
history's only).
"""

from __future__ import annotations

import binascii
import errno
import os
import stat
import struct
import zlib
from typing import NamedTuple

MAX_MEMBERS = 10_000
MAX_NAME_BYTES = 255
#: the most bytes all deflated members of one file may inflate to, together: 131,072
#: float64 history values (e.g. 7 series of 18,000 epochs). Writers store the rest.
MAX_INFLATED_BYTES = 2**20
STORED, DEFLATED = 0, 8

_LOCAL = struct.Struct("<4s5H3L2H")  # local file header: 30 bytes, then name and extra
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory entry: 46 bytes, then name, extra
_END = struct.Struct("<4s4H2LH")  # end of central directory record: 22 bytes
_END64 = struct.Struct("<4sQ2H2L4Q")  # ZIP64 end of central directory record: 56 bytes
_LOCATOR64 = struct.Struct("<4sLQL")  # ZIP64 end locator: 20 bytes, just before the end record
_UTF8_NAME = 0x800  # the one flag zipfile sets for us: the name is UTF-8 (not ASCII)
_ZIP64 = 0xFFFFFFFF  # a 32-bit field holding this has its real value in the ZIP64 extra
_MAX_EXTRA = 4 + 3 * 8  # a ZIP64 extra field with sizes and offset


class ModelFileError(ValueError):
    """A file is not a valid chainrule file: damaged, truncated, foreign or malicious."""


class Member(NamedTuple):
    """Where one member's data lies in the file: ``packed`` bytes from ``start``, which
    are its ``size`` bytes of data if ``method`` is ``STORED``, or deflate them."""

    name: str
    start: int
    size: int
    crc: int
    packed: int
    method: int


class Archive:
    """An open archive whose structure has been checked; members are read on demand.

    Use as a context manager: ``with Archive(path) as archive: archive.read(name)``.
    ``members`` maps each name to its ``Member``, in the order of the file.
    """

    def __init__(self, path):
        self._file = _open_regular_file(path)
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            self.members = _check_structure(self._file, self.size)
        except BaseException:
            self._file.close()
            raise

    def read(self, name: str) -> bytearray:
        """The data of member ``name`` (a writable buffer), after checking its CRC-32."""
        member = self.members[name]
        data = bytearray(member.packed)
        self._file.seek(member.start)
        # The layout check proved the bytes are there; a file cut short since then
        # leaves zeros at the end of ``data``, which the CRC tells from the real bytes.
        self._file.readinto(data)
        if member.method == DEFLATED:
            data = _inflate(data, member)
        if binascii.crc32(data) != member.crc:
            raise ModelFileError(f"member {name!r} is damaged (its CRC-32 does not match)")
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _inflate(packed: bytearray, member: Member) -> bytearray:
    """Inflate a raw deflate stream to exactly its declared size, never beyond it."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        # max_length 0 would mean "no limit": a member declaring 0 bytes may give 1, and fail.
        data = inflater.decompress(packed, max(member.size, 1))
        if not inflater.eof and len(data) == member.size:
            # The declared size is reached, and the stream must end here (its end code may
            # be still unread): one more byte would be one too many.
            data += inflater.decompress(inflater.unconsumed_tail, 1)
    except zlib.error as exc:
        raise ModelFileError(f"member {member.name!r} is damaged ({exc})") from None
    if len(data) != member.size or not inflater.eof or inflater.unconsumed_tail \
            or inflater.unused_data:
        raise ModelFileError(f"member {member.name!r} does not inflate to the {member.size} "
                             "bytes it declares")
    return bytearray(data)


def _open_regular_file(path):
    # O_NONBLOCK: opening a FIFO for reading must not wait for a writer to appear.
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        raise ModelFileError("not a chainrule file: not a regular file (a FIFO, a device or "
                             "a socket)")
    return os.fdopen(fd, "rb")


def _check_structure(f, size: int) -> dict[str, Member]:
    if size < _LOCAL.size + _CENTRAL.size + _END.size or _read(f, 0, 4) != b"PK\x03\x04":
        raise ModelFileError("not a chainrule file: it is not a ZIP archive "
                             "(chainrule never reads pickles)")
    count, cd_size, cd_offset, cd_end = _end_record(f, size)
    if not 1 <= count <= MAX_MEMBERS:
        raise ModelFileError(f"the archive declares {count} members; a chainrule file has "
                             f"1 to {MAX_MEMBERS}")
    if cd_offset + cd_size != cd_end:
        raise ModelFileError(f"the central directory ({cd_size} bytes at {cd_offset}) does not "
                             f"end where the end record begins ({cd_end})")
    if not count * _CENTRAL.size <= cd_size <= count * (_CENTRAL.size + MAX_NAME_BYTES
                                                         + _MAX_EXTRA):
        raise ModelFileError(f"a central directory of {cd_size} bytes cannot hold "
                             f"{count} entries")
    entries = _central_entries(_read(f, cd_offset, cd_size), count)
    inflated = sum(size_ for _, _, method, _, size_, _, _ in entries if method == DEFLATED)
    if inflated > MAX_INFLATED_BYTES:
        raise ModelFileError(f"the deflated members declare {inflated} bytes; a chainrule file "
                             f"inflates at most {MAX_INFLATED_BYTES}")
    members: dict[str, Member] = {}
    position = 0
    for name_bytes, flags, method, crc, size_, packed, offset in entries:
        name = _decode_name(name_bytes, flags)
        if name in members:
            raise ModelFileError(f"the archive holds member {name!r} twice")
        if offset != position:
            raise ModelFileError(f"member {name!r} starts at byte {offset}, not where the "
                                 f"previous one ends ({position}): members overlap or leave gaps")
        start = _check_local_header(f, offset, (name_bytes, flags, method, crc, size_, packed))
        position = start + packed
        members[name] = Member(name, start, size_, crc, packed, method)
    if position != cd_offset:
        raise ModelFileError(f"the members end at byte {position}, the central directory "
                             f"begins at {cd_offset}: a member reaches beyond it, or bytes "
                             "are left unexplained")
    return members


def _read(f, offset: int, size: int) -> bytes:
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise ModelFileError(f"the archive is truncated (wanted {size} bytes at {offset})")
    return data


def _end_record(f, size: int) -> tuple[int, int, int, int]:
    """(member count, central directory size and offset, where it must end)."""
    end = size - _END.size
    signature, disk, cd_disk, count_here, count, cd_size, cd_offset, comment = _END.unpack(
        _read(f, end, _END.size))
    if signature != b"PK\x05\x06" or comment:
        raise ModelFileError("the archive does not end with a ZIP end record: it is "
                             "truncated, or other data follows it")
    if disk or cd_disk or count_here != count:
        raise ModelFileError("a multi-disk ZIP archive is not a chainrule file")
    locator_at = end - _LOCATOR64.size
    if _read(f, locator_at, 4) != b"PK\x06\x07":
        return count, cd_size, cd_offset, end
    # ZIP64 (members or archive beyond 2 GiB): the 64-bit record sits before the locator.
    _, disk, record_at, disks = _LOCATOR64.unpack(_read(f, locator_at, _LOCATOR64.size))
    if disk or disks != 1 or record_at != locator_at - _END64.size:
        raise ModelFileError("the ZIP64 locator does not point just before itself")
    (signature, record_size, _, _, disk, cd_disk, count64_here, count64, cd_size64,
     cd_offset64) = _END64.unpack(_read(f, record_at, _END64.size))
    if (signature != b"PK\x06\x06" or record_size != _END64.size - 12 or disk or cd_disk
            or count64_here != count64):
        raise ModelFileError("the ZIP64 end record is damaged or not a single-disk record")
    # The 32-bit fields hold the true values, or the largest value they can hold.
    if (count, cd_size, cd_offset) != (min(count64, 0xFFFF), min(cd_size64, _ZIP64),
                                       min(cd_offset64, _ZIP64)):
        raise ModelFileError("the end record and the ZIP64 end record disagree")
    return count64, cd_size64, cd_offset64, record_at


def _central_entries(directory: bytes, count: int) -> list[tuple]:
    """(name bytes, flags, method, CRC, size, packed size, local header offset) of each
    central entry."""
    entries, pos = [], 0
    for index in range(count):
        if pos + _CENTRAL.size > len(directory):
            raise ModelFileError(f"the central directory ends inside entry {index}")
        (signature, _, _, flags, method, _, _, crc, compressed, size, name_length, extra_length,
         comment_length, disk, _, _, offset) = _CENTRAL.unpack_from(directory, pos)
        if signature != b"PK\x01\x02":
            raise ModelFileError(f"central directory entry {index} is damaged")
        _check_flags(flags, method, f"entry {index}")
        if comment_length or disk or not 0 < name_length <= MAX_NAME_BYTES:
            raise ModelFileError(f"central directory entry {index} has a comment, a disk "
                                 "number or a bad name length")
        pos += _CENTRAL.size
        name, extra = directory[pos:pos + name_length], directory[pos + name_length:
                                                                  pos + name_length + extra_length]
        pos += name_length + extra_length
        if len(extra) != extra_length:
            raise ModelFileError(f"the central directory ends inside entry {index}")
        size, compressed, offset = _zip64_values(extra, (size, compressed, offset),
                                                 f"entry {index}")
        if method == STORED and compressed != size:
            raise ModelFileError(f"central directory entry {index} is stored, but its two "
                                 "sizes differ")
        entries.append((name, flags, method, crc, size, compressed, offset))
    if pos != len(directory):
        raise ModelFileError(f"the central directory holds more than its {count} entries")
    return entries


def _check_local_header(f, offset: int, central: tuple) -> int:
    """Check the local header at ``offset`` against the central entry ``(name, flags,
    method, CRC, size, packed size)``; return where the member's data starts."""
    (signature, _, flags, method, _, _, crc, compressed, size, name_length,
     extra_length) = _LOCAL.unpack(_read(f, offset, _LOCAL.size))
    where = f"member {central[0][:MAX_NAME_BYTES]!r}"
    if signature != b"PK\x03\x04":
        raise ModelFileError(f"{where}: no local header where the central directory says")
    _check_flags(flags, method, where)
    if name_length > MAX_NAME_BYTES or extra_length > _MAX_EXTRA:
        raise ModelFileError(f"{where}: its local header has an oversized name or extra field")
    name = _read(f, offset + _LOCAL.size, name_length)
    extra = _read(f, offset + _LOCAL.size + name_length, extra_length)
    size, compressed = _zip64_values(extra, (size, compressed), where)
    if (name, flags, method, crc, size, compressed) != central:
        raise ModelFileError(f"{where}: its local header disagrees with the central directory "
                             "(name, flags, method, CRC or sizes)")
    return offset + _LOCAL.size + name_length + extra_length


def _check_flags(flags: int, method: int, where: str) -> None:
    if flags & ~_UTF8_NAME or method not in (STORED, DEFLATED):
        raise ModelFileError(f"{where}: encrypted, with a data descriptor or compressed other "
                             f"than by deflate (flags {flags:#06x}, method {method})")


def _zip64_values(extra: bytes, values: tuple, where: str) -> tuple:
    """Replace the 32-bit fields marked 0xFFFFFFFF by their values in the ZIP64 extra field.

    The extra field holds exactly those values, in order, and nothing else.
    """
    marked = [i for i, value in enumerate(values) if value == _ZIP64]
    if not extra:
        if marked:
            raise ModelFileError(f"{where}: a ZIP64 size without its ZIP64 extra field")
        return values
    header_id, length = struct.unpack_from("<HH", extra) if len(extra) >= 4 else (None, None)
    if header_id != 1 or length != len(extra) - 4 or length != 8 * len(marked) or not marked:
        raise ModelFileError(f"{where}: an extra field other than ZIP64's, or a damaged one")
    wide = struct.unpack_from(f"<{len(marked)}Q", extra, 4)
    values = list(values)
    for i, value in zip(marked, wide, strict=True):
        values[i] = value
    return tuple(values)


def _decode_name(name: bytes, flags: int) -> str:
    try:
        return name.decode("utf-8" if flags & _UTF8_NAME else "ascii")
    except UnicodeDecodeError:
        raise ModelFileError(f"member name {name!r} is not valid text") from None
