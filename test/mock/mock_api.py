#!/usr/bin/env python3
"""A faithful and nasty mock of the Anthropic API, served over TLS on 127.0.0.1.

Used by the integration tests (test/integration/) as the proxy's upstream. HTTP/1.1 is
implemented by hand on asyncio streams so that the byte-level framing of every answer
(chunk boundaries, abrupt closes, slow streams) is under the mock's control.

    python3 test/mock/mock_api.py --port 0 --cert CERT --key KEY --port-file PATH \
        [--expect-token TOKEN] [--idle-timeout SECONDS]

Behaviour:
  * Records every API request: method, target (with query), headers as [name, value] in
    arrival order, body length + sha256 (+ base64 body when small), connection id, and the
    answer it got (status, headers, de-chunked body, complete or cut).
  * Control endpoints, over the same TLS port, not recorded:
      GET /__mock/stats     {"connections","requests","open_connections","closed_by_peer_midstream", ...}
      GET /__mock/requests  the records (a JSON list)
      POST /__mock/reset    clears records and counters
    `connections` counts completed TLS handshakes, minus connections whose first request
    was a /__mock/* call (so the tests' own control calls do not disturb the counts).
    `requests` leaves out GET /api/oauth/usage (the proxy's usage poll; counted as usage_polls).
  * Auth like the real API with OAuth: no `authorization: Bearer` -> 401; `x-api-key` -> 400;
    `anthropic-beta` without oauth-2025-04-20 -> 401; wrong token (--expect-token) -> 401;
    missing anthropic-version -> 400. Strict HTTP: CRLF line ends only, one Host, never both
    Content-Length and Transfer-Encoding, at most one authorization header.
  * POST /v1/messages: JSON message, or SSE when the body has "stream": true. Every answer
    has request-id and anthropic-ratelimit-unified-* headers.
  * POST /v1/messages/count_tokens, GET /v1/models, GET /api/oauth/usage; other paths 404.
  * `x-mock-scenario` request header, a comma-separated list of:
      sse-split      SSE with CRLF line ends, written in 1-7 byte HTTP chunks, each flushed
                     alone, always cutting between \r and \n (also inside UTF-8 and JSON)
      sse-slow       message_start, then wait for the file named by `x-mock-gate` (poll 20 ms,
                     at most 10 s) before the rest
      sse-endless    ping/delta events every 50 ms for up to 30 s; a peer close is counted in
                     closed_by_peer_midstream
      status:NNN     that status with an API error body (429: retry-after 17, x-should-retry)
      cut-midbody    head with Content-Length 1000, 100 bytes, then TCP close without close_notify
      cut-midstream  SSE head + message_start, then TCP close (no terminating chunk)
      close-after    normal answer with connection: close, then close
      gzip           gzip the JSON answer when the request accepts gzip
      delay:MS       wait MS milliseconds before the head
      echo           200 JSON describing the request as received (skips the auth checks)
  * Keep-alive by default; honours connection: close; closes connections idle for
    --idle-timeout seconds (default 30).

Standard library only.
"""

import argparse
import asyncio
import base64
import gzip
import hashlib
import http
import json
import os
import random
import signal
import socket
import ssl
import string
import sys
import time

OAUTH_BETA = "oauth-2025-04-20"
MAX_HEAD_BYTES = 64 * 1024          # request line + headers
MAX_BODY_BYTES = 32 * 1024 * 1024   # the API's limit for /v1/messages (413 above)
RECORD_BODY_MAX = 64 * 1024         # bodies up to this size are kept (base64) in records

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

ERROR_MESSAGES = {
    400: "mock: invalid request",
    401: "invalid x-api-key",
    402: "Your credit balance is too low to access the Anthropic API.",
    403: "mock: permission denied",
    404: "mock: not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "This request would exceed your account's rate limit. Please try again later.",
    500: "Internal server error",
    529: "Overloaded",
}


