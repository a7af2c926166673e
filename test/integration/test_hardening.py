"""Hardening: every bad input answered, every fault survived.

Raw-socket probes of the proxy's contract. For every bad input: the status, the API error shape
({"type":"error","error":{"type","message"}}, content-type application/json), `connection: close` and the
connection actually closed (parse errors), NOTHING reaching the mock upstream (its request count is unchanged, and a
second request smuggled behind the bad one in the same packet never arrives), and the proxy still serving a normal
request afterwards. Then limits, pipelining, HTTP/1.0, client and upstream timeouts, upstream faults and TLS
failures with fd/RSS baselines (/proc/<pid>), SIGTERM draining, and memory under load.

Every load loop is bounded in count and in time. Only 127.0.0.1.
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import (CLIENT_HEADERS, CTX, MSG_BODY, SANITIZER_PATTERNS, STREAM_BODY, Conn, Env, OAuthEnv, api_error,
                     api_request, build_request, chunk_body, contains, eq, fail, free_port, http_request, le,
                     matches, not_contains, ok, parse_sse, send_until_answer, wait_until)

HOST = "Host: 127.0.0.1\r\n"
API = "content-type: application/json\r\nanthropic-version: 2023-06-01\r\nx-api-key: client-key\r\n"
# A valid request appended behind a bad one in the same write: it must never reach the upstream.
SMUGGLE = build_request("POST", "/v1/messages?smuggled=1", CLIENT_HEADERS, MSG_BODY)


def get(target="/healthz", extra="", version="HTTP/1.1"):
    return f"GET {target} {version}\r\n{HOST}{extra}\r\n".encode("latin-1")


def post(extra="", body=b"", target="/v1/messages", version="HTTP/1.1"):
    """A POST head with the usual API headers plus `extra` header lines, then `body` as given."""
    return f"POST {target} {version}\r\n{HOST}{API}{extra}\r\n".encode("latin-1") + body


def one_chunk(data=MSG_BODY):
    return b"%x\r\n" % len(data) + data + b"\r\n"


CHUNKED = "Transfer-Encoding: chunked\r\n"
GOOD_CHUNKS = one_chunk() + b"0\r\n\r\n"


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------

def mock_requests(env):
    return env.mock.stats()["requests"]


def proc_usage(pid):
    """(open fds, VmRSS in kB) of a process."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return fds, rss


def settle_fds(pid, base_fds, slack, what, timeout=5.0):
    """Waits until the process holds at most base_fds + slack fds; fails with both numbers."""
    deadline = time.monotonic() + timeout
    while True:
        fds = proc_usage(pid)[0]
        if fds <= base_fds + slack:
            return fds
        if time.monotonic() > deadline:
            fail(f"{what}: open fds {fds}, baseline {base_fds} (+{slack} allowed): fds leaked? "
                 f"{sorted(os.readlink(f'/proc/{pid}/fd/{d}') for d in os.listdir(f'/proc/{pid}/fd'))}")
        time.sleep(0.05)


def check_baseline(pid, base, what, fd_slack=2, rss_slack_kb=2048):
    fds = settle_fds(pid, base[0], fd_slack, what)
    rss = proc_usage(pid)[1]
    print(f"    {what}: fds {base[0]} -> {fds}, VmRSS {base[1]} kB -> {rss} kB ({rss - base[1]:+d} kB)")
    le(rss - base[1], rss_slack_kb, f"{what}: VmRSS growth in kB (from {base[1]} kB to {rss} kB)")


def metrics(port):
    """{(name, labels-string): value} from GET /metrics."""
    r = http_request(port, "GET", "/metrics")
    eq(r.status, 200, "GET /metrics")
    out = {}
    for line in r.body.decode("utf-8", "replace").splitlines():
        m = re.match(r"^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(port, name, **labels):
    want = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
    return metrics(port).get((name, want), 0.0)


def timeouts(port):
    m = metrics(port)
    return {k: m.get(("anthropic_proxy_client_timeouts_total", f'{{kind="{k}"}}'), 0.0)
            for k in ("header", "body", "keepalive")}


def probe(env, name, data, statuses):
    """Sends `data` on a fresh connection in one write and checks the proxy's contract for a refused request:
    a status in `statuses`, the API error shape in JSON, `connection: close`, the connection closed with nothing
    after the answer, no request at the upstream, and a normal request served afterwards. Every broken promise is
    reported, the upstream's first."""
    before = mock_requests(env)
    problems = []
    with Conn(env.proxy.port, timeout=5) as c:
        c.send(data)
        try:
            r = c.read_response(timeout=5)
        except AssertionError as e:
            r = None
            problems.append(f"no answer: {e}")
        reached = mock_requests(env) - before
        if reached:
            problems.insert(0, f"{reached} request(s) reached the upstream")
        if r is not None:
            for check in (
                lambda: ok(r.status in statuses, f"status {r.status}, expected {sorted(statuses)} "
                                                 f"(body {r.body[:160]!r})"),
                lambda: eq(r.header("content-type"), "application/json", "content-type of the error answer"),
                lambda: api_error(r, "error body"),
                lambda: eq((r.header("connection") or "").lower(), "close", "connection header of the error answer"),
                lambda: ok(c.wait_closed(3), "the proxy kept the connection open after refusing the request"),
                lambda: eq(c.buf, b"", "bytes after the error answer (an answer to the smuggled request?)"),
            ):
                try:
                    check()
                except AssertionError as e:
                    problems.append(str(e))
                    if "status" in str(e) and r.status < 400:
                        break  # accepted: the rest says nothing new
    if not problems:
        n = api_request(env.proxy.port)
        if n.status != 200:
            problems.append(f"a normal request afterwards got {n.status} ({n.body[:200]!r})")
    if problems:
        fail(f"{name}: " + "; ".join(problems))
    return r


def run_cases(env, cases, smuggle=True):
    """Probes every (name, bytes, statuses) case alone and with a valid request smuggled behind it; collects every
    failure so that one run shows them all."""
    problems = []
    for name, data, statuses in cases:
        variants = [(name, data)]
        if smuggle:
            variants.append((f"{name} [+ smuggled request]", data + SMUGGLE))
        for label, payload in variants:
            try:
                probe(env, label, payload, statuses)
            except AssertionError as e:
                problems.append(str(e))
            except OSError as e:
                problems.append(f"{label}: {type(e).__name__}: {e}")
    eq(api_request(env.proxy.port).status, 200, "a normal request after all the probes")
    smuggled = [r["target"] for r in env.mock.requests() if "smuggled" in r["target"]]
    if smuggled:
        problems.append(f"smuggled requests that reached the upstream: {smuggled}")
    if problems:
        fail(f"{len(problems)} probe(s) failed: " + " || ".join(problems))


def run_parallel(*fns, timeout=30):
    """Runs the functions in threads; fails with every error (assertions included) they raised."""
    errors = [None] * len(fns)

    def wrap(i, fn):
        try:
            fn()
        except BaseException as e:  # noqa: B902 - reported below
            errors[i] = e

    threads = [threading.Thread(target=wrap, args=(i, fn), daemon=True) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    msgs = [f"{fns[i].__name__}: {e}" if isinstance(e, AssertionError) else f"{fns[i].__name__}: {type(e).__name__}: {e}"
            for i, e in enumerate(errors) if e is not None]
    msgs += [f"{fns[i].__name__}: still running after {timeout}s" for i, t in enumerate(threads) if t.is_alive()]
    if msgs:
        fail(" || ".join(msgs))


def stream_request(scenario=None, extra=()):
    hs = list(CLIENT_HEADERS) + list(extra)
    if scenario:
        hs.append(("x-mock-scenario", scenario))
    return build_request("POST", "/v1/messages", hs, STREAM_BODY)


def wait_exit(proxy, timeout):
    """Waits for a proxy we signalled ourselves to exit. Returns (exit status or None, seconds waited). Checks its
    log for sanitizer reports, and hands the process back to the harness when it did not exit (it stops it)."""
    t0 = time.monotonic()
    try:
        rc = proxy.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - t0
    dt = time.monotonic() - t0
    proxy.log_file.close()
    if proxy in CTX.live:
        CTX.live.remove(proxy)
    proxy.proc = None
    patterns = SANITIZER_PATTERNS
    if os.environ.get("PROXY_TEST_IGNORE_LEAKS") == "1":
        patterns = [p for p in patterns if "LeakSanitizer" not in p]
    text = proxy.log_text()
    for p in patterns:
        ok(p not in text, f"sanitizer report in the proxy log: {p!r}")
    return rc, dt


def connect_refused(port):
    """True when a TCP connect to the port is refused (nobody listening). A SYN that meets the listening socket
    while it is being closed is dropped without an answer (the client would retry only after 1 s): a short
    timeout turns that into one more poll instead of a stall."""
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect(("127.0.0.1", port))
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        s.close()


def asan_env():
    """ASan keeps freed memory in a quarantine (256 MB by default), which would read as RSS growth: turn it off for
    the memory measurements. Harmless for a build without sanitizers."""
    opts = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":") if o and "quarantine" not in o]
    return {"ASAN_OPTIONS": ":".join(opts + ["quarantine_size_mb=0", "thread_local_quarantine_size_kb=0"])}


