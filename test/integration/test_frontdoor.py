"""The front door (issue 15): who may use the proxy and what it signs is decided at the request head; memory per
client connection stays bounded whatever the client does; secrets at rest; a refresh token is never spent twice;
status lines, versions and Connection headers; start-up checks.

Every test runs the real binary against the mock API."""

import json
import os
import re
import socket
import stat
import subprocess
import threading
import time

from harness import (CLIENT_HEADERS, CTX, MSG_BODY, Conn, Env, OAuthEnv, api_error, api_request, build_request, eq,
                     fail, free_port, http_request, le, ok, pki, run_binary, wait_until)
from test_hardening import asan_env, metric, proc_usage

KEY = "door-key-0123456789"


def refused(r, status, err_type, what):
    eq(r.status, status, f"{what}: status ({r.body[:200]!r})")
    eq(api_error(r, what)[0], err_type, f"{what}: error type")


def raw(port, data, timeout=5):
    """Sends exact bytes on a fresh connection; returns (response, closed-after-answer)."""
    with Conn(port, timeout=timeout) as c:
        c.send(data)
        r = c.read_response(timeout=timeout)
        return r, c.wait_closed(3)


def door_log(env, kind):
    return [x for x in env.proxy.log_json() if x.get("error") == kind]


# ---------------------------------------------------------------------------------------------------------------
# 1. Host and Origin
# ---------------------------------------------------------------------------------------------------------------