def log(msg):
    print(f"[mock {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rand_id(prefix, n=24):
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(random.choice(alphabet) for _ in range(n))


def reason_phrase(status):
    if status == 529:
        return "Overloaded"
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class BadRequest(Exception):
    """A request the mock cannot parse; answered with 400 and the connection is closed."""


class PeerGone(Exception):
    """The peer closed or reset the connection."""


class Headers:
    """An ordered list of (name, value) pairs with case-insensitive look-ups."""

    def __init__(self, pairs=None):
        self.pairs = list(pairs or [])

    def get(self, name, default=None):
        """The last value of `name` (the API's rule for repeated headers), or default."""
        name = name.lower()
        for k, v in reversed(self.pairs):
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.pairs if k.lower() == name]

    def has(self, name):
        return bool(self.get_all(name))

    def tokens(self, name):
        """All comma-separated tokens over every occurrence of `name`, lower-cased."""
        out = []
        for v in self.get_all(name):
            out.extend(t.strip().lower() for t in v.split(",") if t.strip())
        return out


class Request:
    def __init__(self, method, target, version, headers, body, conn_id):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.conn_id = conn_id
        self.path = target.split("?", 1)[0]


class Stats:
    """Counters exposed by /__mock/stats. `connections` counts TLS handshakes completed on
    connections that are not control connections (see Connection.classify)."""

    def __init__(self):
        self.epoch = 0                # bumped by reset; lets old connections know they predate it
        self.reset()
        self.open_ids = set()         # live, not cleared by reset

    def reset(self):
        self.epoch += 1
        self.connections = 0
        self.control_connections = 0
        self.tcp_accepts = 0
        self.handshake_failures = 0
        self.requests = 0             # API requests (everything except /__mock/* and usage polls)
        self.usage_polls = 0          # GET /api/oauth/usage
        self.closed_by_peer_midstream = 0
        self.records = []

    def snapshot(self):
        return {
            "connections": self.connections,
            "requests": self.requests,
            "open_connections": len(self.open_ids),
            "closed_by_peer_midstream": self.closed_by_peer_midstream,
            # extras, useful when a test fails
            "tcp_accepts": self.tcp_accepts,
            "handshake_failures": self.handshake_failures,
            "control_connections": self.control_connections,
            "usage_polls": self.usage_polls,
        }


class Responder:
    """Writes one answer and records it (status, headers, de-chunked body) in `record`."""

    def __init__(self, conn, record):
        self.conn = conn
        self.record = record
        self.body = bytearray()
        self.chunked = False
        self.resp = None

    async def head(self, status, headers, chunked=False, keep_alive=True):
        self.chunked = chunked
        hdrs = list(headers)
        if chunked:
            hdrs.append(("transfer-encoding", "chunked"))
        hdrs.append(("connection", "keep-alive" if keep_alive else "close"))
        lines = [f"HTTP/1.1 {status} {reason_phrase(status)}"] + [f"{k}: {v}" for k, v in hdrs]
        self.resp = {"status": status, "headers": [[k, v] for k, v in hdrs], "complete": False}
        if self.record is not None:
            self.record["response"] = self.resp
        await self.conn.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _note(self, data):
        self.body += data
        if self.resp is not None:
            self.resp["body_length"] = len(self.body)

    async def raw(self, data):
        """Body bytes written as they are (Content-Length or close-delimited bodies)."""
        self._note(data)
        await self.conn.write(data)

    async def chunk(self, data, ext="", upper=False):
        """One HTTP chunk; `ext` adds a chunk extension, `upper` writes the size in upper-case hex."""
        if not data:
            return
        self._note(data)
        size = f"{len(data):X}" if upper else f"{len(data):x}"
        await self.conn.write(f"{size}{ext}\r\n".encode() + data + b"\r\n")

    async def end(self):
        if self.chunked:
            await self.conn.write(b"0\r\n\r\n")
        self.finish(complete=True)

    def finish(self, complete):
        if self.resp is not None:
            self.resp["complete"] = complete
            self.resp["body_length"] = len(self.body)
            self.resp["body_sha256"] = hashlib.sha256(self.body).hexdigest()
            if len(self.body) <= RECORD_BODY_MAX:
                self.resp["body_b64"] = base64.b64encode(bytes(self.body)).decode()

    async def full(self, status, headers, body, keep_alive=True):
        await self.head(status, list(headers) + [("content-length", str(len(body)))], keep_alive=keep_alive)
        await self.raw(body)
        self.finish(complete=True)