# --------------------------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------------------------

LIMITS = ["--max-header-size", "2k", "--max-headers", "10", "--max-url-length", "256", "--max-body-size", "1000"]


def json_body_of_size(n):
    """A /v1/messages JSON body of exactly n bytes."""
    base = json.dumps({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": ""}]})
    pad = n - len(base)
    ok(pad >= 0, f"body of {n} bytes is too small for the JSON skeleton")
    body = json.dumps({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * pad}]}).encode()
    eq(len(body), n, "padded body size")
    return body


def test_hardening_limits_at_the_limit_forwarded():
    # Exactly at each limit is still fine (limits are inclusive), so the refusals below are about the limits.
    with Env(proxy_args=LIMITS) as env:
        port = env.proxy.port
        five = "".join(f"X-Pad-{i}: v\r\n" for i in range(5))  # Host + 3 API headers + CL + 5 = 10 lines
        body = json_body_of_size(1000)
        cases = [
            ("10 header lines (--max-headers 10)", post(five + f"Content-Length: {len(MSG_BODY)}\r\n", MSG_BODY)),
            ("a 256-byte target (--max-url-length 256)",
             post(f"Content-Length: {len(MSG_BODY)}\r\n", MSG_BODY, target="/v1/messages?pad=" + "a" * (256 - 17))),
            ("a 1000-byte body (--max-body-size 1000)", post(f"Content-Length: {len(body)}\r\n", body)),
            ("a 1000-byte chunked body", post(CHUNKED, chunk_body(body, sizes=(300,)))),
        ]
        for name, data in cases:
            with Conn(port) as c:
                c.send(data)
                r = c.read_response()
                eq(r.status, 200, f"{name}: status ({r.body[:200]!r})")
        eq(mock_requests(env), len(cases), "requests at the upstream")


def test_hardening_limits_refused():
    with Env(proxy_args=LIMITS) as env:
        run_cases(env, [
            ("head over --max-header-size 2k", get(extra="X-Big: " + "a" * 3000 + "\r\n"), {431}),
            ("head over 2k in many lines", get(extra="".join(f"X-{i}: {'b' * 300}\r\n" for i in range(8))), {431}),
            ("11 header lines over --max-headers 10", get(extra="".join(f"X-{i}: v\r\n" for i in range(10))), {431}),
            ("target over --max-url-length 256", get("/v1/models?" + "a" * 300), {414}),
            ("Content-Length 1001 over --max-body-size 1000", post("Content-Length: 1001\r\n"), {413}),
            ("Content-Length 10^15", post("Content-Length: 1000000000000000\r\n"), {413}),
            ("chunked body over --max-body-size", post(CHUNKED, chunk_body(b"x" * 1500, sizes=(500,))), {413}),
            ("a 1 MB chunk announced, 1100 bytes of it sent", post(CHUNKED, b"100000\r\n" + b"x" * 1100), {413}),
            ("chunk extension over 1 KB", post(CHUNKED, b"2;ext=" + b"e" * 1100 + b"\r\n{}\r\n0\r\n\r\n"), {400}),
            ("many small chunk extensions over 1 KB in one chunk",
             post(CHUNKED, b"2" + b";a=b" * 300 + b"\r\n{}\r\n0\r\n\r\n"), {400}),
            ("Expect other than 100-continue", post("Expect: 200-ok\r\nContent-Length: 2\r\n", b"{}"), {417}),
        ])


def test_hardening_413_before_the_body():
    # The answer must come from the head alone: the client never sends the body.
    with Env(proxy_args=LIMITS) as env:
        for name, extra in (("Content-Length", "Content-Length: 5000000\r\n"),
                            ("Content-Length with Expect: 100-continue",
                             "Content-Length: 5000000\r\nExpect: 100-continue\r\n")):
            with Conn(env.proxy.port) as c:
                t0 = time.monotonic()
                c.send(post(extra))
                r = c.read_response(timeout=3)
                dt = time.monotonic() - t0
                eq(r.status, 413, f"{name}: status")
                eq(api_error(r)[0], "request_too_large", f"{name}: error type")
                eq(r.interim, [], f"{name}: interim answers before the 413 (a 100 Continue invites the body)")
                le(dt, 0.5, f"{name}: seconds until the 413 with only the head sent")
                ok(c.wait_closed(3), f"{name}: connection closed after the 413")
        # A chunked body is refused as soon as it passes the limit, while the client is still sending.
        with Conn(env.proxy.port) as c:
            r = send_until_answer(c, post(CHUNKED), chunk_body(b"y" * 20000, sizes=(400,)), piece=500)
            eq(r.status, 413, "chunked body over the limit, sent slowly")
        eq(mock_requests(env), 0, "requests at the upstream")


def test_hardening_max_connections():
    with Env(proxy_args=["--max-connections", "5"]) as env:
        port = env.proxy.port
        conns = [Conn(port) for _ in range(5)]
        try:
            time.sleep(0.3)  # the proxy has accepted all five
            for variant in ("silent", "sends its request at once"):
                with Conn(port, timeout=5) as extra:
                    if variant != "silent":
                        extra.send(build_request("POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY))
                    t0 = time.monotonic()
                    try:
                        r = extra.read_response(timeout=3)
                    except AssertionError as e:
                        fail(f"6th connection ({variant}) over --max-connections 5: no answer: {e}")
                    eq(r.status, 503, f"6th connection ({variant}): status")
                    eq(r.header("content-type"), "application/json", f"6th connection ({variant}): content-type")
                    api_error(r, f"6th connection ({variant})")
                    eq((r.header("connection") or "").lower(), "close", f"6th connection ({variant}): connection")
                    ok(extra.wait_closed(2), f"6th connection ({variant}): closed after the 503")
                    le(time.monotonic() - t0, 1.0, f"6th connection ({variant}): seconds until the 503")
            eq(mock_requests(env), 0, "requests at the upstream from refused connections")
            for i, c in enumerate(conns):
                c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY))
                r = c.read_response()
                eq(r.status, 200, f"request on held connection {i}")
                ok(not r.closed, f"held connection {i} closed after its answer")
            conns.pop().close()
            time.sleep(0.2)  # the proxy sees the EOF and frees the slot
            with Conn(port) as c:
                c.send(build_request("GET", "/healthz"))
                eq(c.read_response(method="GET").status, 200, "a new connection once a slot was freed")
        finally:
            for c in conns:
                c.close()


