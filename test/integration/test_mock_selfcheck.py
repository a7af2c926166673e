"""Self-checks of the mock API (no proxy involved): if these fail, fix the mock before
believing any proxy test. They drive the mock with curl and with raw TLS sockets."""

import datetime
import gzip
import json
import os
import re
import time

from harness import (CLIENT_ID, CTX, EXPIRED_MESSAGE, MSG_BODY, OAUTH_BETA, STREAM_BODY, TOKEN, Conn, Mock, api_error,
                     build_request, contains, curl, eq, http_request, ok, parse_sse, pki, sha256, wait_until)

AUTH = [("authorization", f"Bearer {TOKEN}"), ("anthropic-beta", OAUTH_BETA),
        ("anthropic-version", "2023-06-01"), ("content-type", "application/json")]


def mcurl(mock, path, *args, headers=AUTH, data=MSG_BODY, scenario=None):
    hs = list(headers) + ([("x-mock-scenario", scenario)] if scenario else [])
    return curl(mock.url + path, "--cacert", mock.ca, *args, headers=hs, data=data)


def tls_conn(mock):
    return Conn(mock.port, tls_ca=mock.ca)


def test_mock_auth_rules():
    with Mock() as m:
        r = mcurl(m, "/v1/messages", headers=[("anthropic-version", "2023-06-01")])
        eq(r.status, 401, "no authorization")
        eq(api_error(r)[0], "authentication_error", "no authorization: error type")
        r = mcurl(m, "/v1/messages", headers=AUTH + [("x-api-key", "k")])
        eq((r.status, api_error(r)), (400, ("invalid_request_error", "x-api-key must not be sent with OAuth")),
           "x-api-key with bearer")
        r = mcurl(m, "/v1/messages", headers=[h for h in AUTH if h[0] != "anthropic-beta"]
                  + [("anthropic-beta", "tools-2024-04-04")])
        eq((r.status, api_error(r)[1]), (401, "OAuth authentication is currently not supported."), "no oauth beta")
        r = mcurl(m, "/v1/messages", headers=[("authorization", "Bearer other")] + AUTH[1:])
        eq((r.status, api_error(r)[1]), (401, "Invalid bearer token"), "wrong token")
        r = mcurl(m, "/v1/messages")
        eq(r.status, 200, "good request")
        ok(r.header("request-id", "").startswith("req_"), f"request-id header: {r.headers}")
        for h in ("status", "reset", "5h-utilization", "5h-reset", "7d-utilization", "7d-reset",
                  "representative-claim"):
            ok(r.header("anthropic-ratelimit-unified-" + h) is not None, f"missing ratelimit header {h}")
        msg = r.json()
        eq((msg["type"], msg["usage"]["output_tokens"]), ("message", 12), "message shape")
        eq(m.stats()["requests"], 5, "requests recorded")


def test_mock_stream_and_split():
    with Mock() as m:
        r = mcurl(m, "/v1/messages", data=STREAM_BODY)
        eq(r.status, 200, "stream status")
        ok(r.header("content-type", "").startswith("text/event-stream"), f"content-type {r.headers}")
        names = [e for e, _ in parse_sse(r.body.decode())]
        eq((names[0], names[1], names[-1]), ("message_start", "ping", "message_stop"), "event order")
        contains(names, "message_delta", "events")

        # sse-split: many tiny chunks, CRLF, cut between \r and \n; the de-chunked bytes are
        # exactly what the mock recorded.
        with tls_conn(m) as c:
            c.send(build_request("POST", "/v1/messages", AUTH + [("x-mock-scenario", "sse-split")], STREAM_BODY,
                                 host=f"localhost:{m.port}"))
            r = c.read_response()
        eq((r.status, r.framing, r.complete), (200, "chunked", True), "split: status/framing/complete")
        ok(r.raw_body.count(b"\r\n") > 200, f"split: expected hundreds of chunks, raw={len(r.raw_body)}B")
        contains(r.raw_body, b"\r\n1\r\n\r\r\n", "split: a chunk holding just \\r")
        eq(r.body, m.response_body(m.last_request()), "split: body vs mock record")
        names = [e for e, _ in parse_sse(r.body.decode())]
        eq((names[0], names[-1]), ("message_start", "message_stop"), "split: events")


