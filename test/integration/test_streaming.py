"""Streaming answers: exact SSE pass-through, no buffering, the client or the upstream going
away in the middle of an answer."""

import os

from harness import (CLIENT_HEADERS, CTX, STREAM_BODY, Conn, Env, api_request, build_request, contains, curl, eq,
                     ok, parse_sse, wait_until)


def stream_request(scenario, extra=()):
    return build_request("POST", "/v1/messages?beta=true",
                         CLIENT_HEADERS + [("x-mock-scenario", scenario)] + list(extra), STREAM_BODY)


def test_sse_split_exact_passthrough():
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(stream_request("sse-split"))
        r = c.read_response(timeout=15)
        eq(r.status, 200, f"status ({r.body[:200]!r})")
        ok((r.header("content-type") or "").startswith("text/event-stream"),
           f"content-type: {r.header('content-type')!r}")
        eq(r.header("x-accel-buffering"), "no", "x-accel-buffering header")
        ok(r.complete, f"stream not complete: {r!r}")
        eq(r.body, env.mock.response_body(env.mock.last_request()), "SSE bytes vs what the mock generated")
        names = [e for e, _ in parse_sse(r.body.decode())]
        eq((names[0], names[-1]), ("message_start", "message_stop"), "first and last events")


def test_one_byte_tls_records_lose_no_byte():
    # An upstream that writes one byte per TLS record: a read that returns exactly one byte of plaintext is data,
    # never taken for "nothing yet" (which would drop it and hang or corrupt the answer).
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(stream_request("bytewise"))
        r = c.read_response(timeout=30)
        eq(r.status, 200, f"status ({r.body[:200]!r})")
        ok(r.complete, f"stream not complete: {r!r}")
        eq(r.body, env.mock.response_body(env.mock.last_request()), "SSE bytes vs what the mock generated")
        c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [("x-mock-scenario", "bytewise")],
                             b'{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}'))
        r = c.read_response(timeout=30)
        eq(r.status, 200, f"JSON status ({r.body[:200]!r})")
        eq(r.body, env.mock.response_body(env.mock.last_request()), "JSON bytes vs what the mock generated")


def test_sse_via_curl():
    with Env() as env:
        r = curl(env.proxy.url + "/v1/messages?beta=true", headers=CLIENT_HEADERS, data=STREAM_BODY)
        eq(r.status, 200, f"status (curl: {r.stderr})")
        eq(r.body, env.mock.response_body(env.mock.last_request()), "SSE bytes vs what the mock generated")
        names = [e for e, _ in parse_sse(r.body.decode())]
        eq(names[:3], ["message_start", "ping", "content_block_start"], "first events")
        eq(names[-3:], ["content_block_stop", "message_delta", "message_stop"], "last events")


def test_sse_first_event_not_buffered():
    gate = os.path.join(CTX.tmpdir("gate-"), "open")
    with Env() as env, Conn(env.proxy.port) as c:
        c.send(stream_request("sse-slow", [("x-mock-gate", gate)]))
        try:
            r = c.read_response(stop_when=lambda r: b"message_start" in r.body, timeout=5)
        except AssertionError as e:
            raise AssertionError(f"message_start did not reach the client within 5s while the mock held "
                                 f"back the rest of the stream (is the proxy buffering?): {e}")
        finally:
            open(gate, "w").close()  # never leave the mock waiting
        contains(r.body, b"message_start", "what reached the client before the gate opened")
        ok(b"message_stop" not in r.body, "message_stop arrived before the gate opened (mock bug?)")
        r = c.read_response(resp=r, timeout=15)
        ok(r.complete, f"stream not complete after the gate opened: {r!r}")
        contains(r.body, b"event: message_stop", "the rest of the stream")


def test_client_gone_midstream_closes_upstream():
    with Env() as env:
        with Conn(env.proxy.port) as c:
            c.send(stream_request("sse-endless"))
            r = c.read_response(stop_when=lambda r: b"content_block_delta" in r.body, timeout=5)
            eq(r.status, 200, "status")
        # The client is gone: the proxy must close the upstream connection promptly.
        wait_until(lambda: env.mock.stats()["closed_by_peer_midstream"] == 1, 3,
                   "mock closed_by_peer_midstream == 1 after the client went away")
        endless = env.mock.last_request()
        before = env.mock.stats()["connections"]
        eq(api_request(env.proxy.port).status, 200, "the next request")
        after = env.mock.stats()["connections"]
        nxt = env.mock.last_request()
        ok(nxt["connection_id"] != endless["connection_id"],
           f"the next request reused the dropped upstream connection {endless['connection_id']}")
        eq(after, before + 1, "mock connections after the next request (a new TLS connection)")


def test_upstream_cut_midbody():
    with Env() as env:
        with Conn(env.proxy.port) as c:
            c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [("x-mock-scenario", "cut-midbody")],
                                 b'{"model":"m","max_tokens":5,"messages":[]}'))
            r = c.read_response(timeout=10)
            eq(r.status, 200, "status of the cut answer (its head was already sent)")
            ok(not r.complete, f"the client got a complete answer although the upstream cut it: {r!r}")
            ok(len(r.body) < 1000, f"body length {len(r.body)} should be < 1000")
            ok(r.closed, "the proxy did not close the client connection")
        cut = env.mock.last_request()
        eq(api_request(env.proxy.port).status, 200, "the next request")
        ok(env.mock.last_request()["connection_id"] != cut["connection_id"], "the cut connection was reused")


def test_upstream_cut_midstream():
    with Env() as env:
        with Conn(env.proxy.port) as c:
            c.send(stream_request("cut-midstream"))
            r = c.read_response(timeout=10)
            eq(r.status, 200, "status")
            eq(r.framing, "chunked", "framing of a streamed answer to the client")
            ok(not r.complete, "the client got the terminating 0\\r\\n\\r\\n although the upstream cut the stream")
            ok(r.closed, "the proxy did not close the client connection")
            contains(r.body, b"message_start", "what the client got before the cut")
        eq(api_request(env.proxy.port).status, 200, "the next request")