class Connection:
    def __init__(self, server, reader, writer, conn_id):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.id = conn_id
        self.epoch = server.stats.epoch
        self.classified = False
        self.is_control = False

    # ---- I/O -----------------------------------------------------------------------
    async def write(self, data):
        if self.writer.is_closing():
            raise PeerGone("writer closing")
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError, OSError) as e:
            raise PeerGone(str(e)) from e

    def abort(self):
        """Close the TCP connection without TLS close_notify (a truncation, as on a network cut)."""
        self.writer.transport.abort()

    async def close(self):
        # close() sends close_notify; we do not wait for the peer's reply.
        try:
            self.writer.close()
        except Exception:
            pass

    async def read_line(self, limit):
        try:
            line = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as e:
            if e.partial:
                raise BadRequest("connection closed inside a line")
            return None
        except asyncio.LimitOverrunError:
            raise BadRequest("line too long")
        except (ConnectionError, ssl.SSLError, OSError):
            return None
        if len(line) > limit:
            raise BadRequest("line too long")
        return line

    async def read_exactly(self, n):
        try:
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            raise BadRequest("connection closed inside the body")
        except (ConnectionError, ssl.SSLError, OSError):
            raise BadRequest("connection error inside the body")

    # ---- request parsing -------------------------------------------------------------
    async def read_head(self):
        """Returns (method, target, version, Headers), or None on a clean EOF before a request."""
        line = await self.read_line(MAX_HEAD_BYTES)
        # RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
        if line in (b"\r\n", b"\n"):
            line = await self.read_line(MAX_HEAD_BYTES)
        if line is None:
            return None
        if not line.endswith(b"\r\n"):
            raise BadRequest(f"request line not terminated by CRLF: {line[:80]!r}")
        try:
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
        except ValueError:
            raise BadRequest(f"bad request line {line[:80]!r}")
        if not version.startswith("HTTP/1."):
            raise BadRequest(f"bad version {version!r}")
        pairs, total = [], len(line)
        while True:
            h = await self.read_line(MAX_HEAD_BYTES)
            if h is None:
                raise BadRequest("connection closed inside the head")
            total += len(h)
            if total > MAX_HEAD_BYTES:
                raise BadRequest("head too large")
            if not h.endswith(b"\r\n"):
                raise BadRequest(f"header line not terminated by CRLF: {h[:80]!r}")
            if h == b"\r\n":
                break
            text = h.decode("latin-1").rstrip("\r\n")
            if ":" not in text or text[0] in " \t":
                raise BadRequest(f"bad header line {text[:80]!r}")
            name, value = text.split(":", 1)
            if name != name.strip() or not name:
                raise BadRequest(f"whitespace in header name {name!r}")
            pairs.append([name, value.strip(" \t")])
        return method, target, version, Headers(pairs)

    async def read_body(self, headers):
        te = headers.tokens("transfer-encoding")
        cls = headers.get_all("content-length")
        if te and cls:
            # RFC 9112 §6.3: a request smuggling risk; the mock refuses it outright.
            raise BadRequest("both transfer-encoding and content-length")
        if te:
            if te[-1] != "chunked":
                raise BadRequest(f"unsupported transfer-encoding {te}")
            return await self.read_chunked()
        if cls:
            if len(set(cls)) != 1 or not cls[0].isdigit():
                raise BadRequest(f"bad content-length {cls}")
            n = int(cls[0])
            if n > MAX_BODY_BYTES:
                raise BodyTooLarge()
            return await self.read_exactly(n) if n else b""
        return b""

    async def read_chunked(self):
        body = bytearray()
        while True:
            line = await self.read_line(4096)
            if line is None:
                raise BadRequest("connection closed inside a chunked body")
            if not line.endswith(b"\r\n"):
                raise BadRequest(f"chunk-size line not terminated by CRLF: {line[:40]!r}")
            size_txt = line.decode("latin-1").strip().split(";", 1)[0].strip()
            try:
                size = int(size_txt, 16)
            except ValueError:
                raise BadRequest(f"bad chunk size {line[:40]!r}")
            if size == 0:
                while True:  # trailers until the empty line
                    t = await self.read_line(MAX_HEAD_BYTES)
                    if t is None:
                        raise BadRequest("connection closed inside trailers")
                    if t in (b"\r\n", b"\n"):
                        return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise BodyTooLarge()
            body += await self.read_exactly(size)
            crlf = await self.read_exactly(2)
            if crlf != b"\r\n":
                raise BadRequest("chunk not followed by CRLF")

    # ---- connection loop -------------------------------------------------------------
    def classify(self, is_control):
        """The first request decides whether this is a control connection (the tests' own
        /__mock/* calls); those are not counted in `connections`."""
        if self.classified:
            return
        self.classified = True
        self.is_control = is_control
        st = self.server.stats
        if is_control:
            st.open_ids.discard(self.id)
            if self.epoch == st.epoch:
                st.connections -= 1
            st.control_connections += 1

    async def serve(self):
        while True:
            try:
                timeout = self.server.idle_timeout
                head = await asyncio.wait_for(self.read_head(), timeout)
            except asyncio.TimeoutError:
                log(f"conn={self.id} idle for {timeout}s: closing")
                return
            except BadRequest as e:
                log(f"conn={self.id} bad request: {e}")
                await self.send_error_direct(400, f"mock: malformed request: {e}")
                return
            if head is None:
                return
            method, target, version, headers = head
            self.classify(target.startswith("/__mock/"))
            keep_alive = self.wants_keep_alive(version, headers)

            if headers.get("expect", "").lower() == "100-continue":
                await self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                body = await self.read_body(headers)
            except BodyTooLarge:
                await self.send_error_direct(413, ERROR_MESSAGES[413])
                return
            except BadRequest as e:
                log(f"conn={self.id} bad body: {e}")
                await self.send_error_direct(400, f"mock: malformed request: {e}")
                return
            req = Request(method, target, version, headers, body, self.id)

            if target.startswith("/__mock/"):
                keep_alive = await self.server.control(self, req, keep_alive)
            else:
                keep_alive = await self.server.api(self, req, keep_alive)
            if not keep_alive:
                return

    @staticmethod
    def wants_keep_alive(version, headers):
        tokens = headers.tokens("connection")
        if "close" in tokens:
            return False
        if version == "HTTP/1.0":
            return "keep-alive" in tokens
        return True

    async def send_error_direct(self, status, message):
        """An error answer outside of the API handlers (parse errors); closes afterwards."""
        r = Responder(self, None)
        body = api_error_body(status, message)
        try:
            await r.full(status, [("content-type", "application/json"), ("request-id", rand_id("req_"))],
                         body, keep_alive=False)
        except PeerGone:
            pass