def test_mock_fault_scenarios():
    with Mock() as m:
        r = mcurl(m, "/v1/messages", scenario="status:429")
        eq((r.status, r.header("retry-after"), r.header("x-should-retry")), (429, "17", "true"), "429")
        eq(api_error(r)[0], "rate_limit_error", "429 type")
        eq(api_error(mcurl(m, "/v1/messages", scenario="status:529"))[0], "overloaded_error", "529 type")
        eq(api_error(mcurl(m, "/v1/messages", scenario="status:500"))[0], "api_error", "500 type")

        r = mcurl(m, "/v1/messages", scenario="cut-midbody")
        eq((r.status, r.rc, len(r.body)), (200, 18, 100), "cut-midbody: status, curl rc, bytes")
        r = mcurl(m, "/v1/messages", scenario="cut-midstream", data=STREAM_BODY)
        eq((r.status, r.rc), (200, 18), "cut-midstream: status, curl rc")
        contains(r.body, b"message_start", "cut-midstream body")

        r = mcurl(m, "/v1/messages", scenario="close-after")
        eq((r.status, r.header("connection")), (200, "close"), "close-after")

        r = mcurl(m, "/v1/messages", scenario="gzip", headers=AUTH + [("accept-encoding", "gzip")])
        eq(r.header("content-encoding"), "gzip", "gzip: content-encoding")
        eq(r.body, m.response_body(m.last_request()), "gzip: raw body vs mock record")
        eq(gzip.decompress(r.body)[:1], b"{", "gzip: decompressed body")
        r = mcurl(m, "/v1/messages", scenario="gzip")  # no accept-encoding: identity
        eq((r.header("content-encoding"), r.json()["type"]), (None, "message"), "gzip without accept-encoding")

        r = mcurl(m, "/v1/messages?beta=true", scenario="delay:300,echo",
                  headers=[("x-api-key", "k"), ("anthropic-beta", "a"), ("anthropic-beta", "b")])
        echo = r.json()
        eq((echo["method"], echo["target"], echo["body_sha256"]), ("POST", "/v1/messages?beta=true",
                                                                  sha256(MSG_BODY)), "echo")
        eq([v for k, v in echo["headers"] if k.lower() == "anthropic-beta"], ["a", "b"], "echo: repeated header")

        eq(mcurl(m, "/v1/messages/count_tokens").json(), {"input_tokens": 42}, "count_tokens")
        models = mcurl(m, "/v1/models", data=None).json()
        eq((len(models["data"]), models["has_more"]), (2, False), "models")
        r = mcurl(m, "/v1/nope", data=None)
        eq((r.status, api_error(r)[0]), (404, "not_found_error"), "unknown path")
        r = mcurl(m, "/v1/messages", scenario="bogus")
        eq(r.status, 400, "unknown scenario")


def test_mock_slow_and_endless():
    with Mock() as m:
        gate = os.path.join(CTX.tmpdir("gate-"), "open")
        with tls_conn(m) as c:
            c.send(build_request("POST", "/v1/messages", AUTH + [("x-mock-scenario", "sse-slow"),
                                                                   ("x-mock-gate", gate)], STREAM_BODY))
            r = c.read_response(stop_when=lambda r: b"message_start" in r.body, timeout=5)
            ok(b"message_stop" not in r.body and not r.complete, "sse-slow sent everything before the gate")
            open(gate, "w").close()
            r = c.read_response(resp=r, timeout=5)
            ok(r.complete and b"message_stop" in r.body, f"sse-slow did not finish: {r!r}")

        with tls_conn(m) as c:
            c.send(build_request("POST", "/v1/messages", AUTH + [("x-mock-scenario", "sse-endless")], STREAM_BODY))
            c.read_response(stop_when=lambda r: b"content_block_delta" in r.body, timeout=5)
        wait_until(lambda: m.stats()["closed_by_peer_midstream"] == 1, 3, "closed_by_peer_midstream == 1")