def test_frontdoor_keyless_refuses_foreign_host():
    with Env() as env:
        port = env.proxy.port
        for host in ("evil.example", "evil.example:%d" % port, "127.0.0.1.evil.example", "localhost.evil.example",
                     "localhostx", "[::1].evil.example", "[::2]", "10.0.0.1", "0.0.0.0", "127.0.0.01",
                     "localhost:80x", "127.1", ""):
            r = http_request(port, "POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY, host=host or " ")
            refused(r, 403 if host else 403, "permission_error", f"Host {host!r}")
        # DNS rebinding must not read the usage either.
        r = http_request(port, "GET", "/usage", host="attacker.example:%d" % port)
        refused(r, 403, "permission_error", "GET /usage with a foreign Host")
        # An absolute-form target's authority stands in for Host (RFC 9112 §3.2.2).
        r = http_request(port, "GET", "http://evil.example/v1/models", CLIENT_HEADERS)
        refused(r, 403, "permission_error", "absolute-form target naming a foreign host")
        eq(env.mock.stats()["requests"], 0, "requests that reached the upstream")
        lines = door_log(env, "host")
        ok(len(lines) >= 13 and all(x.get("status") == 403 and "Host" in x.get("msg", "") for x in lines),
           f"one log line per refusal saying why: {lines[:3]}")
        for host in ("localhost", "LOCALHOST:%d" % port, "localhost.", "localhost.:%d" % port, "127.0.0.1",
                     "127.0.0.1:%d" % port, "127.12.0.254:1", "[::1]", "[::1]:%d" % port):
            r = http_request(port, "POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY, host=host)
            eq(r.status, 200, f"Host {host!r} ({r.body[:200]!r})")
        r = http_request(port, "GET", "http://localhost:%d/v1/models" % port, CLIENT_HEADERS)
        eq(r.status, 200, "absolute-form target naming localhost")
        # HTTP/1.0 without Host: not a browser.
        r, _ = raw(port, b"GET /v1/models HTTP/1.0\r\nx-api-key: x\r\n\r\n")
        eq(r.status, 200, "HTTP/1.0 request without Host")
        r, _ = raw(port, build_request("GET", "/v1/models", [("Host", "localhost"), ("Host", "localhost")]))
        refused(r, 400, "invalid_request_error", "two Host headers")


def test_frontdoor_origin_refused_unless_allowed():
    with Env(proxy_args=["--allow-origin", "https://app.example", "--allow-origin", "http://localhost:3000"]) as env:
        port = env.proxy.port
        for origin in ("https://evil.example", "null", "https://app.example.evil", "http://app.example", ""):
            r = api_request(port, extra_headers=[("Origin", origin)])
            refused(r, 403, "permission_error", f"Origin {origin!r}")
        r = api_request(port, extra_headers=[("Origin", "https://app.example"), ("Origin", "https://evil.example")])
        refused(r, 403, "permission_error", "an allowed Origin and a foreign one")
        r = http_request(port, "GET", "/metrics", [("Origin", "https://evil.example")])
        refused(r, 403, "permission_error", "GET /metrics from a web page")
        eq(env.mock.stats()["requests"], 0, "requests that reached the upstream")
        ok(door_log(env, "origin"), "a log line names the Origin refusal")
        for origin in ("https://app.example", "HTTPS://APP.EXAMPLE", "http://localhost:3000"):
            r = api_request(port, extra_headers=[("Origin", origin)])
            eq(r.status, 200, f"allowed Origin {origin!r} ({r.body[:200]!r})")
    # The environment twin of the flag, like every flag.
    with Env(proxy_env={"ANTHROPIC_PROXY_ALLOW_ORIGIN": "https://env.example"}) as env:
        eq(api_request(env.proxy.port, extra_headers=[("Origin", "https://env.example")]).status, 200,
           "Origin allowed through ANTHROPIC_PROXY_ALLOW_ORIGIN")
        refused(api_request(env.proxy.port, extra_headers=[("Origin", "https://app.example")]), 403,
                "permission_error", "Origin not in ANTHROPIC_PROXY_ALLOW_ORIGIN")


def test_frontdoor_origin_refused_with_client_keys_too():
    with Env(proxy_args=["--client-key", KEY]) as env:
        port = env.proxy.port
        key = [("content-type", "application/json"), ("anthropic-version", "2023-06-01"), ("x-api-key", KEY)]
        r = api_request(port, headers=key, extra_headers=[("Origin", "https://evil.example")])
        refused(r, 403, "permission_error", "Origin with a valid client key")
        eq(api_request(port, headers=key).status, 200, "a valid client key without Origin")
        # With keys the Host is not checked (the listener may be reached by any name).
        r = http_request(port, "POST", "/v1/messages", key, MSG_BODY, host="proxy.internal:8080")
        eq(r.status, 200, "a foreign Host with a valid client key")
        eq(env.mock.stats()["requests"], 2, "requests that reached the upstream")


def test_frontdoor_cli_clients_send_no_origin():
    with Env() as env:
        r = api_request(env.proxy.port)
        eq(r.status, 200, "an SDK-like request")
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                              "content-type: application/json", "-H", "x-api-key: placeholder",
                              "--data-binary", MSG_BODY.decode(), f"http://127.0.0.1:{env.proxy.port}/v1/messages"],
                             capture_output=True, timeout=20, text=True)
        eq(out.stdout, "200", f"curl status (stderr {out.stderr!r})")
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                              f"http://localhost:{env.proxy.port}/v1/models"], capture_output=True, timeout=20,
                             text=True)
        eq(out.stdout, "200", "curl through the name localhost")


# ---------------------------------------------------------------------------------------------------------------
# 2. Decided at the head: nothing buffered, no 100 Continue, connection closed
# ---------------------------------------------------------------------------------------------------------------

def head_only(port, head, timeout=5):
    """Sends only a head that announces a big body; returns (response, interim statuses, closed)."""
    with Conn(port, timeout=timeout) as c:
        c.send(head)
        r = c.read_response(timeout=timeout, interim=True)
        return r, r.interim, c.wait_closed(3)


