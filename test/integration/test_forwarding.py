"""How requests are rewritten and forwarded: credentials, betas, hop-by-hop headers, request
body framing (chunked, Expect: 100-continue, large bodies, size limit), keep-alive reuse."""

import gzip
import json
import os
import select
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import (CLIENT_HEADERS, MSG_BODY, OAUTH_BETA, TOKEN, Conn, Env, Headers, api_error, api_request,
                     build_request, chunk_body, curl, eq, le, ok, send_until_answer, sha256)

HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade")


def upstream_headers(rec):
    return Headers([tuple(p) for p in rec["headers"]])


def beta_tokens(h):
    """Every token of every anthropic-beta header, in order."""
    return [t.strip() for v in h.get_all("anthropic-beta") for t in v.split(",") if t.strip()]


def test_nonstreaming_rewrites_credentials_and_headers():
    with Env() as env:
        r = curl(env.proxy.url + "/v1/messages?beta=true", data=MSG_BODY, headers=[
            ("x-api-key", "client-key"), ("anthropic-beta", "tools-2024-04-04"),
            ("anthropic-version", "2023-06-01"), ("content-type", "application/json"),
            ("x-stainless-lang", "js"), ("x-app", "cli")])
        eq(r.status, 200, f"status (body {r.body[:300]!r}, curl: {r.stderr})")
        recs = env.mock.requests()
        eq(len(recs), 1, "requests seen by the mock")
        rec = recs[0]
        eq(r.body, env.mock.response_body(rec), "client body vs the mock's body, byte for byte")
        h = upstream_headers(rec)
        eq(h.get_all("authorization"), [f"Bearer {TOKEN}"], "upstream authorization")
        eq(h.get_all("x-api-key"), [], "upstream x-api-key")
        eq(beta_tokens(h), ["tools-2024-04-04", OAUTH_BETA], "upstream anthropic-beta tokens")
        eq(len(h.get_all("anthropic-beta")), 1, f"number of upstream anthropic-beta headers: {h.get_all('anthropic-beta')}")
        eq(h.get_all("anthropic-version"), ["2023-06-01"], "upstream anthropic-version")
        eq(h.get_all("host"), [f"localhost:{env.mock.port}"], "upstream host")
        eq((h.get("x-stainless-lang"), h.get("x-app")), ("js", "cli"), "other client headers forwarded untouched")
        ok((h.get("user-agent") or "").startswith("curl/"), f"user-agent forwarded untouched: {h.get('user-agent')!r}")
        eq((rec["method"], rec["target"]), ("POST", "/v1/messages?beta=true"), "upstream method and target")
        eq(rec["body_sha256"], sha256(MSG_BODY), "upstream body sha256")
        for name in HOP_BY_HOP[1:]:
            eq(h.get_all(name), [], f"upstream hop-by-hop header {name}")
        resp_rid = [v for k, v in rec["response"]["headers"] if k == "request-id"][0]
        eq(r.header("request-id"), resp_rid, "request-id passed back to the client")
        ok(r.header("anthropic-ratelimit-unified-status") is not None,
           f"rate-limit headers passed back to the client: {r.headers}")


def test_oauth_beta_added_once():
    with Env() as env:
        cases = [
            ([], [OAUTH_BETA]),
            ([("anthropic-beta", f"{OAUTH_BETA},tools-2024-04-04")], [OAUTH_BETA, "tools-2024-04-04"]),
            ([("anthropic-beta", f"a-1, {OAUTH_BETA}, b-2")], ["a-1", OAUTH_BETA, "b-2"]),
            # The header may arrive more than once: every beta kept, in order, oauth added once.
            ([("anthropic-beta", "a-1,b-2"), ("anthropic-beta", "c-3")], ["a-1", "b-2", "c-3", OAUTH_BETA]),
        ]
        for extra, want in cases:
            r = api_request(env.proxy.port, extra_headers=extra)
            eq(r.status, 200, f"status with {extra}")
            eq(beta_tokens(upstream_headers(env.mock.last_request())), want, f"upstream betas for client {extra}")


def test_client_bearer_replaced():
    # ANTHROPIC_AUTH_TOKEN-style clients send their own bearer: it must be replaced, not doubled.
    with Env() as env:
        hs = [("content-type", "application/json"), ("anthropic-version", "2023-06-01"),
              ("Authorization", "Bearer client-token")]
        eq(api_request(env.proxy.port, headers=hs).status, 200, "status")
        eq(upstream_headers(env.mock.last_request()).get_all("authorization"), [f"Bearer {TOKEN}"],
           "upstream authorization")