def test_mock_request_framing_and_stats():
    with Mock() as m:
        body = os.urandom(5000)
        with tls_conn(m) as c:
            # chunked request body
            c.send(build_request("POST", "/v1/messages", AUTH + [("x-mock-scenario", "echo")], body, chunked=True))
            eq(c.read_response().json()["body_sha256"], sha256(body), "chunked body sha256")
            # Expect: 100-continue on the same (keep-alive) connection
            head = build_request("POST", "/v1/messages", AUTH + [("x-mock-scenario", "echo"),
                                                                  ("expect", "100-continue"),
                                                                  ("content-length", str(len(body)))], b"")
            c.send(head)
            eq(c.read_response(interim=True).status, 100, "interim answer to Expect")
            c.send(body)
            eq(c.read_response().json()["body_sha256"], sha256(body), "expect: body sha256")
        # A connection used only for /__mock/* is not counted; the two above are one connection.
        wait_until(lambda: m.stats()["open_connections"] == 0, 3, "open_connections == 0")
        st = m.stats()
        eq((st["connections"], st["requests"]), (1, 2), "stats")
        m.reset()
        st = m.stats()
        eq((st["connections"], st["requests"], len(m.requests())), (0, 0, 0), "stats after reset")
        ok(os.path.exists(pki().ca_pem), "pki present")


def token_call(mock, payload):
    """POST /v1/oauth/token at the mock; returns (status, parsed body)."""
    r = http_request(mock.port, "POST", "/v1/oauth/token", [("content-type", "application/json")],
                     body=json.dumps(payload).encode(), tls_ca=mock.ca, timeout=10)
    return r.status, json.loads(r.body)


def grant(rt, client_id=CLIENT_ID):
    return {"grant_type": "refresh_token", "refresh_token": rt, "client_id": client_id}


def bearer(token):
    return [("authorization", f"Bearer {token}")] + AUTH[1:]


def test_mock_oauth_token_endpoint_and_validation():
    a0, r0 = "sk-ant-oat01-selfcheck-a0", "sk-ant-ort01-selfcheck-r0"
    with Mock(expect_token=None, oauth_validate=True, refresh_token=r0, access_tokens=[a0]) as m:
        eq(mcurl(m, "/v1/messages", headers=bearer(a0)).status, 200, "valid access token")
        r = mcurl(m, "/v1/messages", headers=bearer("sk-ant-oat01-unknown"))
        eq((r.status, api_error(r)), (401, ("authentication_error", "Invalid bearer token")), "unknown token")

        st, ans = token_call(m, grant(r0))
        eq((st, ans["access_token"], ans["refresh_token"], ans["expires_in"], ans["token_type"], ans["scope"]),
           (200, "sk-ant-oat01-mock-1", "sk-ant-ort01-mock-1", 28800, "Bearer", "user:inference user:profile"),
           "refresh answer")
        eq(token_call(m, grant(r0)), (400, {"error": "invalid_grant",
                                            "error_description": "Refresh token not found or invalid"}),
           "reused (rotated-away) refresh token")
        st, ans = token_call(m, grant("sk-ant-ort01-mock-1", client_id="someone-else"))
        eq((st, ans["error"]), (400, "invalid_request"), "wrong client_id")
        eq(mcurl(m, "/v1/messages", headers=bearer("sk-ant-oat01-mock-1")).status, 200, "issued token is valid")
        eq(mcurl(m, "/v1/messages", headers=bearer(a0)).status, 200, "old access token still valid until expiry")

        m.oauth(expire_now=True)
        for t in (a0, "sk-ant-oat01-mock-1"):
            r = mcurl(m, "/v1/messages", headers=bearer(t))
            eq((r.status, api_error(r)), (401, ("authentication_error", EXPIRED_MESSAGE)), f"expired {t}")
            ok(r.json()["request_id"].startswith("req_"), "request_id in the 401 body")
        r = mcurl(m, "/api/oauth/usage", headers=bearer(a0), data=None)
        eq(r.status, 401, "usage endpoint with an expired token")

        m.oauth(fail_status=500, fail_count=1, expires_in=60, delay_ms=300)
        st, ans = token_call(m, grant("sk-ant-ort01-mock-1"))
        eq((st, ans["error"]), (500, "server_error"), "injected failure")
        t0 = time.monotonic()
        st, ans = token_call(m, grant("sk-ant-ort01-mock-1"))  # the failure did not consume the token
        ok(time.monotonic() - t0 >= 0.3, "delay_ms holds the answer")
        eq((st, ans["access_token"], ans["expires_in"]), (200, "sk-ant-oat01-mock-2", 60), "after the failure")
        m.oauth(issue_expired=True, delay_ms=0)
        st, ans = token_call(m, grant("sk-ant-ort01-mock-2"))
        r = mcurl(m, "/v1/messages", headers=bearer(ans["access_token"]))
        eq((r.status, api_error(r)[1]), (401, EXPIRED_MESSAGE), "issue_expired: a new token that is already dead")

        stats = m.stats()
        eq(stats["refreshes"], 6, "token endpoint calls")
        eq(stats["refresh_tokens_received"], [r0, r0] + ["sk-ant-ort01-mock-1"] * 3 + ["sk-ant-ort01-mock-2"],
           "refresh tokens received")
        eq([(x["status"], x["error"]) for x in stats["refresh_results"]],
           [(200, None), (400, "invalid_grant"), (400, "invalid_request"), (500, "server_error"), (200, None),
            (200, None)], "refresh results")
        eq(stats["invalid_grants"], 1, "invalid_grant answers")
        eq(stats["requests"], 7, "API requests (token calls and usage polls not counted)")
        eq(len(m.requests(kind="oauth_token")), 6, "token call records")
        eq(m.oauth_state()["refresh_token"], "sk-ant-ort01-mock-3", "the one valid refresh token")


