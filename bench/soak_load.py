#!/usr/bin/env python3
"""The load and the checks of bench/soak.sh (issue 11: hold the open endpoint). Python 3 standard library only.

  soak_load.py free-ports N
      Prints N TCP ports of 127.0.0.1 that were free a moment ago.
  soak_load.py run --port=P --ops-port=P --server-ops-port=P --server-pid=PID --gateway-pid=PID --duration=S
                   --out=FILE [--phase=main|cap] [--cap=N] [--flood-procs=N] [--flood-connections=N]
                   [--slow-connections=N] [--valid-rate=R] [--valid-connections=N] [--valid-source=IP]
                   [--read-timeout-ms=MS] [--warmup=S] [--server-growth-mib=M] [--gateway-growth-mib=M]
      One phase of the soak against a running gateway: flood processes from 127.0.0.1 (malformed, oversized,
      smuggling-like, slow and over-limit requests, each checked against the answers the spec allows it), a steady
      stream of valid registrations from --valid-source, and a sampler of both processes' VmRSS and open descriptors
      and of the gateway's open connections, once a second. Prints the phase's tables and checks, writes them as JSON
      to --out, and exits 0 only if every check passed.
  soak_load.py logs NAME=FILE...
      Counts the JSON log lines of each file by level, and the warning and error lines by event.

Every socket operation has a deadline, so a phase outlives --duration by the longest one at most (a slow reader: 12 s
of silence, then up to the gateway's 10 s write timeout to be closed), and `run` gives up on a worker after that.
"""

import argparse
import asyncio
import collections
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import sys
import time

CONNECT_TIMEOUT_S = 5.0
# A registration passes the gateway's RPC queue and a 5 s RPC deadline: anything slower than this is a hang.
REQUEST_TIMEOUT_S = 15.0
# After a response that says Connection: close, the gateway half-closes at once.
EOF_TIMEOUT_S = 5.0
# Slow clients must be closed by the gateway within its read (or idle) timeout plus this margin.
SLOW_MARGIN_S = 10.0
SLOW_BYTE_INTERVAL_S = 0.5
# HttpServerOptions::write_timeout, not configurable.
GATEWAY_WRITE_TIMEOUT_S = 10.0
SLOW_READER_REQUESTS = 200

# Outcomes that are not an HTTP status.
CLOSED = "closed"  # the gateway closed the connection before answering
ABORTED = "aborted"  # the client reset the connection on purpose
RESET = "reset"  # the gateway reset the connection
TIMEOUT = "timeout"  # no answer and no close within the deadline: a hang
CONNECT_ERROR = "connect_error"
CLIENT_PORTS = "client_ports_exhausted"  # EADDRNOTAVAIL on connect: this host, not the gateway
EXTRA_DATA = "extra_data"  # bytes after a response that closed the connection: a second, smuggled answer
CAP = "503cap"  # the documented max_dynamic_clients answer