# --------------------------------------------------------------------------------------------------------------
# Strict parsing: 400 (501 for unsupported transfer codings, 505 for versions), connection closed
# --------------------------------------------------------------------------------------------------------------

def test_hardening_request_line_and_version():
    with Env() as env:
        run_cases(env, [
            ("one word request line", b"GARBAGE\r\n\r\n", {400}),
            ("request line without a version", b"GET /healthz\r\n" + HOST.encode() + b"\r\n", {400, 505}),
            ("invalid character in the method", get().replace(b"GET", b"G@T", 1), {400}),
            ("lower-case method", get().replace(b"GET", b"get", 1), {400}),
            ("lower-case protocol name", get().replace(b"HTTP/1.1", b"http/1.1", 1), {400}),
            ("space inside the target", get("/he lthz"), {400}),
            ("target without a leading slash", get("healthz"), {400}),
            ("HTTP/2.0", get(version="HTTP/2.0"), {505}),
            ("HTTP/9.9", get(version="HTTP/9.9"), {505}),
            ("HTTP/0.9", get(version="HTTP/0.9"), {505}),
            ("HTTP/1.10", get(version="HTTP/1.10"), {400, 505}),
            ("version with letters", get(version="HTTP/x.y"), {400, 505}),
            ("bare CR after the version", b"GET /healthz HTTP/1.1\r" + HOST.encode() + b"\r\n", {400, 505}),
        ])


def test_hardening_error_at_the_first_byte_of_a_read():
    # A request refused at the very first byte handed to the parser (an invalid method character). request.c looks
    # one byte back (feed_prev_lf) at p[error_pos - 1]: with error_pos == p that reads before the buffer, which the
    # sanitizer build reports (heap-buffer-overflow in request_feed) when the buffer is an allocation of its own.
    # Every such request must get its 400.
    with Env() as env:
        problems = []
        for first in (b"g", b"\x00", b"@", b"1", b"\x7f"):
            try:
                probe(env, f"request starting with {first!r}", first + b"et /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                      {400})
            except (AssertionError, OSError) as e:
                problems.append(str(e))
        # Pipelined behind a request that keeps the connection busy: the proxy keeps the rest of the read in a
        # buffer of the connection's own and parses it from its first byte when the answer is done.
        with Conn(env.proxy.port) as c:
            c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [("x-mock-scenario", "delay:200")],
                                 MSG_BODY) + b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                eq(c.read_response().status, 200, "the busy request")
                r = c.read_response(timeout=3)
                if r.status != 400:
                    problems.append(f"pipelined request starting with 'g' behind a busy one: status {r.status}")
            except AssertionError as e:
                problems.append(f"pipelined request starting with 'g' behind a busy one: {e}")
        # On a keep-alive connection, in a read of its own after a complete request.
        with Conn(env.proxy.port) as c:
            c.send(build_request("GET", "/healthz"))
            eq(c.read_response(method="GET").status, 200, "first request")
            time.sleep(0.05)
            c.send(b"get /healthz HTTP/1.1\r\n\r\n")
            try:
                r = c.read_response(timeout=3)
                if r.status != 400:
                    problems.append(f"second request starting with 'g': status {r.status}")
            except AssertionError as e:
                problems.append(f"second request starting with 'g': {e}")
        if problems:
            fail(" || ".join(problems))


def test_hardening_bare_lf_or_cr_refused():
    # RFC 9112 §2.2 lets a server accept a bare LF (and says a bare CR must be refused or replaced); this proxy
    # promises strict parsing (request.c: "bare LF ... never forwarded"), and the upstream it fronts refuses them, so
    # every position must be refused: a peer in front of the proxy may split lines differently.
    with Env() as env:
        run_cases(env, [
            ("bare LF after the request line", b"GET /healthz HTTP/1.1\n" + HOST.encode() + b"\r\n", {400}),
            ("bare LF ending a header line", b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", {400}),
            ("bare LF as the blank line ending the head", get()[:-2] + b"\n", {400}),
            ("bare LF everywhere", b"GET /healthz HTTP/1.1\nHost: x\nX-A: b\n\n", {400}),
            ("bare LF after a chunk size", post(CHUNKED, b"%x\n" % len(MSG_BODY) + MSG_BODY + b"\r\n0\r\n\r\n"),
             {400}),
            ("bare LF after chunk data", post(CHUNKED, b"%x\r\n" % len(MSG_BODY) + MSG_BODY + b"\n0\r\n\r\n"),
             {400}),
            ("bare LF ending the last chunk", post(CHUNKED, one_chunk() + b"0\n\n"), {400}),
            ("bare CR in the blank line ending the head", get()[:-2] + b"\r\r\n", {400}),
            ("bare CRs in the blank line ending the head", get()[:-2] + b"\r\r\r\n", {400}),
            ("bare CR then bare LF ending the head", get()[:-2] + b"\r\r\n\n", {400}),
            ("bare CR in an empty line before the request line", b"\r\r\n" + get(), {400}),
            ("bare CR after the version", b"GET /healthz HTTP/1.1\r\r\n" + HOST.encode() + b"\r\n", {400, 505}),
            ("bare CR ending a header line", b"GET /healthz HTTP/1.1\r\nHost: x\r\r\n\r\n", {400}),
        ])


def test_hardening_control_bytes_refused():
    # NUL and other control bytes (C0, DEL) anywhere in the head; TAB is allowed inside header values only.
    cases = []
    for byte in (b"\x00", b"\x01", b"\x08", b"\x0b", b"\x0c", b"\x1b", b"\x7f"):
        h = byte.hex()
        cases += [
            (f"0x{h} in the target", get("/heal" + byte.decode("latin-1") + "thz"), {400}),
            (f"0x{h} in a header value", get(extra="X-A: a" + byte.decode("latin-1") + "b\r\n"), {400}),
            (f"0x{h} in a header name", get(extra="X-" + byte.decode("latin-1") + "A: b\r\n"), {400}),
        ]
    cases += [
        ("NUL before the request line", b"\x00" + get(), {400}),
        ("NUL after the method", b"GET\x00/healthz HTTP/1.1\r\n" + HOST.encode() + b"\r\n", {400}),
        ("CR inside a header value", get(extra="X-A: a\rb\r\n"), {400}),
        ("TAB in the target", get("/v1/mo\tdels"), {400}),
        ("TAB after the method instead of SP", b"GET\t/healthz HTTP/1.1\r\n" + HOST.encode() + b"\r\n", {400}),
    ]
    with Env() as env:
        run_cases(env, cases)


def test_hardening_header_syntax_refused():
    with Env() as env:
        run_cases(env, [
            ("header line without a colon", get(extra="X-Foo bar\r\n"), {400}),
            ("space before the colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", {400}),
            ("tab before the colon", get(extra="X-A\t: b\r\n"), {400}),
            ("empty header name", get(extra=": b\r\n"), {400}),
            ("empty header name, first line", b"GET /healthz HTTP/1.1\r\n: b\r\n" + HOST.encode() + b"\r\n", {400}),
            ("white space starting the first header line", b"GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n", {400}),
            ("obs-fold with SP", get(extra="X-A: a\r\n b\r\n"), {400}),
            ("obs-fold with HTAB", get(extra="X-A: a\r\n\tb\r\n"), {400}),
            ("obs-fold of white space after an empty value", get(extra="X-A:\r\n \r\n"), {400}),
            ("obs-fold of a tab after an empty value", get(extra="X-A:\r\n\t\r\n"), {400}),
            ("obs-fold of x-api-key", post(f"Content-Length: {len(MSG_BODY)}\r\nX-B: a\r\n x-api-key: k\r\n",
                                            MSG_BODY), {400}),
            ("separator in a header name", get(extra="X(A): b\r\n"), {400}),
            ("slash in a header name", get(extra="X/A: b\r\n"), {400}),
            ("quote in a header name", get(extra='X"A: b\r\n'), {400}),
        ])


def test_hardening_body_framing_refused():
    with Env() as env:
        run_cases(env, [
            ("chunk size 'zz'", post(CHUNKED, b"zz\r\nabc\r\n0\r\n\r\n"), {400}),
            ("negative chunk size", post(CHUNKED, b"-1\r\nabc\r\n0\r\n\r\n"), {400}),
            ("chunk size with 0x", post(CHUNKED, b"0x3\r\nabc\r\n0\r\n\r\n"), {400}),
            ("chunk size overflowing 64 bits", post(CHUNKED, b"1" + b"0" * 17 + b"\r\nabc\r\n0\r\n\r\n"), {400, 413}),
            ("chunk size with trailing space", post(CHUNKED, b"3 \r\nabc\r\n0\r\n\r\n"), {400}),
            ("empty chunk size line", post(CHUNKED, b"\r\nabc\r\n0\r\n\r\n"), {400}),
            ("chunk data longer than its size", post(CHUNKED, b"3\r\nabcd\r\n0\r\n\r\n"), {400}),
            ("Content-Length and Transfer-Encoding",
             post(f"Content-Length: {len(GOOD_CHUNKS)}\r\n{CHUNKED}", GOOD_CHUNKS), {400}),
            ("Transfer-Encoding and Content-Length",
             post(f"{CHUNKED}Content-Length: 5\r\n", GOOD_CHUNKS), {400}),
            ("two different Content-Lengths", post("Content-Length: 2\r\nContent-Length: 3\r\n", b"{}}"), {400}),
            ("Content-Length list '2, 3'", post("Content-Length: 2, 3\r\n", b"{}}"), {400}),
            ("Content-Length '+2'", post("Content-Length: +2\r\n", b"{}"), {400}),
            ("Content-Length '-2'", post("Content-Length: -2\r\n", b"{}"), {400}),
            ("Content-Length '0x2'", post("Content-Length: 0x2\r\n", b"{}"), {400}),
            ("Content-Length '2a'", post("Content-Length: 2a\r\n", b"{}"), {400}),
            ("empty Content-Length", post("Content-Length: \r\n", b"{}"), {400}),
            ("Content-Length overflowing 64 bits", post("Content-Length: 99999999999999999999999\r\n", b"{}"), {400, 413}),
        ])


def test_hardening_transfer_codings_refused():
    with Env() as env:
        run_cases(env, [
            ("Transfer-Encoding: gzip", post("Transfer-Encoding: gzip\r\n", b"\x1f\x8b"), {501}),
            ("Transfer-Encoding: chunked, gzip", post("Transfer-Encoding: chunked, gzip\r\n", GOOD_CHUNKS), {400, 501}),
            # chunked last, but the body under it is still gzip-coded: de-chunking alone and forwarding it as
            # identity would hand the upstream bytes it cannot read.
            ("Transfer-Encoding: gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n", GOOD_CHUNKS), {400, 501}),
            ("Transfer-Encoding: deflate, chunked", post("Transfer-Encoding: deflate, chunked\r\n", GOOD_CHUNKS),
             {400, 501}),
            ("Transfer-Encoding: chunked, chunked", post("Transfer-Encoding: chunked, chunked\r\n", GOOD_CHUNKS),
             {400, 501}),
            ("Transfer-Encoding: chunked twice", post(CHUNKED + CHUNKED, GOOD_CHUNKS), {400, 501}),
            ("Transfer-Encoding: identity", post("Transfer-Encoding: identity\r\n", b"{}"), {400, 501}),
            ("Transfer-Encoding: xchunked", post("Transfer-Encoding: xchunked\r\n", GOOD_CHUNKS), {400, 501}),
            ("Transfer-Encoding: chunkedx", post("Transfer-Encoding: chunkedx\r\n", GOOD_CHUNKS), {400, 501}),
            # RFC 9112 §6.3: Transfer-Encoding present and chunked not the final coding -> 400 and close.
            ("empty Transfer-Encoding", post("Transfer-Encoding: \r\n", GOOD_CHUNKS), {400, 501}),
            ("Transfer-Encoding: ','", post("Transfer-Encoding: ,\r\n", GOOD_CHUNKS), {400, 501}),
            # The classic desync: a body the proxy does not see as a body is parsed as the next request.
            ("empty Transfer-Encoding over a body that is a request", post("Transfer-Encoding: \r\n", SMUGGLE),
             {400, 501}),
        ])