def test_mock_usage_matches_headers():
    with Mock() as m:
        r = mcurl(m, "/v1/messages")
        eq((r.header("anthropic-ratelimit-unified-5h-utilization"),
            r.header("anthropic-ratelimit-unified-7d-utilization")), ("0.42", "0.17"), "header fractions")
        p = mcurl(m, "/api/oauth/usage", data=None)
        eq(p.status, 200, "usage poll")
        u = p.json()
        eq((u["five_hour"]["utilization"], u["seven_day"]["utilization"]), (42.0, 17.0), "poll percent")
        for key, h in (("five_hour", "5h"), ("seven_day", "7d")):
            ra = u[key]["resets_at"]
            ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", ra), f"{key}.resets_at format: {ra}")
            unix = datetime.datetime.fromisoformat(ra).timestamp()
            eq(int(unix), int(r.header(f"anthropic-ratelimit-unified-{h}-reset")), f"{key} reset = header reset")
            ok(unix > time.time(), f"{key} resets in the future")
        eq([(x["kind"], x["percent"]) for x in u["limits"]], [("session", 42.0), ("weekly_all", 17.0)], "limits[]")

        m.usage_config(status=429, retry_after=2, count=1)
        p = mcurl(m, "/api/oauth/usage", data=None)
        eq((p.status, p.header("retry-after")), (429, "2"), "injected 429")
        eq(mcurl(m, "/api/oauth/usage", data=None).status, 200, "next poll")
        m.usage_config(shape="limits")
        eq(sorted(mcurl(m, "/api/oauth/usage", data=None).json()), ["limits"], "limits-only shape")
        m.usage_config(body={"five_hour": None, "odd": [1]})
        eq(mcurl(m, "/api/oauth/usage", data=None).json(), {"five_hour": None, "odd": [1]}, "literal body")
        eq(len(m.stats()["usage_poll_times"]), 5, "usage_poll_times")

        m.usage_config(windows={"five_hour": {"utilization": 12.5}})
        eq(mcurl(m, "/v1/messages").header("anthropic-ratelimit-unified-5h-utilization"), "0.125", "configured")


def test_mock_usage_served():
    with Mock() as m:
        m.reset()
        mcurl(m, "/v1/messages", scenario="usage:1/2/3/4")
        mcurl(m, "/v1/messages", data=STREAM_BODY, scenario="sse-split,usage:5/6/7/8")
        r = mcurl(m, "/v1/messages", data=STREAM_BODY, scenario="usage-split,usage:9/10/11/12")
        delta = [json.loads(d) for e, d in parse_sse(r.body.decode()) if e == "message_delta"][0]
        eq(delta["usage"], {"output_tokens": 10}, "usage-split: message_delta has output only")
        mcurl(m, "/v1/messages/count_tokens")
        mcurl(m, "/v1/messages", data=STREAM_BODY, scenario="cut-midstream,usage:13/14/15/16")
        got = [(x["input"], x["output"], x["cache_creation"], x["cache_read"], x["stream"], x["complete"])
               for x in m.stats()["usage_served"]]
        eq(got, [(1, 2, 3, 4, False, True), (5, 6, 7, 8, True, True), (9, 10, 11, 12, True, True),
                 (13, 1, 15, 16, True, False)], "usage served")
        recs = m.requests()
        eq([r.get("usage_served", {}).get("input") for r in recs], [1, 5, 9, None, 13], "usage_served in records")
