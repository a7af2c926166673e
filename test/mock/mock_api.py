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
      status:NNN     that status with an API error body (429: retry-after 17, x-should-retry, a window 429:
                     unified-status rejected); status:429:bare names no window (unified-status allowed)
      cut-midbody    head with Content-Length 1000, 100 bytes, then TCP close without close_notify
      cut-midstream  SSE head + message_start, then TCP close (no terminating chunk)
      reset-midhead  half a status line ("HTTP/1.1 20"), then a TCP reset (SO_LINGER 0, no close_notify)
      close-midhead  a status line and part of a header line, then a clean close (close_notify + FIN)
      head-split:MS  the answer head in 6 writes MS milliseconds apart, cut inside the status line, a header
                     name, a value, between \r and \n and before the blank line; then the answer as usual
      header:NAME=VALUE  add this header to the answer (after the usual ones, so it wins where the last
                     value counts); VALUE as sent, bytes >= 0x80 included (latin-1); no commas
      close-after    normal answer with connection: close, then close
      bytewise       the whole answer written one byte per write: one byte per TLS record
      gzip           gzip the JSON answer when the request accepts gzip
      delay:MS       wait MS milliseconds before the head
      echo           200 JSON describing the request as received (skips the auth checks)
      usage:I/O/C/R  the answer's usage: input I, output O, cache_creation C, cache_read R
                     (default 25/12/1024/2048 for JSON, 25/15/1024/2048 for SSE)
      usage-split    SSE: message_start carries input/cache counts (output 1), message_delta
                     only {"output_tokens": O} (the classic real shape)
  * Keep-alive by default; honours connection: close; closes connections idle for
    --idle-timeout seconds (default 30).
  * Token usage served: every /v1/messages answer that carried usage has `usage_served`
    ({"model","input","output","cache_creation","cache_read","stream","complete"}) in its
    record, and the same objects are listed in stats `usage_served`. For streams the values are
    what was actually written so far (a stream cut after message_start shows its counts only).

OAuth (src/README.md §6):
  * POST /v1/oauth/token with JSON {"grant_type":"refresh_token","refresh_token","client_id"}.
    ONE refresh token is valid at a time (initially --refresh-token). A valid refresh issues
    access token sk-ant-oat01-mock-<n> and refresh token sk-ant-ort01-mock-<n> (rotation: the
    old refresh token stops working) and answers {"access_token","refresh_token","expires_in",
    "token_type":"Bearer","scope":"user:inference user:profile"}. An old or unknown refresh
    token -> 400 invalid_grant; a wrong client_id (--client-id, default Claude Code's) -> 400
    invalid_request; another grant_type -> 400 unsupported_grant_type. Recorded with kind
    "oauth_token" (not counted in `requests`).
  * Validation mode (--oauth-validate or POST /__mock/oauth {"validate": true}): /v1/messages,
    count_tokens, /v1/models and /api/oauth/usage need a currently valid access token; a known
    but expired one gets 401 "OAuth token has expired. Please obtain a new token or refresh your
    existing token."; an unknown one 401 "Invalid bearer token". Off by default (then
    --expect-token applies as before).
  * POST /__mock/oauth (JSON, every key optional; GET /__mock/oauth shows the state):
      validate        bool: validation mode on/off
      refresh_token   the one valid refresh token (null: none)
      access_tokens   list of tokens (or {"token", "expires_in"}) accepted as valid from now on
      expire_now      true: every currently valid access token is expired (still known)
      expire_tokens   list: expire just these
      expires_in      seconds, for tokens issued from now on (default 28800)
      issue_expired   bool: tokens issued from now on are already expired at the mock
      delay_ms        hold each token answer this long (the refresh is decided on arrival)
      fail_status     answer this status (a server_error body) instead of refreshing...
      fail_count      ...for the next K token calls (omitted or null: until fail_status is
                      cleared with null/0)
      client_id       the client_id the endpoint accepts
      hold_ms, hold_count  hold the next hold_count (default 1) token calls hold_ms before deciding them; a
                      call whose client closed meanwhile is recorded as abandoned and spends nothing
      drop_count      for the next K token calls: refresh (the refresh token is spent), then close
                      the connection without answering (a server that fails after the request arrived)
    Stats gain `refreshes` (token endpoint calls), `refresh_tokens_received` (in order),
    `refresh_results` ([{"refresh_token","status","error","access_token","new_refresh_token",
    "time","mono"}]) and `invalid_grants`.

Usage endpoint (src/README.md §3-§5):
  * The windows (five_hour, seven_day: utilization in percent and a reset time fixed at start,
    in the future) feed both the poll body and the anthropic-ratelimit-unified-* headers on
    /v1/messages (fraction there), so both sources agree.
  * POST /__mock/usage (JSON; GET shows the state):
      {"status": 429, "retry_after": 2, "count": K}   fail the next K polls (count omitted: 1)
      {"shape": "full" | "classic" | "limits"}        five_hour/seven_day + limits[] (default),
                                                      without limits[], or limits[] only
      {"body": {...}}                                 a literal body (null: back to generated)
      {"windows": {"five_hour": {"utilization": P, "resets_at": UNIX}, "seven_day": {...}}}
      {"jitter": S}                                   poll resets_at jitters by up to +-S s
    Stats `usage_poll_times`: arrival time (time.monotonic()) of each poll.
  * /__mock/reset clears records and counters (stats), not the OAuth or usage configuration.