class BadResponse(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Requests


def raw(method, target, headers, body=b"", version=b"HTTP/1.1"):
    lines = [b"%s %s %s" % (method, target, version)]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def registration_body(name):
    return json.dumps({
        "redirect_uris": ["https://soak.example.net/oauth/callback"],
        "client_name": name,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "contacts": ["soak@example.net"],
    }, separators=(",", ":")).encode()


def post_json(host, body, content_type=b"application/json", extra=()):
    headers = [(b"Host", host), (b"Content-Type", content_type), (b"Content-Length", b"%d" % len(body))]
    return raw(b"POST", b"/oauth/register", headers + list(extra), body)


def chunked(data, size):
    out = b""
    for start in range(0, len(data), size):
        piece = data[start:start + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


class Variant:
    """One request shape: `build(ctx)` returns the bytes to send; `expect` the outcomes the spec allows."""

    def __init__(self, kind, name, build, expect, mode="one", weight=1, reaches_register=False):
        self.kind = kind
        self.name = name
        self.build = build
        self.expect = frozenset(expect)
        self.mode = mode
        self.weight = weight
        # Whether it reaches the server's Register, and so its rate limits and then its client cap.
        self.reaches_register = reaches_register


def fast_variants():
    """The flood's request shapes. Expected answers follow spec.md §8-9, README "Rate limits and the client cap" and
    docs/style.md "HTTP framing on Beast 1.74"."""
    v = []
    reg = lambda ctx: post_json(ctx.host, registration_body(ctx.name()))

    def add(kind, name, build, expect, **kw):
        v.append(Variant(kind, name, build, expect, **kw))

    # Valid registrations from the flood's address: its per-IP bucket (burst 20, 60 a minute) is soon spent, so 429
    # with Retry-After; several per keep-alive connection.
    add("over_limit", "valid registration", reg, {"201", "429"}, mode="keepalive", weight=8, reaches_register=True)

    # Well-formed JSON whose metadata the server refuses (rate limits first: mostly 429 once the bucket is spent).
    def bad_metadata(body):
        return lambda ctx: post_json(ctx.host, json.dumps(body).encode())

    for name, body in [
        ("redirect with fragment", {"redirect_uris": ["https://a.example/cb#frag"]}),
        ("javascript: redirect", {"redirect_uris": ["javascript:alert(1)"]}),
        ("relative redirect", {"redirect_uris": ["/cb"]}),
        ("50 redirect uris", {"redirect_uris": ["https://a.example/cb/%d" % i for i in range(50)]}),
        ("5000-byte client_name", {"redirect_uris": ["https://a.example/cb"], "client_name": "n" * 5000}),
        ("grant implicit", {"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]}),
        ("auth method client_secret_jwt", {"redirect_uris": ["https://a.example/cb"],
                                           "token_endpoint_auth_method": "client_secret_jwt"}),
    ]:
        add("invalid_metadata", name, bad_metadata(body), {"400", "429"}, weight=1, reaches_register=True)

    # Bodies the gateway refuses before any RPC (simdjson and the field mapper).
    def body_of(data):
        return lambda ctx: post_json(ctx.host, data)

    for name, data in [
        ("truncated", b'{"redirect_uris":['),
        ("single quotes", b"{'redirect_uris':['https://a.example/cb']}"),
        ("trailing comma", b'{"redirect_uris":["https://a.example/cb"],}'),
        ("bytes after the value", b'{"redirect_uris":["https://a.example/cb"]} x'),
        ("leading zero", b'{"redirect_uris":["https://a.example/cb"],"x":01}'),
        ("1e400", b'{"redirect_uris":["https://a.example/cb"],"x":1e400}'),
        ("invalid UTF-8", b'{"redirect_uris":["https://a.example/cb"],"client_name":"\xff\xfe"}'),
        ("lone surrogate", b'{"redirect_uris":["https://a.example/cb"],"client_name":"\\ud800"}'),
        ("raw control character", b'{"redirect_uris":["https://a.example/cb"],"client_name":"a\x01b"}'),
        ("array at the root", b'[{"redirect_uris":["https://a.example/cb"]}]'),
        ("null at the root", b"null"),
        ("empty body", b""),
        ("duplicate member", b'{"redirect_uris":["https://a.example/cb"],"redirect_uris":["https://b.example/cb"]}'),
        ("redirect_uris a string", b'{"redirect_uris":"https://a.example/cb"}'),
        ("client_name a number", b'{"redirect_uris":["https://a.example/cb"],"client_name":7}'),
        ("nested 200 deep", b'{"redirect_uris":["https://a.example/cb"],"x":' + b"[" * 200 + b"]" * 200 + b"}"),
    ]:
        add("bad_json", name, body_of(data), {"400"}, weight=1)

    for name, content_type in [("text/plain", b"text/plain"), ("form", b"application/x-www-form-urlencoded"),
                               ("json-ish", b"application/jsonx")]:
        add("content_type", name,
            (lambda ct: lambda ctx: post_json(ctx.host, registration_body(ctx.name()), content_type=ct))(content_type),
            {"415"}, weight=1)
    add("content_type", "none",
        lambda ctx: raw(b"POST", b"/oauth/register", [(b"Host", ctx.host), (b"Content-Length", b"2")], b"{}"),
        {"415"})

    # Request lines and headers Beast cannot parse: 400 with a JSON body, then close.
    for name, build in [
        ("TLS ClientHello", lambda ctx: bytes.fromhex("160301020001000001fc0303") + os.urandom(64) + b"\r\n\r\n"),
        ("random bytes", lambda ctx: os.urandom(256) + b"\r\n\r\n"),
        ("NUL bytes", lambda ctx: b"\x00" * 64 + b"\r\n\r\n"),
        ("HTTP/9.9", lambda ctx: raw(b"GET", b"/", [(b"Host", ctx.host)], version=b"HTTP/9.9")),
        ("space in method", lambda ctx: raw(b"GE T", b"/", [(b"Host", ctx.host)])),
        ("bare LF", lambda ctx: b"POST /oauth/register HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}"),
        ("space before colon", lambda ctx: raw(b"POST", b"/oauth/register",
                                               [(b"Host", ctx.host), (b"Content-Length ", b"2")], b"{}")),
        ("NUL in a header", lambda ctx: raw(b"GET", b"/healthz", [(b"Host", ctx.host), (b"X-A", b"a\x00b")])),
    ]:
        add("garbage", name, build, {"400"}, weight=1)

    # Framing that could be read two ways (docs/style.md "HTTP framing on Beast 1.74"): 400 and close.
    body = b'{"redirect_uris":["https://a.example/cb"]}'
    host = lambda ctx: (b"Host", ctx.host)
    ct = (b"Content-Type", b"application/json")
    for name, headers_of, payload in [
        ("Content-Length then Transfer-Encoding",
         lambda ctx: [host(ctx), ct, (b"Content-Length", b"%d" % len(body)), (b"Transfer-Encoding", b"chunked")],
         chunked(body, 16)),
        ("Transfer-Encoding then Content-Length",
         lambda ctx: [host(ctx), ct, (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"%d" % len(body))],
         chunked(body, 16)),
        ("Transfer-Encoding gzip", lambda ctx: [host(ctx), ct, (b"Transfer-Encoding", b"gzip")], body),
        ("chunked twice", lambda ctx: [host(ctx), ct, (b"Transfer-Encoding", b"chunked, chunked")], chunked(body, 16)),
        ("chunked then gzip", lambda ctx: [host(ctx), ct, (b"Transfer-Encoding", b"chunked, gzip")], chunked(body, 16)),
        ("two Content-Length", lambda ctx: [host(ctx), ct, (b"Content-Length", b"%d" % len(body)),
                                            (b"Content-Length", b"%d" % (len(body) + 1))], body),
        ("two equal Content-Length", lambda ctx: [host(ctx), ct, (b"Content-Length", b"%d" % len(body)),
                                                  (b"Content-Length", b"%d" % len(body))], body),
        ("Content-Length list", lambda ctx: [host(ctx), ct, (b"Content-Length", b"%d, %d" % (len(body), len(body)))],
         body),
        ("Content-Length +N", lambda ctx: [host(ctx), ct, (b"Content-Length", b"+%d" % len(body))], body),
        ("obs-fold", lambda ctx: [host(ctx), ct, (b"Content-Length", b"%d" % len(body)), (b"X-Folded", b"a\r\n b")],
         body),
        ("no Host", lambda ctx: [ct, (b"Content-Length", b"%d" % len(body))], body),
        ("two Host", lambda ctx: [host(ctx), host(ctx), ct, (b"Content-Length", b"%d" % len(body))], body),
        ("two Content-Type", lambda ctx: [host(ctx), ct, ct, (b"Content-Length", b"%d" % len(body))], body),
        ("bad chunk size", lambda ctx: [host(ctx), ct, (b"Transfer-Encoding", b"chunked")], b"zz\r\n{}\r\n0\r\n\r\n"),
    ]:
        add("framing", name, (lambda h, p: lambda ctx: raw(b"POST", b"/oauth/register", h(ctx), p))(headers_of, payload),
            {"400"}, weight=1)
    add("framing", "HTTP/1.0 chunked",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Transfer-Encoding", b"chunked")],
                        chunked(body, 16), version=b"HTTP/1.0"), {"400"})
    # RFC 9112 §6.1: a transfer coding the server does not implement, before chunked, SHOULD get 501. The one 5xx
    # the soak allows besides the cap's 503 (bench/README.md says why).
    add("unknown_coding", "gzip, chunked",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Transfer-Encoding", b"gzip, chunked")],
                        chunked(body, 16)), {"501"})
    add("length_required", "POST without a length",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct]), {"411"})

    # A second request behind one whose framing is refused must never be answered.
    smuggled = raw(b"GET", b"/smuggled", [(b"Host", b"x")])
    add("smuggling", "CL.TE + pipelined GET",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Content-Length", b"4"),
                                                      (b"Transfer-Encoding", b"chunked")], b"0\r\n\r\n") + smuggled,
        {"400"})
    add("smuggling", "TE gzip + pipelined GET",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Transfer-Encoding", b"gzip")]) + smuggled,
        {"400"})
    add("smuggling", "obs-fold + pipelined GET",
        lambda ctx: raw(b"GET", b"/healthz", [host(ctx), (b"X-Folded", b"a\r\n\tTransfer-Encoding: chunked")])
        + smuggled, {"400"})

    # Over the gateway's limits (body 64 KiB, header 8 KiB).
    # Refused from the header; the gateway reads and drops the rest before it closes (so no reset eats the answer).
    add("oversized", "Content-Length 1 MB, all sent",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Content-Length", b"1000000")],
                        b"x" * 1000000), {"413"})
    add("oversized", "Content-Length 1 MB, 64 KiB sent",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Content-Length", b"1000000")],
                        b"x" * 65536), {"413"})
    add("oversized", "Content-Length 65537",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Content-Length", b"65537")],
                        b"{" + b" " * 65535 + b"}"), {"413"})
    add("oversized", "chunked 80 KiB",
        lambda ctx: raw(b"POST", b"/oauth/register", [host(ctx), ct, (b"Transfer-Encoding", b"chunked")],
                        chunked(b"[" + b" " * (80 * 1024 - 2) + b"]", 8192)), {"413"}, weight=2)
    add("oversized", "16 KiB header field",
        lambda ctx: raw(b"GET", b"/healthz", [host(ctx), (b"X-Big", b"a" * 16384)]), {"431"})
    add("oversized", "1 MiB header field",
        lambda ctx: raw(b"GET", b"/healthz", [host(ctx), (b"X-Big", b"a" * (1 << 20))]), {"431"})
    add("oversized", "400 header fields",
        lambda ctx: raw(b"GET", b"/healthz", [host(ctx)] + [(b"X-H%d" % i, b"v" * 20) for i in range(400)]),
        {"431"})
    add("oversized", "10 KiB target",
        lambda ctx: raw(b"GET", b"/oauth/register?" + b"a" * 10240, [host(ctx)]), {"414", "431"})

    # Routes and methods.
    add("routes", "unknown path", lambda ctx: raw(b"GET", b"/nope", [host(ctx)]), {"404"})
    add("routes", "GET /oauth/register", lambda ctx: raw(b"GET", b"/oauth/register", [host(ctx)]), {"405"})
    add("routes", "DELETE /oauth/register", lambda ctx: raw(b"DELETE", b"/oauth/register", [host(ctx)]), {"405"})
    add("routes", "wrong registration token",
        lambda ctx: raw(b"GET", b"/oauth/register/" + ctx.name().replace(" ", "-").encode(),
                        [host(ctx), (b"Authorization", b"Bearer not-a-token")]), {"401", "429"})
    add("routes", "8 pipelined /healthz",
        lambda ctx: raw(b"GET", b"/healthz", [host(ctx)]) * 7
        + raw(b"GET", b"/healthz", [host(ctx), (b"Connection", b"close")]), {"200"}, mode="pipelined")
    return v