def test_frontdoor_refusals_at_the_head():
    big = [("content-type", "application/json"), ("content-length", str(30 * 1024 * 1024))]
    expect = big + [("expect", "100-continue")]
    with Env(proxy_args=["--client-key", KEY], proxy_env=asan_env()) as env:
        port = env.proxy.port
        pid = env.proxy.proc.pid
        for name, hs in (("no key", expect), ("wrong key", expect + [("x-api-key", "not-the-key-123")]),
                         ("wrong bearer", big + [("authorization", "Bearer not-the-key-123")])):
            t0 = time.monotonic()
            r, interim, closed = head_only(port, build_request("POST", "/v1/messages", hs))
            refused(r, 401, "authentication_error", name)
            eq(interim, [], f"{name}: 1xx answers before the 401")
            ok(closed, f"{name}: connection closed after the 401")
            le(time.monotonic() - t0, 3, f"{name}: seconds until the 401 (no body was sent)")
            eq((r.header("connection") or "").lower(), "close", f"{name}: connection header")
        # Method and path refusals are decided at the head too.
        r, interim, closed = head_only(port, build_request("PUT", "/v1/messages", expect + [("x-api-key", KEY)]))
        refused(r, 405, "invalid_request_error", "PUT with a body to come")
        eq(r.header("allow"), "GET, HEAD, POST, DELETE", "Allow header")
        ok(closed and interim == [], "405 at once, no 100 Continue, connection closed")
        r, interim, closed = head_only(port, build_request("POST", "/nope", expect + [("x-api-key", KEY)]))
        refused(r, 404, "not_found_error", "unknown path with a body to come")
        ok(closed and interim == [], "404 at once, no 100 Continue, connection closed")
        # Unauthenticated memory: six connections each send 4 MB of a 30 MB body without a key.
        base = proc_usage(pid)[1]
        socks = []
        for _ in range(6):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(build_request("POST", "/v1/messages", big))
            socks.append(s)
        chunk = b"x" * 65536
        for s in socks:
            s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sent < 6 * 4 * 1024 * 1024:
            progress = False
            for s in socks:
                try:
                    sent += s.send(chunk)
                    progress = True
                except (BlockingIOError, OSError):
                    pass
            if not progress:
                time.sleep(0.01)
        rss = proc_usage(pid)[1]
        print(f"    6 keyless connections sent {sent >> 20} MB of body: VmRSS {base} kB -> {rss} kB")
        le(rss - base, 4096, "VmRSS growth in kB while keyless clients send bodies")
        for s in socks:
            s.close()
        eq(env.mock.stats()["requests"], 0, "requests that reached the upstream")
    with Env() as env:
        r, interim, closed = head_only(env.proxy.port, build_request("POST", "/v1/messages", expect,
                                                                      host="evil.example"))
        refused(r, 403, "permission_error", "foreign Host with a body to come")
        ok(closed and interim == [], "403 at once, no 100 Continue, connection closed")


# ---------------------------------------------------------------------------------------------------------------
# 3. Memory per connection
# ---------------------------------------------------------------------------------------------------------------

def send_nonblocking(s, data, seconds):
    """Sends as much of data as the peer takes within `seconds`; returns the bytes sent."""
    s.setblocking(False)
    sent, deadline = 0, time.monotonic() + seconds
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.02)
    return sent