def test_hardening_trailers_never_become_headers():
    # RFC 9110 §6.5.1: trailer fields must not be merged into the header section. A proxy that does it lets a
    # client add headers that nothing in front of it saw as headers (here the scenario header, which turns the
    # answer into a 500 when it is obeyed).
    with Env() as env:
        body = (one_chunk() + b"0\r\nX-Trailer-Smuggled: 1\r\nx-mock-scenario: status:500\r\n"
                b"anthropic-beta: trailer-beta\r\n\r\n")
        with Conn(env.proxy.port) as c:
            c.send(post(CHUNKED + "x-mock-scenario: echo\r\n", body))
            r = c.read_response()
        recs = env.mock.requests()
        if r.status in (400, 501):
            eq(recs, [], "requests at the upstream after a refused request with trailers")
            return
        eq(len(recs), 1, f"requests at the upstream (client got {r.status} {r.body[:200]!r})")
        names = [k.lower() for k, _ in recs[0]["headers"]]
        not_contains(names, "x-trailer-smuggled", "upstream header names (a trailer field became a header)")
        eq([v for k, v in recs[0]["headers"] if k.lower() == "x-mock-scenario"], ["echo"],
           "upstream x-mock-scenario values (a trailer field became a header)")
        betas = ",".join(v for k, v in recs[0]["headers"] if k.lower() == "anthropic-beta")
        not_contains(betas, "trailer-beta", "upstream anthropic-beta (a trailer field became a header)")
        eq(r.status, 200, f"status ({r.body[:200]!r})")


def test_hardening_absolute_form_never_reaches_upstream():
    # RFC 9112 §3.2.2: an absolute-form target carries its own authority, which the upstream must prefer over Host.
    # The proxy's upstream is fixed, so whatever authority a client names must never be forwarded.
    with Env() as env:
        problems = []
        for target in ("http://a", "http://a?x=1", "https://b", "http://evil.example/v1/models",
                       "HTTPS://evil.example:443/v1/models?q=1", "http://a/"):
            before = len(env.mock.requests())
            r = http_request(env.proxy.port, "GET", target, [("x-mock-scenario", "echo")] + CLIENT_HEADERS)
            for rec in env.mock.requests()[before:]:
                if not rec["target"].startswith("/"):
                    problems.append(f"client target {target!r} reached the upstream as {rec['target']!r} "
                                    f"(client got {r.status})")
        if problems:
            fail("; ".join(problems))


