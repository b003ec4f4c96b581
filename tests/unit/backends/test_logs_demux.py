"""Decoding the engine's logs body: chunks, frames, TTY bytes, timestamps."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from corral.backends.engine.events import since_param
from corral.backends.logs.demux import (
    FRAGMENT,
    NOTICE,
    STDERR,
    STDOUT,
    ChunkedBody,
    LineDecoder,
    MessageDecoder,
    TimestampParser,
    format_rfc3339_ns,
    parse_rfc3339_ns,
)

TS = "2026-11-25T17:22:07.334873885Z"
TS_NS = parse_rfc3339_ns(TS)


def chunked(*payloads: bytes, end: bool = True) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in payloads)
    return body + (b"0\r\n\r\n" if end else b"")


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def feed_in_pieces(decoder, data: bytes, cuts: list[int]) -> list:
    out, last = [], 0
    for cut in sorted(set(cuts)) + [len(data)]:
        out.extend(decoder.feed(data[last:cut]) or [])
        last = cut
    return out


def test_chunked_body_ends_on_the_zero_chunk() -> None:
    body = ChunkedBody()
    assert body.feed(chunked(b"hello ", b"world", end=False)) == b"hello world"
    assert not body.done
    assert body.feed(b"0\r\n\r\n") == b""
    assert body.done


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8), st.lists(st.integers(0, 400)))
def test_chunked_body_survives_any_split(payloads: list[bytes], cuts: list[int]) -> None:
    data = chunked(*payloads)
    body = ChunkedBody()
    out, last = b"", 0
    for cut in sorted({c for c in cuts if c < len(data)}) + [len(data)]:
        out += body.feed(data[last:cut])
        last = cut
    assert out == b"".join(payloads)
    assert body.done


def test_frames_keep_stdout_and_stderr_apart() -> None:
    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"more")
    assert MessageDecoder(tty=False).feed(data) == [
        (STDOUT, b"out\n"), (STDERR, b"err\n"), (STDOUT, b"more"),
    ]


def test_tty_output_is_split_on_newlines() -> None:
    decoder = MessageDecoder(tty=True)
    assert decoder.feed(b"a\r\nb") == [(STDOUT, b"a\r")]
    assert decoder.feed(b"\n") == [(STDOUT, b"b")]


def test_timestamps_fast_path_and_other_forms() -> None:
    parser = TimestampParser()
    assert parser.split(f"{TS} hello".encode()) == (TS_NS, b"hello")
    assert TS_NS == 1795627327334873885
    assert parse_rfc3339_ns("2026-11-25T18:22:07.5+01:00") == 1795627327500000000
    assert parse_rfc3339_ns("2026-11-25T17:22:07Z") == 1795627327000000000
    assert parse_rfc3339_ns("yesterday") is None
    assert parser.split(b"no timestamp here") == (0, b"no timestamp here")
    assert format_rfc3339_ns(TS_NS) == TS
    assert since_param(TS_NS) == "1795627327.334873885"


@given(st.lists(st.integers(0, 2000), max_size=12))
def test_line_decoder_end_to_end_any_split(cuts: list[int]) -> None:
    messages = [
        (1, f"{TS} first line\n"), (2, f"{TS} an error\n"), (1, f"{TS} ünïcode ✓\n"),
        (1, f"{TS} crlf\r\n"), (2, f"{TS} partial"),
    ]
    payload = b"".join(frame(s, m.encode()) for s, m in messages)
    data = chunked(payload[:10], payload[10:77], payload[77:])
    decoder = LineDecoder(source=3, tty=False)
    lines = feed_in_pieces(decoder, data, [c for c in cuts if c < len(data)])
    assert decoder.done
    assert [(ln.source, ln.stream, ln.text) for ln in lines] == [
        (3, STDOUT, "first line"), (3, STDERR, "an error"), (3, STDOUT, "ünïcode ✓"),
        (3, STDOUT, "crlf"), (3, STDERR, "partial"),
    ]
    assert {ln.ts for ln in lines} == {TS_NS}
    assert NOTICE not in {ln.stream for ln in lines}


def test_a_long_line_split_by_the_engine_comes_out_whole() -> None:
    # The engine stores a 40 KB line as 16 KB pieces, each a message with the
    # same timestamp; only the last ends with a newline (as measured on 20.10).
    line = bytes(range(65, 91)) * 1600  # 41,600 bytes
    pieces = [line[i : i + FRAGMENT] for i in range(0, len(line), FRAGMENT)]
    messages = [frame(1, f"{TS} before\n".encode())]
    messages += [frame(1, TS.encode() + b" " + piece) for piece in pieces[:-1]]
    messages.append(frame(2, f"{TS} an error between the pieces\n".encode()))
    messages.append(frame(1, TS.encode() + b" " + pieces[-1] + b"\n"))
    messages.append(frame(1, f"{TS} after\n".encode()))
    decoder = LineDecoder(source=0, tty=False)
    lines = feed_in_pieces(decoder, chunked(b"".join(messages)), [5000, 20000, 33000])
    assert [(ln.stream, len(ln.text)) for ln in lines] == [
        (STDOUT, 6), (STDERR, 27), (STDOUT, len(line)), (STDOUT, 5)]
    assert lines[2].text == line.decode() and lines[2].ts == TS_NS


def test_a_long_tty_line_loses_the_timestamps_between_its_pieces() -> None:
    line = b"x" * (2 * FRAGMENT + 100)
    stamped = b"".join(
        TS.encode() + b" " + line[i : i + FRAGMENT] for i in range(0, len(line), FRAGMENT))
    data = chunked(stamped + b"\r\n" + f"{TS} next\r\n".encode())
    lines = LineDecoder(source=0, tty=True).feed(data)
    assert [ln.text for ln in lines] == [line.decode(), "next"]


def test_a_line_ended_by_the_stream_is_not_lost_and_bytes_survive() -> None:
    data = chunked(frame(1, TS.encode() + b" " + b"y" * FRAGMENT),
                   frame(1, f"{TS} bad \xff byte\n".encode("latin-1")))
    decoder = LineDecoder(source=0, tty=False)
    piece_only = chunked(frame(1, TS.encode() + b" " + b"y" * FRAGMENT))
    assert [len(ln.text) for ln in decoder.feed(piece_only)] == [FRAGMENT]
    whole = LineDecoder(source=0, tty=False).feed(data)
    assert whole[0].text.endswith("bad \udcff byte")
    assert whole[0].text.encode("utf-8", "surrogateescape").endswith(b"bad \xff byte")