def test_frontdoor_pipelined_answers_never_read_stay_bounded():
    with Env(proxy_env={"MALLOC_ARENA_MAX": "1", **asan_env()}) as env:
        port, pid = env.proxy.port, env.proxy.proc.pid
        req = build_request("GET", "/metrics", host=f"127.0.0.1:{port}")
        data = req * (170 * 1024 // len(req) + 1)
        http_request(port, "GET", "/metrics")
        base = proc_usage(pid)[1]
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sent = send_nonblocking(s, data, 4)
        time.sleep(0.5)
        rss = proc_usage(pid)[1]
        print(f"    {sent >> 10} KB of pipelined GET /metrics never read: VmRSS {base} kB -> {rss} kB")
        le(rss - base, 3072, "VmRSS growth in kB with pipelined /metrics answers never read")
        # The proxy is not stuck for others, and the reader gets its answers once it reads.
        eq(http_request(port, "GET", "/healthz").status, 200, "another client meanwhile")
        s.setblocking(True)
        s.settimeout(10)
        got = b""
        while got.count(b"HTTP/1.1 200 OK") < 20:
            chunk = s.recv(1 << 20)
            ok(chunk, "the connection closed before 20 answers were read")
            got += chunk
        s.close()


def test_frontdoor_send_timeout_closes_a_client_that_reads_nothing():
    with Env(proxy_args=["--send-timeout", "1s"]) as env:
        port, pid = env.proxy.port, env.proxy.proc.pid
        base_fds = proc_usage(pid)[0]
        req = build_request("GET", "/metrics", host=f"127.0.0.1:{port}")
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        send_nonblocking(s, req * 2000, 2)
        wait_until(lambda: metric(port, "anthropic_proxy_client_timeouts_total", kind="send") >= 1, 6,
                   "the send timeout to close the connection")
        wait_until(lambda: proc_usage(pid)[0] <= base_fds, 3, "the connection's descriptor to be released")
        ok(any(x.get("event") == "send_timeout" or x.get("msg", "").startswith("the client read none")
               for x in env.proxy.log_json()), "a log line for the send timeout")
        s.close()
    # A slow reader that does read is not cut off.
    with Env(proxy_args=["--send-timeout", "1s"]) as env:
        port = env.proxy.port
        req = build_request("GET", "/metrics", host=f"127.0.0.1:{port}")
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # 15 answers of ~26 KB at ~40 KB/s: about 10 s of slow reading, every second of it under the timeout.
        s.sendall(req * 15)
        got, t0 = b"", time.monotonic()
        while got.count(b"HTTP/1.1 200 OK") < 15 and time.monotonic() - t0 < 30:
            got += s.recv(2048)
            time.sleep(0.005)
        eq(got.count(b"HTTP/1.1 200 OK"), 15, "answers a slow (but reading) client got")
        eq(metric(port, "anthropic_proxy_client_timeouts_total", kind="send"), 0, "send timeouts for a slow reader")
        s.close()


def test_frontdoor_idle_connections_keep_no_body():
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 8,
                       "messages": [{"role": "user", "content": "x" * (10 * 1024 * 1024)}]}).encode()
    with Env(proxy_env={"MALLOC_ARENA_MAX": "1", **asan_env()}) as env:
        port, pid = env.proxy.port, env.proxy.proc.pid
        eq(api_request(port, body=body, timeout=30).status, 200, "a 10 MB request")
        time.sleep(0.2)
        base = proc_usage(pid)[1]
        conns = []
        for _ in range(3):
            c = Conn(port, timeout=30)
            c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS, body, host=f"127.0.0.1:{port}"))
            eq(c.read_response(timeout=30).status, 200, "a 10 MB request on a kept-alive connection")
            conns.append(c)
        time.sleep(0.3)
        rss = proc_usage(pid)[1]
        print(f"    3 idle keep-alive connections after 10 MB bodies: VmRSS {base} kB -> {rss} kB")
        le(rss - base, 4096, "VmRSS growth in kB held by idle connections after 10 MB bodies")
        for c in conns:
            c.close()


# ---------------------------------------------------------------------------------------------------------------
# 4. Only the API is signed
# ---------------------------------------------------------------------------------------------------------------

def test_frontdoor_methods_and_paths():
    with Env(proxy_args=["--forward-prefix", "/extra/"]) as env:
        port = env.proxy.port
        for method in ("TRACE", "OPTIONS", "PUT", "PATCH", "PROPFIND", "LINK"):
            r = http_request(port, method, "/v1/messages", CLIENT_HEADERS)
            refused(r, 405, "invalid_request_error", method)
            eq(r.header("allow"), "GET, HEAD, POST, DELETE", f"{method}: Allow header")
        for target in ("/", "/v1", "/v2/messages", "/foo", "/healthzz", "/v1messages", "/api", "/extra"):
            refused(http_request(port, "GET", target, CLIENT_HEADERS), 404, "not_found_error", f"GET {target}")
        for target in ("/v1/../x", "/v1/./models", "//v1/models", "/v1//models", "/v1/%2e%2e/x", "/v1/%2E/models",
                       "/v1/.%2e/x", "/v1/models%2fx", "/v1/models%2Fx", "/v1/models%5cx", "/v1/models\\x",
                       "/api/..", "/extra/../v1/x", "http://localhost/v1/../x"):
            refused(http_request(port, "GET", target, CLIENT_HEADERS), 400, "invalid_request_error", f"GET {target}")
        r = http_request(port, "POST", "/healthz", body=b"{}")
        refused(r, 405, "invalid_request_error", "POST /healthz")
        eq(r.header("allow"), "GET, HEAD", "Allow header of an admin path")
        eq(env.mock.stats()["requests"], 0, "requests that reached the upstream")
        # What is forwarded: the API's methods on its paths (the query is not a path), and --forward-prefix.
        for method, target in (("GET", "/v1/models"), ("GET", "/v1/models?after=/../x"), ("HEAD", "/v1/models"),
                               ("DELETE", "/v1/files/f1"), ("GET", "/api/hello"), ("GET", "/extra/thing")):
            r = http_request(port, method, target, CLIENT_HEADERS)
            ok(r.status not in (400, 403, 405), f"{method} {target}: {r.status}")
        targets = [x["target"] for x in env.mock.requests()]
        eq(targets, ["/v1/models", "/v1/models?after=/../x", "/v1/models", "/v1/files/f1", "/api/hello",
                     "/extra/thing"], "targets that reached the upstream")
        for x in env.mock.requests():
            ok(any(k.lower() == "authorization" for k, _ in x["headers"]), f"{x['target']} signed")


