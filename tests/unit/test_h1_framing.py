"""How strictly the pool's parser (``_http.h1_parser._Parser``) reads an answer's framing.

The reference is h11: a property test feeds the same bytes, split at random points, to the
parser and to an h11 client connection that has sent a request, and asserts the same
verdict (the same status, headers and body, or both refuse) and that the parser lets a
connection be reused only where h11 would. Named cases pin down the attacks that motivate
the strictness (a header hidden behind a bare LF, bytes no header may hold).
"""

from __future__ import annotations

import h11
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from globus_runs._http import pool_errors as errors
from globus_runs._http.h1_parser import _MAX_LINE, _Parser

# Verdicts: ("answer", status, headers, body, reusable) or ("refused",).
Verdict = tuple[object, ...]


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return [piece for piece in pieces if piece]


def normalized(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers as h11 reports them: Content-Length reduced to one value, codings lower-cased."""
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            value = {item.strip() for item in value.split(b",")}.pop()
        elif lower == b"transfer-encoding":
            value = value.lower()
        out.append((name, value))
    return out


def ours(data: bytes, cuts: list[int], method: bytes = b"GET") -> Verdict:
    parser = _Parser(method)
    try:
        for piece in split_at(data, cuts):
            if parser.feed(piece):
                status, headers, body = parser.answer()
                return ("answer", status, normalized(headers), body, parser.reusable)
        status, headers, body = parser.at_eof()
        return ("answer", status, normalized(headers), body, False)
    except errors.RemoteProtocolError:
        return ("refused",)


def reference(data: bytes, cuts: list[int], method: bytes = b"GET") -> Verdict:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=10**9)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "example.org")]))
    conn.send(h11.EndOfMessage())
    status, headers, body = 0, [], bytearray()
    pieces = [*split_at(data, cuts), b""]  # b"": the server closes after its bytes
    try:
        for piece in pieces:
            conn.receive_data(piece)
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
                if isinstance(event, h11.Response):
                    status, headers = event.status_code, list(event.headers.raw_items())
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    # h11 reuses a connection when both sides are done with the cycle, and no
                    # EOF came with the answer (read-until-close bodies end at the close).
                    reusable = conn.our_state is h11.DONE and conn.their_state is h11.DONE
                    return ("answer", status, headers, bytes(body), reusable and piece != b"")
                elif isinstance(event, h11.ConnectionClosed):
                    return ("refused",)
    except h11.ProtocolError:
        return ("refused",)
    return ("refused",)


def same_verdict(data: bytes, cuts: list[int], method: bytes = b"GET") -> None:
    mine, theirs = ours(data, cuts, method), reference(data, cuts, method)
    if mine[0] == "answer" and theirs[0] == "answer":
        assert mine[:4] == theirs[:4]
        assert not mine[4] or theirs[4], "reused where h11 would not"
    else:
        assert mine[0] == theirs[0] == "refused", (mine, theirs)


# Strategies: well-formed answers of every framing, then a few bytes changed (hostile bytes
# inserted or swapped in, bytes dropped), so both sides of every rule are exercised.

_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzXYZ0123456789-!#$%&'*+.^_`|~", min_size=1, max_size=8
).map(str.encode)
_VALUE = st.text(alphabet="abcxyz019 \t,;=/\x01\x7f\xe9", max_size=10).map(
    lambda text: text.encode("latin-1").strip(b" \t")
)
_EOL = st.sampled_from([b"\r\n"] * 6 + [b"\n"])
_HOSTILE = st.sampled_from(
    [
        b"\x00",
        b"\r",
        b"\n",
        b"\x0b",
        b"\x0c",
        b" ",
        b"\t",
        b":",
        b"(",
        b",",
        b";",
        b"\r\n",
        b"\n\n",
        b"0",
        b"9",
        b"a",
        b"\xff",
        b"\x01",
    ]
)


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from([200, 200, 201, 204, 304, 404, 500, 103, 100]))
    interim = b""
    if draw(st.integers(0, 5)) == 0:
        interim = b"HTTP/1.1 100 Continue" + draw(_EOL) + draw(_EOL)
    version = draw(st.sampled_from([b"1.1"] * 5 + [b"1.0", b"1.2"]))
    reason = draw(st.sampled_from([b" OK", b"", b" ", b" Not \xe9 Found"]))
    headers: list[bytes] = []
    body = draw(st.binary(max_size=12))
    framing = draw(st.sampled_from(["length", "length", "chunked", "close", "both"]))
    if framing in ("length", "both"):
        length = b"%d" % len(body)
        headers.append(
            b"Content-Length: " + draw(st.sampled_from([length, length + b", " + length]))
        )
    if framing in ("chunked", "both"):
        headers.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"Chunked"])))
        chunked = b""
        rest = body
        while rest:
            size = draw(st.integers(1, len(rest)))
            ext = draw(st.sampled_from([b"", b"", b";a=b", b" ", b';q="x"']))
            chunked += b"%x" % size + ext + b"\r\n" + rest[:size] + b"\r\n"
            rest = rest[size:]
        chunked += b"0\r\n"
        if draw(st.booleans()):
            chunked += draw(_TOKEN) + b": " + draw(_VALUE) + draw(_EOL)
        body = chunked + draw(_EOL)
    if draw(st.booleans()):
        headers.append(
            b"Connection: " + draw(st.sampled_from([b"close", b"keep-alive", b"x, Close"]))
        )
    for _ in range(draw(st.integers(0, 3))):
        headers.append(
            draw(_TOKEN) + b":" + draw(st.sampled_from([b" ", b"", b"\t"])) + draw(_VALUE)
        )
    if draw(st.integers(0, 6)) == 0:
        headers.append(draw(st.sampled_from([b" folded", b"\tfolded too"])))
    order = draw(st.permutations(headers))
    head = b"HTTP/" + version + b" %d" % status + reason + draw(_EOL)
    head += b"".join(line + draw(_EOL) for line in order) + draw(_EOL)
    data = bytearray(interim + head + body)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "replace", "delete"]))
        if action == "delete":
            del data[at : at + 1]
        elif action == "insert":
            data[at:at] = draw(_HOSTILE)
        else:
            data[at : at + 1] = draw(_HOSTILE)
    return bytes(data)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=answers(),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    method=st.sampled_from([b"GET", b"GET", b"HEAD"]),
)
@example(
    data=b"HTTP/1.1 200 OK\r\nX-A: a\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    cuts=[],
    method=b"GET",
)
def test_the_parser_reaches_the_verdict_h11_reaches(
    data: bytes, cuts: list[int], method: bytes
) -> None:
    same_verdict(data, cuts, method)


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(b"", id="from-the-status-line"),
        pytest.param(b"HTTP/1.1 200 OK\r\n", id="in-the-headers"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", id="in-chunks"),
    ],
)
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80), cuts=st.lists(st.integers(0, 100), max_size=4))
def test_arbitrary_bytes_reach_the_verdict_h11_reaches(
    start: bytes, data: bytes, cuts: list[int]
) -> None:
    same_verdict(start + data, cuts)


# Named cases.


def parse(data: bytes, method: bytes = b"GET") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    parser = _Parser(method)
    if parser.feed(data):
        return parser.answer()
    return parser.at_eof()


def test_a_bare_lf_inside_a_value_does_not_hide_the_transfer_encoding_after_it() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-Note: a\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
    )
    status, headers, body = parse(data)
    assert (status, body) == (200, b"hi")
    assert (b"Transfer-Encoding", b"chunked") in headers
    assert (b"X-Note", b"a") in headers


def test_a_bare_lf_inside_a_value_does_not_hide_a_content_length_after_it() -> None:
    status, headers, body = parse(b"HTTP/1.1 200 OK\r\nX-Note: a\nContent-Length: 2\r\n\r\nhi")
    assert (status, body) == (200, b"hi")
    assert (b"Content-Length", b"2") in headers


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"X-A\x00: 1", id="nul-in-name"),
        pytest.param(b"X-A\r: 1", id="cr-in-name"),
        pytest.param(b"X-A\x0b: 1", id="vt-in-name"),
        pytest.param(b"X A: 1", id="space-in-name"),
        pytest.param(b"X(A): 1", id="non-token-in-name"),
        pytest.param(b"X-A : 1", id="space-before-colon"),
        pytest.param(b": 1", id="empty-name"),
        pytest.param(b"X-A: 1\x002", id="nul-in-value"),
        pytest.param(b"X-A: 1\r2", id="cr-in-value"),
        pytest.param(b"X-A: 1\x0b2", id="vt-in-value"),
        pytest.param(b"X-A: 1\x0c2", id="ff-in-value"),
    ],
)
def test_bytes_no_header_may_hold_are_refused(line: bytes) -> None:
    with pytest.raises(errors.RemoteProtocolError, match="header"):
        parse(b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("status", [b"000", b"099", b"42 ", b"2000"])
def test_status_codes_below_100_or_not_three_digits_are_refused(status: bytes) -> None:
    with pytest.raises(errors.RemoteProtocolError, match="status"):
        parse(b"HTTP/1.1 " + status + b" X\r\nContent-Length: 0\r\n\r\n")


def test_a_folded_line_joins_the_previous_value_with_one_space() -> None:
    _, headers, _ = parse(b"HTTP/1.1 200 OK\r\nX: a \r\n \t b\r\nContent-Length: 0\r\n\r\n")
    assert headers[0] == (b"X", b"a  b")


@pytest.mark.parametrize("pieces", [1, 7, 1000])
def test_the_chunk_line_limit_holds_whatever_the_read_boundaries(pieces: int) -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2;" + b"x" * (_MAX_LINE + 10) + b"\r\nhi\r\n0\r\n\r\n"
    )
    parser = _Parser(b"GET")
    step = -(-len(data) // pieces)
    with pytest.raises(errors.RemoteProtocolError, match="chunk size line is too long"):
        for start in range(0, len(data), step):
            parser.feed(data[start : start + step])


def test_a_chunk_line_within_the_limit_is_read_in_one_piece_or_many() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2;" + b"x" * (_MAX_LINE - 10) + b"\r\nhi\r\n0\r\n\r\n"
    )
    for step in (1, 5, len(data)):
        parser = _Parser(b"GET")
        done = False
        for start in range(0, len(data), step):
            done = parser.feed(data[start : start + step])
        assert done
        assert parser.answer()[2] == b"hi"


def test_an_http_1_0_answer_is_never_reused_even_with_keep_alive() -> None:
    parser = _Parser(b"GET")
    assert parser.feed(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    assert not parser.reusable
