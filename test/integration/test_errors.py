"""Errors: upstream error answers passed through, upstream unreachable or not trusted,
missing credentials, upstream connection lifecycle (close, idle close, slow head)."""

import time

from harness import (Env, api_error, api_request, eq, free_port, http_request, matches, ok)


def test_upstream_error_statuses_passed_through():
    with Env() as env:
        # The window 429 last: after it the guard answers for the window itself (README "Several subscriptions").
        for status, err_type in ((529, "overloaded_error"), (500, "api_error"), (429, "rate_limit_error")):
            r = api_request(env.proxy.port, scenario=f"status:{status}")
            eq(r.status, status, f"status for status:{status}")
            rec = env.mock.last_request()
            eq(r.body, env.mock.response_body(rec), f"body for status:{status}, byte for byte")
            eq(api_error(r)[0], err_type, f"error type for status:{status}")
            ok(r.header("request-id", "").startswith("req_"), f"request-id for status:{status}: {r.headers}")
            if status == 429:
                eq((r.header("retry-after"), r.header("x-should-retry")), ("17", "true"),
                   "retry-after and x-should-retry on the 429")
        # The proxy must not retry these itself (clients do): one upstream request each.
        eq(env.mock.stats()["requests"], 3, "upstream requests for three error answers")
        # The 429 said the 5h window is exhausted: the guard now answers itself, without going upstream, saying
        # which window and when to come back (the upstream's retry-after, 17 s, rounded up).
        r = api_request(env.proxy.port)
        eq(r.status, 429, f"a request after the window 429 ({r.body[:300]!r})")
        err_type, message = api_error(r)
        eq(err_type, "rate_limit_error", "the guard's error type")
        matches(r"no account can take this request.*default: .*clears in 0m1[0-8]s", message, "the guard's message")
        ok(1 <= int(r.header("retry-after", "0")) <= 18, f"the guard's retry-after: {r.headers}")
        eq(env.mock.stats()["requests"], 3, "the guard's answer never went upstream")


def test_upstream_down_502():
    with Env(upstream=f"https://localhost:{free_port()}") as env:
        r = api_request(env.proxy.port)
        eq(r.status, 502, f"status with the upstream down ({r.body[:300]!r})")
        err_type, message = api_error(r)
        eq(err_type, "api_error", "error type")
        matches(r"upstream|connect", message, "error message")
        eq(http_request(env.proxy.port, "GET", "/healthz").status, 200, "/healthz with the upstream down")


def test_untrusted_ca_502():
    with Env(mock_cert="untrusted") as env:
        r = api_request(env.proxy.port)
        eq(r.status, 502, f"status with an untrusted upstream certificate ({r.body[:300]!r})")
        err_type, message = api_error(r)
        eq(err_type, "api_error", "error type")
        matches(r"certificate|tls|ssl", message, "error message")
        eq(env.mock.requests(kind=None), [], "requests that reached the untrusted mock")


def test_wrong_hostname_502():
    # The mock's certificate is valid (same CA) but for wrong.example, not localhost.
    with Env(mock_cert="wrong") as env:
        r = api_request(env.proxy.port)
        eq(r.status, 502, f"status with a certificate for the wrong name ({r.body[:300]!r})")
        api_error(r)
        eq(env.mock.requests(kind=None), [], "requests that reached the mock with the wrong name")


def test_no_credentials_503():
    with Env(token=None) as env:
        eq(http_request(env.proxy.port, "GET", "/healthz").status, 200, "/healthz without credentials")
        r = api_request(env.proxy.port)
        eq(r.status, 503, f"status without credentials ({r.body[:300]!r})")
        _, message = api_error(r)
        matches(r"CLAUDE_CODE_OAUTH_TOKEN|credentials\.json|claude (setup-token|login)", message,
                "the 503 message should say how to provide credentials")
        eq(env.mock.requests(kind=None), [], "requests that reached the mock without credentials")


def test_upstream_connection_close_not_reused():
    with Env() as env:
        eq(api_request(env.proxy.port, scenario="close-after").status, 200, "close-after status")
        first = env.mock.last_request()["connection_id"]
        for i in range(3):
            eq(api_request(env.proxy.port).status, 200, f"request {i} after connection: close")
        ok(env.mock.requests()[1]["connection_id"] != first,
           "the proxy reused an upstream connection that answered with connection: close")


def test_upstream_idle_close_recovered():
    # The upstream closes idle connections (here after 1s): a pooled connection that the
    # upstream has closed must not be used for the next request.
    with Env(mock_idle_timeout=1) as env:
        eq(api_request(env.proxy.port).status, 200, "first request")
        time.sleep(1.6)
        r = api_request(env.proxy.port)
        eq(r.status, 200, f"request after the upstream closed the idle connection ({r.body[:300]!r})")
        recs = env.mock.requests()
        ok(recs[-1]["connection_id"] != recs[0]["connection_id"], "expected a new upstream connection")


def test_slow_upstream_head():
    with Env() as env:
        t0 = time.monotonic()
        r = api_request(env.proxy.port, scenario="delay:1500")
        eq(r.status, 200, f"status with a 1.5s delay before the head ({r.body[:300]!r})")
        ok(time.monotonic() - t0 >= 1.4, "the answer came before the mock's delay")
