"""A streaming tar filter: pass an image archive on, minus the members the target has.

Pure: bytes in, bytes out, no I/O. The archive is read one header at a time
and never held: a kept member's bytes go out as they come, a skipped member's
bytes are dropped as they come. What is held at once is one input chunk, the
header blocks of one member (PAX or GNU long-name headers included, at most
`MAX_HEADER_BYTES`) and `manifest.json` (at most `MAX_MANIFEST_BYTES`), so
memory stays flat whatever the image size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from corral.backends.errors import ImageArchiveError

BLOCK = 512
#: Header blocks of one member (its PAX/GNU extensions included) held at most.
MAX_HEADER_BYTES = 1 << 20
#: `manifest.json` is read to check what was skipped; bigger ones are refused.
MAX_MANIFEST_BYTES = 4 << 20
#: Typeflags of headers that describe the member after them, not a member.
_EXTENSIONS = {b"x", b"L", b"K"}


@dataclass
class FilterStats:
    """What went through the filter.

    Attributes:
        bytes_in: Bytes read from the source archive.
        bytes_out: Bytes passed on.
        skipped: Names of the members dropped, in archive order.
        skipped_bytes: Data bytes of the members dropped (without headers).
        kept_layer_bytes: Data bytes of the `layer.tar`/layer blobs passed on.
        manifest: The archive's parsed `manifest.json`, once seen.
    """

    bytes_in: int = 0
    bytes_out: int = 0
    skipped: list[str] = field(default_factory=list)
    skipped_bytes: int = 0
    kept_layer_bytes: int = 0
    manifest: list | None = None


def _octal(field_bytes: bytes, what: str) -> int:
    if field_bytes and field_bytes[0] & 0x80:  # GNU base-256 for sizes past 8 GiB
        return int.from_bytes(field_bytes[1:], "big")
    text = field_bytes.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise ImageArchiveError(f"unreadable tar {what}: {text[:20]!r}") from None


def _cstring(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        if space < 0:
            break
        try:
            length = int(data[position:space])
        except ValueError:
            raise ImageArchiveError("unreadable PAX header in the image archive") from None
        if length <= 0:
            break
        key, _, value = data[space + 1:position + length - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8",
                                                                        "surrogateescape")
        position += length
    return records


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


@dataclass
class _Header:
    """One member's header blocks and what they say."""

    raw: bytearray = field(default_factory=bytearray)
    name: str | None = None
    size: int | None = None


def is_layer_member(name: str) -> bool:
    """Whether an archive member holds a layer's bytes (legacy or OCI layout)."""
    return name.endswith("/layer.tar") or name.startswith("blobs/sha256/")


def filter_archive(
    chunks: Iterable[bytes],
    skip: Callable[[str], bool] | Mapping[str, object],
    stats: FilterStats | None = None,
    on_manifest: Callable[[list], None] | None = None,
) -> Iterator[bytes]:
    """Pass a tar stream on without the members `skip` names.

    Args:
        chunks: The archive, in chunks of any size.
        skip: Member names to drop (a mapping is tested for membership), or a
            predicate on the member name.
        stats: Filled in as bytes go through.
        on_manifest: Called with `manifest.json`'s content once it has been
            read, before any byte after it is passed on; it may raise to stop
            the stream.

    Yields:
        The archive without the skipped members, one chunk per input chunk
        that produced output.

    Raises:
        ImageArchiveError: The stream is not a tar, or ends inside a member.
    """
    drops = skip if callable(skip) else (lambda name: name in skip)
    state = _FilterState(drops, stats if stats is not None else FilterStats(), on_manifest)
    for chunk in chunks:
        if not chunk:
            continue
        out = state.feed(chunk)
        if out:
            state.stats.bytes_out += len(out)
            yield out
    state.finish()