def slow_variants():
    return [
        # Slowloris: the header a byte at a time; the gateway closes after read_timeout (no 408 can be written, the
        # timeout has closed the socket).
        Variant("slow", "header a byte per 0.5 s", None, {CLOSED}, mode="slow_header", weight=2),
        Variant("slow", "body a byte per 0.5 s", None, {CLOSED}, mode="slow_body", weight=2),
        Variant("slow", "connect, send nothing", None, {CLOSED}, mode="idle"),
        Variant("slow", "half a header, then RST", None, {ABORTED}, mode="abort", weight=2),
        # 200 pipelined GET /openapi.json (48 KB each) and no read: the gateway's write stalls once the socket
        # buffers are full, and its write timeout (10 s) must end the connection.
        Variant("slow", "200 pipelined /openapi.json, never read", None, {CLOSED}, mode="slow_reader"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Responses


async def read_response(reader, deadline):
    """The next response, or None if the connection closed before its first byte."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), max(0.01, deadline - time.monotonic()))
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise BadResponse("closed inside a response header: %r" % e.partial[:80])
    except asyncio.LimitOverrunError:
        raise BadResponse("response header over 64 KiB")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise BadResponse("bad status line %r" % lines[0][:80])
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise BadResponse("unexpected Transfer-Encoding in a response")
    length = int(headers.get("content-length", "0"))
    try:
        body = await asyncio.wait_for(reader.readexactly(length), max(0.01, deadline - time.monotonic()))
    except asyncio.IncompleteReadError:
        raise BadResponse("closed inside a response body")
    return int(parts[1]), headers, body


def classify(status, headers, body):
    """The outcome key of a response; a key ending in '!' plus a reason marks an answer that breaks the spec."""
    key = str(status)
    if status == 201:
        try:
            info = json.loads(body)
            if not info.get("client_id") or "registration_access_token" not in info:
                return key + "!incomplete registration"
        except ValueError:
            return key + "!body not JSON"
        return key
    if status < 400:
        return key
    # spec.md §9: a client can always parse an error body as JSON, with `error`.
    try:
        error = json.loads(body)
        code = error.get("error")
    except (ValueError, AttributeError):
        return key + "!error body not JSON"
    if not isinstance(code, str):
        return key + "!no error member"
    if status == 429:
        if code != "too_many_requests" or not headers.get("retry-after", "").isdigit():
            return key + "!429 without Retry-After or too_many_requests"
    if status == 503 and code == "temporarily_unavailable" and headers.get("retry-after", "").isdigit() \
            and "maximum of" in str(error.get("error_description", "")):
        return CAP
    return key


class Tally:
    """Outcomes per (kind, variant), examples of unexpected ones, and timings."""

    def __init__(self):
        self.counts = collections.defaultdict(collections.Counter)
        self.unexpected = collections.defaultdict(list)
        self.close_s = collections.defaultdict(list)  # slow variant -> seconds until the gateway closed it
        self.requests = 0

    def add(self, variant, outcome, expect, detail=""):
        self.requests += 1
        self.counts[variant.kind + " / " + variant.name][outcome] += 1
        if outcome not in expect:
            examples = self.unexpected[variant.kind + " / " + variant.name]
            if len(examples) < 5:
                examples.append({"outcome": outcome, "detail": detail[:300]})

    def to_json(self):
        return {"counts": {k: dict(c) for k, c in self.counts.items()}, "unexpected": dict(self.unexpected),
                "close_s": dict(self.close_s), "requests": self.requests}


# ---------------------------------------------------------------------------------------------------------------
# Flood


class Context:
    def __init__(self, port, tag):
        self.host = b"127.0.0.1:%d" % port
        self.tag = tag
        self.sequence = 0

    def name(self):
        self.sequence += 1
        return "soak %s-%d" % (self.tag, self.sequence)


async def open_connection(port, source, deadline):
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0), limit=256 * 1024),
        max(0.01, min(CONNECT_TIMEOUT_S, deadline - time.monotonic())))


def close_quietly(writer):
    try:
        writer.close()
    except Exception:  # the transport may already be gone
        pass


def error_outcome(e):
    if isinstance(e, asyncio.TimeoutError):
        return TIMEOUT
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return RESET
    if isinstance(e, OSError) and e.errno == 99:  # EADDRNOTAVAIL
        return CLIENT_PORTS
    if isinstance(e, (ConnectionRefusedError, ConnectionAbortedError)):
        return CONNECT_ERROR
    if isinstance(e, BadResponse):
        return "bad_response"
    return "client_error:" + type(e).__name__


async def expect_eof(reader, deadline):
    data = await asyncio.wait_for(reader.read(4096), max(0.01, min(deadline, time.monotonic() + EOF_TIMEOUT_S)
                                                          - time.monotonic()))
    return data


async def run_fast(variant, ctx, port, tally, expect):
    """One connection: send the variant's bytes, read the answers, and check that a closing answer is the last."""
    deadline = time.monotonic() + REQUEST_TIMEOUT_S
    try:
        reader, writer = await open_connection(port, "127.0.0.1", deadline)
    except Exception as e:
        tally.add(variant, error_outcome(e), expect, repr(e))
        return
    try:
        rounds = 5 if variant.mode == "keepalive" else 1
        for _ in range(rounds):
            data = variant.build(ctx)
            writer.write(data)
            try:
                await asyncio.wait_for(writer.drain(), max(0.01, deadline - time.monotonic()))
            except (ConnectionResetError, BrokenPipeError):
                pass  # the gateway may answer and stop reading before all is sent: read what it said
            answers = 8 if variant.mode == "pipelined" else 1
            closing = False
            for _ in range(answers):
                try:
                    response = await read_response(reader, deadline)
                except Exception as e:
                    tally.add(variant, error_outcome(e), expect, repr(e))
                    return
                if response is None:
                    tally.add(variant, CLOSED, expect, "closed before an answer")
                    return
                status, headers, body = response
                outcome = classify(status, headers, body)
                tally.add(variant, outcome, expect, "%d %s %s" % (status, headers, body[:200]))
                closing = headers.get("connection", "").lower() == "close"
                if closing:
                    break
            if closing:
                try:
                    extra = await expect_eof(reader, deadline)
                except (ConnectionResetError, BrokenPipeError):
                    extra = b""
                except asyncio.TimeoutError:
                    tally.add(variant, TIMEOUT, expect, "no close after Connection: close")
                    return
                if extra:
                    tally.add(variant, EXTRA_DATA, expect, repr(extra[:200]))
                return
    except Exception as e:
        tally.add(variant, error_outcome(e), expect, repr(e))
    finally:
        close_quietly(writer)


async def run_slow(variant, ctx, port, tally, limit_s):
    """One slow connection; the gateway must close it within `limit_s` plus SLOW_MARGIN_S."""
    deadline = time.monotonic() + limit_s + SLOW_MARGIN_S
    if variant.mode == "slow_reader":
        deadline += 2 * GATEWAY_WRITE_TIMEOUT_S
    try:
        reader, writer = await open_connection(port, "127.0.0.1", deadline)
    except Exception as e:
        tally.add(variant, error_outcome(e), variant.expect, repr(e))
        return
    start = time.monotonic()
    try:
        if variant.mode == "abort":
            writer.write(b"POST /oauth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            await writer.drain()
            await asyncio.sleep(random.uniform(0, 0.2))
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.transport.abort()
            tally.add(variant, ABORTED, variant.expect)
            return
        if variant.mode == "slow_reader":
            request = raw(b"GET", b"/openapi.json", [(b"Host", ctx.host)])
            writer.write(request * (SLOW_READER_REQUESTS - 1)
                         + raw(b"GET", b"/openapi.json", [(b"Host", ctx.host), (b"Connection", b"close")]))
            await asyncio.wait_for(writer.drain(), CONNECT_TIMEOUT_S)
            await asyncio.sleep(GATEWAY_WRITE_TIMEOUT_S + 2)
            deadline = time.monotonic() + GATEWAY_WRITE_TIMEOUT_S
            answers = 0
            try:
                while True:
                    response = await read_response(reader, deadline)
                    if response is None:
                        break
                    answers += 1
            except (ConnectionResetError, BadResponse):
                pass  # closed in the middle of a response: the gateway gave up on it
            # All of them would mean the socket buffers held 9.6 MB, and the write timeout never came into play.
            tally.add(variant, CLOSED if answers < SLOW_READER_REQUESTS else "answered", variant.expect,
                      "%d answers" % answers)
            return
        if variant.mode == "slow_header":
            pending = raw(b"POST", b"/oauth/register", [(b"Host", ctx.host), (b"Content-Type", b"application/json"),
                                                        (b"Content-Length", b"2")], b"{}")
        elif variant.mode == "slow_body":
            body = registration_body(ctx.name())
            head = raw(b"POST", b"/oauth/register", [(b"Host", ctx.host), (b"Content-Type", b"application/json"),
                                                     (b"Content-Length", b"%d" % len(body))])
            writer.write(head)
            pending = body
        else:
            pending = b""
        position = 0
        while True:
            if position < len(pending):
                writer.write(pending[position:position + 1])
                position += 1
            try:
                data = await asyncio.wait_for(reader.read(4096), SLOW_BYTE_INTERVAL_S)
            except asyncio.TimeoutError:
                if time.monotonic() > deadline:
                    tally.add(variant, TIMEOUT, variant.expect, "still open after %.1f s" % (time.monotonic() - start))
                    return
                continue
            if data:
                # Only the whole request could earn an answer, and it is never finished.
                tally.add(variant, "answered", variant.expect, repr(data[:200]))
            else:
                tally.add(variant, CLOSED, variant.expect)
                tally.close_s[variant.name].append(round(time.monotonic() - start, 2))
            return
    except (ConnectionResetError, BrokenPipeError):
        tally.add(variant, CLOSED, variant.expect, "reset while sending slowly")
        tally.close_s[variant.name].append(round(time.monotonic() - start, 2))
    except Exception as e:
        tally.add(variant, error_outcome(e), variant.expect, repr(e))
    finally:
        close_quietly(writer)


async def flood(args, tag, cap_phase):
    tally = Tally()
    ctx = Context(args.port, tag)
    fast = fast_variants()
    slow = slow_variants()
    stop = time.monotonic() + args.duration
    # The slowest a slow connection may take to be closed: the idle or the read timeout, both read_timeout here.
    limit_s = args.read_timeout_ms / 1000

    def expect_for(variant):
        if cap_phase and variant.reaches_register:
            return variant.expect | {CAP}
        return variant.expect

    async def fast_worker():
        rng = random.Random()
        while time.monotonic() < stop:
            variant = rng.choices(fast, weights=[x.weight for x in fast])[0]
            await run_fast(variant, ctx, args.port, tally, expect_for(variant))

    async def slow_worker():
        rng = random.Random()
        while time.monotonic() < stop:
            variant = rng.choices(slow, weights=[x.weight for x in slow])[0]
            await run_slow(variant, ctx, args.port, tally, limit_s)

    await asyncio.gather(*([fast_worker() for _ in range(args.flood_connections)]
                           + [slow_worker() for _ in range(args.slow_connections)]))
    result = tally.to_json()
    result["expect"] = {v.kind + " / " + v.name: sorted(expect_for(v)) for v in fast + slow}
    return result


def flood_process(args, tag, cap_phase, queue):
    try:
        queue.put(("flood", tag, asyncio.run(flood(args, tag, cap_phase))))
    except BaseException as e:  # reported, so that the parent never waits for a result that cannot come
        queue.put(("flood", tag, {"crash": repr(e)}))


# ---------------------------------------------------------------------------------------------------------------
# Valid stream


async def valid_stream(args, cap_phase):
    """`valid_rate` registrations a second from `valid_source` over `valid_connections` keep-alive connections, on a
    fixed schedule (a late request does not shift the next ones)."""
    outcomes = collections.Counter()
    unexpected = []
    latencies_ms = []
    first_cap_at = [None]
    created_after_cap = [0]
    host = b"127.0.0.1:%d" % args.port
    start = time.monotonic() + 0.2
    stop = start + args.duration
    allowed = {"201", CAP} if cap_phase else {"201"}

    async def connection(index):
        reader = writer = None
        sequence = 0
        n = 0
        while True:
            at = start + (index + n * args.valid_connections) / args.valid_rate
            n += 1
            if at >= stop:
                break
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            sequence += 1
            sent = time.monotonic()
            deadline = sent + REQUEST_TIMEOUT_S
            outcome, detail = None, ""
            try:
                if writer is None:
                    reader, writer = await open_connection(args.port, args.valid_source, deadline)
                writer.write(post_json(host, registration_body("soak valid %d-%d" % (index, sequence))))
                await asyncio.wait_for(writer.drain(), max(0.01, deadline - time.monotonic()))
                response = await read_response(reader, deadline)
                if response is None:
                    outcome, detail = CLOSED, "keep-alive connection closed before an answer"
                else:
                    status, headers, body = response
                    outcome = classify(status, headers, body)
                    detail = "%d %s %s" % (status, headers, body[:200])
                    if headers.get("connection", "").lower() == "close":
                        close_quietly(writer)
                        writer = None
            except Exception as e:
                outcome, detail = error_outcome(e), repr(e)
            if outcome not in ("201", CAP):
                if writer is not None:
                    close_quietly(writer)
                writer = None
            latencies_ms.append((time.monotonic() - sent) * 1000)
            outcomes[outcome] += 1
            if outcome == CAP and first_cap_at[0] is None:
                first_cap_at[0] = time.monotonic()
            # No client is ever deleted here, so once the cap has answered, a registration sent after that answer
            # arrived must not be created.
            if outcome == "201" and first_cap_at[0] is not None and sent > first_cap_at[0]:
                created_after_cap[0] += 1
            if outcome not in allowed and len(unexpected) < 10:
                unexpected.append({"outcome": outcome, "detail": detail[:300],
                                   "at_s": round(sent - start, 2)})
        if writer is not None:
            close_quietly(writer)

    await asyncio.gather(*(connection(i) for i in range(args.valid_connections)))
    latencies_ms.sort()

    def percentile(p):
        return round(latencies_ms[min(len(latencies_ms) - 1, int(p * len(latencies_ms)))], 2) if latencies_ms else None

    return {"counts": dict(outcomes), "unexpected": unexpected, "allowed": sorted(allowed),
            "requests": sum(outcomes.values()), "target": int(args.valid_rate * args.duration),
            "p50_ms": percentile(0.50), "p99_ms": percentile(0.99),
            "max_ms": round(latencies_ms[-1], 2) if latencies_ms else None,
            "first_cap_s": round(first_cap_at[0] - start, 2) if first_cap_at[0] else None,
            "created_after_cap": created_after_cap[0]}


def valid_process(args, cap_phase, queue):
    try:
        queue.put(("valid", "valid", asyncio.run(valid_stream(args, cap_phase))))
    except BaseException as e:
        queue.put(("valid", "valid", {"crash": repr(e)}))


# ---------------------------------------------------------------------------------------------------------------
# Sampling


def read_status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def scrape(port, timeout=2.0):
    """name{labels} -> value of a Prometheus text page, or {} if it did not answer."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    except Exception:
        return {}
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        try:
            values[name] = float(value)
        except ValueError:
            pass
    return values


def metric_sum(values, name):
    return sum(v for k, v in values.items() if k == name or k.startswith(name + "{"))


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------------------------
# Run


def merge_floods(results):
    merged = {"counts": collections.defaultdict(collections.Counter), "unexpected": collections.defaultdict(list),
              "close_s": collections.defaultdict(list), "requests": 0, "expect": {}, "crashes": []}
    for r in results:
        if "crash" in r:
            merged["crashes"].append(r["crash"])
            continue
        for key, counts in r["counts"].items():
            merged["counts"][key].update(counts)
        for key, examples in r["unexpected"].items():
            merged["unexpected"][key] += examples[:5 - len(merged["unexpected"][key])]
        for name, times in r["close_s"].items():
            merged["close_s"][name] += times
        merged["requests"] += r["requests"]
        merged["expect"].update(r["expect"])
    return merged


def summarize_rss(samples, name, warmup_s):
    series = [(s["t"], s[name + "_rss_kib"]) for s in samples if s.get(name + "_rss_kib") is not None]
    if not series:
        return None
    after = [kib for t, kib in series if t >= warmup_s] or [series[-1][1]]
    # Least-squares slope over the second half of the phase: how fast RSS still grew once the load had settled.
    late = series[len(series) // 2:]
    slope = None
    if len(late) >= 3:
        mean_t = statistics.fmean(t for t, _ in late)
        mean_m = statistics.fmean(kib for _, kib in late)
        var = sum((t - mean_t) ** 2 for t, _ in late)
        if var > 0:
            slope = round(sum((t - mean_t) * (kib - mean_m) for t, kib in late) / var * 60 / 1024, 2)
    return {"slope_mib_per_min": slope,"start_mib": round(series[0][1] / 1024, 1), "warmup_mib": round(after[0] / 1024, 1),
            "peak_mib": round(max(after) / 1024, 1), "end_mib": round(after[-1] / 1024, 1),
            "peak_all_mib": round(max(kib for _, kib in series) / 1024, 1)}


def run(args):
    cap_phase = args.phase == "cap"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=flood_process, args=(args, "f%d" % i, cap_phase, queue), daemon=True)
               for i in range(args.flood_procs)]
    workers.append(ctx.Process(target=valid_process, args=(args, cap_phase, queue), daemon=True))
    pids = {"server": args.server_pid, "gateway": args.gateway_pid}
    samples = []
    died = {}
    began = time.monotonic()
    # SIGTERM (bench/soak.sh's cleanup, timeout(1)) ends the workers too, through the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for w in workers:
        w.start()
    # The last request a worker starts may take its full deadline; past that, a worker is hung.
    hard_stop = (began + args.duration + args.read_timeout_ms / 1000 + SLOW_MARGIN_S + 2 * GATEWAY_WRITE_TIMEOUT_S
                 + REQUEST_TIMEOUT_S + 5)
    results = []
    next_sample = began
    try:
        while len(results) < len(workers) and time.monotonic() < hard_stop:
            if time.monotonic() >= next_sample:
                sample = {"t": round(time.monotonic() - began, 1)}
                for name, pid in pids.items():
                    if not alive(pid):
                        died.setdefault(name, sample["t"])
                    sample[name + "_rss_kib"] = read_status_kib(pid, "VmRSS")
                    sample[name + "_fds"] = open_fds(pid)
                sample["gateway_connections"] = metric_sum(scrape(args.ops_port, 0.5), "clientreg_http_connections")
                samples.append(sample)
                next_sample += 1.0
            try:
                results.append(queue.get(timeout=max(0.01, min(0.2, next_sample - time.monotonic()))))
            except Exception:  # queue.Empty
                pass
    finally:
        for w in workers:
            if w.is_alive():
                w.join(timeout=1 if len(results) == len(workers) else 0)
            if w.is_alive():
                w.kill()
    hung_workers = len(workers) - len(results)

    # Every connection of the soak is closed now; the gateway must let go of all of them within its read timeout
    # (a lingering one ends after at most that long).
    settle_deadline = time.monotonic() + args.read_timeout_ms / 1000 + 5
    gateway_metrics = scrape(args.ops_port)
    while metric_sum(gateway_metrics, "clientreg_http_connections") > 0 and time.monotonic() < settle_deadline:
        time.sleep(0.5)
        gateway_metrics = scrape(args.ops_port)
    server_metrics = scrape(args.server_ops_port)
    fds_after = {name: open_fds(pid) for name, pid in pids.items()}
    for name, pid in pids.items():
        if not alive(pid):
            died.setdefault(name, round(time.monotonic() - began, 1))

    floods = merge_floods([r for kind, _, r in results if kind == "flood"])
    valid = next((r for kind, _, r in results if kind == "valid"), {"crash": "no result"})
    warmup = args.warmup if args.warmup is not None else min(10.0, args.duration / 6)
    # Memory is judged over the load itself; the tail (the last slow connections running out) is left out.
    load_samples = [s for s in samples if s["t"] <= args.duration + 1]
    rss = {name: summarize_rss(load_samples, name, warmup) for name in pids}
    fds = {name: {"start": samples[0].get(name + "_fds") if samples else None,
                  "peak": max((s.get(name + "_fds") or 0) for s in samples) if samples else None,
                  "end": load_samples[-1].get(name + "_fds") if load_samples else None,
                  "after": fds_after[name]} for name in pids}

    checks = []

    def check(ok, what, warn_only=False):
        checks.append({"ok": bool(ok), "what": what, "warn_only": warn_only})

    check(not died, "server and gateway stayed up" + ("" if not died else ": died " + json.dumps(died)))
    check(hung_workers == 0 and not floods["crashes"] and "crash" not in valid,
          "every load process finished in time (%d hung, crashes: %s)"
          % (hung_workers, floods["crashes"] + ([valid["crash"]] if "crash" in valid else [])))
    unexpected_flood = {k: sum(n for o, n in c.items() if o not in floods["expect"].get(k, []))
                        for k, c in floods["counts"].items()}
    check(sum(unexpected_flood.values()) == 0,
          "every flood request got an answer its kind allows (%d did not)" % sum(unexpected_flood.values()))
    all_outcomes = collections.Counter()
    for c in floods["counts"].values():
        all_outcomes.update(c)
    all_outcomes.update(valid.get("counts", {}))
    fives = {o: n for o, n in all_outcomes.items() if o[:1] == "5" and o != CAP}
    allowed_501 = sum(c.get("501", 0) for k, c in floods["counts"].items() if k.startswith("unknown_coding /"))
    other_fives = sum(fives.values()) - allowed_501
    check(other_fives == 0, "no 5xx but the cap's 503 (and RFC 9112's 501 for an unknown transfer coding): %s"
          % (json.dumps(fives) if fives else "none"))
    check(all_outcomes.get(TIMEOUT, 0) == 0, "no connection hung (%d timed out)" % all_outcomes.get(TIMEOUT, 0))
    bad_valid = sum(n for o, n in valid.get("counts", {}).items() if o not in valid.get("allowed", []))
    check(bad_valid == 0 and valid.get("requests", 0) > 0,
          "every valid registration from %s got %s (%d did not)"
          % (args.valid_source, " or ".join(valid.get("allowed", ["201"])), bad_valid))
    check(valid.get("requests", 0) >= 0.8 * valid.get("target", 1),
          "the valid stream kept its rate (%d of %d scheduled requests done)"
          % (valid.get("requests", 0), valid.get("target", 0)))
    if not cap_phase:
        for name, growth_mib in (("server", args.server_growth_mib), ("gateway", args.gateway_growth_mib)):
            r = rss[name]
            if r is None:
                check(False, "%s RSS sampled" % name)
                continue
            bound = r["warmup_mib"] + max(0.2 * r["warmup_mib"], growth_mib)
            check(r["end_mib"] <= bound, "%s RSS at the end %.1f MiB <= warm-up %.1f MiB + max(20%%, %d MiB) = %.1f MiB"
                  % (name, r["end_mib"], r["warmup_mib"], growth_mib, bound))
    gateway_fds = fds["gateway"]
    check(gateway_fds["after"] is not None and gateway_fds["start"] is not None
          and gateway_fds["after"] <= gateway_fds["start"] + 2,
          "the gateway's open descriptors went back to where they started (%s at the start, %s after the load)"
          % (gateway_fds["start"], gateway_fds["after"]))
    open_after = metric_sum(gateway_metrics, "clientreg_http_connections")
    check(bool(gateway_metrics) and open_after == 0,
          "the gateway holds no connection once the load stops (clientreg_http_connections %s)"
          % (int(open_after) if gateway_metrics else "unreadable"))
    created = all_outcomes.get("201", 0)
    if cap_phase:
        stored = metric_sum(server_metrics, "clientreg_clients")
        check(all_outcomes.get(CAP, 0) > 0, "the cap answered (%d times)" % all_outcomes.get(CAP, 0))
        # README promises that one server never overshoots the cap: an admission reserves its slot until its write
        # ends (ClientCap), so registrations admitted together cannot all pass.
        check(created <= args.cap, "no more registrations than the cap: %d created, cap %d, clientreg_clients %s"
              % (created, args.cap, int(stored) if server_metrics else "unreadable"))
        check(valid.get("created_after_cap", 0) == 0,
              "no registration sent after the cap answered was created (%d were)" % valid.get("created_after_cap", 0),
              warn_only=True)

    elapsed = args.duration
    report = {
        "phase": args.phase, "duration_s": args.duration, "cap": args.cap if cap_phase else 0,
        "flood": {"requests": floods["requests"], "per_s": round(floods["requests"] / elapsed, 1),
                  "counts": {k: dict(c) for k, c in sorted(floods["counts"].items())},
                  "expect": floods["expect"], "unexpected": dict(floods["unexpected"]),
                  "close_s": {name: summarize_times(t) for name, t in floods["close_s"].items()}},
        "valid": dict(valid, per_s=round(valid.get("requests", 0) / elapsed, 1)),
        "rss": rss, "fds": fds,
        "peak_gateway_connections": int(max((s["gateway_connections"] for s in samples), default=0)),
        "created": created, "server_clients": metric_sum(server_metrics, "clientreg_clients"),
        "gateway_refusals": labelled(gateway_metrics, "clientreg_http_rejected_total"),
        "rate_limited": labelled(server_metrics, "clientreg_rate_limited_total"),
        "samples": samples, "checks": checks, "ok": all(c["ok"] or c["warn_only"] for c in checks),
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print_report(report, args)
    return 0 if report["ok"] else 1


def labelled(values, name):
    """label values -> value of a counter's series, e.g. {'reason="timeout"': 96}."""
    return {k[len(name) + 1:-1]: int(v) for k, v in values.items() if k.startswith(name + "{") and v}


def summarize_times(times):
    if not times:
        return None
    return {"n": len(times), "min": min(times), "median": statistics.median(times), "max": max(times)}


def print_report(report, args):
    flood = report["flood"]
    print("\n== phase %s: %d s%s, flood from 127.0.0.1, valid stream from %s ==" % (
        report["phase"], report["duration_s"], ", max_dynamic_clients %d" % report["cap"] if report["cap"] else "",
        args.valid_source))
    print("\nflood: %d requests, %.1f/s" % (flood["requests"], flood["per_s"]))
    by_kind = collections.defaultdict(collections.Counter)
    unexpected_by_kind = collections.Counter()
    for key, counts in flood["counts"].items():
        kind = key.split(" / ")[0]
        by_kind[kind].update(counts)
        unexpected_by_kind[kind] += sum(n for o, n in counts.items() if o not in flood["expect"].get(key, []))
    print("%-18s %9s  %-44s %s" % ("kind", "requests", "outcomes", "unexpected"))
    for kind, counts in sorted(by_kind.items()):
        outcomes = ", ".join("%s %d" % (o, n) for o, n in sorted(counts.items()))
        print("%-18s %9d  %-44s %d" % (kind, sum(counts.values()), outcomes, unexpected_by_kind[kind]))
    totals = collections.Counter()
    for counts in by_kind.values():
        totals.update(counts)
    print("%-18s %9d  %s" % ("all", sum(totals.values()), ", ".join("%s %d" % kv for kv in sorted(totals.items()))))
    for name, s in sorted(flood["close_s"].items()):
        print("slow: %s: closed by the gateway after %.1f-%.1f s (median %.1f, %d connections)"
              % (name, s["min"], s["max"], s["median"], s["n"]))
    for key, examples in flood["unexpected"].items():
        for e in examples:
            print("  unexpected: %s -> %s %s" % (key, e["outcome"], e["detail"]))
    valid = report["valid"]
    print("\nvalid stream: %d requests (%d scheduled), %.1f/s, %s; latency p50 %s ms, p99 %s ms, max %s ms"
          % (valid.get("requests", 0), valid.get("target", 0), valid["per_s"],
             ", ".join("%s %d" % (o, n) for o, n in sorted(valid.get("counts", {}).items())),
             valid.get("p50_ms"), valid.get("p99_ms"), valid.get("max_ms")))
    if valid.get("first_cap_s") is not None:
        print("first cap answer to the valid stream after %.1f s" % valid["first_cap_s"])
    for e in valid.get("unexpected", []):
        print("  unexpected: valid -> %s at %.1f s %s" % (e["outcome"], e["at_s"], e["detail"]))
    print("\n%-8s %10s %10s %10s %10s %12s  %s" % ("process", "start MiB", "warm MiB", "peak MiB", "end MiB",
                                                "MiB/min", "fds start/peak/end/after"))
    for name in ("server", "gateway"):
        r, f = report["rss"][name], report["fds"][name]
        if r:
            print("%-8s %10.1f %10.1f %10.1f %10.1f %12s  %s/%s/%s/%s" % (
                name, r["start_mib"], r["warmup_mib"], r["peak_mib"], r["end_mib"], r["slope_mib_per_min"],
                f["start"], f["peak"], f["end"], f["after"]))
    print("peak open gateway connections: %d" % report["peak_gateway_connections"])
    print("gateway refusals (clientreg_http_rejected_total): %s" % (
        ", ".join("%s %d" % kv for kv in sorted(report["gateway_refusals"].items())) or "none"))
    print("server rate limits (clientreg_rate_limited_total): %s" % (
        ", ".join("%s %d" % kv for kv in sorted(report["rate_limited"].items())) or "none"))
    print()
    for c in report["checks"]:
        print("%s  %s" % ("ok  " if c["ok"] else "WARN" if c["warn_only"] else "FAIL", c["what"]))


# ---------------------------------------------------------------------------------------------------------------
# Logs


def logs(files):
    for spec in files:
        name, _, path = spec.partition("=")
        levels = collections.Counter()
        events = collections.Counter()
        unparsed = 0
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        unparsed += 1
                        continue
                    level = entry.get("level", "?")
                    levels[level] += 1
                    if level in ("warning", "error"):
                        events["%s %s" % (level, entry.get("event", "?"))] += 1
        except OSError as e:
            print("%s: cannot read %s: %s" % (name, path, e))
            continue
        print("%s log: %s%s" % (name, ", ".join("%s %d" % kv for kv in sorted(levels.items())),
                                ", %d lines not JSON" % unparsed if unparsed else ""))
        for event, n in events.most_common(10):
            print("  %s: %d" % (event, n))
    return 0


def free_ports(n):
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in sockets))
    for s in sockets:
        s.close()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ports = sub.add_parser("free-ports")
    ports.add_argument("n", type=int)
    log = sub.add_parser("logs")
    log.add_argument("files", nargs="+")
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--ops-port", type=int, required=True)
    r.add_argument("--server-ops-port", type=int, required=True)
    r.add_argument("--server-pid", type=int, required=True)
    r.add_argument("--gateway-pid", type=int, required=True)
    r.add_argument("--duration", type=float, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--phase", choices=["main", "cap"], default="main")
    r.add_argument("--cap", type=int, default=0)
    r.add_argument("--flood-procs", type=int, default=2)
    r.add_argument("--flood-connections", type=int, default=16)
    r.add_argument("--slow-connections", type=int, default=48)
    r.add_argument("--valid-rate", type=float, default=50)
    r.add_argument("--valid-connections", type=int, default=4)
    r.add_argument("--valid-source", default="127.0.0.2")
    r.add_argument("--read-timeout-ms", type=int, default=5000)
    r.add_argument("--warmup", type=float, default=None)
    r.add_argument("--server-growth-mib", type=int, default=48)
    r.add_argument("--gateway-growth-mib", type=int, default=16)
    args = parser.parse_args()
    if args.command == "free-ports":
        return free_ports(args.n)
    if args.command == "logs":
        return logs(args.files)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