def test_hardening_absurd_rate_limit_headers_from_upstream():
    # Rate-limit headers are the upstream's to send. Absurd values must not break the proxy, its log (one JSON
    # object per line with --log-format json) or /usage (valid JSON, which means valid UTF-8 too).
    euro = "\u20ac".encode().decode("latin-1")  # its UTF-8 bytes, sent as they are
    cases = [
        ("utilization 1e38 (as a fraction)", None),
        ("5h-utilization 1e308", "header:anthropic-ratelimit-unified-5h-utilization=1e308"),
        ("reset 1e300", "header:anthropic-ratelimit-unified-reset=1e300"),
        ("5h-reset -1e300", "header:anthropic-ratelimit-unified-5h-reset=-1e300"),
        ("overage-disabled-reason with a latin-1 byte",
         "header:anthropic-ratelimit-unified-overage-disabled-reason=caf\u00e9"),
        ("overage-disabled-reason of 16 euro signs (48 UTF-8 bytes)",
         "header:anthropic-ratelimit-unified-overage-disabled-reason=" + euro * 16),
    ]
    with Env() as env:
        env.mock.usage_config(windows={"five_hour": {"utilization": 1e40, "resets_at": 1e300},
                                       "seven_day": {"utilization": -1e300}})
        problems = []
        for what, scenario in cases:
            r = api_request(env.proxy.port, scenario=scenario)
            if r.status != 200:
                problems.append(f"{what}: status {r.status} ({r.body[:200]!r})")
                continue
            u = http_request(env.proxy.port, "GET", "/usage")
            try:
                json.loads(u.body.decode("utf-8"))
            except ValueError as e:
                at = getattr(e, "start", None) or getattr(e, "pos", 0) or 0
                problems.append(f"{what}: /usage is not valid JSON ({e}): ...{u.body[max(0, at - 80):at + 80]!r}...")
            env.mock.usage_config(windows={"five_hour": {"utilization": 42.0, "resets_at": time.time() + 3600},
                                           "seven_day": {"utilization": 17.0}})
        bad = []
        for line in env.proxy.log_text().splitlines():
            try:
                ok(isinstance(json.loads(line), dict), "")
            except (ValueError, AssertionError):
                if line.strip():
                    bad.append(line[:300])
        if bad:
            problems.append(f"proxy log lines that are not JSON objects (--log-format json): {bad}")
        eq(api_request(env.proxy.port).status, 200, "a normal request afterwards")
        if problems:
            fail(" || ".join(problems))


def test_hardening_odd_usage_poll_times():
    # Usage-poll answers are the upstream's to write. Reset times with a short zone offset ("+0:00", "-1:2") must be
    # refused or read, never read past (tracker_parse_time skips 6 bytes for "+HH:MM" whatever sscanf matched: the
    # sanitizer build reports the heap over-read); the proxy keeps running and /usage stays JSON.
    body = {"five_hour": {"utilization": 42, "resets_at": "2026-01-02T19:59:59+0:00"},
            "seven_day": {"utilization": 17, "resets_at": "2026-01-05T00:00:00.5-1:2"},
            "seven_day_opus": {"utilization": 3, "resets_at": "2026-01-05T00:00:00+1"}}
    with OAuthEnv(poll="1s", mock_usage={"body": body}) as env:
        wait_until(lambda: ((env.proxy.usage().get("poll") or {}).get("polls_ok") or 0) >= 2, 6, "two polls")
        u = http_request(env.proxy.port, "GET", "/usage")
        eq(u.status, 200, "GET /usage")
        try:
            json.loads(u.body.decode("utf-8"))
        except ValueError as e:
            fail(f"/usage is not valid JSON: {e}: {u.body[:400]!r}")
        eq(api_request(env.proxy.port).status, 200, "a request after the odd polls")


# --------------------------------------------------------------------------------------------------------------
# Pipelining and HTTP/1.0
# --------------------------------------------------------------------------------------------------------------