class BodyTooLarge(Exception):
    pass


def to_json(obj):
    """Compact UTF-8 JSON, as the real API writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def api_error_body(status, message, request_id=None, err_type=None):
    err_type = err_type or ERROR_TYPES.get(status, "api_error")
    return to_json({
        "type": "error",
        "error": {"type": err_type, "message": message},
        "request_id": request_id or rand_id("req_"),
    })


class MockAPI:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.next_conn_id = 0
        self.next_req_id = 0
        self.idle_timeout = args.idle_timeout
        self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_ctx.load_cert_chain(args.cert, args.key)
        self.ssl_ctx.set_alpn_protocols(["http/1.1"])

    # ---- accept + TLS ----------------------------------------------------------------
    async def accept_loop(self, lsock):
        # Accepting by hand (instead of asyncio.start_server(ssl=...)) lets the mock count TCP
        # accepts and failed handshakes separately from completed ones.
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(lsock)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.next_conn_id += 1
            self.stats.tcp_accepts += 1
            asyncio.ensure_future(self.on_accept(sock, self.next_conn_id))

    async def on_accept(self, sock, conn_id):
        st = self.stats
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_HEAD_BYTES + 1024)
        protocol = asyncio.StreamReaderProtocol(reader)
        try:
            # Completes only after the TLS handshake.
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock, ssl=self.ssl_ctx,
                                                              ssl_handshake_timeout=10)
        except Exception as e:  # handshake failures: untrusted CA, wrong name, plain HTTP...
            st.handshake_failures += 1
            log(f"conn={conn_id} TLS handshake failed: {type(e).__name__}: {e}")
            sock.close()
            return
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        st.connections += 1
        st.open_ids.add(conn_id)
        conn = Connection(self, reader, writer, conn_id)
        try:
            await conn.serve()
        except PeerGone as e:
            log(f"conn={conn_id} peer gone: {e}")
        except Exception as e:  # a bug in the mock: make it loud in the log
            log(f"conn={conn_id} mock error: {type(e).__name__}: {e}")
            import traceback
            traceback.print_exc()
        finally:
            st.open_ids.discard(conn_id)
            await conn.close()

    # ---- control endpoints -----------------------------------------------------------
    async def control(self, conn, req, keep_alive):
        r = Responder(conn, None)
        if req.method == "GET" and req.path == "/__mock/stats":
            body = json.dumps(self.stats.snapshot()).encode()
        elif req.method == "GET" and req.path == "/__mock/requests":
            body = json.dumps(self.stats.records).encode()
        elif req.method == "POST" and req.path == "/__mock/reset":
            self.stats.reset()
            body = b'{"reset":true}'
        else:
            await r.full(404, [("content-type", "application/json")],
                         api_error_body(404, f"mock: no control endpoint {req.method} {req.path}"), keep_alive)
            return keep_alive
        await r.full(200, [("content-type", "application/json")], body, keep_alive)
        return keep_alive

    # ---- API -------------------------------------------------------------------------
    def record(self, req, scenario):
        self.next_req_id += 1
        rec = {
            "seq": self.next_req_id,
            "connection_id": req.conn_id,
            "method": req.method,
            "target": req.target,
            "path": req.path,
            "http_version": req.version,
            "headers": [list(p) for p in req.headers.pairs],
            "body_length": len(req.body),
            "body_sha256": hashlib.sha256(req.body).hexdigest(),
            "scenario": scenario,
            "time": time.time(),
        }
        if len(req.body) <= RECORD_BODY_MAX:
            rec["body_b64"] = base64.b64encode(req.body).decode()
        if req.path == "/api/oauth/usage":
            self.stats.usage_polls += 1
            rec["kind"] = "usage_poll"
        else:
            self.stats.requests += 1
            rec["kind"] = "api"
        self.stats.records.append(rec)
        return rec

    def common_headers(self, request_id, ratelimit=True, rl_status="allowed"):
        now = int(time.time())
        h = [
            ("date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())),
            ("request-id", request_id),
            ("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"),
            ("via", "1.1 google"),
            ("cf-cache-status", "DYNAMIC"),
            ("x-robots-tag", "none"),
            ("server", "cloudflare"),
        ]
        if ratelimit:
            h += [
                ("anthropic-ratelimit-unified-status", rl_status),
                ("anthropic-ratelimit-unified-reset", str(now + 3600)),
                ("anthropic-ratelimit-unified-5h-status", rl_status),
                ("anthropic-ratelimit-unified-5h-utilization", "0.42" if rl_status == "allowed" else "1.0"),
                ("anthropic-ratelimit-unified-5h-reset", str(now + 3600)),
                ("anthropic-ratelimit-unified-7d-status", "allowed"),
                ("anthropic-ratelimit-unified-7d-utilization", "0.17"),
                ("anthropic-ratelimit-unified-7d-reset", str(now + 5 * 86400)),
                ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
                ("anthropic-ratelimit-unified-fallback-percentage", "0.5"),
                ("anthropic-ratelimit-unified-overage-status", "rejected"),
                ("anthropic-ratelimit-unified-overage-disabled-reason", "org_level_disabled"),
            ]
        return h

    def check_auth(self, req):
        """Mimics the API's OAuth checks. Returns (status, message) of the error, or None."""
        h = req.headers
        auths = h.get_all("authorization")
        if len(auths) > 1:
            return 400, "mock: more than one authorization header"
        if not auths or not auths[0].lower().startswith("bearer "):
            return 401, "invalid x-api-key" if h.has("x-api-key") else "mock: missing authorization: Bearer header"
        if h.has("x-api-key"):
            return 400, "x-api-key must not be sent with OAuth"
        if OAUTH_BETA not in h.tokens("anthropic-beta"):
            return 401, "OAuth authentication is currently not supported."
        token = auths[0][7:].strip()
        if self.args.expect_token is not None and token != self.args.expect_token:
            return 401, "Invalid bearer token"
        if len(h.get_all("host")) != 1:
            return 400, "mock: exactly one host header is required"
        if req.path.startswith("/v1/") and not h.has("anthropic-version"):
            return 400, "anthropic-version: header is required"
        return None

    async def api(self, conn, req, keep_alive):
        raw = req.headers.get("x-mock-scenario", "") or ""
        scenarios = [s.strip() for s in raw.split(",") if s.strip()]
        rec = self.record(req, raw or None)
        request_id = rand_id("req_")
        r = Responder(conn, rec)
        names = [s.split(":", 1)[0] for s in scenarios]
        log(f"conn={conn.id} {req.method} {req.target} scenario={raw or '-'} body={len(req.body)}B")

        known = {"sse-split", "sse-slow", "sse-endless", "status", "cut-midbody", "cut-midstream",
                 "close-after", "gzip", "delay", "echo"}
        unknown = [n for n in names if n not in known]
        if unknown:
            await r.full(400, self.common_headers(request_id) + [("content-type", "application/json")],
                         api_error_body(400, f"mock: unknown scenario {unknown}", request_id), keep_alive)
            return keep_alive

        for s in scenarios:
            if s.startswith("delay:"):
                await asyncio.sleep(int(s.split(":", 1)[1]) / 1000.0)
        if "close-after" in names:
            keep_alive = False

        # echo bypasses the auth checks so a test can see exactly what the upstream got.
        if "echo" in names:
            body = json.dumps({
                "method": req.method,
                "target": req.target,
                "http_version": req.version,
                "headers": [list(p) for p in req.headers.pairs],
                "body_length": len(req.body),
                "body_sha256": hashlib.sha256(req.body).hexdigest(),
                "connection_id": conn.id,
            }).encode()
            await r.full(200, self.common_headers(request_id) + [("content-type", "application/json")],
                         body, keep_alive)
            return keep_alive

        is_messages = req.path == "/v1/messages"
        known_path = (req.method, req.path) in {
            ("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"),
            ("GET", "/v1/models"), ("GET", "/api/oauth/usage")}
        if not known_path:
            await r.full(404, self.common_headers(request_id, ratelimit=False) + [("content-type", "application/json")],
                         api_error_body(404, f"mock: no route for {req.method} {req.path}", request_id), keep_alive)
            return keep_alive

        err = self.check_auth(req)
        if err:
            status, message = err
            await r.full(status, self.common_headers(request_id, ratelimit=is_messages)
                         + [("content-type", "application/json")],
                         api_error_body(status, message, request_id), keep_alive)
            return keep_alive

        for s in scenarios:
            if s.startswith("status:"):
                return await self.answer_status(r, s, request_id, keep_alive)

        if req.path == "/v1/messages/count_tokens":
            await r.full(200, self.common_headers(request_id, ratelimit=False)
                         + [("content-type", "application/json")], b'{"input_tokens":42}', keep_alive)
            return keep_alive
        if req.path == "/v1/models":
            await r.full(200, self.common_headers(request_id, ratelimit=False)
                         + [("content-type", "application/json")], models_body(), keep_alive)
            return keep_alive
        if req.path == "/api/oauth/usage":
            await r.full(200, self.common_headers(request_id, ratelimit=False)
                         + [("content-type", "application/json")], usage_body(), keep_alive)
            return keep_alive

        # POST /v1/messages
        try:
            payload = json.loads(req.body or b"null")
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError as e:
            await r.full(400, self.common_headers(request_id) + [("content-type", "application/json")],
                         api_error_body(400, f"mock: body is not a JSON object: {e}", request_id), keep_alive)
            return keep_alive
        model = payload.get("model") if isinstance(payload.get("model"), str) else "claude-sonnet-4-5-20250929"

        if "cut-midbody" in names:
            await r.head(200, self.common_headers(request_id) + [("content-type", "application/json"),
                                                                 ("content-length", "1000")])
            await r.raw(b'{"id":"msg_cut","type":"message","role":"assistant","content":[{"type":"text","text":"'
                        .ljust(100, b"x"))
            r.finish(complete=False)
            await self.abort_after_flush(conn)
            return False

        streaming = payload.get("stream") is True or any(n.startswith("sse-") for n in names) \
            or "cut-midstream" in names
        if streaming:
            return await self.answer_stream(conn, r, req, names, model, request_id, keep_alive)

        body = to_json(message_json(model))
        headers = self.common_headers(request_id) + [("content-type", "application/json")]
        if "gzip" in names and "gzip" in accepted_codings(req.headers):
            body = gzip.compress(body)
            headers.append(("content-encoding", "gzip"))
            headers.append(("vary", "accept-encoding"))
        await r.full(200, headers, body, keep_alive)
        return keep_alive

    async def answer_status(self, r, scenario, request_id, keep_alive):
        try:
            status = int(scenario.split(":", 1)[1])
            if not 400 <= status <= 599:
                raise ValueError
        except ValueError:
            await r.full(400, [("content-type", "application/json")],
                         api_error_body(400, f"mock: bad status scenario {scenario!r}", request_id), keep_alive)
            return keep_alive
        extra = []
        if status == 429:
            extra = [("retry-after", "17"), ("x-should-retry", "true")]
        elif status in (500, 529):
            extra = [("x-should-retry", "true")]
        headers = self.common_headers(request_id, rl_status="rejected" if status == 429 else "allowed")
        msg = ERROR_MESSAGES.get(status, f"mock: status {status}")
        await r.full(status, headers + extra + [("content-type", "application/json")],
                     api_error_body(status, msg, request_id), keep_alive)
        return keep_alive

    async def abort_after_flush(self, conn):
        # Give the event loop a moment to hand the bytes to the kernel, then cut the TCP
        # connection without close_notify (abort() would drop still-buffered bytes).
        await asyncio.sleep(0.05)
        conn.abort()

    async def answer_stream(self, conn, r, req, names, model, request_id, keep_alive):
        crlf = "sse-split" in names
        events = sse_events(model)
        headers = self.common_headers(request_id) + [("content-type", "text/event-stream; charset=utf-8"),
                                                     ("cache-control", "no-cache")]
        await r.head(200, headers, chunked=True, keep_alive=keep_alive)

        if "cut-midstream" in names:
            await r.chunk(encode_event(events[0], crlf))
            r.finish(complete=False)
            await self.abort_after_flush(conn)
            return False

        if "sse-endless" in names:
            return await self.stream_endless(conn, r, model, keep_alive)

        if "sse-slow" in names:
            await r.chunk(encode_event(events[0], crlf))
            gate = req.headers.get("x-mock-gate")
            deadline = time.monotonic() + 10
            while gate and not os.path.exists(gate) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if gate and not os.path.exists(gate):
                log(f"conn={conn.id} sse-slow: gate {gate} never appeared, sending the rest anyway")
            events = events[1:]

        if "sse-split" in names:
            data = b"".join(encode_event(e, crlf=True) for e in events)
            for i, piece in enumerate(awkward_pieces(data)):
                # Vary the framing too: upper-case hex sizes and the odd chunk extension.
                await r.chunk(piece, ext=";mock=split" if i % 17 == 5 else "", upper=(i % 3 == 0))
                await asyncio.sleep(0.001)
        else:
            for e in events:
                await r.chunk(encode_event(e, crlf))
        await r.end()
        return keep_alive

    async def stream_endless(self, conn, r, model, keep_alive):
        """ping/delta events every 50 ms for up to 30 s; notices the peer going away."""
        events = sse_events(model)
        await r.chunk(encode_event(events[0], False))   # message_start
        await r.chunk(encode_event(events[2], False))   # content_block_start
        # The request is fully read, so any read now returns only at EOF / reset.
        eof = asyncio.ensure_future(conn.reader.read(1))
        deadline = time.monotonic() + 30
        n = 0
        try:
            while time.monotonic() < deadline:
                if eof.done():
                    raise PeerGone("EOF from peer")
                n += 1
                ev = ("ping", {"type": "ping"}) if n % 5 == 0 else \
                    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": f"tick {n} "}})
                await r.chunk(encode_event(ev, False))
                await asyncio.wait([eof], timeout=0.05)
        except PeerGone as e:
            self.stats.closed_by_peer_midstream += 1
            r.finish(complete=False)
            log(f"conn={conn.id} sse-endless: peer closed mid-stream after {n} events ({e})")
            eof.cancel()
            conn.abort()
            return False
        eof.cancel()
        for ev in events[-3:]:  # content_block_stop, message_delta, message_stop
            await r.chunk(encode_event(ev, False))
        await r.end()
        return keep_alive