def test_frontdoor_forward_prefix_must_be_a_normal_path():
    for bad in ("extra/", "/a/../b/", "/a//b"):
        p = run_binary(["--forward-prefix", bad])
        eq(p.returncode, 2, f"--forward-prefix {bad!r}: exit status (stderr {p.stderr!r})")
        ok("--forward-prefix" in p.stderr, f"--forward-prefix {bad!r}: message names the flag: {p.stderr!r}")
    for bad in ("app.example", "https://app.example/path", "https://"):
        p = run_binary(["--allow-origin", bad])
        eq(p.returncode, 2, f"--allow-origin {bad!r}: exit status (stderr {p.stderr!r})")


# ---------------------------------------------------------------------------------------------------------------
# 5. Secrets
# ---------------------------------------------------------------------------------------------------------------

def proc_limit(pid, name):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith(name):
                return line[len(name):].split()[:2]
    fail(f"no {name!r} in /proc/{pid}/limits")


def test_frontdoor_core_dumps_off_unless_allowed():
    with Env() as env:
        eq(proc_limit(env.proxy.proc.pid, "Max core file size"), ["0", "0"], "core file size limit (soft, hard)")
    with Env(proxy_args=["--allow-core-dumps"]) as env:
        here = proc_limit(os.getpid(), "Max core file size")
        eq(proc_limit(env.proxy.proc.pid, "Max core file size"), here, "core limit with --allow-core-dumps")


def test_frontdoor_client_key_on_the_command_line_warns():
    with Env(proxy_args=["--client-key", KEY]) as env:
        ok(any(x.get("event") == "client_keys_in_argv" for x in env.proxy.log_json()),
           "a warning when --client-key is on the command line")
    with Env(proxy_env={"ANTHROPIC_PROXY_CLIENT_KEY": KEY}) as env:
        ok(not any(x.get("event") == "client_keys_in_argv" for x in env.proxy.log_json()),
           "no warning when the keys come from the environment")


def test_frontdoor_credentials_fifo_never_blocks():
    with OAuthEnv(start_proxy=False) as env:
        os.unlink(env.path)
        os.mkfifo(env.path, 0o600)
        env.start_proxy()  # /healthz answers: the loop is not stuck in open()
        r = api_request(env.proxy.port)
        eq(r.status, 503, f"a request without usable credentials ({r.body[:200]!r})")
        ok("not a regular file" in env.proxy.log_text(), "the log says the credentials path is not a regular file")
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
    fifo = os.path.join(d, f"keys-fifo-{os.getpid()}")
    os.mkfifo(fifo, 0o600)
    try:
        t0 = time.monotonic()
        p = run_binary(["--client-keys-file", fifo], timeout=10)
        eq(p.returncode, 2, f"exit status with a FIFO as --client-keys-file (stderr {p.stderr!r})")
        ok("not a regular file" in p.stderr, f"message: {p.stderr!r}")
        le(time.monotonic() - t0, 5, "seconds to refuse it")
    finally:
        os.unlink(fifo)


