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


# ---- several accounts --------------------------------------------------------------------

A_TOK, B_TOK = "sk-ant-oat01-selfcheck-acct-a", "sk-ant-oat01-selfcheck-acct-b"
A_RT, B_RT = "sk-ant-ort01-selfcheck-acct-a", "sk-ant-ort01-selfcheck-acct-b"


def msg_body(model="claude-sonnet-4-5-20250929", user_id=None, stream=False):
    b = {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    if user_id is not None:
        b["metadata"] = {"user_id": user_id}
    if stream:
        b["stream"] = True
    return json.dumps(b).encode()


def rl(r, name):
    return r.header("anthropic-ratelimit-unified-" + name)


def two_accounts(m, a=None, b=None):
    m.accounts(a=dict({"oauth": {"refresh_token": A_RT, "access_tokens": [A_TOK]}}, **(a or {})),
               b=dict({"oauth": {"refresh_token": B_RT, "access_tokens": [B_TOK]}}, **(b or {})))


def test_mock_accounts_token_mapping():
    with Mock() as m:
        two_accounts(m, a={"windows": {"5h": {"utilization": 0.25}, "7d": {"utilization": 0.5, "resets_in": 86400}}},
                     b={"windows": {"5h": {"utilization": 0.75, "status": "allowed_warning",
                                           "surpassed_threshold": 0.75}}})
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK) + [("x-claude-code-session-id", "sess-1")])
        eq((r.status, rl(r, "5h-utilization"), rl(r, "7d-utilization"), rl(r, "status")),
           (200, "0.25", "0.5", "allowed"), "account a's windows")
        ok(abs(int(rl(r, "7d-reset")) - (time.time() + 86400)) < 5, f"a's 7d reset in a day: {rl(r, '7d-reset')}")
        r = mcurl(m, "/v1/messages", headers=bearer(B_TOK),
                  data=msg_body(user_id="user_abc_account_0f0f_session_9d2e-77aa"))
        eq((r.status, rl(r, "5h-utilization"), rl(r, "5h-status"), rl(r, "5h-surpassed-threshold"), rl(r, "status")),
           (200, "0.75", "allowed_warning", "0.75", "allowed_warning"), "account b's windows")
        r = mcurl(m, "/v1/messages", headers=bearer(B_TOK), data=msg_body(user_id=json.dumps(
            {"device_id": "d", "account_uuid": "u", "session_id": "json-sess"})))
        eq(r.status, 200, "b again")
        r = mcurl(m, "/v1/messages")   # the historical token: the default account, unchanged
        eq((r.status, rl(r, "5h-utilization"), rl(r, "overage-status")), (200, "0.42", "rejected"), "default account")
        eq(mcurl(m, "/v1/messages/count_tokens", headers=bearer(A_TOK)).status, 200, "count_tokens on a")
        r = mcurl(m, "/v1/messages", headers=bearer("sk-ant-oat01-nobody"))
        eq((r.status, api_error(r)[1]), (401, "Invalid bearer token"), "a token no account knows")
        m.account("a", oauth={"expire_tokens": [A_TOK]})
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK))
        eq((r.status, api_error(r)[1]), (401, EXPIRED_MESSAGE), "a's expired token")

        st = m.stats()
        eq(sorted(st["accounts"]), ["a", "b", "default"], "accounts in stats")
        a, b = st["accounts"]["a"], st["accounts"]["b"]
        eq((a["requests"], a["by_path"], a["auth_failures"], a["statuses"]),
           (2, {"/v1/messages": 1, "/v1/messages/count_tokens": 1}, 1, {"200": 2}), "a's counters")
        eq((b["requests"], b["statuses"]), (2, {"200": 2}), "b's counters")
        eq([(e["account"], e["path"], e["session_id"], e["user_id_session"], e["status"]) for e in st["routing"]],
           [("a", "/v1/messages", "sess-1", None, 200), ("b", "/v1/messages", None, "9d2e-77aa", 200),
            ("b", "/v1/messages", None, "json-sess", 200), ("default", "/v1/messages", None, None, 200),
            ("a", "/v1/messages/count_tokens", None, None, 200)], "routing log")
        eq(st["routing"][1]["user_id"], "user_abc_account_0f0f_session_9d2e-77aa", "raw user_id")
        eq([x.get("account") for x in m.requests()], ["a", "b", "b", "default", "a", "default", "a"],
           "account in the request records")

        for bad in ({"accounts": {"Bad Name": {}}}, {"accounts": {"a": {"nope": 1}}},
                    {"accounts": {"a": {"windows": {"five_hour": {"utilization": 0.1}}}}},
                    {"accounts": {"a": {"mode": "418"}}},
                    {"accounts": {"a": {"mode": {"kind": "429", "window": "7d_x"}}}},
                    {"accounts": {"default": None}}, {"a": {}}):
            r = http_request(m.port, "POST", "/__mock/accounts", [("content-type", "application/json")],
                             body=json.dumps(bad).encode(), tls_ca=m.ca)
            eq(r.status, 400, f"bad accounts config {bad}")
        r = http_request(m.port, "POST", "/__mock/accounts", [("content-type", "application/json")], tls_ca=m.ca,
                         body=json.dumps({"accounts": {"a": {"windows": {"5h": {"utilization": 0.99}}},
                                                       "c": {}, "b": {"mode": "bogus"}}}).encode())
        eq(r.status, 400, "a body with one bad account")
        eq((sorted(m.accounts_state()), m.accounts_state()["a"]["usage"]["windows"]["five_hour"]["utilization"]),
           (["a", "b", "default"], 25.0), "a rejected body changes nothing")
        m.accounts(b=None)
        eq(sorted(m.accounts_state()), ["a", "default"], "b removed")
        eq(mcurl(m, "/v1/messages", headers=bearer(B_TOK)).status, 401, "a removed account's token")