def accepted_codings(headers):
    out = set()
    for tok in headers.tokens("accept-encoding"):
        name, _, params = tok.partition(";")
        q = params.replace(" ", "")
        if q.startswith("q=") and float(q[2:] or 0) == 0:
            continue
        out.add(name.strip())
    return out


def message_json(model):
    return {
        "id": rand_id("msg_01"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Hello from the mock! Ünïcödé ✓ 🦀"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 25,
            "cache_creation_input_tokens": 1024,
            "cache_read_input_tokens": 2048,
            "cache_creation": {"ephemeral_5m_input_tokens": 1024, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 12,
            "service_tier": "standard",
        },
    }


def sse_events(model):
    """A realistic event sequence as (event name, data object) pairs."""
    msg = message_json(model)
    msg["content"] = []
    msg["stop_reason"] = None
    msg["usage"]["output_tokens"] = 1
    texts = ["Hello", " from the", " mock —", " Ünïcödé", " ✓ 🦀", " and a \"quoted\" \\ bit", "."]
    events = [
        ("message_start", {"type": "message_start", "message": msg}),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]
    for t in texts:
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": t}}))
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"input_tokens": 25, "cache_creation_input_tokens": 1024,
                                     "cache_read_input_tokens": 2048, "output_tokens": 15}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def encode_event(ev, crlf):
    name, data = ev
    nl = "\r\n" if crlf else "\n"
    # ensure_ascii=False: multi-byte UTF-8 inside the JSON, so byte splits land inside characters.
    return f"event: {name}{nl}data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}{nl}{nl}".encode()