Accounts (several subscriptions behind one upstream):
  * The historical single login above is the account "default" (/__mock/oauth and /__mock/usage
    address it; its answers are unchanged). POST /__mock/accounts {"accounts": {NAME: {...} | null}}
    creates or updates named accounts (NAME [a-z0-9_-]{1,32}; null removes one; "default" may be
    configured but not removed); GET /__mock/accounts shows every account's state. A bad body is
    a 400. A request's bearer selects its account: the named account that knows the access token
    (valid or expired), else "default". Named accounts always validate their own tokens (401
    expired / 401 Invalid bearer token for a token that no account knows and the default refuses).
    The refresh token of a token call selects the account likewise (its current or a spent one).
  * An account's keys (every key optional; an update changes only what it names):
      oauth       the /__mock/oauth keys (refresh_token, access_tokens, expire_now, expire_tokens,
                  expires_in, issue_expired, delay_ms, fail_status/fail_count, drop_count, client_id)
                  plus revoke_on_refresh (bool: a rotation expires the account's older access
                  tokens). A named account issues sk-ant-oat01-mock-NAME-<n> / sk-ant-ort01-mock-NAME-<n>.
      windows     {CLAIM: {...} | null} keyed by header claim: 5h, 7d, 7d_sonnet, 7d_opus, 7d_oi, any
                  [A-Za-z0-9_.-] name (5h->five_hour, 7d->seven_day, 7d_X->seven_day_X in the usage
                  answer; the representative claim uses those long names). Each:
                    utilization          FRACTION 0-1 (the header unit; the usage answer shows percent)
                    resets_at | resets_in  unix seconds | seconds from now (new windows: 7 days)
                    status               the window's -status header (default allowed)
                    surpassed_threshold  fraction: adds the -surpassed-threshold header
                    models               substring or list: the window applies to (and its headers
                                         appear on) answers for matching models only (e.g. 7d_oi)
                    grow                 fraction added after each 200 /v1/messages answer it applies to
                    limit                false (no limits[] entry) or {kind, group, severity, is_active,
                                         display_name} overriding the generated entry (5h: session/
                                         session, 7d: weekly_all/weekly, others: weekly_scoped/weekly
                                         with scope.model.display_name from the claim, e.g. "Opus")
                    top_level            false: the usage answer's key is null (the cap lives in limits[])
                  A new named account starts with 5h and 7d at 0 (1 h and 5 days to reset).
      status      overall unified-status (null: rejected if an applicable window is rejected, else
                  allowed_warning if one is, else allowed)
      representative_claim  default "five_hour"; unified-reset is that window's reset
      fallback_percentage   default "0.5"
      overage     {status (default "rejected"), disabled_reason (default "org_level_disabled"; null
                  omits), in_use (bool; null omits), utilization (fraction), reset (unix)}
      usage       the /__mock/usage keys (status/retry_after/count, shape, body, jitter, windows in the
                  old percent shape) plus extra_usage (the object as answered), spend (an object beside
                  extra_usage; null omits) and limits_extra (literal limits[] entries appended)
      mode | modes  one entry or a list, for POST /v1/messages only. The first entry whose models
                  match the request decides; "count": K runs it K times then drops it, no count keeps
                  it. An entry is a kind or {"kind", "count", "window", "models", "retry_after",
                  "status", "message", "utilization"}:
                    normal       answer normally
                    429          window 429: rate_limit_error body; unified-status rejected, that
                                 window (default the representative one) -status rejected at
                                 utilization >= 1.0, representative-claim = that window, unified-reset
                                 and retry-after = its reset (seconds from now; can be days;
                                 retry_after overrides); no x-should-retry. A window with models
                                 only trips on requests for those models.
                    529          overloaded_error, x-should-retry: true
                    overage      200 answered normally, but unified-status rejected, the window (default
                                 the representative one) rejected, overage-status allowed,
                                 overage-in-use true, overage-utilization (default 0.12), no
                                 disabled-reason
                    third_party  400 invalid_request_error "Third-party apps now draw from your extra
                                 usage, not your plan limits. ..."
                    error        that "status" (400-599) with the API's error body
                  An x-mock-scenario status:NNN wins over the modes.
      reject_when_full  bool: with no mode entry deciding, a request whose applicable window is at
                  >= 100% gets that window's 429
  * Stats gain, per account (`accounts`: {NAME: {...}}, every configured account listed):
    requests (authenticated, by_path {path: n}), statuses {"200": n, ...} (of routed requests),
    auth_failures, modes {kind: n}, usage_polls and usage_poll_times (time.monotonic(), every
    poll carrying the account's token), refreshes, refresh_tokens_received, invalid_grants,
    spent_refresh_reuse (a rotated-away refresh token presented again). `routing`: one entry per
    authenticated API request except usage polls, in order: {"seq", "account", "method", "path",
    "session_id" (x-claude-code-session-id), "user_id" (metadata.user_id), "user_id_session" (its
    _session_<id> suffix or JSON session_id), "model", "mode", "status"}. Global
    `spent_refresh_reuse`; every request record and refresh result names its `account`.

Standard library only.
"""

import argparse
import asyncio
import base64
import copy
import datetime
import gzip
import hashlib
import http
import json
import math
import os
import random
import re
import signal
import socket
import ssl
import string
import struct
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


class ByteWriter:
    """A connection whose writes go out one byte each: with TLS, one byte of plaintext per record."""

    def __init__(self, conn):
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    async def write(self, data):
        for i in range(len(data)):
            await self._conn.write(data[i:i + 1])


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
        self.account = None    # the Account its bearer belongs to (set by check_auth)
        self.model = None      # the body's model (for per-model windows)
        self.rl = None         # header overrides of the answer mode ({"reject", "overage"})


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
        self.resumed_connections = 0  # TLS handshakes that resumed a session (abbreviated)
        self.control_connections = 0
        self.tcp_accepts = 0
        self.handshake_failures = 0
        self.requests = 0             # API requests (everything except /__mock/* and usage polls)
        self.usage_polls = 0          # GET /api/oauth/usage
        self.closed_by_peer_midstream = 0
        self.records = []
        self.refreshes = 0            # POST /v1/oauth/token calls
        self.refresh_tokens_received = []
        self.refresh_results = []
        self.invalid_grants = 0
        self.usage_poll_times = []    # time.monotonic() at each poll's arrival
        self.usage_served = []        # usage of every /v1/messages answer (live dicts)
        self.spent_refresh_reuse = 0  # token calls with a refresh token that was already rotated away
        self.accounts = {}            # account name -> its counters (see account())
        self.routing = []             # (entry, record) per API request that reached an account, in order

    def account(self, name):
        a = self.accounts.get(name)
        if a is None:
            a = self.accounts[name] = {
                "requests": 0, "by_path": {}, "auth_failures": 0, "modes": {}, "usage_polls": 0,
                "usage_poll_times": [], "refreshes": 0, "refresh_tokens_received": [], "invalid_grants": 0,
                "spent_refresh_reuse": 0}
        return a

    def snapshot(self):
        return {
            "connections": self.connections,
            "resumed_connections": self.resumed_connections,
            "requests": self.requests,
            "open_connections": len(self.open_ids),
            "closed_by_peer_midstream": self.closed_by_peer_midstream,
            # extras, useful when a test fails
            "tcp_accepts": self.tcp_accepts,
            "handshake_failures": self.handshake_failures,
            "control_connections": self.control_connections,
            "usage_polls": self.usage_polls,
            "refreshes": self.refreshes,
            "refresh_tokens_received": self.refresh_tokens_received,
            "refresh_results": self.refresh_results,
            "invalid_grants": self.invalid_grants,
            "usage_poll_times": self.usage_poll_times,
            "usage_served": self.usage_served,
            "spent_refresh_reuse": self.spent_refresh_reuse,
            "accounts": self.accounts_snapshot(),
            "routing": [dict(e, status=(rec.get("response") or {}).get("status")) for e, rec in self.routing],
        }

    def accounts_snapshot(self):
        out = {}
        for name, a in self.accounts.items():
            statuses = {}
            for e, rec in self.routing:
                if e["account"] == name:
                    st = str((rec.get("response") or {}).get("status"))
                    statuses[st] = statuses.get(st, 0) + 1
            out[name] = dict(a, statuses=statuses)
        return out


class Responder:
    """Writes one answer and records it (status, headers, de-chunked body) in `record`."""

    def __init__(self, conn, record):
        self.conn = conn
        self.record = record
        self.body = bytearray()
        self.chunked = False
        self.resp = None
        self.extra_headers = []   # scenario header:NAME=VALUE
        self.head_split_ms = None # scenario head-split:MS

    async def head(self, status, headers, chunked=False, keep_alive=True):
        self.chunked = chunked
        hdrs = list(headers) + list(self.extra_headers)
        if chunked:
            hdrs.append(("transfer-encoding", "chunked"))
        hdrs.append(("connection", "keep-alive" if keep_alive else "close"))
        lines = [f"HTTP/1.1 {status} {reason_phrase(status)}"] + [f"{k}: {v}" for k, v in hdrs]
        self.resp = {"status": status, "headers": [[k, v] for k, v in hdrs], "complete": False}
        if self.record is not None:
            self.record["response"] = self.resp
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.head_split_ms is None:
            await self.conn.write(data)
            return
        # Cuts: inside the status line, inside the second header's name, inside its value, between the first
        # \r and \n after it, and just before the blank line.
        second = data.index(b"\r\n") + 2
        second = data.index(b"\r\n", second) + 2
        colon = data.index(b":", second)
        crlf = data.index(b"\r\n", colon)
        cuts = [5, second + 2, colon + 3, crlf + 1, len(data) - 2]
        at = 0
        for cut in cuts + [len(data)]:
            await self.conn.write(data[at:cut])
            at = cut
            if cut < len(data):
                await asyncio.sleep(self.head_split_ms / 1000.0)

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

    def reset(self):
        """A TCP reset: SO_LINGER with a zero timeout, then close (no close_notify, no FIN)."""
        sock = self.writer.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
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



CLAUDE_CODE_CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
EXPIRED_MESSAGE = "OAuth token has expired. Please obtain a new token or refresh your existing token."
FAR_FUTURE = 4102444800.0  # 2100-01-01: "valid until told otherwise"


class OAuthState:
    """The token endpoint's view of the login: one valid refresh token, a set of access tokens
    with expiry times (unix seconds), and the failure/timing knobs set by /__mock/oauth."""

    def __init__(self, args, name=None):
        # The default account takes its start state from the command line; a named account starts
        # with no tokens, always validates (its tokens are how requests find it) and issues tokens
        # with its name in them (sk-ant-oat01-mock-<name>-<n>), so accounts never share one.
        self.name = name
        self.validate = True if name else bool(args.oauth_validate)
        self.refresh_token = None if name else args.refresh_token
        self.access = {}                 # access token -> expiry (unix seconds)
        for t in ([] if name else args.access_token or []):
            self.access[t] = FAR_FUTURE
        self.client_id = args.client_id
        self.spent = []                  # refresh tokens rotated away, in order (a reuse is counted)
        self.revoke_on_refresh = False   # a rotation expires the account's older access tokens
        self.expires_in = 28800
        self.issue_expired = False
        self.delay_ms = 0
        self.fail_status = None
        self.fail_count = None           # None: until cleared
        self.drop_count = 0              # token calls to spend and then drop unanswered
        self.hold_ms = 0                 # hold the next hold_count token calls this long before deciding them
        self.hold_count = 0
        self.n = 0
        self.issued = []                 # every token pair issued, in order

    def configure(self, cfg):
        if not isinstance(cfg, dict):
            raise ValueError("body must be a JSON object")
        now = time.time()
        if "validate" in cfg:
            self.validate = bool(cfg["validate"])
        if "refresh_token" in cfg:
            self.refresh_token = cfg["refresh_token"]
        if "client_id" in cfg:
            self.client_id = cfg["client_id"]
        if "expires_in" in cfg:
            self.expires_in = int(cfg["expires_in"])
        if "issue_expired" in cfg:
            self.issue_expired = bool(cfg["issue_expired"])
        if "delay_ms" in cfg:
            self.delay_ms = int(cfg["delay_ms"] or 0)
        if "fail_status" in cfg:
            self.fail_status = int(cfg["fail_status"]) if cfg["fail_status"] else None
            self.fail_count = cfg.get("fail_count")
        elif "fail_count" in cfg:
            self.fail_count = cfg["fail_count"]
        if "drop_count" in cfg:
            self.drop_count = int(cfg["drop_count"] or 0)
        if "hold_ms" in cfg:
            self.hold_ms = int(cfg["hold_ms"] or 0)
            self.hold_count = int(cfg.get("hold_count", 1) or 0)
        if "revoke_on_refresh" in cfg:
            self.revoke_on_refresh = bool(cfg["revoke_on_refresh"])
        if cfg.get("expire_now"):
            for t in self.access:
                self.access[t] = min(self.access[t], now - 1)
        for t in cfg.get("expire_tokens") or []:
            if t in self.access:
                self.access[t] = min(self.access[t], now - 1)
        for t in cfg.get("access_tokens") or []:
            if isinstance(t, dict):
                ttl = t.get("expires_in")
                self.access[t["token"]] = FAR_FUTURE if ttl is None else now + float(ttl)
            else:
                self.access[str(t)] = FAR_FUTURE

    def snapshot(self):
        now = time.time()
        return {
            "validate": self.validate,
            "refresh_token": self.refresh_token,
            "access_tokens": {t: {"expires_at": e, "valid": e > now} for t, e in self.access.items()},
            "client_id": self.client_id,
            "expires_in": self.expires_in,
            "issue_expired": self.issue_expired,
            "delay_ms": self.delay_ms,
            "fail_status": self.fail_status,
            "fail_count": self.fail_count,
            "drop_count": self.drop_count,
            "hold_ms": self.hold_ms,
            "hold_count": self.hold_count,
            "issued": self.issued,
            "spent_refresh_tokens": self.spent,
            "revoke_on_refresh": self.revoke_on_refresh,
        }

    def check_access(self, token):
        """None when the token is usable now, else the 401 message."""
        exp = self.access.get(token)
        if exp is None:
            return "Invalid bearer token"
        if exp <= time.time():
            return EXPIRED_MESSAGE
        return None

    def take_failure(self):
        """The status to fail this token call with, or None."""
        if not self.fail_status:
            return None
        if self.fail_count is not None:
            if self.fail_count <= 0:
                self.fail_status = None
                return None
            self.fail_count -= 1
        return self.fail_status

    def refresh(self, payload):
        """Decides a token call. Returns (status, body object, error code or None)."""
        if not isinstance(payload, dict):
            return 400, {"error": "invalid_request", "error_description": "body must be a JSON object"}, \
                "invalid_request"
        if payload.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": f"grant_type {payload.get('grant_type')!r} is not supported"}, \
                "unsupported_grant_type"
        if payload.get("client_id") != self.client_id:
            return 400, {"error": "invalid_request", "error_description": "Invalid client_id"}, "invalid_request"
        rt = payload.get("refresh_token")
        if not isinstance(rt, str) or not rt or rt != self.refresh_token:
            return 400, {"error": "invalid_grant",
                         "error_description": "Refresh token not found or invalid"}, "invalid_grant"
        self.n += 1
        tag = f"{self.name}-{self.n}" if self.name else str(self.n)
        access = f"sk-ant-oat01-mock-{tag}"
        refresh = f"sk-ant-ort01-mock-{tag}"
        now = time.time()
        if self.revoke_on_refresh:
            for t in self.access:
                self.access[t] = min(self.access[t], now - 1)
        self.access[access] = now - 1 if self.issue_expired else now + self.expires_in
        self.spent.append(rt)
        self.refresh_token = refresh
        self.issued.append({"access_token": access, "refresh_token": refresh, "expires_in": self.expires_in,
                            "time": now})
        return 200, {"access_token": access, "refresh_token": refresh, "expires_in": self.expires_in,
                     "token_type": "Bearer", "scope": "user:inference user:profile"}, None


def rfc3339(unix):
    """2026-01-02T19:59:59.600956+00:00 (microseconds, +00:00), as the usage endpoint writes it."""
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).isoformat(timespec="microseconds")


WINDOW_NAME_OK = re.compile(r"[A-Za-z0-9_.-]{1,64}")
WINDOW_KEYS = {"utilization", "resets_at", "resets_in", "status", "surpassed_threshold", "models", "grow", "limit",
               "top_level"}
LIMIT_KEYS = {"kind", "group", "severity", "is_active", "display_name"}
OVERAGE_KEYS = {"status", "disabled_reason", "in_use", "utilization", "reset"}


def claim_to_poll(claim):
    """Header claim -> usage-endpoint key: 5h -> five_hour, 7d -> seven_day, 7d_X -> seven_day_X."""
    if claim == "5h":
        return "five_hour"
    if claim == "7d":
        return "seven_day"
    if claim.startswith("7d_"):
        return "seven_day_" + claim[3:]
    return claim


def poll_to_claim(name):
    if name == "five_hour":
        return "5h"
    if name == "seven_day":
        return "7d"
    if name.startswith("seven_day_"):
        return "7d_" + name[len("seven_day_"):]
    return name


def model_matches(model, models):
    """models: None (every model), a substring or a list of substrings of the request's model."""
    if not models:
        return True
    if isinstance(models, str):
        models = [models]
    return isinstance(model, str) and any(m in model for m in models)


def fraction(v):
    return format(v, ".6g")


class UsageState:
    """The subscription's windows as the mock reports them, in the usage poll (percent, RFC 3339)
    and in the rate-limit headers of /v1/messages answers (fraction, unix seconds).

    windows: usage-endpoint key (five_hour, seven_day, seven_day_oi, ...) -> {"utilization":
    percent, "resets_at": unix} plus optional "status", "surpassed_threshold" (fraction), "models"
    (the window applies to, and its headers appear on, answers for these models only), "grow"
    (percent added per 200 /v1/messages answer), "limit" (its limits[] entry; False: none) and
    "top_level" (False: the poll shows the key as null)."""

    def __init__(self, fresh=False):
        start = int(time.time())
        u5, u7 = (0.0, 0.0) if fresh else (42.0, 17.0)
        self.windows = {
            "five_hour": {"utilization": u5, "resets_at": start + 3600 + 0.600956},
            "seven_day": {"utilization": u7, "resets_at": start + 5 * 86400 + 0.250123},
        }
        self.shape = "full"
        self.body = None
        self.jitter = 0.0
        self.fail_status = None
        self.fail_retry_after = None
        self.fail_count = 0
        # Header-side state (per account).
        self.status = None                  # overall unified-status; None: derived from the windows
        self.representative_claim = "five_hour"
        self.fallback_percentage = "0.5"
        self.overage = {"status": "rejected", "disabled_reason": "org_level_disabled", "in_use": None,
                        "utilization": None, "reset": None}
        # Poll-side extras.
        self.extra_usage = {"is_enabled": False, "monthly_limit": None, "used_credits": None,
                            "utilization": None, "currency": "USD"}
        self.spend = None                   # an object beside extra_usage (omitted while None)
        self.limits_extra = []              # literal limits[] entries appended to the generated ones

    def configure(self, cfg):
        """POST /__mock/usage (and an account's "usage" key). Windows here are keyed by usage-endpoint
        name with utilization in percent (the historical shape)."""
        if not isinstance(cfg, dict):
            raise ValueError("body must be a JSON object")
        if "status" in cfg:
            self.fail_status = int(cfg["status"]) if cfg["status"] else None
            self.fail_retry_after = cfg.get("retry_after")
            self.fail_count = int(cfg.get("count", 1)) if self.fail_status else 0
        if "shape" in cfg:
            if cfg["shape"] not in ("full", "classic", "limits"):
                raise ValueError(f"unknown shape {cfg['shape']!r}")
            self.shape = cfg["shape"]
        if "body" in cfg:
            self.body = cfg["body"]
        if "jitter" in cfg:
            self.jitter = float(cfg["jitter"] or 0)
        if "extra_usage" in cfg:
            if not isinstance(cfg["extra_usage"], dict):
                raise ValueError("extra_usage must be an object")
            self.extra_usage = dict(cfg["extra_usage"])
        if "spend" in cfg:
            self.spend = cfg["spend"]
        if "limits_extra" in cfg:
            if not isinstance(cfg["limits_extra"], list):
                raise ValueError("limits_extra must be a list")
            self.limits_extra = list(cfg["limits_extra"])
        for name, w in (cfg.get("windows") or {}).items():
            # Windows made this way other than five_hour/seven_day get no limits[] entry (as before).
            cur = self.windows.setdefault(name, {"utilization": 0.0, "resets_at": time.time() + 3600,
                                                 "limit": False})
            for k in ("utilization", "resets_at"):
                if k in w:
                    cur[k] = float(w[k])

    def configure_account(self, cfg):
        """An account's header-side keys: windows keyed by header claim (5h, 7d, 7d_oi, any name)
        with utilization as a fraction; overall status, representative claim, overage."""
        now = time.time()
        for claim, w in (cfg.get("windows") or {}).items():
            if not WINDOW_NAME_OK.fullmatch(claim):
                raise ValueError(f"bad window name {claim!r}")
            if claim.startswith("five_hour") or claim.startswith("seven_day"):
                raise ValueError(f"account windows are named by header claim (5h, 7d, 7d_oi...), not {claim!r}")
            name = claim_to_poll(claim)
            if w is None:
                self.windows.pop(name, None)
                continue
            if not isinstance(w, dict):
                raise ValueError(f"window {claim}: must be an object or null")
            if set(w) - WINDOW_KEYS:
                raise ValueError(f"window {claim}: unknown keys {sorted(set(w) - WINDOW_KEYS)}")
            cur = self.windows.setdefault(name, {"utilization": 0.0, "resets_at": now + 7 * 86400})
            if "utilization" in w:
                cur["utilization"] = float(w["utilization"]) * 100
            if "resets_at" in w:
                cur["resets_at"] = float(w["resets_at"])
            if "resets_in" in w:
                cur["resets_at"] = now + float(w["resets_in"])
            if "status" in w:
                cur["status"] = str(w["status"])
            if "surpassed_threshold" in w:
                t = w["surpassed_threshold"]
                cur["surpassed_threshold"] = None if t is None else float(t)
            if "models" in w:
                cur["models"] = w["models"]
            if "grow" in w:
                cur["grow"] = float(w["grow"] or 0) * 100
            if "limit" in w:
                lim = w["limit"]
                if lim not in (None, False) and (not isinstance(lim, dict) or set(lim) - LIMIT_KEYS):
                    raise ValueError(f"window {claim}: limit must be false or an object with {sorted(LIMIT_KEYS)}")
                cur["limit"] = False if lim in (None, False) else dict(lim)
            elif cur.get("limit") is False and name not in ("five_hour", "seven_day"):
                cur.pop("limit")   # a window named by claim gets a limits[] entry by default
            if "top_level" in w:
                cur["top_level"] = bool(w["top_level"])
        if "status" in cfg:
            self.status = cfg["status"]
        if "representative_claim" in cfg:
            self.representative_claim = str(cfg["representative_claim"])
        if "fallback_percentage" in cfg:
            self.fallback_percentage = str(cfg["fallback_percentage"])
        if "overage" in cfg:
            ov = cfg["overage"]
            if not isinstance(ov, dict) or set(ov) - OVERAGE_KEYS:
                raise ValueError(f"overage must be an object with keys from {sorted(OVERAGE_KEYS)}")
            self.overage.update(ov)

    def snapshot(self):
        return {"windows": self.windows, "shape": self.shape, "body": self.body, "jitter": self.jitter,
                "fail_status": self.fail_status, "fail_retry_after": self.fail_retry_after,
                "fail_count": self.fail_count, "status": self.status,
                "representative_claim": self.representative_claim,
                "fallback_percentage": self.fallback_percentage, "overage": self.overage,
                "extra_usage": self.extra_usage, "spend": self.spend, "limits_extra": self.limits_extra}

    def take_failure(self):
        if self.fail_status and self.fail_count > 0:
            self.fail_count -= 1
            return self.fail_status, self.fail_retry_after
        return None, None

    def util(self, name):
        return self.windows[name]["utilization"]

    def reset(self, name):
        return self.windows[name]["resets_at"]

    def applicable(self, model):
        """The windows that apply to a request for `model` (None: only those without a model filter)."""
        return [(n, w) for n, w in self.windows.items() if model_matches(model, w.get("models"))]

    def grow(self, model):
        for _, w in self.applicable(model):
            if w.get("grow"):
                w["utilization"] = min(100.0, w["utilization"] + w["grow"])

    def full_window(self, model):
        """The first window applying to `model` at or above 100%, or None."""
        for n, w in self.applicable(model):
            if w["utilization"] >= 100:
                return n
        return None

    def limit_entry(self, name, w, when):
        lim = w.get("limit")
        if lim is False:
            return None
        lim = lim or {}
        if name == "five_hour":
            kind, group, display = "session", "session", None
        elif name == "seven_day":
            kind, group, display = "weekly_all", "weekly", None
        else:
            suffix = name[len("seven_day_"):] if name.startswith("seven_day_") else name
            kind, group, display = "weekly_scoped", "weekly", suffix.replace("_", " ").title()
        u = w["utilization"]
        display = lim.get("display_name", display)
        return {"kind": lim.get("kind", kind), "group": lim.get("group", group), "percent": u, "resets_at": when,
                "severity": lim.get("severity", "critical" if u >= 90 else "warning" if u >= 75 else "normal"),
                "scope": {"model": {"display_name": display}} if display else None,
                "is_active": lim.get("is_active", True)}

    def poll_body(self):
        if self.body is not None:
            return to_json(self.body)

        def when(name):
            r = self.reset(name)
            if self.jitter:
                r += random.uniform(-self.jitter, self.jitter)
            return rfc3339(r)

        out = {}
        if self.shape in ("full", "classic"):
            for name, w in self.windows.items():
                out[name] = {"utilization": self.util(name), "resets_at": when(name)} \
                    if w.get("top_level", True) else None
            out.setdefault("seven_day_oauth_apps", None)
            out.setdefault("seven_day_opus", None)
            out["extra_usage"] = self.extra_usage
            if self.spend is not None:
                out["spend"] = self.spend
        if self.shape in ("full", "limits"):
            limits = []
            for name, w in self.windows.items():
                e = self.limit_entry(name, w, when(name))
                if e is not None:
                    limits.append(e)
            out["limits"] = limits + self.limits_extra
        return to_json(out)

    def headers(self, rl_status=None, model=None, reject=None, overage=None):
        """The anthropic-ratelimit-unified-* headers of an answer for `model`.
        rl_status: the overall status as given ("rejected" also rejects the representative window);
        reject: a window (usage-endpoint key) shown rejected at >= 100% and made representative;
        overage: overrides of the overage fields (an answer paid from extra usage)."""
        p = "anthropic-ratelimit-unified-"
        wins = self.applicable(model)
        rep = self.representative_claim
        if reject is None and rl_status == "rejected":
            reject = rep if rep in self.windows else "five_hour"
        if reject is not None:
            rep = reject
        ov = dict(self.overage)
        ov.update(overage or {})
        statuses = {n: "rejected" if n == reject else w.get("status", "allowed") for n, w in wins}
        if rl_status:
            overall = rl_status
        elif reject is not None:
            overall = "rejected"
        elif self.status:
            overall = self.status
        elif "rejected" in statuses.values():
            overall = "rejected"
        elif "allowed_warning" in statuses.values():
            overall = "allowed_warning"
        else:
            overall = "allowed"
        h = [(p + "status", overall)]
        rw = self.windows.get(rep) or self.windows.get("five_hour")
        if rw:
            h.append((p + "reset", str(int(rw["resets_at"]))))
        for n, w in wins:
            c = poll_to_claim(n)
            u = w["utilization"] / 100
            util = ("1.0" if u <= 1.0 else fraction(u)) if n == reject else fraction(u)
            h += [(p + c + "-status", statuses[n]), (p + c + "-utilization", util),
                  (p + c + "-reset", str(int(w["resets_at"])))]
            if w.get("surpassed_threshold") is not None:
                h.append((p + c + "-surpassed-threshold", fraction(w["surpassed_threshold"])))
        h += [(p + "representative-claim", rep), (p + "fallback-percentage", self.fallback_percentage)]
        if ov.get("status"):
            h.append((p + "overage-status", ov["status"]))
        if ov.get("disabled_reason"):
            h.append((p + "overage-disabled-reason", ov["disabled_reason"]))
        if ov.get("in_use") is not None:
            h.append((p + "overage-in-use", "true" if ov["in_use"] else "false"))
        if ov.get("utilization") is not None:
            h.append((p + "overage-utilization", fraction(float(ov["utilization"]))))
        if ov.get("reset") is not None:
            h.append((p + "overage-reset", str(int(ov["reset"]))))
        return h


class ServedUsage:
    """The usage of one /v1/messages answer as far as it was written (merged like a client would:
    field by field, last value wins). Lives in the request's record and in stats.usage_served."""

    def __init__(self, stats, rec, model, stream):
        self.stats, self.rec = stats, rec
        self.d = {"seq": rec["seq"], "model": model, "input": None, "output": None, "cache_creation": None,
                  "cache_read": None, "stream": stream, "complete": False}

    def note(self, usage):
        if not isinstance(usage, dict):
            return
        for src, dst in (("input_tokens", "input"), ("output_tokens", "output"),
                         ("cache_creation_input_tokens", "cache_creation"),
                         ("cache_read_input_tokens", "cache_read")):
            if isinstance(usage.get(src), int):
                self.d[dst] = usage[src]
        if "usage_served" not in self.rec:
            self.rec["usage_served"] = self.d
            self.stats.usage_served.append(self.d)

    def note_event(self, ev):
        name, data = ev
        if name == "message_start":
            self.note(data.get("message", {}).get("usage"))
        elif name == "message_delta":
            self.note(data.get("usage"))

    def done(self):
        self.d["complete"] = True


ACCOUNT_NAME_OK = re.compile(r"[a-z0-9_-]{1,32}")
ACCOUNT_KEYS = {"oauth", "usage", "windows", "status", "representative_claim", "fallback_percentage", "overage",
                "mode", "modes", "reject_when_full"}
MODE_KINDS = {"normal", "429", "529", "overage", "third_party", "error"}
MODE_KEYS = {"kind", "count", "window", "models", "retry_after", "status", "message", "utilization"}
THIRD_PARTY_MESSAGE = ("Third-party apps now draw from your extra usage, not your plan limits. "
                       "Turn on extra usage or use Claude Code to keep going.")


def parse_mode(m):
    """A mode entry: "529" or {"kind": "429", "window": "7d", "count": 2, ...}; count omitted/null: persistent."""
    if isinstance(m, (str, int)):
        m = {"kind": str(m)}
    if not isinstance(m, dict) or set(m) - MODE_KEYS:
        raise ValueError(f"a mode is a kind or an object with keys from {sorted(MODE_KEYS)}: {m!r}")
    m = dict(m)
    m["kind"] = str(m.get("kind", "normal"))
    if m["kind"] not in MODE_KINDS:
        raise ValueError(f"unknown mode kind {m['kind']!r} (one of {sorted(MODE_KINDS)})")
    if m.get("count") is not None:
        m["count"] = int(m["count"])
        if m["count"] <= 0:
            raise ValueError("mode count must be positive (omit it for a persistent mode)")
    else:
        m["count"] = None
    if m.get("window") is not None:
        m["window"] = claim_to_poll(str(m["window"]))
    if m["kind"] == "error":
        st = int(m.get("status") or 0)
        if not 400 <= st <= 599:
            raise ValueError("mode error needs a status 400-599")
        m["status"] = st
    return m


class Account:
    """One subscription at the mock: its own login (OAuthState), its own windows and usage answer
    (UsageState) and a queue of answer modes for POST /v1/messages. The default account is the
    mock's historical single login; named ones are made with POST /__mock/accounts."""

    def __init__(self, name, oauth, usage):
        self.name = name
        self.oauth = oauth
        self.usage = usage
        self.modes = []              # first entry matching the request's model decides; counts run down
        self.reject_when_full = False

    def configure(self, cfg):
        if not isinstance(cfg, dict):
            raise ValueError(f"account {self.name}: config must be an object")
        unknown = set(cfg) - ACCOUNT_KEYS
        if unknown:
            raise ValueError(f"account {self.name}: unknown keys {sorted(unknown)}")
        if "oauth" in cfg:
            self.oauth.configure(cfg["oauth"])
            if self.name != "default":
                self.oauth.validate = True
        if "usage" in cfg:
            self.usage.configure(cfg["usage"])
        self.usage.configure_account(cfg)
        if "mode" in cfg:
            self.modes = [parse_mode(cfg["mode"])]
        if "modes" in cfg:
            self.modes = [parse_mode(m) for m in cfg["modes"] or []]
        for m in self.modes:
            if m.get("window") and m["window"] not in self.usage.windows:
                raise ValueError(f"account {self.name}: mode window {poll_to_claim(m['window'])!r} is not configured")
        if "reject_when_full" in cfg:
            self.reject_when_full = bool(cfg["reject_when_full"])

    def snapshot(self):
        return {"name": self.name, "oauth": self.oauth.snapshot(), "usage": self.usage.snapshot(),
                "modes": self.modes, "reject_when_full": self.reject_when_full}

    def take_mode(self, model):
        """The mode for a /v1/messages request for `model` (consuming one of its count), or None."""
        for i, m in enumerate(self.modes):
            models = m.get("models")
            if models is None and m.get("window") in self.usage.windows:
                models = self.usage.windows[m["window"]].get("models")   # a model bucket's 429 hits its models
            if not model_matches(model, models):
                continue
            if m["count"] is not None:
                m["count"] -= 1
                if m["count"] <= 0:
                    del self.modes[i]
            return m
        if self.reject_when_full:
            full = self.usage.full_window(model)
            if full:
                return {"kind": "429", "window": full, "count": None, "auto": True}
        return None


def session_of(req):
    """(x-claude-code-session-id, metadata.user_id, the session inside user_id, model) of a request.
    user_id comes as 'user_<hash>_account_<uuid>_session_<uuid>' or as a JSON string with session_id."""
    header = req.headers.get("x-claude-code-session-id")
    uid = session = model = None
    if req.method == "POST" and req.body:
        try:
            payload = json.loads(req.body)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            model = payload.get("model") if isinstance(payload.get("model"), str) else None
            md = payload.get("metadata")
            if isinstance(md, dict) and isinstance(md.get("user_id"), str):
                uid = md["user_id"]
    if uid:
        m = re.search(r"_session_([0-9A-Za-z-]+)$", uid)
        if m:
            session = m.group(1)
        else:
            try:
                j = json.loads(uid)
                if isinstance(j, dict) and isinstance(j.get("session_id"), str):
                    session = j["session_id"]
            except ValueError:
                pass
    return header, uid, session, model


class MockAPI:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.next_conn_id = 0
        self.next_req_id = 0
        self.idle_timeout = args.idle_timeout
        self.oauth = OAuthState(args)
        self.usage = UsageState()
        # The historical single login is the account "default"; /__mock/oauth and /__mock/usage address it.
        self.accounts = {"default": Account("default", self.oauth, self.usage)}
        self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_ctx.load_cert_chain(args.cert, args.key)
        self.ssl_ctx.set_alpn_protocols(["http/1.1"])
        if args.tls_version:  # only this protocol version (a TLS 1.2-only or TLS 1.3-only server)
            v = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[args.tls_version]
            self.ssl_ctx.minimum_version = self.ssl_ctx.maximum_version = v
        if args.client_cipher_order:  # the client's cipher preference decides (as most servers let it)
            self.ssl_ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        if args.no_tickets:  # TLS 1.3 with no session ticket after the handshake; TLS 1.2 without tickets either
            self.ssl_ctx.num_tickets = 0
            self.ssl_ctx.options |= ssl.OP_NO_TICKET
        self.conn_tls = {}  # connection id -> what its handshake negotiated (put in request records)

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
        ssl_obj = writer.get_extra_info("ssl_object")
        if ssl_obj is not None and ssl_obj.session_reused:
            st.resumed_connections += 1
        if ssl_obj is not None:
            self.conn_tls[conn_id] = {"version": ssl_obj.version(), "cipher": ssl_obj.cipher()[0],
                                      "resumed": ssl_obj.session_reused}
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
            self.conn_tls.pop(conn_id, None)
            await conn.close()

    # ---- control endpoints -----------------------------------------------------------
    async def control(self, conn, req, keep_alive):
        r = Responder(conn, None)
        if req.method == "GET" and req.path == "/__mock/stats":
            for name in self.accounts:
                self.stats.account(name)
            body = json.dumps(self.stats.snapshot()).encode()
        elif req.path == "/__mock/accounts" and req.method in ("GET", "POST"):
            if req.method == "POST" and req.body.strip():
                try:
                    self.configure_accounts(json.loads(req.body))
                except (ValueError, TypeError, KeyError) as e:
                    await r.full(400, [("content-type", "application/json")],
                                 api_error_body(400, f"mock: bad {req.path} body: {e}"), keep_alive)
                    return keep_alive
                log(f"{req.path} configured: {req.body[:300].decode('utf-8', 'replace')}")
            body = json.dumps({n: a.snapshot() for n, a in self.accounts.items()}).encode()
        elif req.method == "GET" and req.path == "/__mock/requests":
            body = json.dumps(self.stats.records).encode()
        elif req.method == "POST" and req.path == "/__mock/reset":
            self.stats.reset()
            body = b'{"reset":true}'
        elif req.path in ("/__mock/oauth", "/__mock/usage") and req.method in ("GET", "POST"):
            state = self.oauth if req.path == "/__mock/oauth" else self.usage
            if req.method == "POST" and req.body.strip():
                try:
                    state.configure(json.loads(req.body))
                except (ValueError, TypeError, KeyError) as e:
                    await r.full(400, [("content-type", "application/json")],
                                 api_error_body(400, f"mock: bad {req.path} body: {e}"), keep_alive)
                    return keep_alive
                log(f"{req.path} configured: {req.body[:300].decode('utf-8', 'replace')}")
            body = json.dumps(state.snapshot()).encode()
        else:
            await r.full(404, [("content-type", "application/json")],
                         api_error_body(404, f"mock: no control endpoint {req.method} {req.path}"), keep_alive)
            return keep_alive
        await r.full(200, [("content-type", "application/json")], body, keep_alive)
        return keep_alive

    def configure_accounts(self, cfg):
        """POST /__mock/accounts {"accounts": {NAME: {...} | null}}: creates or updates accounts (null
        removes one; "default" is the historical login and cannot be removed). All or nothing: the
        whole body is checked on copies first."""
        if not isinstance(cfg, dict) or set(cfg) != {"accounts"} or not isinstance(cfg["accounts"], dict):
            raise ValueError('body must be {"accounts": {NAME: {...}}}')
        self.apply_accounts(copy.deepcopy(self.accounts), cfg["accounts"])  # raises before anything changed
        self.apply_accounts(self.accounts, cfg["accounts"])

    def apply_accounts(self, accounts, cfg):
        for name, acfg in cfg.items():
            if not ACCOUNT_NAME_OK.fullmatch(name):
                raise ValueError(f"bad account name {name!r} ([a-z0-9_-]{{1,32}})")
            if acfg is None:
                if name == "default":
                    raise ValueError("the default account cannot be removed")
                accounts.pop(name, None)
                continue
            acct = accounts.get(name)
            if acct is None:
                acct = Account(name, OAuthState(self.args, name=name), UsageState(fresh=True))
            acct.configure(acfg)
            accounts[name] = acct

    def account_for_token(self, token):
        """The named account that knows this access token (valid or expired), else the default."""
        for acct in self.accounts.values():
            if acct.name != "default" and token in acct.oauth.access:
                return acct
        return self.accounts["default"]

    def account_for_refresh(self, rt):
        """The named account whose refresh token this is or was, else the default."""
        for acct in self.accounts.values():
            if acct.name != "default" and rt is not None and (rt == acct.oauth.refresh_token or rt in acct.oauth.spent):
                return acct
        return self.accounts["default"]

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
            "tls": self.conn_tls.get(req.conn_id),
        }
        if len(req.body) <= RECORD_BODY_MAX:
            rec["body_b64"] = base64.b64encode(req.body).decode()
        if req.path == "/api/oauth/usage":
            self.stats.usage_polls += 1
            self.stats.usage_poll_times.append(time.monotonic())
            rec["kind"] = "usage_poll"
        elif req.path == "/v1/oauth/token":
            rec["kind"] = "oauth_token"
        else:
            self.stats.requests += 1
            rec["kind"] = "api"
        self.stats.records.append(rec)
        return rec

    def common_headers(self, request_id, ratelimit=True, rl_status=None, req=None, reject=None, overage=None):
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
            # The same windows as the usage poll reports (fractions here, percent there), of the
            # account the bearer belongs to, for the request's model; a mode may reject or bill overage.
            acct = getattr(req, "account", None) or self.accounts["default"]
            rl = getattr(req, "rl", None) or {}
            h += acct.usage.headers(rl_status, model=getattr(req, "model", None),
                                    reject=reject or rl.get("reject"), overage=overage or rl.get("overage"))
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
        acct = req.account = self.account_for_token(token)
        if acct.name != "default" or self.oauth.validate:
            problem = acct.oauth.check_access(token)
            if problem:
                return 401, problem
        elif self.args.expect_token is not None and token != self.args.expect_token:
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

        if req.path == "/v1/oauth/token":
            return await self.token_endpoint(r, req, rec, keep_alive)

        known = {"sse-split", "sse-slow", "sse-endless", "status", "cut-midbody", "cut-midstream",
                 "close-after", "gzip", "delay", "echo", "usage", "usage-split", "reset-midhead",
                 "close-midhead", "header", "head-split", "bytewise"}
        unknown = [n for n in names if n not in known]
        if unknown:
            await r.full(400, self.common_headers(request_id) + [("content-type", "application/json")],
                         api_error_body(400, f"mock: unknown scenario {unknown}", request_id), keep_alive)
            return keep_alive

        for s in scenarios:
            if s.startswith("header:") and "=" in s:
                name, _, value = s[len("header:"):].partition("=")
                r.extra_headers.append((name.strip(), value))
            if s.startswith("head-split:"):
                r.head_split_ms = int(s.split(":", 1)[1])
        for s in scenarios:
            if s.startswith("delay:"):
                await asyncio.sleep(int(s.split(":", 1)[1]) / 1000.0)
        if "close-after" in names:
            keep_alive = False
        if "bytewise" in names:
            r.conn = ByteWriter(r.conn)

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
        acct = req.account
        if acct is not None:
            rec["account"] = acct.name
            ast = self.stats.account(acct.name)
            if req.path == "/api/oauth/usage":
                ast["usage_polls"] += 1
                ast["usage_poll_times"].append(time.monotonic())
            if err:
                ast["auth_failures"] += 1
            else:
                ast["requests"] += 1
                ast["by_path"][req.path] = ast["by_path"].get(req.path, 0) + 1
                if req.path != "/api/oauth/usage":
                    sid, uid, usess, req.model = session_of(req)
                    self.stats.routing.append(({"seq": rec["seq"], "account": acct.name, "method": req.method,
                                                "path": req.path, "session_id": sid, "user_id": uid,
                                                "user_id_session": usess, "model": req.model,
                                                "mode": None}, rec))
        if err:
            status, message = err
            await r.full(status, self.common_headers(request_id, ratelimit=is_messages, req=req)
                         + [("content-type", "application/json")],
                         api_error_body(status, message, request_id), keep_alive)
            return keep_alive

        for s in scenarios:
            if s.startswith("status:"):
                return await self.answer_status(r, req, s, request_id, keep_alive)

        if req.method == "POST" and req.path == "/v1/messages":
            mode = acct.take_mode(req.model)
            if mode is not None:
                ast["modes"][mode["kind"]] = ast["modes"].get(mode["kind"], 0) + 1
                self.stats.routing[-1][0]["mode"] = mode["kind"]
                rec["mode"] = mode["kind"]
                if mode["kind"] == "overage":
                    win = mode.get("window") or acct.usage.representative_claim
                    req.rl = {"reject": win if win in acct.usage.windows else None,
                              "overage": {"status": "allowed", "disabled_reason": None, "in_use": True,
                                          "utilization": mode.get("utilization", 0.12)}}
                elif mode["kind"] != "normal":
                    return await self.answer_mode(r, req, mode, request_id, keep_alive)
            try:
                return await self.answer_messages(conn, r, req, rec, scenarios, names, request_id, keep_alive)
            finally:
                if (r.resp or {}).get("status") == 200:
                    acct.usage.grow(req.model)

        if req.path == "/v1/messages/count_tokens":
            await r.full(200, self.common_headers(request_id, ratelimit=False)
                         + [("content-type", "application/json")], b'{"input_tokens":42}', keep_alive)
            return keep_alive
        if req.path == "/v1/models":
            await r.full(200, self.common_headers(request_id, ratelimit=False)
                         + [("content-type", "application/json")], models_body(), keep_alive)
            return keep_alive
        if req.path == "/api/oauth/usage":
            status, retry_after = acct.usage.take_failure()
            if status:
                extra = [("retry-after", str(retry_after))] if retry_after is not None else []
                msg = "Rate limited. Please try again later." if status == 429 else ERROR_MESSAGES.get(
                    status, f"mock: status {status}")
                await r.full(status, self.common_headers(request_id, ratelimit=False) + extra
                             + [("content-type", "application/json")],
                             api_error_body(status, msg, request_id), keep_alive)
                return keep_alive
            await r.full(200, self.common_headers(request_id, ratelimit=False)
                         + [("content-type", "application/json")], acct.usage.poll_body(), keep_alive)
            return keep_alive
        return await self.answer_messages(conn, r, req, rec, scenarios, names, request_id, keep_alive)

    async def answer_mode(self, r, req, mode, request_id, keep_alive):
        """An account's error answer mode for POST /v1/messages (see the module doc)."""
        kind, acct = mode["kind"], req.account
        ct = [("content-type", "application/json")]
        if kind == "429":
            win = mode.get("window") or acct.usage.representative_claim
            if win not in acct.usage.windows:
                win = next(iter(acct.usage.windows), None)
            ra = mode.get("retry_after")
            if ra is None:
                reset = acct.usage.windows[win]["resets_at"] if win else time.time() + 60
                ra = max(0, math.ceil(reset - time.time()))
            headers = self.common_headers(request_id, req=req, reject=win) + [("retry-after", str(ra))]
            body = api_error_body(429, mode.get("message") or ERROR_MESSAGES[429], request_id)
            status = 429
        elif kind == "529":
            headers = self.common_headers(request_id, req=req) + [("x-should-retry", "true")]
            body = api_error_body(529, mode.get("message") or ERROR_MESSAGES[529], request_id)
            status = 529
        elif kind == "third_party":
            headers = self.common_headers(request_id, req=req)
            body = api_error_body(400, mode.get("message") or THIRD_PARTY_MESSAGE, request_id)
            status = 400
        else:  # error
            status = mode["status"]
            headers = self.common_headers(request_id, req=req)
            body = api_error_body(status, mode.get("message") or ERROR_MESSAGES.get(status, f"mock: status {status}"),
                                  request_id)
        await r.full(status, headers + ct, body, keep_alive)
        return keep_alive

    async def answer_messages(self, conn, r, req, rec, scenarios, names, request_id, keep_alive):
        """POST /v1/messages, answered normally (scenarios apply)."""
        try:
            payload = json.loads(req.body or b"null")
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError as e:
            await r.full(400, self.common_headers(request_id, req=req) + [("content-type", "application/json")],
                         api_error_body(400, f"mock: body is not a JSON object: {e}", request_id), keep_alive)
            return keep_alive
        model = payload.get("model") if isinstance(payload.get("model"), str) else "claude-sonnet-4-5-20250929"
        usage = None
        for s in scenarios:
            if s.startswith("usage:"):
                try:
                    usage = [int(x) for x in s.split(":", 1)[1].split("/")]
                    if len(usage) != 4 or min(usage) < 0:
                        raise ValueError
                except ValueError:
                    await r.full(400, self.common_headers(request_id, req=req) + [("content-type", "application/json")],
                                 api_error_body(400, f"mock: bad usage scenario {s!r} (usage:I/O/C/R)",
                                                request_id), keep_alive)
                    return keep_alive

        if "reset-midhead" in names or "close-midhead" in names:
            return await self.answer_cut_head(conn, rec, reset="reset-midhead" in names)

        if "cut-midbody" in names:
            await r.head(200, self.common_headers(request_id, req=req) + [("content-type", "application/json"),
                                                                 ("content-length", "1000")])
            await r.raw(b'{"id":"msg_cut","type":"message","role":"assistant","content":[{"type":"text","text":"'
                        .ljust(100, b"x"))
            r.finish(complete=False)
            await self.abort_after_flush(conn)
            return False

        streaming = payload.get("stream") is True or any(n.startswith("sse-") for n in names) \
            or "cut-midstream" in names
        if streaming:
            return await self.answer_stream(conn, r, req, names, model, request_id, keep_alive, usage)

        msg = message_json(model, usage)
        served = ServedUsage(self.stats, rec, model, stream=False)
        body = to_json(msg)
        headers = self.common_headers(request_id, req=req) + [("content-type", "application/json")]
        if "gzip" in names and "gzip" in accepted_codings(req.headers):
            body = gzip.compress(body)
            headers.append(("content-encoding", "gzip"))
            headers.append(("vary", "accept-encoding"))
        await r.full(200, headers, body, keep_alive)
        served.note(msg["usage"])
        served.done()
        return keep_alive

    async def token_endpoint(self, r, req, rec, keep_alive):
        """POST /v1/oauth/token: the refresh grant with rotation (see the module doc)."""
        st, o = self.stats, self.oauth
        headers = [("date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())),
                   ("content-type", "application/json"), ("cache-control", "no-store"),
                   ("server", "cloudflare")]
        if req.method != "POST":
            await r.full(405, headers + [("allow", "POST")],
                         to_json({"error": "invalid_request", "error_description": "method not allowed"}),
                         keep_alive)
            return keep_alive
        st.refreshes += 1
        try:
            payload = json.loads(req.body or b"null")
        except ValueError:
            payload = None
        rt = payload.get("refresh_token") if isinstance(payload, dict) else None
        st.refresh_tokens_received.append(rt)
        # The refresh token picks the account (the default one when no named account knows it).
        acct = self.account_for_refresh(rt if isinstance(rt, str) else None)
        o = acct.oauth
        ast = st.account(acct.name)
        rec["account"] = acct.name
        ast["refreshes"] += 1
        ast["refresh_tokens_received"].append(rt)
        if o.hold_count > 0:
            # Held before it is decided: a client that goes away meanwhile (killed mid-refresh) spends nothing,
            # as a server that rotates only what it can answer.
            o.hold_count -= 1
            await asyncio.sleep(o.hold_ms / 1000.0)
            if r.conn.reader.at_eof() or r.conn.writer.is_closing():
                st.refresh_results.append({"refresh_token": rt, "status": None, "error": "abandoned",
                                           "time": time.time(), "mono": time.monotonic(), "account": acct.name,
                                           "abandoned": True})
                log("token endpoint: the client went away while its call was held; nothing decided")
                return False
        fail = o.take_failure()
        if fail:
            status, answer, code = fail, {"error": "server_error",
                                          "error_description": f"mock: token endpoint failing ({fail})"}, "server_error"
        else:
            status, answer, code = o.refresh(payload)
        reuse = code == "invalid_grant" and rt in o.spent
        if code == "invalid_grant":
            st.invalid_grants += 1
            ast["invalid_grants"] += 1
        if reuse:
            st.spent_refresh_reuse += 1
            ast["spent_refresh_reuse"] += 1
        result = {"refresh_token": rt, "status": status, "error": code, "time": time.time(),
                  "mono": time.monotonic(), "access_token": answer.get("access_token"),
                  "new_refresh_token": answer.get("refresh_token"), "account": acct.name,
                  "spent_reuse": reuse}
        st.refresh_results.append(result)
        log(f"token endpoint: refresh_token={rt!r} -> {status} {code or answer.get('access_token')}")
        if o.delay_ms:
            await asyncio.sleep(o.delay_ms / 1000.0)
        if o.drop_count > 0:
            o.drop_count -= 1
            result["dropped"] = True
            log("token endpoint: dropping the connection without an answer (drop_count)")
            r.conn.abort()
            return False
        await r.full(status, headers, to_json(answer), keep_alive)
        return keep_alive

    async def answer_status(self, r, req, scenario, request_id, keep_alive):
        # status:NNN, or status:429:bare (a 429 that names no window: unified-status stays allowed)
        parts = scenario.split(":")
        bare = parts[2:] == ["bare"]
        try:
            status = int(parts[1])
            if not 400 <= status <= 599 or (len(parts) > 2 and not bare):
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
        headers = self.common_headers(request_id, rl_status="rejected" if status == 429 and not bare else "allowed",
                                      req=req)
        msg = ERROR_MESSAGES.get(status, f"mock: status {status}")
        await r.full(status, headers + extra + [("content-type", "application/json")],
                     api_error_body(status, msg, request_id), keep_alive)
        return keep_alive

    async def answer_cut_head(self, conn, rec, reset):
        """reset-midhead / close-midhead: part of an answer head, then the connection ends."""
        head = b"HTTP/1.1 20" if reset else b"HTTP/1.1 200 OK\r\ncontent-type: application/js"
        rec["response"] = {"status": None, "headers": [], "complete": False, "body_length": 0,
                           "cut": "reset mid-head" if reset else "closed mid-head"}
        await conn.write(head)
        await asyncio.sleep(0.05)  # let the bytes reach the kernel (and the peer) first
        if reset:
            conn.reset()
        else:
            await conn.close()
        log(f"conn={conn.id} {rec['response']['cut']} after {len(head)} bytes")
        return False

    async def abort_after_flush(self, conn):
        # Give the event loop a moment to hand the bytes to the kernel, then cut the TCP
        # connection without close_notify (abort() would drop still-buffered bytes).
        await asyncio.sleep(0.05)
        conn.abort()

    async def answer_stream(self, conn, r, req, names, model, request_id, keep_alive, usage=None):
        crlf = "sse-split" in names
        events = sse_events(model, usage, split="usage-split" in names)
        served = ServedUsage(self.stats, r.record, model, stream=True)
        headers = self.common_headers(request_id, req=req) + [("content-type", "text/event-stream; charset=utf-8"),
                                                     ("cache-control", "no-cache")]
        await r.head(200, headers, chunked=True, keep_alive=keep_alive)

        if "cut-midstream" in names:
            await r.chunk(encode_event(events[0], crlf))
            served.note_event(events[0])
            r.finish(complete=False)
            await self.abort_after_flush(conn)
            return False

        if "sse-endless" in names:
            return await self.stream_endless(conn, r, events, served, keep_alive)

        if "sse-slow" in names:
            await r.chunk(encode_event(events[0], crlf))
            served.note_event(events[0])
            gate = req.headers.get("x-mock-gate")
            deadline = time.monotonic() + 10
            while gate and not os.path.exists(gate) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if gate and not os.path.exists(gate):
                log(f"conn={conn.id} sse-slow: gate {gate} never appeared, sending the rest anyway")
            events = events[1:]

        if "sse-split" in names:
            encoded = [encode_event(e, crlf=True) for e in events]
            ends, total = [], 0
            for e in encoded:
                total += len(e)
                ends.append(total)
            data, written, k = b"".join(encoded), 0, 0
            for i, piece in enumerate(awkward_pieces(data)):
                # Vary the framing too: upper-case hex sizes and the odd chunk extension.
                await r.chunk(piece, ext=";mock=split" if i % 17 == 5 else "", upper=(i % 3 == 0))
                written += len(piece)
                while k < len(events) and ends[k] <= written:
                    served.note_event(events[k])
                    k += 1
                await asyncio.sleep(0.001)
        else:
            for e in events:
                await r.chunk(encode_event(e, crlf))
                served.note_event(e)
        await r.end()
        served.done()
        return keep_alive

    async def stream_endless(self, conn, r, events, served, keep_alive):
        """ping/delta events every 50 ms for up to 30 s; notices the peer going away."""
        await r.chunk(encode_event(events[0], False))   # message_start (with its usage)
        served.note_event(events[0])
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
            served.note_event(ev)
        await r.end()
        served.done()
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


def message_json(model, usage=None):
    i, o, c, cr = usage or (25, 12, 1024, 2048)
    return {
        "id": rand_id("msg_01"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Hello from the mock! Ünïcödé ✓ 🦀"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": i,
            "cache_creation_input_tokens": c,
            "cache_read_input_tokens": cr,
            "cache_creation": {"ephemeral_5m_input_tokens": c, "ephemeral_1h_input_tokens": 0},
            "output_tokens": o,
            "service_tier": "standard",
        },
    }


def sse_events(model, usage=None, split=False):
    """A realistic event sequence as (event name, data object) pairs. usage = (input, output,
    cache_creation, cache_read); split: message_delta carries output_tokens only."""
    i, o, c, cr = usage or (25, 15, 1024, 2048)
    msg = message_json(model, (i, o, c, cr))
    msg["content"] = []
    msg["stop_reason"] = None
    msg["usage"]["output_tokens"] = min(1, o)
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
                           "usage": {"output_tokens": o} if split else
                           {"input_tokens": i, "cache_creation_input_tokens": c,
                            "cache_read_input_tokens": cr, "output_tokens": o}}),
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
    p.add_argument("--refresh-token", help="the valid OAuth refresh token at start")
    p.add_argument("--access-token", action="append", default=[],
                   help="an access token valid at start (repeatable; for --oauth-validate)")
    p.add_argument("--oauth-validate", action="store_true",
                   help="API endpoints accept only currently valid access tokens")
    p.add_argument("--client-id", default=CLAUDE_CODE_CLIENT_ID, help="client_id the token endpoint accepts")
    p.add_argument("--tls-version", choices=("1.2", "1.3"), help="speak only this TLS version")
    p.add_argument("--client-cipher-order", action="store_true",
                   help="let the client's cipher suite preference decide (default: the server's)")
    p.add_argument("--no-tickets", action="store_true", help="send no session tickets (TLS 1.3: none after the "
                   "handshake, so nothing to resume)")
    args = p.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