def test_mock_accounts_answer_modes():
    with Mock(expect_token=None, oauth_validate=True) as m:
        week = time.time() + 3 * 86400
        two_accounts(m, a={"windows": {"7d": {"utilization": 0.9, "resets_at": week}},
                           "modes": [{"kind": "normal", "count": 1}, {"kind": "429", "window": "7d", "count": 1},
                                     {"kind": "529", "count": 2}, {"kind": "overage", "count": 1},
                                     {"kind": "third_party", "count": 1}, {"kind": "error", "status": 500,
                                                                           "count": 1}]})
        got = [mcurl(m, "/v1/messages", headers=bearer(A_TOK)) for _ in range(8)]
        eq([r.status for r in got], [200, 429, 529, 529, 200, 400, 500, 200], "statuses in mode order")
        r = got[1]
        eq((api_error(r)[0], rl(r, "status"), rl(r, "7d-status"), rl(r, "7d-utilization"), rl(r, "5h-status"),
            rl(r, "representative-claim"), rl(r, "reset")),
           ("rate_limit_error", "rejected", "rejected", "1.0", "allowed", "seven_day", str(int(week))),
           "window 429")
        ok(abs(int(r.header("retry-after")) - 3 * 86400) < 5, f"retry-after = seconds to the 7d reset: "
                                                             f"{r.header('retry-after')}")
        eq(r.header("x-should-retry"), None, "a window 429 carries no x-should-retry")
        eq((api_error(got[2])[0], got[2].header("x-should-retry")), ("overloaded_error", "true"), "529")
        r = got[4]
        eq((r.json()["type"], rl(r, "status"), rl(r, "overage-in-use"), rl(r, "overage-status"),
            rl(r, "overage-disabled-reason")), ("message", "rejected", "true", "allowed", None), "overage 200")
        eq(api_error(got[5]), ("invalid_request_error", THIRD_PARTY), "third-party 400")
        eq(api_error(got[6])[0], "api_error", "error mode")
        eq((rl(got[7], "status"), rl(got[7], "overage-in-use")), ("allowed", None), "back to normal")
        eq(m.account_stats("a")["modes"], {"normal": 1, "429": 1, "529": 2, "overage": 1, "third_party": 1,
                                          "error": 1}, "modes counted")
        eq([e["mode"] for e in m.routing()], ["normal", "429", "529", "529", "overage", "third_party", "error", None],
           "mode per request (None: no mode entry applied)")
        eq(mcurl(m, "/v1/messages", headers=bearer(B_TOK)).status, 200, "b is not affected by a's modes")

        # Persistent mode, a stream under overage, and back.
        m.account("a", mode={"kind": "529"})
        eq([mcurl(m, "/v1/messages", headers=bearer(A_TOK)).status for _ in range(3)], [529] * 3, "persistent")
        m.account("a", mode={"kind": "overage"})
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK), data=STREAM_BODY)
        eq((r.status, rl(r, "status"), rl(r, "overage-in-use")), (200, "rejected", "true"), "overage stream")
        contains(r.body, b"message_stop", "overage stream body")
        m.account("a", modes=[])
        eq(rl(mcurl(m, "/v1/messages", headers=bearer(A_TOK)), "status"), "allowed", "modes cleared")
        # A status scenario still wins over the account's windows (and names them).
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK), scenario="status:429")
        eq((r.status, r.header("retry-after"), rl(r, "7d-utilization")), (429, "17", "0.9"), "scenario status:429")