def test_hardening_pipelining():
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(build_request("GET", "/healthz") + build_request("POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY)
               + build_request("GET", "/healthz"))
        r1 = c.read_response(method="GET")
        r2 = c.read_response()
        r3 = c.read_response(method="GET")
        eq([r1.status, r2.status, r3.status], [200, 200, 200], "statuses of three pipelined requests")
        eq((r1.json(), r3.json()), ({"status": "ok"}, {"status": "ok"}), "the /healthz answers, in order")
        eq(r2.body, env.mock.response_body(env.mock.last_request()), "the proxied answer, byte for byte, second")
        ok(all(x.complete and not x.closed for x in (r1, r2, r3)), f"complete, connection open: {r1} {r2} {r3}")
        # Again with a streaming answer in the middle and `connection: close` on the last one.
        c.send(build_request("GET", "/healthz") + stream_request()
               + build_request("GET", "/healthz", [("Connection", "close")]))
        r4 = c.read_response(method="GET")
        r5 = c.read_response()
        r6 = c.read_response(method="GET")
        eq([r4.status, r5.status, r6.status], [200, 200, 200], "statuses of the second round")
        eq(r5.framing, "chunked", "framing of the streamed answer")
        ok(r5.complete, f"streamed answer complete: {r5}")
        contains([e for e, _ in parse_sse(r5.body.decode())], "message_stop", "events of the streamed answer")
        eq(r6.json(), {"status": "ok"}, "last answer")
        ok(c.wait_closed(3), "connection closed after the request that said connection: close")
        eq(c.buf, b"", "bytes after the last answer")
        eq(mock_requests(env), 2, "requests at the upstream")


def http10(body, extra=()):
    hs = list(CLIENT_HEADERS) + list(extra) + [("Content-Length", str(len(body)))]
    return (f"POST /v1/messages HTTP/1.0\r\n{HOST}" + "".join(f"{k}: {v}\r\n" for k, v in hs) + "\r\n").encode() + body


def test_hardening_http10_client():
    with Env() as env:
        for extra in ((), (("Connection", "keep-alive"),)):
            what = f"HTTP/1.0 streaming request{' with keep-alive' if extra else ''}"
            with Conn(env.proxy.port) as c:
                c.send(http10(STREAM_BODY, extra))
                r = c.read_response(timeout=10)
                eq(r.status, 200, f"{what}: status")
                eq(r.header("transfer-encoding"), None, f"{what}: transfer-encoding (HTTP/1.0 has no chunked)")
                eq(r.header("content-length"), None, f"{what}: content-length of a streamed answer")
                eq(r.framing, "close", f"{what}: framing")
                ok(r.closed and r.complete, f"{what}: the answer must end by close: {r}")
                contains([e for e, _ in parse_sse(r.body.decode())], "message_stop", f"{what}: events")
                eq(r.body, env.mock.response_body(env.mock.last_request()), f"{what}: body vs the mock's, byte for byte")
        with Conn(env.proxy.port) as c:
            c.send(http10(MSG_BODY))
            r = c.read_response()
            eq(r.status, 200, "HTTP/1.0 JSON request: status")
            eq(r.body, env.mock.response_body(env.mock.last_request()), "HTTP/1.0 JSON answer, byte for byte")
            ok(c.wait_closed(3), "HTTP/1.0 without keep-alive: connection closed after the answer")
        # The proxy's own answers too: an HTTP/1.0 client keeps the connection only when the answer says so.
        with Conn(env.proxy.port) as c:
            for i in range(2):
                c.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                r = c.read_response(method="GET")
                eq((r.status, (r.header("connection") or "").lower()), (200, "keep-alive"),
                   f"HTTP/1.0 keep-alive /healthz {i}: status, connection header")


# --------------------------------------------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------------------------------------------

def _read_408_or_close(c, what):
    """After a timeout: a 408 in the API error shape, or a plain close. Returns the status or None."""
    try:
        r = c.read_response(timeout=3)
    except AssertionError:
        ok(c.eof and not c.buf, f"{what}: neither an answer nor a close")
        return None
    eq(r.status, 408, f"{what}: status")
    api_error(r, what)
    ok(c.wait_closed(2), f"{what}: closed after the 408")
    return 408


def test_hardening_client_timeouts():
    with Env(proxy_args=["--header-timeout", "1s", "--keepalive-timeout", "1s"]) as env:
        port = env.proxy.port
        t_before = timeouts(port)

        def slowloris():
            head = post(f"Content-Length: {len(MSG_BODY)}\r\n")
            with Conn(port, timeout=5) as c:
                t0 = time.monotonic()
                for i in range(25):  # at most 25 bytes, 5 s
                    try:
                        c.send(head[i:i + 1])
                    except OSError:
                        break
                    if select.select([c.sock], [], [], 0.2)[0]:
                        break
                dt = time.monotonic() - t0
                _read_408_or_close(c, "slowloris (a head byte every 200 ms)")
                ok(0.8 <= dt <= 1.5, f"slowloris answered after {dt:.2f}s, expected about 1s (--header-timeout 1s)")

        def silent_connection():
            with Conn(port, timeout=5) as c:
                t0 = time.monotonic()
                ok(c.wait_closed(3), "a connection that never sends was not closed within 3s")
                dt = time.monotonic() - t0
                ok(0.8 <= dt <= 1.5, f"silent connection closed after {dt:.2f}s, expected about 1s")

        def idle_keepalive():
            with Conn(port, timeout=5) as c:
                c.send(build_request("GET", "/healthz"))
                eq(c.read_response(method="GET").status, 200, "request before idling")
                t0 = time.monotonic()
                ok(c.wait_closed(3), "an idle keep-alive connection was not closed within 3s")
                dt = time.monotonic() - t0
                ok(0.8 <= dt <= 1.5, f"idle keep-alive connection closed after {dt:.2f}s (--keepalive-timeout 1s)")
                eq(c.buf, b"", "bytes sent on the idle keep-alive connection before closing it")

        def body_stall():
            with Conn(port, timeout=5) as c:
                c.send(post("Content-Length: 100\r\n", b'{"model":'))
                t0 = time.monotonic()
                eq(_read_408_or_close(c, "body stalled after 9 of 100 bytes"), 408, "body stall status")
                dt = time.monotonic() - t0
                ok(0.8 <= dt <= 1.5, f"stalled body answered after {dt:.2f}s, expected about 1s")

        def chunked_stall():
            with Conn(port, timeout=5) as c:
                c.send(post(CHUNKED, b"64\r\n{\"model\":"))
                t0 = time.monotonic()
                eq(_read_408_or_close(c, "chunked body stalled"), 408, "chunked stall status")
                dt = time.monotonic() - t0
                ok(0.8 <= dt <= 1.5, f"stalled chunked body answered after {dt:.2f}s, expected about 1s")

        def slow_body_keeps_flowing():
            # The body timeout is an idle timeout between body bytes: 8 pieces 300 ms apart (2.1 s) succeed.
            body = MSG_BODY
            with Conn(port, timeout=5) as c:
                c.send(post(f"Content-Length: {len(body)}\r\n"))
                step = -(-len(body) // 8)
                for i in range(0, len(body), step):
                    time.sleep(0.3)
                    c.send(body[i:i + step])
                r = c.read_response()
                eq(r.status, 200, f"a body dribbled with 300 ms gaps (--header-timeout 1s) ({r.body[:200]!r})")

        before = mock_requests(env)
        run_parallel(slowloris, silent_connection, idle_keepalive, body_stall, chunked_stall, slow_body_keeps_flowing)
        eq(mock_requests(env) - before, 1, "requests at the upstream (only the dribbled body)")
        t_after = timeouts(port)
        delta = {k: t_after[k] - t_before[k] for k in t_after}
        ok(delta["header"] >= 1 and delta["body"] >= 2 and delta["keepalive"] >= 2,
           f"anthropic_proxy_client_timeouts_total increases: {delta} (expected header>=1, body>=2, keepalive>=2)")
        eq(api_request(port).status, 200, "a normal request after the timeouts")


def test_hardening_slow_clients_do_not_slow_others():
    n_slow = 200
    with Env(proxy_args=["--header-timeout", "2s"], proxy_env=asan_env()) as env:
        port, pid = env.proxy.port, env.proxy.proc.pid
        eq(api_request(port).status, 200, "warm-up")
        # Warm-up: 200 connections with a partial head each, closed again, so that the allocator's high-water mark
        # for 200 connections (a read buffer each) is in the baseline and growth below means memory kept.
        warm = [Conn(port) for _ in range(n_slow)]
        for c in warm:
            c.send(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        for c in warm:
            c.close()
        time.sleep(0.3)
        base = proc_usage(pid)
        slow = []
        for _ in range(n_slow):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            slow.append(s)
        head = post(f"Content-Length: {len(MSG_BODY)}\r\n")
        answered = {}   # socket index -> first bytes received (or b"" for a close)
        stop = threading.Event()

        def dribble():
            # One head byte to every slow client every 200 ms, for 4 s at most (by the clock: answers arriving make
            # select return early, and counting rounds would then end the test before the 2 s timeout's answers).
            t_stop = time.monotonic() + 4.0
            for rnd in range(len(head)):
                tick = time.monotonic() + 0.2
                if stop.is_set() or len(answered) == n_slow or time.monotonic() > t_stop:
                    return
                for i, s in enumerate(slow):
                    if i in answered:
                        continue
                    try:
                        s.send(head[rnd:rnd + 1])
                    except OSError:
                        answered.setdefault(i, b"")
                while len(answered) < n_slow and (left := tick - time.monotonic()) > 0:
                    readable = select.select([s for i, s in enumerate(slow) if i not in answered], [], [], left)[0]
                    for s in readable:
                        try:
                            data = s.recv(4096)
                        except OSError:
                            data = b""
                        answered.setdefault(slow.index(s), data)

        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        latencies, statuses = [], []
        t_end = time.monotonic() + 2.6
        try:
            time.sleep(0.1)
            for i in range(400):  # bounded: 400 requests or 2.6 s, across the slow clients' timeout at 2 s
                if time.monotonic() > t_end:
                    break
                t0 = time.monotonic()
                r = api_request(port) if i % 2 else http_request(port, "GET", "/healthz")
                latencies.append(time.monotonic() - t0)
                statuses.append(r.status)
            t.join(6)
        finally:
            stop.set()
            t.join(2)
            for s in slow:
                s.close()
        latencies.sort()
        p50 = latencies[len(latencies) // 2]
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"    {len(latencies)} normal requests beside {n_slow} slowloris clients: p50 {p50 * 1000:.1f} ms, "
              f"p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; slow clients answered {len(answered)}")
        ok(len(latencies) >= 20, f"only {len(latencies)} normal requests completed in 2.6 s")
        eq(set(statuses), {200}, "statuses of the normal requests")
        le(p95, 0.5, "p95 latency (s) of normal requests while 200 clients dribble their heads")
        eq(len(answered), n_slow, "slow clients answered (408) or closed by the header timeout")
        got = [d[:12] for d in answered.values()]
        ok(all(d == b"" or d.startswith(b"HTTP/1.1 408") for d in got),
           f"slow clients got something else than 408 or a close: {sorted(set(got))}")
        check_baseline(pid, base, "after 200 slowloris clients", fd_slack=3, rss_slack_kb=4096)


def test_hardening_upstream_connect_timeout_504():
    # A local listener that never accepts: the kernel completes the TCP handshake, nobody ever answers the TLS
    # ClientHello, so the connect + handshake deadline fires.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    try:
        with Env(upstream=f"https://127.0.0.1:{hole.getsockname()[1]}",
                 proxy_args=["--connect-timeout", "500ms"]) as env:
            port = env.proxy.port
            before = metric(port, "anthropic_proxy_upstream_errors_total", kind="timeout")
            for i in range(2):
                t0 = time.monotonic()
                r = api_request(port, timeout=10)
                dt = time.monotonic() - t0
                eq(r.status, 504, f"request {i} to an upstream that never speaks TLS ({r.body[:200]!r})")
                _, msg = api_error(r)
                matches(r"time|within|handshake", msg, "504 message")
                ok(0.4 <= dt <= 2.0, f"504 after {dt:.2f}s with --connect-timeout 500ms")
            after = metric(port, "anthropic_proxy_upstream_errors_total", kind="timeout")
            ok(after >= before + 2, f'upstream_errors_total{{kind="timeout"}}: {before} -> {after}')
            eq(http_request(port, "GET", "/healthz").status, 200, "/healthz after the timeouts")
    finally:
        hole.close()


def test_hardening_upstream_silence_504():
    with Env(proxy_args=["--upstream-timeout", "500ms"]) as env:
        port = env.proxy.port
        before = metric(port, "anthropic_proxy_upstream_errors_total", kind="timeout")
        t0 = time.monotonic()
        r = api_request(port, scenario="delay:2000")
        dt = time.monotonic() - t0
        eq(r.status, 504, f"status when the upstream is silent for 2s (--upstream-timeout 500ms) ({r.body[:200]!r})")
        api_error(r)
        ok(0.4 <= dt <= 1.5, f"504 after {dt:.2f}s")
        # Silence in the middle of a stream: the head is out, so the client sees the stream cut (never complete).
        gate = os.path.join(CTX.tmpdir("gate-"), "never")
        with Conn(port) as c:
            c.send(stream_request("sse-slow", [("x-mock-gate", gate)]))
            t0 = time.monotonic()
            r = c.read_response(timeout=5)
            dt = time.monotonic() - t0
            eq(r.status, 200, "status of the stream that goes silent")
            ok(not r.complete and r.closed, f"a stream cut by the upstream timeout must not look complete: {r}")
            contains(r.body.decode(), "message_start", "what arrived before the silence")
            ok(dt <= 2.0, f"stream cut after {dt:.2f}s")
        after = metric(port, "anthropic_proxy_upstream_errors_total", kind="timeout")
        ok(after >= before + 2, f'upstream_errors_total{{kind="timeout"}}: {before} -> {after}')
        eq(api_request(port).status, 200, "a normal request afterwards")


# --------------------------------------------------------------------------------------------------------------
# Upstream faults, with fd and RSS baselines
# --------------------------------------------------------------------------------------------------------------

def test_hardening_upstream_faults():
    with Env(proxy_env=asan_env()) as env:
        port, pid = env.proxy.port, env.proxy.proc.pid
        for scen in ("reset-midhead", "close-midhead", "cut-midbody", "status:500"):  # warm every path once
            api_request(port, scenario=scen)
        eq(api_request(port).status, 200, "warm-up")
        base = proc_usage(pid)
        m0 = metrics(port)
        for i in range(10):
            for scen in ("reset-midhead", "close-midhead"):
                r = api_request(port, scenario=scen)
                eq(r.status, 502, f"{scen} #{i}: status ({r.body[:200]!r})")
                _, msg = api_error(r, f"{scen} #{i}")
                matches(r"upstream|closed|reset|connection", msg, f"{scen} #{i}: message")
            with Conn(port) as c:
                c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [("x-mock-scenario", "cut-midbody")],
                                     MSG_BODY))
                r = c.read_response(timeout=5)
                eq(r.status, 200, f"cut-midbody #{i}: status (the head was passed on)")
                ok(not r.complete and r.closed, f"cut-midbody #{i}: a cut answer must never look complete: {r}")
                ok(len(r.body) < 1000, f"cut-midbody #{i}: body of {len(r.body)} bytes")
            for status in (500, 529):
                r = api_request(port, scenario=f"status:{status}")
                eq(r.status, status, f"status:{status} #{i} passed through")
                eq(r.body, env.mock.response_body(env.mock.last_request()), f"status:{status} #{i}: body, byte for byte")
        eq(api_request(port).status, 200, "a normal request after the faults")
        m1 = metrics(port)
        errs = {k[1]: m1[k] - m0.get(k, 0) for k in m1 if k[0] == "anthropic_proxy_upstream_errors_total"}
        ok(sum(errs.values()) >= 30, f"upstream_errors_total increases for 30 failed exchanges: {errs}")
        check_baseline(pid, base, "after 50 upstream faults")


def test_hardening_upstream_refused_and_tls_failures():
    cases = [
        ("upstream refused", dict(upstream=f"https://localhost:{free_port()}"), r"upstream|connect|refused"),
        ("untrusted CA", dict(mock_cert="untrusted"), r"certificate|verif|tls|ssl"),
        ("certificate for another host name", dict(mock_cert="wrong"), r"certificate|verif|name|host|tls|ssl"),
    ]
    for what, kw, pattern in cases:
        with Env(proxy_env=asan_env(), **kw) as env:
            port, pid = env.proxy.port, env.proxy.proc.pid
            eq(api_request(port).status, 502, f"{what}: warm-up status")
            base = proc_usage(pid)
            for i in range(15):
                r = api_request(port)
                eq(r.status, 502, f"{what} #{i}: status ({r.body[:200]!r})")
                _, msg = api_error(r, f"{what} #{i}")
                matches(pattern, msg, f"{what} #{i}: message")
            # A burst on a new pool: the connections that wait for the first handshake's session must go on when it
            # fails (each failing alone at once), not sit until the 10 s connect timeout.
            barrier, t0 = threading.Barrier(8), time.monotonic()

            def one(_):
                barrier.wait(5)
                return api_request(port).status

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(one, range(8)))
            eq(statuses, [502] * 8, f"{what}: a burst of 8 at once")
            le(time.monotonic() - t0, 5.0, f"{what}: seconds the burst took")
            if env.mock:
                eq(env.mock.requests(kind=None), [], f"{what}: requests that reached the mock")
            eq(http_request(port, "GET", "/healthz").status, 200, f"{what}: /healthz")
            check_baseline(pid, base, what)


