"""Request ids and log lines (issue 19): the proxy gives every request its own id, returns it as
x-proxy-request-id and as "request_id" in its own error bodies, and logs it as `id` on every line about the
request; the access line names the client's address; --log-format text is logfmt."""

import re

from harness import (CLIENT_HEADERS, Env, api_error, api_request, eq, free_port, http_request, matches, ok,
                     parse_logfmt, wait_until)

ID_RE = r"req_[0-9a-f]{16}"


def _own_id(r, what):
    rid = r.header("x-proxy-request-id", "")
    matches(f"^{ID_RE}$", rid, f"x-proxy-request-id of {what}")
    return rid


def _lines_with_id(env, rid, event=None, timeout=5):
    """The JSON log lines carrying `id` == rid (and of `event`), waiting for them to be written (lines are
    batched per loop turn)."""
    def found():
        return [o for o in env.proxy.log_json() if o.get("id") == rid and (event is None or o.get("event") == event)]
    wait_until(lambda: found(), timeout, f"a log line with id {rid}" + (f" and event {event}" if event else ""))
    return found()


def test_proxy_error_carries_its_id_in_header_body_and_log():
    with Env() as env:
        r = http_request(env.proxy.port, "GET", "/no/such/path", CLIENT_HEADERS)
        eq(r.status, 404, f"status of an unknown path ({r.body[:200]!r})")
        rid = _own_id(r, "the front door's 404")
        api_error(r)
        eq(r.json().get("request_id"), rid, "the error body's request_id is the header's id")
        access = _lines_with_id(env, rid, "request")
        eq(len(access), 1, f"access lines for {rid}")
        matches(r"^127\.0\.0\.1:\d+$", access[0].get("client_addr", ""), "client_addr on the access line")
        eq(access[0].get("status"), 404, "status on the access line")


def test_proxied_answer_keeps_upstream_request_id_and_adds_its_own():
    with Env() as env:
        ids = set()
        for i in range(3):
            r = api_request(env.proxy.port)
            eq(r.status, 200, f"status of request {i}")
            ids.add(_own_id(r, f"request {i}"))
            up = r.header("request-id", "")
            ok(up.startswith("req_") and not re.match(f"^{ID_RE}$", up), f"the upstream's request-id: {r.headers}")
            eq(len(r.headers.get_all("request-id")), 1, "one request-id header, the upstream's")
            access = _lines_with_id(env, r.header("x-proxy-request-id"), "request")
            eq(access[0].get("request_id"), up, "the access line carries the upstream's request_id beside its id")
        eq(len(ids), 3, f"ids differ between requests: {ids}")
        # The admin endpoints' answers carry one too.
        _own_id(http_request(env.proxy.port, "GET", "/healthz"), "/healthz")


def test_guard_429_and_its_log_lines_share_the_id():
    with Env() as env:
        r = api_request(env.proxy.port, scenario="status:429")
        eq(r.status, 429, "the upstream's window 429 passes through")
        passed = _own_id(r, "the upstream's 429")
        ok(r.json().get("request_id") != passed, "the upstream's error body is passed through untouched")
        # The window is now exhausted: the guard answers by itself.
        r = api_request(env.proxy.port)
        eq(r.status, 429, f"the guard's answer ({r.body[:300]!r})")
        rid = _own_id(r, "the guard's 429")
        ok(rid != passed, "a new request, a new id")
        eq(api_error(r)[0], "rate_limit_error", "the guard's error type")
        eq(r.json().get("request_id"), rid, "the guard's body names the id")
        lines = _lines_with_id(env, rid)
        events = {o.get("event") for o in lines}
        wait_until(lambda: {"guard_refused", "request"} <= {o.get("event") for o in _lines_with_id(env, rid)}, 5,
                   f"guard_refused and request lines with id {rid} (got {events})")
        held = [o for o in env.proxy.log_json() if o.get("event") == "account_held"]
        ok(held and held[0].get("id") == passed, f"account_held names the request that caused it: {held}")


def test_upstream_error_logged_with_the_id():
    with Env(upstream=f"https://localhost:{free_port()}") as env:
        r = api_request(env.proxy.port)
        eq(r.status, 502, f"status with the upstream down ({r.body[:200]!r})")
        rid = _own_id(r, "the 502")
        eq(r.json().get("request_id"), rid, "the 502 body names the id")
        wait_until(lambda: {"upstream_error", "request"} <= {o.get("event") for o in _lines_with_id(env, rid)}, 5,
                   f"upstream_error and request lines with id {rid}")


def test_text_log_is_logfmt():
    with Env(proxy_args=["--log-format", "text"]) as env:
        r = api_request(env.proxy.port)
        eq(r.status, 200, "status")
        bad = http_request(env.proxy.port, "GET", "/no such", CLIENT_HEADERS)
        rid = _own_id(r, "the answer")

        def records():
            return [(l, parse_logfmt(l)) for l in env.proxy.log_text().splitlines() if l.strip()]
        wait_until(lambda: any(d and d.get("id") == rid for _, d in records()), 5, f"a text line with id {rid}")
        recs = records()
        unparsed = [l for l, d in recs if d is None]
        eq(unparsed[:3], [], "text log lines that are not strict logfmt")
        for _, d in recs:
            ok(list(d)[:3] == ["time", "level", "event"], f"time, level and event lead every line: {d}")
            matches(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", d["time"], "time")
        access = [d for _, d in recs if d.get("event") == "request" and d.get("id") == rid]
        eq(len(access), 1, f"access lines for {rid}")
        eq(access[0].get("status"), "200", "status")
        matches(r"^127\.0\.0\.1:\d+$", access[0].get("client_addr", ""), "client_addr")
        ok(bad.status in (400, 404), f"a malformed target is refused: {bad.status}")