THIRD_PARTY = ("Third-party apps now draw from your extra usage, not your plan limits. "
               "Turn on extra usage or use Claude Code to keep going.")


def test_mock_accounts_model_buckets_and_growth():
    with Mock(expect_token=None, oauth_validate=True) as m:
        two_accounts(m, a={"windows": {"7d_oi": {"utilization": 0.3, "models": "-oi-", "resets_in": 86400},
                                       "5h": {"utilization": 0.5, "grow": 0.1}},
                           "mode": {"kind": "429", "window": "7d_oi"}},
                     b={"windows": {"5h": {"utilization": 0.85, "grow": 0.05}}, "reject_when_full": True})
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK))
        eq((r.status, rl(r, "7d_oi-utilization"), rl(r, "5h-utilization")), (200, None, "0.5"),
           "no 7d_oi headers (nor its 429) for another model")
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK), data=msg_body(model="claude-oi-1"))
        eq((r.status, rl(r, "7d_oi-status"), rl(r, "representative-claim")), (429, "rejected", "seven_day_oi"),
           "the model bucket's 429 for its model")
        m.account("a", modes=[])
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK), data=msg_body(model="claude-oi-1"))
        eq((r.status, rl(r, "7d_oi-utilization"), rl(r, "7d_oi-status"), rl(r, "5h-utilization")),
           (200, "0.3", "allowed", "0.6"), "7d_oi headers for its model; 5h grew by one step per 200")
        r = mcurl(m, "/v1/messages", headers=bearer(A_TOK), data=STREAM_BODY)
        eq(rl(r, "5h-utilization"), "0.7", "growth after a stream")
        eq(m.accounts_state()["a"]["usage"]["windows"]["five_hour"]["utilization"], 80.0, "growth in the state")
        got = [rl(mcurl(m, "/v1/messages", headers=bearer(B_TOK)), "5h-utilization") for _ in range(4)]
        eq(got, ["0.85", "0.9", "0.95", "1.0"], "b grows to full; at 100% it refuses")
        st = m.account_stats("b")
        eq((st["statuses"], st["modes"]), ({"200": 3, "429": 1}, {"429": 1}), "reject_when_full")