def test_anthropic_version_added_when_absent():
    # src/README.md §1: anthropic-version 2023-06-01 is sent; the client's value wins when present.
    with Env() as env:
        eq(api_request(env.proxy.port, headers=[("content-type", "application/json")]).status, 200, "status")
        eq(upstream_headers(env.mock.last_request()).get_all("anthropic-version"), ["2023-06-01"],
           "upstream anthropic-version")


def test_hop_by_hop_headers_dropped():
    body = MSG_BODY
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [
            ("Connection", "keep-alive, TE"), ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"), ("Upgrade", "h2c")], body, chunked=True))
        r = c.read_response()
        eq(r.status, 200, f"status ({r.body[:200]!r})")
        h = upstream_headers(env.mock.last_request())
        for name in ("keep-alive", "proxy-connection", "te", "upgrade", "transfer-encoding"):
            eq(h.get_all(name), [], f"upstream {name} header")
        ok(all(v.strip().lower() in ("keep-alive", "close") for v in h.get_all("connection")),
           f"upstream connection header must be the proxy's own, got {h.get_all('connection')}")
        eq(h.get_all("content-length"), [str(len(body))], "upstream content-length")
        eq(env.mock.last_request()["body_sha256"], sha256(body), "upstream body sha256")


def test_chunked_request_body():
    body = json.dumps({"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "x" * 20000 + " Ünïcödé"}]}, ensure_ascii=False).encode()
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [("Transfer-Encoding", "chunked")]))
        encoded = chunk_body(body, sizes=(1, 4096, 13, 8000))
        # Dribble the chunked body in uneven writes, splitting chunk-size lines and CRLFs.
        for i in range(0, len(encoded), 3001):
            c.send(encoded[i:i + 3001])
            time.sleep(0.002)
        r = c.read_response()
        eq(r.status, 200, f"status ({r.body[:200]!r})")
        rec = env.mock.last_request()
        eq((rec["body_length"], rec["body_sha256"]), (len(body), sha256(body)), "upstream body length, sha256")
        h = upstream_headers(rec)
        eq(h.get_all("content-length"), [str(len(body))], "upstream content-length")
        eq(h.get_all("transfer-encoding"), [], "upstream transfer-encoding")


def test_expect_100_continue():
    body = MSG_BODY
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [
            ("Expect", "100-continue"), ("Content-Length", str(len(body)))]))
        interim = c.read_response(interim=True, timeout=5)
        eq((interim.version, interim.status), ("HTTP/1.1", 100), "interim answer before the body")
        c.send(body)
        r = c.read_response()
        eq(r.status, 200, f"status ({r.body[:200]!r})")
        eq(env.mock.last_request()["body_sha256"], sha256(body), "upstream body sha256")


def test_large_body_via_curl():
    # ~300 KB: curl sends Expect: 100-continue for it, and the body spans many reads.
    body = json.dumps({"model": "m", "max_tokens": 5, "stream": False,
                       "system": [{"type": "text", "text": os.urandom(100000).hex()}],
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    with Env() as env:
        r = curl(env.proxy.url + "/v1/messages", headers=CLIENT_HEADERS, data=body)
        eq(r.status, 200, f"status ({r.body[:200]!r}, curl: {r.stderr})")
        rec = env.mock.last_request()
        eq((rec["body_length"], rec["body_sha256"]), (len(body), sha256(body)), "upstream body length, sha256")


def test_body_over_max_size_413():
    big = b'{"model":"m","messages":[{"role":"user","content":"' + b"y" * 5000 + b'"}]}'
    with Env(proxy_args=["--max-body-size", "1000"]) as env:
        eq(api_request(env.proxy.port, body=MSG_BODY).status, 200, "status of a small body")
        with Conn(env.proxy.port) as c:
            head = build_request("POST", "/v1/messages", CLIENT_HEADERS + [("Content-Length", str(len(big)))])
            r = send_until_answer(c, head, big)
        eq(r.status, 413, f"status with Content-Length {len(big)} over --max-body-size 1000")
        eq(api_error(r)[0], "request_too_large", "error type")
        with Conn(env.proxy.port) as c:
            head = build_request("POST", "/v1/messages", CLIENT_HEADERS + [("Transfer-Encoding", "chunked")])
            r = send_until_answer(c, head, chunk_body(big, sizes=(500,)))
        eq(r.status, 413, "status with a chunked body over --max-body-size 1000")
        eq(api_error(r)[0], "request_too_large", "error type (chunked)")
        eq(len(env.mock.requests()), 1, "requests that reached the mock (only the small one)")


def test_keepalive_reuse_upstream():
    with Env() as env:
        # 25 requests on one keep-alive client connection...
        with Conn(env.proxy.port) as c:
            for i in range(25):
                c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS, MSG_BODY))
                r = c.read_response()
                eq(r.status, 200, f"keep-alive request {i} status ({r.body[:200]!r})")
                ok(not r.closed, f"proxy closed the client connection after request {i}")
        # ...and 25 on a new client connection each.
        for i in range(25):
            eq(api_request(env.proxy.port).status, 200, f"request {i} on a new client connection")
        st = env.mock.stats()
        eq(st["requests"], 50, "requests seen by the mock")
        le(st["connections"], 3, "TLS connections the mock accepted for 50 sequential requests")
        conn_ids = {r["connection_id"] for r in env.mock.requests()}
        le(len(conn_ids), 3, f"distinct upstream connections used ({sorted(conn_ids)})")