def test_hardening_client_gone_midstream_no_leaks():
    with Env(proxy_env=asan_env()) as env:
        port, pid = env.proxy.port, env.proxy.proc.pid
        req = stream_request("sse-endless")

        def cut_batch(n):
            conns = []
            try:
                for _ in range(n):
                    c = Conn(port)
                    c.send(req)
                    conns.append(c)
                for c in conns:
                    r = c.read_response(timeout=5, stop_when=lambda x: b"tick" in x.body)
                    eq(r.status, 200, "endless stream status")
            finally:
                for c in conns:
                    c.close()
            return time.monotonic()

        cut_batch(2)  # warm-up
        wait_until(lambda: env.mock.stats()["closed_by_peer_midstream"] >= 2, 3, "the mock seeing the warm-up cuts")
        eq(api_request(port).status, 200, "warm-up request")
        base = proc_usage(pid)
        for b in range(5):  # 50 streams, 10 at a time
            t_cut = cut_batch(10)
            want = 2 + 10 * (b + 1)
            wait_until(lambda: env.mock.stats()["closed_by_peer_midstream"] >= want, 3,
                       f"the mock seeing {want} streams dropped")
            le(time.monotonic() - t_cut, 1.0, f"seconds until the upstream saw batch {b} dropped")
        with Conn(port) as c:
            c.send(stream_request())
            r = c.read_response()
            ok(r.status == 200 and r.complete, f"a normal stream after 50 cut ones: {r}")
        check_baseline(pid, base, "after 50 streams cut by the client", fd_slack=3)


# --------------------------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------------------------

def test_hardening_sigterm_drains_inflight_stream():
    with Env() as env:
        port = env.proxy.port
        gate = os.path.join(CTX.tmpdir("gate-"), "open")
        with Conn(port, timeout=10) as c:
            c.send(stream_request("sse-slow", [("x-mock-gate", gate)]))
            r = c.read_response(timeout=5, stop_when=lambda x: b"message_start" in x.body)
            eq(r.status, 200, "status of the stream in flight")
            env.proxy.send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            wait_until(lambda: connect_refused(port), 2, "the listener closing after SIGTERM")
            le(time.monotonic() - t0, 2, "seconds until new connections are refused")
            time.sleep(0.3)
            ok(env.proxy.proc.poll() is None, "the proxy exited with an answer still in flight")
            with open(gate, "w"):
                pass
            r = c.read_response(timeout=10, resp=r)
            ok(r.complete, f"the in-flight answer finished: {r}")
            contains([e for e, _ in parse_sse(r.body.decode())], "message_stop", "events of the drained answer")
            ok(c.wait_closed(3), "the connection closed after the drained answer")
        rc, dt = wait_exit(env.proxy, 5)
        ok(rc is not None, "the proxy did not exit within 5s after its last answer")
        eq(rc, 0, "exit status after a drain")