def test_frontdoor_lock_and_temp_files_never_follow_symlinks():
    with OAuthEnv(expires_in_s=-60, start_proxy=False) as env:
        victim = os.path.join(os.path.dirname(env.path), "victim")
        os.symlink(victim, env.path + ".lock")
        env.start_proxy()
        r = api_request(env.proxy.port, timeout=25)
        eq(r.status, 200, f"request after a refresh ({r.body[:200]!r})")
        ok(not os.path.exists(victim), "the lock file's symlink was followed (victim created)")
        st = os.stat(env.path)
        eq(stat.S_IMODE(st.st_mode), 0o600, "mode of the written-back credentials")
        left = [f for f in os.listdir(os.path.dirname(env.path)) if ".tmp." in f]
        eq(left, [], "temp files left behind")


# ---------------------------------------------------------------------------------------------------------------
# 6. A refresh that was sent is never repeated at another token URL
# ---------------------------------------------------------------------------------------------------------------

def test_frontdoor_refresh_sent_is_not_repeated_elsewhere():
    with OAuthEnv(expires_in_s=-60, start_proxy=False, mock_oauth={"drop_count": 1}) as env:
        second = f"https://localhost:{env.mock.port}/second/v1/oauth/token"
        env.token_urls = [env.mock.token_url, second]
        env.start_proxy()
        r = api_request(env.proxy.port, timeout=25)
        ok(r.status in (502, 503, 504), f"status after the token endpoint dropped the refresh: {r.status}")
        # The first URL spent the refresh token and never answered: the same token must not go to the second URL.
        # (A later attempt at the same URL is told invalid_grant: the token was rotated there, never spent twice.)
        st = env.mock.stats()
        spent = [x for x in st["refresh_results"] if x["status"] == 200]
        eq(len(spent), 1, f"refreshes that spent the token ({st['refresh_results']})")
        tried = [x["path"] for x in env.mock.requests(kind=None) if x["path"].startswith("/second")]
        eq(tried, [], "requests to the second token URL after the first had the refresh request")
        ok(not any(x.get("event") == "token_url_failed" for x in env.proxy.log_json()),
           "no fall-over to the next token URL was logged")


# ---------------------------------------------------------------------------------------------------------------
# 7. Versions, status lines, Connection headers, start-up checks
# ---------------------------------------------------------------------------------------------------------------

def test_frontdoor_version_400_or_505():
    with Env() as env:
        port = env.proxy.port
        for line, status in ((b"GET /healthz HTTP/1.1x", 400), (b"GET /healthz HTTP/1.1 junk", 400),
                             (b"GET /healthz HTTP/1.1\t", 400), (b"GET /healthz HTTP/1.", 400),
                             (b"GET /healthz HTTP/11.1", 400), (b"GET /healthz HTTP/2.0", 505),
                             (b"GET /healthz HTTP/1.2", 505), (b"GET /healthz HTTP/3.0", 505)):
            r, closed = raw(port, line + b"\r\nHost: localhost\r\n\r\n")
            eq(r.status, status, f"{line!r}: status ({r.body[:200]!r})")
            ok(closed, f"{line!r}: connection closed")


def test_frontdoor_status_lines_keep_the_code_with_a_real_reason():
    with Env() as env:
        # The window 429 last: after it the guard answers for the window itself (README "Several subscriptions").
        for code, reason in ((529, "Overloaded"), (402, "Payment Required"),
                             (409, "Conflict"), (422, "Unprocessable Content"), (413, "Content Too Large"),
                             (451, "Client Error"), (599, "Server Error"), (500, "Internal Server Error"),
                             (429, "Too Many Requests")):
            r = api_request(env.proxy.port, scenario=f"status:{code}")
            eq((r.status, r.reason), (code, reason), f"status line relayed for {code}")