def awkward_pieces(data):
    """Cuts `data` into pieces of 1-7 bytes, always cutting between \\r and \\n."""
    rng = random.Random(len(data))  # deterministic per stream length
    out, i = [], 0
    while i < len(data):
        j = min(len(data), i + rng.randint(1, 7))
        cr = data.find(b"\r", i, j)
        if cr != -1:
            j = cr + 1  # the piece ends right after a \r, so the \n starts the next piece
        out.append(data[i:j])
        i = j
    return out


def models_body():
    models = [
        {"type": "model", "id": "claude-opus-4-1-20250805", "display_name": "Claude Opus 4.1",
         "created_at": "2025-08-05T00:00:00Z"},
        {"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5",
         "created_at": "2025-09-29T00:00:00Z"},
    ]
    return to_json({"data": models, "has_more": False, "first_id": models[0]["id"],
                    "last_id": models[-1]["id"]})


def usage_body():
    return json.dumps({
        "five_hour": {"utilization": 42.0, "resets_at": "2026-01-02T19:59:59.600956+00:00"},
        "seven_day": {"utilization": 17.0, "resets_at": "2026-01-07T09:00:00.000000+00:00"},
        "seven_day_opus": None,
        "extra_usage": {"is_enabled": False, "monthly_limit": None, "used_credits": None,
                        "utilization": None, "currency": "USD"},
    }).encode()


async def main_async(args):
    api = MockAPI(args)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(128)
    lsock.setblocking(False)
    port = lsock.getsockname()[1]
    acceptor = asyncio.ensure_future(api.accept_loop(lsock))
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)  # atomic: readers never see a partial number
    log(f"listening on https://127.0.0.1:{port} (pid {os.getpid()})")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    acceptor.cancel()
    lsock.close()
    log("stopping")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file")
    p.add_argument("--expect-token")
    p.add_argument("--idle-timeout", type=float, default=30.0,
                   help="close connections idle for this many seconds (default 30)")
    args = p.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