def test_hardening_sigterm_drain_timeout():
    with Env(proxy_args=["--drain-timeout", "1s"]) as env:
        with Conn(env.proxy.port, timeout=10) as c:
            c.send(stream_request("sse-endless"))
            r = c.read_response(timeout=5, stop_when=lambda x: b"tick" in x.body)
            env.proxy.send_signal(signal.SIGTERM)
            rc, dt = wait_exit(env.proxy, 5)
            ok(rc is not None, "the proxy did not exit within 5s with --drain-timeout 1s")
            print(f"    exit {rc} {dt:.2f}s after SIGTERM with an endless stream and --drain-timeout 1s")
            ok(0.9 <= dt <= 1.5, f"exited {dt:.2f}s after SIGTERM, expected about 1s (--drain-timeout 1s)")
            eq(rc, 0, "exit status after the drain timeout")
            r = c.read_response(timeout=3, resp=r)
            ok(not r.complete, f"the endless stream cut at the deadline must not look complete: {r}")


def test_hardening_second_sigterm_exits_at_once():
    with Env(proxy_args=["--drain-timeout", "20s"]) as env:
        with Conn(env.proxy.port, timeout=10) as c:
            c.send(stream_request("sse-endless"))
            c.read_response(timeout=5, stop_when=lambda x: b"tick" in x.body)
            env.proxy.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            ok(env.proxy.proc.poll() is None, "the proxy exited at the first SIGTERM with a stream in flight")
            env.proxy.send_signal(signal.SIGTERM)
            rc, dt = wait_exit(env.proxy, 5)
            ok(rc is not None, "the proxy did not exit within 5s of a second SIGTERM")
            print(f"    second SIGTERM: exit status {rc} after {dt:.2f}s")
            le(dt, 0.5, "seconds until exit after the second SIGTERM")
            ok(rc >= 0, f"the proxy died on signal {-rc} instead of exiting")


# --------------------------------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------------------------------

def _load(port, n, conns=4, seconds=30.0):
    """n requests over `conns` keep-alive connections, one in flight on each: JSON and streamed /v1/messages,
    /healthz and /usage in turn. Bounded by count and time; returns how many completed."""
    kinds = [("POST", build_request("POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY)),
             ("POST", stream_request()),
             ("GET", build_request("GET", "/healthz")),
             ("GET", build_request("GET", "/usage"))]
    socks = [Conn(port, timeout=10) for _ in range(conns)]
    done, t_end = 0, time.monotonic() + seconds
    try:
        while done < n and time.monotonic() < t_end:
            batch = []
            for c in socks:
                if done + len(batch) >= n:
                    break
                method, data = kinds[(done + len(batch)) % len(kinds)]
                c.send(data)
                batch.append((c, method))
            for c, method in batch:
                r = c.read_response(method=method, timeout=10)
                if r.status != 200 or not r.complete:
                    fail(f"request {done} under load: {r}")
                done += 1
    finally:
        for c in socks:
            c.close()
    return done


def _burst(port, n, batch=250):
    """n connections, `batch` open at once; every other one sends a /healthz, the rest just close."""
    opened = 0
    while opened < n:
        conns = []
        try:
            for i in range(min(batch, n - opened)):
                c = Conn(port, timeout=10)
                conns.append(c)
                if i % 2 == 0:
                    c.send(build_request("GET", "/healthz"))
            for i, c in enumerate(conns):
                if i % 2 == 0:
                    eq(c.read_response(method="GET").status, 200, f"burst connection {opened + i}")
        finally:
            for c in conns:
                c.close()
        opened += len(conns)
    return opened


def test_hardening_memory_steady_under_load():
    with Env(proxy_env=asan_env()) as env:
        port, pid = env.proxy.port, env.proxy.proc.pid
        # Warm-up to the allocator's high-water marks (a burst of 1000 in batches of 250 like the one measured),
        # so that growth below means memory kept, not the heap's first expansion.
        _load(port, 1000)
        _burst(port, 1000)
        time.sleep(0.3)
        base = proc_usage(pid)
        t0 = time.monotonic()
        done = _load(port, 10000, seconds=40)
        t_load = time.monotonic() - t0
        eq(done, 10000, f"requests completed within 40s (after {t_load:.1f}s)")
        time.sleep(0.3)
        after_load = proc_usage(pid)
        t0 = time.monotonic()
        eq(_burst(port, 1000), 1000, "connections of the burst")
        t_burst = time.monotonic() - t0
        time.sleep(0.3)
        settle_fds(pid, base[0], 2, "after the 1000-connection burst")
        after_burst = proc_usage(pid)
        print(f"    VmRSS: baseline {base[1]} kB; after 10000 requests ({t_load:.1f}s) {after_load[1]} kB "
              f"({after_load[1] - base[1]:+d}); after 1000 connections ({t_burst:.1f}s) {after_burst[1]} kB "
              f"({after_burst[1] - base[1]:+d}); fds {base[0]} -> {after_load[0]} -> {after_burst[0]}")
        le(after_load[1] - base[1], 4096, "VmRSS growth (kB) over 10000 keep-alive requests")
        le(after_burst[1] - base[1], 4096, "VmRSS growth (kB) after a burst of 1000 connections")
        eq(mock_requests(env) >= 5000, True, "proxied requests reached the mock")


def test_hardening_pool_shrinks_after_burst():
    # 40 overlapping requests (each held 400 ms upstream) open 40 upstream connections; afterwards one request at a
    # time needs one. Within a few seconds of that traffic the pool is back to its floor of 16 (plus the one in
    # use): the surplus is closed well before --pool-idle-timeout (30 s), and every request is still answered.
    with Env() as env:
        port = env.proxy.port
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(api_request(port, scenario="delay:400").status))
                   for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        eq(statuses, [200] * 40, "statuses of the 40 overlapping requests")
        idle_after_burst = metric(port, "anthropic_proxy_upstream_connections", state="idle")
        ok(idle_after_burst >= 30, f"upstream connections pooled after the burst: {idle_after_burst:.0f}, want >= 30")
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3.5 and n < 2000:
            eq(api_request(port).status, 200, f"sequential request {n}")
            n += 1
            time.sleep(0.02)
        idle = metric(port, "anthropic_proxy_upstream_connections", state="idle")
        purged = metric(port, "anthropic_proxy_upstream_pool_purged_total")
        print(f"    idle upstream connections: {idle_after_burst:.0f} after the burst, {idle:.0f} after {n} sequential "
              f"requests; purged {purged:.0f}")
        le(idle, 17, "idle upstream connections after 3.5 s of one request at a time")
        ok(purged >= idle_after_burst - 17, f"purged connections counted: {purged:.0f}")
        recent = {rec["connection_id"] for rec in env.mock.requests()[-20:]}
        le(len(recent), 2, "upstream connections serving the last 20 sequential requests")


def test_hardening_sigterm_request_finished_during_drain_says_close():
    # A request whose head was still arriving at SIGTERM is served, and its answer, the connection's last, says
    # `connection: close` (it once said nothing, and the proxy then closed a connection the client meant to reuse).
    with Env() as env:
        head = build_request("POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY)
        def heads():
            return sum(1 for e in env.proxy.log_json() if e.get("event") == "client_state" and e.get("to") == "head")

        with Conn(env.proxy.port, timeout=10) as c:
            before = heads()  # the harness's own readiness requests came before
            c.send(head[:20])
            wait_until(lambda: heads() > before, 10, "this request's head begun at the proxy")
            env.proxy.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            c.send(head[20:])
            r = c.read_response(timeout=5)
            eq(r.status, 200, "status of the request finished during the drain")
            eq((r.header("connection") or "").lower(), "close", "connection header of the drain's last answer")
            ok(c.wait_closed(3), "the connection closed after it")
        rc, _ = wait_exit(env.proxy, 5)
        eq(rc, 0, "exit status after the drain")