def test_frontdoor_every_connection_header_is_honoured():
    with Env() as env:
        port = env.proxy.port
        hs = CLIENT_HEADERS + [("x-mock-scenario", "echo"), ("Connection", "keep-alive"),
                               ("Connection", "X-Hop-One"), ("CONNECTION", "x-hop-two, X-Hop-Three"),
                               ("x-hop-one", "1"), ("X-HOP-TWO", "2"), ("x-hop-three", "3"), ("x-kept", "4")]
        r = http_request(port, "POST", "/v1/messages", hs, MSG_BODY)
        eq(r.status, 200, "request with several Connection headers")
        names = [k.lower() for k, _ in env.mock.last_request()["headers"]]
        eq([n for n in names if n.startswith("x-hop") or n == "connection"], [], "hop-by-hop headers forwarded")
        ok("x-kept" in names, "an ordinary header is forwarded")
        # close in the second of two Connection headers ends the connection after the answer.
        r, closed = raw(port, build_request("GET", "/v1/models", CLIENT_HEADERS + [("Connection", "keep-alive"),
                                                                                    ("Connection", "Close")]))
        eq(r.status, 200, "request with keep-alive then close")
        eq((r.header("connection") or "").lower(), "close", "connection header of the answer")
        ok(closed, "connection closed after the answer")


def test_frontdoor_startup_limits():
    t0 = time.monotonic()
    for size in ("1000000G", "9000000000000000000", "18000000000000000000"):
        p = run_binary(["--max-body-size", size], timeout=10)
        eq(p.returncode, 2, f"--max-body-size {size}: exit status (stderr {p.stderr!r})")
        ok("max-body-size" in p.stderr, f"--max-body-size {size}: message {p.stderr!r}")
    le(time.monotonic() - t0, 10, "seconds to refuse absurd body sizes (no spin)")
    with Env(proxy_args=["--max-connections", "1000000"]) as env:
        soft, hard = proc_limit(env.proxy.proc.pid, "Max open files")
        eq(soft, hard, "open-file soft limit raised to the hard limit")
        if hard != "unlimited" and int(hard) < 2000000:
            ok(any(x.get("event") == "max_connections" for x in env.proxy.log_json()),
               "a warning when --max-connections asks for more than the open-file limit allows")
    # Without the flag the connection limit follows the descriptors: 100 of them fit (100 - 64) / 2 = 18 clients.
    import harness
    pnum = free_port()
    script = ("import resource, os, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100)); "
              "os.execv(sys.argv[1], sys.argv[1:])")
    proc = subprocess.Popen(["python3", "-c", script, harness.BINARY, "--listen", f"127.0.0.1:{pnum}",
                             "--ca-file", pki().ca_pem, "--log-format", "json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", ""),
                                                            "HOME": CTX.tmpdir("home-")})
    socks = []
    try:
        wait_until(lambda: _healthy(pnum), 5, "the proxy under a 100-descriptor limit")
        for _ in range(18):
            socks.append(socket.create_connection(("127.0.0.1", pnum), timeout=5))
        eq(proc.poll(), None, "the proxy is running")
        s = socket.create_connection(("127.0.0.1", pnum), timeout=5)
        socks.append(s)
        s.settimeout(5)
        data = s.recv(4096)
        ok(data.startswith(b"HTTP/1.1 503"), f"connection 19 under a 100-descriptor limit: {data[:80]!r}")
    finally:
        for x in socks:
            x.close()
        proc.terminate()
        proc.wait(timeout=10)


def _healthy(port):
    try:
        return http_request(port, "GET", "/healthz", timeout=1).status == 200
    except (OSError, AssertionError):
        return False


# ---------------------------------------------------------------------------------------------------------------
# 8. The README documents every flag --help lists, and no other
# ---------------------------------------------------------------------------------------------------------------

def test_frontdoor_readme_lists_every_flag():
    p = run_binary(["--help"])
    helped = set(re.findall(r"^  --([a-z][a-z0-9-]*)", p.stdout, re.M))
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, "README.md")) as f:
        readme = f.read()
    table = set(re.findall(r"^\| `--([a-z][a-z0-9-]*)", readme, re.M))
    table |= set(re.findall(r"`--([a-z][a-z0-9-]*)`, `--([a-z][a-z0-9-]*)`", readme)[0]) if \
        re.search(r"`--help`, `--version`", readme) else set()
    eq(sorted(helped - table), [], "flags in --help missing from the README's flag table")
    eq(sorted(table - helped), [], "flags in the README's flag table that --help does not list")