class _FilterState:
    """The filter's position in the archive between two input chunks."""

    def __init__(self, drops: Callable[[str], bool], stats: FilterStats,
                 on_manifest: Callable[[list], None] | None):
        self.drops = drops
        self.stats = stats
        self.on_manifest = on_manifest
        self.block = bytearray()        # a header block being completed
        self.header = _Header()         # the current member's header blocks
        self.remaining = 0              # data bytes (padding included) of the member left
        self.mode = ""                  # "ext" | "keep" | "drop" while remaining
        self.extension = bytearray()    # an extension header's data, while read
        self.extension_type = b""
        self.extension_size = 0
        self.capture: bytearray | None = None   # manifest.json's data, while it goes by
        self.capture_size = 0
        self.layer = False
        self.ended = False

    def feed(self, chunk: bytes) -> bytes:
        self.stats.bytes_in += len(chunk)
        out: list[bytes | memoryview] = []
        view = memoryview(chunk)
        position = 0
        while position < len(view):
            if self.ended:
                out.append(bytes(view[position:]))
                break
            if self.remaining:
                take = min(self.remaining, len(view) - position)
                self._data(view[position:position + take], out)
                position += take
                self.remaining -= take
                if not self.remaining:
                    self._member_done()
                continue
            take = min(BLOCK - len(self.block), len(view) - position)
            self.block += view[position:position + take]
            position += take
            if len(self.block) == BLOCK:
                block = bytes(self.block)
                self.block.clear()
                self._header_block(block, out)
        if len(out) == 1 and isinstance(out[0], memoryview) and len(out[0]) == len(chunk):
            return chunk  # all of it kept as it came (most of a layer): no copy
        return b"".join(out)

    def finish(self) -> None:
        if not self.ended and (self.remaining or self.block or self.header.raw):
            raise ImageArchiveError("the image archive ended inside a member (truncated)")

    def _data(self, piece: memoryview, out: list[bytes | memoryview]) -> None:
        if self.mode == "ext":
            self.header.raw += piece
            self.extension += piece
        elif self.mode == "keep":
            out.append(piece)  # a view of the input chunk: copied once, by the join
            if self.layer:
                self.stats.kept_layer_bytes += len(piece)
            if self.capture is not None:
                self.capture += piece

    def _member_done(self) -> None:
        if self.mode == "ext":
            data = bytes(self.extension[:self.extension_size])
            self.extension.clear()
            if self.extension_type == b"x":
                records = _pax_records(data)
                self.header.name = records.get("path", self.header.name)
                if "size" in records:
                    self.header.size = _pax_size(records["size"])
            elif self.extension_type == b"L":
                self.header.name = _cstring(data)
            return
        if self.capture is not None:
            _read_manifest(bytes(self.capture[:self.capture_size]), self.stats,
                           self.on_manifest)
            self.capture = None

    def _header_block(self, block: bytes, out: list[bytes | memoryview]) -> None:
        if block == bytes(BLOCK) and not self.header.raw:
            # End of archive: the rest (the second zero block, padding) goes as is.
            out.append(block)
            self.ended = True
            return
        self.header.raw += block
        if len(self.header.raw) > MAX_HEADER_BYTES:
            raise ImageArchiveError("a tar header in the image archive is too large")
        _check_sum(block)
        typeflag = block[156:157]
        size = _octal(block[124:136], "size")
        if typeflag in _EXTENSIONS or typeflag == b"g":
            # Its data belongs to the header of the next member: held, bounded.
            if len(self.header.raw) + _padded(size) > MAX_HEADER_BYTES:
                raise ImageArchiveError("a tar extension header in the image archive is too large")
            self.mode, self.extension_type, self.extension_size = "ext", typeflag, size
            self.remaining = _padded(size)
            if typeflag == b"g":
                # A global header is a member of its own: passed on as it is.
                self.mode = "keep"
                out.append(bytes(self.header.raw))
                self.header = _Header()
                self.layer = False
            elif not self.remaining:
                self._member_done()
            return
        name = self.header.name or _member_name(block)
        if self.header.size is not None:
            size = self.header.size
        if typeflag in (b"1", b"2", b"3", b"4", b"5", b"6"):
            size = 0  # links, devices, directories, FIFOs carry no data
        regular = typeflag in (b"0", b"\0", b"7")
        self.mode = "drop" if regular and self.drops(name) else "keep"
        self.layer = is_layer_member(name)
        self.remaining = _padded(size)
        if self.mode == "keep":
            out.append(bytes(self.header.raw))
            if name == "manifest.json":
                if size > MAX_MANIFEST_BYTES:
                    raise ImageArchiveError("the image archive's manifest.json is too large")
                self.capture, self.capture_size = bytearray(), size
        else:
            self.stats.skipped.append(name)
            self.stats.skipped_bytes += size
        self.header = _Header()
        if not self.remaining:
            self._member_done()


def _member_name(block: bytes) -> str:
    name = _cstring(block[0:100])
    if block[257:263] == b"ustar\0":  # POSIX ustar: a prefix holds the leading directories
        prefix = _cstring(block[345:500])
        if prefix:
            name = f"{prefix}/{name}"
    return name


def _check_sum(block: bytes) -> None:
    try:
        stored = _octal(block[148:156], "checksum")
    except ImageArchiveError:
        stored = -1
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    signed = unsigned - 256 * sum(1 for byte in block if byte > 127)  # old tars sum signed
    if stored not in (unsigned, signed):
        raise ImageArchiveError("the image archive is not a tar (bad header checksum)")


def _pax_size(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ImageArchiveError(f"unreadable PAX size {text[:20]!r} in the image archive") from None


def _read_manifest(data: bytes, stats: FilterStats,
                   on_manifest: Callable[[list], None] | None) -> None:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise ImageArchiveError("the image archive's manifest.json is not JSON") from None
    if not isinstance(manifest, list):
        raise ImageArchiveError("the image archive's manifest.json is not a list")
    stats.manifest = manifest
    if on_manifest is not None:
        on_manifest(manifest)