def test_upstream_tls_sessions_resumed():
    # A new upstream connection resumes the last TLS session (abbreviated handshake: no certificate chain, no key
    # exchange); the server's certificate was verified on the full one, and the proxy keeps no parsed copy of it.
    with Env() as env:
        for i in range(4):
            r = api_request(env.proxy.port, scenario="close-after")
            eq(r.status, 200, f"request {i} on a fresh upstream connection ({r.body[:200]!r})")
        st = env.mock.stats()
        eq(st["connections"], 4, "upstream connections (close-after: one per request)")
        eq(st["resumed_connections"], 3, "upstream connections that resumed the TLS session (all but the first)")


def test_upstream_burst_resumes_one_session():
    # A burst of requests on a cold proxy: the first connection's full handshake runs alone, the others wait for its
    # session and resume it (one key exchange and certificate check for the burst, not one per connection).
    n = 12
    with Env() as env:
        start = threading.Barrier(n)

        def one(_):
            start.wait(5)
            return api_request(env.proxy.port)

        with ThreadPoolExecutor(n) as pool:
            rs = list(pool.map(one, range(n)))
        eq([r.status for r in rs], [200] * n, "statuses of the burst")
        st = env.mock.stats()
        ok(st["connections"] >= n // 2, f"a burst: {st['connections']} upstream connections for {n} requests at once")
        eq(st["resumed_connections"], st["connections"] - 1, "upstream connections that resumed the first one's session")
        for i in range(4):  # the pool serves on, and a cold start changed nothing for later requests
            eq(api_request(env.proxy.port).status, 200, f"request {i} after the burst")


def test_answer_head_split_across_reads():
    # An answer head that arrives in pieces spans several read passes, while other connections' heads are parsed
    # meanwhile (the pool shares one header store and a head still incomplete at the end of a pass moves out of it).
    # The split head must reach the client whole and exact, the interleaved answers unharmed.
    with Env() as env, Conn(env.proxy.port) as a:
        a.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [
            ("x-mock-scenario", "head-split:250,header:x-split-check=value with spaces; and=more")], MSG_BODY))
        time.sleep(0.35)  # two pieces are in (a header and a half): the head stays half parsed until 1.25 s
        others = [api_request(env.proxy.port, scenario=f"header:x-other={i}") for i in range(4)]
        eq(select.select([a.sock], [], [], 0)[0], [], "nothing of the split answer yet: the others ran inside it")
        r = a.read_response(timeout=10)
        eq(r.status, 200, f"status of the split answer ({r.body[:200]!r})")
        rec = [x for x in env.mock.requests() if "head-split" in (x.get("scenario") or "")][0]
        eq(r.body, env.mock.response_body(rec), "split answer's body, byte for byte")
        sent = [(k, v) for k, v in rec["response"]["headers"] if k not in HOP_BY_HOP]
        got = [(k, v) for k, v in r.headers.pairs if k in {n for n, _ in sent}]
        eq(got, sent, "every end-to-end header of the split head, in order and exact")
        for i, o in enumerate(others):
            eq(o.status, 200, f"interleaved request {i} ({o.body[:200]!r})")
            eq(o.header("x-other"), str(i), f"interleaved request {i}'s own header")


def test_gzip_answer_passthrough():
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [("Accept-Encoding", "gzip"),
                                                                      ("x-mock-scenario", "gzip")], MSG_BODY))
        r = c.read_response()
        eq(r.status, 200, "status")
        eq(r.header("content-encoding"), "gzip", "content-encoding the client asked for")
        sent = env.mock.response_body(env.mock.last_request())
        ok(sent[:2] == b"\x1f\x8b", "the mock did not gzip (did the proxy drop Accept-Encoding: gzip?)")
        eq(gzip.decompress(r.body), gzip.decompress(sent), "decompressed body vs the mock's")