def test_mock_accounts_oauth_rotation():
    with Mock(expect_token=None, oauth_validate=True, refresh_token="sk-ant-ort01-default-r0") as m:
        two_accounts(m, b={"oauth": {"refresh_token": B_RT, "access_tokens": [B_TOK], "revoke_on_refresh": True}})
        st, ans = token_call(m, grant(A_RT))
        eq((st, ans["access_token"], ans["refresh_token"]), (200, "sk-ant-oat01-mock-a-1", "sk-ant-ort01-mock-a-1"),
           "a's refresh")
        eq(token_call(m, grant(A_RT))[1]["error"], "invalid_grant", "a's spent refresh token")
        eq(token_call(m, grant(A_RT))[0], 400, "spent again")
        st, ans = token_call(m, grant(B_RT))
        eq((st, ans["access_token"]), (200, "sk-ant-oat01-mock-b-1"), "b's refresh (own numbering)")
        eq(token_call(m, grant("sk-ant-ort01-default-r0"))[1]["access_token"], "sk-ant-oat01-mock-1", "default")
        eq(token_call(m, grant("sk-ant-ort01-nobody"))[1]["error"], "invalid_grant", "unknown refresh token")

        r = mcurl(m, "/v1/messages", headers=bearer("sk-ant-oat01-mock-a-1"))
        eq(r.status, 200, "a's new token")
        eq(m.last_request()["account"], "a", "the new token maps to a")
        eq(mcurl(m, "/v1/messages", headers=bearer(A_TOK)).status, 200, "a's old token lives on (no revoke)")
        r = mcurl(m, "/v1/messages", headers=bearer(B_TOK))
        eq((r.status, api_error(r)[1]), (401, EXPIRED_MESSAGE), "b's old token revoked by the rotation")

        m.account("a", oauth={"fail_status": 503, "fail_count": 1})
        eq(token_call(m, grant("sk-ant-ort01-mock-a-1"))[0], 503, "a's token endpoint failure")
        eq(token_call(m, grant("sk-ant-ort01-mock-b-1"))[0], 200, "b unaffected by a's failure")

        s = m.stats()
        a, b, d = (s["accounts"][n] for n in ("a", "b", "default"))
        eq((a["refreshes"], a["invalid_grants"], a["spent_refresh_reuse"], a["refresh_tokens_received"]),
           (4, 2, 2, [A_RT, A_RT, A_RT, "sk-ant-ort01-mock-a-1"]), "a's refresh counters")
        eq((b["refreshes"], b["invalid_grants"], b["spent_refresh_reuse"]), (2, 0, 0), "b's refresh counters")
        eq((d["refreshes"], d["invalid_grants"], d["spent_refresh_reuse"]), (2, 1, 0), "default's (unknown token)")
        eq((s["refreshes"], s["spent_refresh_reuse"]), (8, 2), "global counters")
        eq([x["account"] for x in s["refresh_results"]], ["a", "a", "a", "b", "default", "default", "a", "b"],
           "account per token call")
        eq(m.accounts_state()["a"]["oauth"]["refresh_token"], "sk-ant-ort01-mock-a-1", "a's one valid refresh token")


def test_mock_accounts_usage_endpoint():
    with Mock(expect_token=None, oauth_validate=True) as m:
        reset = time.time() + 2 * 86400
        two_accounts(m, a={"windows": {"5h": {"utilization": 0.5}, "7d": {"utilization": 0.2},
                                       "7d_opus": {"utilization": 0.95, "resets_at": reset, "top_level": False,
                                                   "limit": {"display_name": "Opus", "is_active": False}},
                                       "7d_oi": {"utilization": 0.1, "limit": False}},
                           "usage": {"spend": {"used": 1234, "currency": "USD"},
                                     "extra_usage": {"is_enabled": True, "monthly_limit": 5000, "used_credits": 1234,
                                                     "utilization": 24.68, "currency": "USD"},
                                     "limits_extra": [{"kind": "weekly_model", "group": "weekly", "percent": 1.0,
                                                       "resets_at": None, "severity": "normal",
                                                       "scope": {"model": {"display_name": "Haiku"}},
                                                       "is_active": True}]}},
                     b={"usage": {"status": 429, "retry_after": 0, "count": 1}})
        u = mcurl(m, "/api/oauth/usage", headers=bearer(A_TOK), data=None).json()
        eq((u["five_hour"]["utilization"], u["seven_day"]["utilization"], u["seven_day_opus"],
            u["seven_day_oi"]["utilization"]), (50.0, 20.0, None, 10.0), "a's top-level windows")
        eq((u["spend"], u["extra_usage"]["used_credits"]), ({"used": 1234, "currency": "USD"}, 1234), "spend, extra")
        eq([(x["kind"], x["group"], x["percent"], x["severity"], x["scope"], x["is_active"]) for x in u["limits"]],
           [("session", "session", 50.0, "normal", None, True), ("weekly_all", "weekly", 20.0, "normal", None, True),
            ("weekly_scoped", "weekly", 95.0, "critical", {"model": {"display_name": "Opus"}}, False),
            ("weekly_model", "weekly", 1.0, "normal", {"model": {"display_name": "Haiku"}}, True)], "a's limits[]")
        eq(int(datetime.datetime.fromisoformat(u["limits"][2]["resets_at"]).timestamp()), int(reset), "opus reset")
        p = mcurl(m, "/api/oauth/usage", headers=bearer(B_TOK), data=None)
        eq((p.status, p.header("retry-after")), (429, "0"), "b's usage endpoint 429 (retry-after 0)")
        p = mcurl(m, "/api/oauth/usage", headers=bearer(B_TOK), data=None).json()
        eq((p["five_hour"]["utilization"], p["limits"][0]["percent"]), (0.0, 0.0), "a new account starts empty")
        time.sleep(0.05)
        mcurl(m, "/api/oauth/usage", headers=bearer(A_TOK), data=None)
        st = m.stats()
        a, b = st["accounts"]["a"], st["accounts"]["b"]
        eq((a["usage_polls"], len(a["usage_poll_times"]), b["usage_polls"], st["usage_polls"]), (2, 2, 2, 4),
           "polls per account")
        ok(a["usage_poll_times"][1] - a["usage_poll_times"][0] >= 0.05, f"poll times: {a['usage_poll_times']}")
        eq((a["requests"], a["by_path"]), (2, {"/api/oauth/usage": 2}), "polls are served requests by path")
        eq(st["routing"], [], "polls are not in the routing log")


def test_pool_env_files_and_args():
    from harness import PoolEnv, account_args, file_mode, read_credentials
    eq(account_args([("a", "/x/a.json"), ("b", "/y/b.json")]), ["--account", "a=/x/a.json", "--account", "b=/y/b.json"],
       "account_args")
    with PoolEnv(accounts={"a": {"windows": {"5h": {"utilization": 0.1}}}, "b": {}}, expires_in_s={"b": -60},
                 start_proxy=False) as env:
        args = env.args()
        eq(args[:4], ["--account", f"a={env.pool['a'].path}", "--account", f"b={env.pool['b'].path}"], "args")
        contains(args, "--token-url", "args")
        ok(env.pool["a"].path != env.pool["b"].path, "one file per account")
        for name, acc in env.pool.items():
            doc = read_credentials(acc.path)
            eq((doc["claudeAiOauth"]["accessToken"], doc["claudeAiOauth"]["refreshToken"], file_mode(acc.path)),
               (acc.access0, acc.refresh0, 0o600), f"{name}'s credentials file")
            ok(os.path.basename(acc.path) == ".credentials.json", acc.path)
        ok(doc["claudeAiOauth"]["expiresAt"] < time.time() * 1000, "b's file says expired")
        r = mcurl(env.mock, "/v1/messages", headers=bearer(env.pool["a"].access0))
        eq((r.status, rl(r, "5h-utilization")), (200, "0.1"), "a's file token at the mock")
        r = mcurl(env.mock, "/v1/messages", headers=bearer(env.pool["b"].access0))
        eq((r.status, api_error(r)[1]), (401, EXPIRED_MESSAGE), "b's token expired at the mock too")
        eq(mcurl(env.mock, "/v1/messages").status, 401, "the default account knows no token")
        eq(token_call(env.mock, grant(env.pool["b"].refresh0))[1]["access_token"], "sk-ant-oat01-mock-b-1",
           "b's refresh token")
        eq(env.served_by(), ["a"], "served_by")
        ok(set(env.all_tokens()) >= {env.pool["a"].access0, env.pool["b"].refresh0, "sk-ant-oat01-mock-b-1"},
           "all_tokens covers every account")
