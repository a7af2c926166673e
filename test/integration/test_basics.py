"""Command line, admin endpoint, request-line errors, logging, and the simple pass-through
endpoints (count_tokens, models)."""

import re

from harness import (MSG_BODY, TOKEN, Conn, Env, api_error, api_request, curl, eq, http_request, matches,
                     not_contains, ok, run_binary, wait_until)

CURL_HEADERS = [("x-api-key", "client-key"), ("anthropic-version", "2023-06-01"),
                ("content-type", "application/json")]


def test_cli_bad_flag_exits_2():
    p = run_binary(["--nope"])
    eq(p.returncode, 2, f"exit status of --nope (stderr: {p.stderr!r})")
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    eq(len(lines), 1, f"number of stderr lines for --nope (stderr: {p.stderr!r})")


def test_cli_version():
    p = run_binary(["--version"])
    eq(p.returncode, 0, f"exit status of --version (stderr: {p.stderr!r})")
    matches(r"\d+\.\d+", p.stdout, "--version output on stdout")


def test_cli_help():
    p = run_binary(["--help"])
    eq(p.returncode, 0, f"exit status of --help (stderr: {p.stderr!r})")
    matches(r"--listen", p.stdout + p.stderr, "--help output")


def test_healthz_does_not_touch_upstream():
    with Env() as env:
        before = env.mock.stats()["requests"]
        r = http_request(env.proxy.port, "GET", "/healthz")
        eq(r.status, 200, "GET /healthz status")
        eq(r.json().get("status"), "ok", "GET /healthz body .status")
        r = curl(env.proxy.url + "/healthz")
        eq((r.status, r.json().get("status")), (200, "ok"), "GET /healthz via curl")
        eq(env.mock.stats()["requests"], before, "mock API requests after /healthz")
        eq(env.mock.requests(), [], "mock API request records after /healthz")


def test_bad_request_line_400_and_close():
    with Env() as env:
        with Conn(env.proxy.port) as c:
            c.send(b"GARBAGE\r\n\r\n")
            r = c.read_response(timeout=5)
            eq(r.status, 400, "status for a garbage request line")
            api_error(r, "400 body")
            ok(r.closed or c.wait_closed(3), "the proxy did not close the connection after a bad request")
        eq(http_request(env.proxy.port, "GET", "/healthz").status, 200, "/healthz after a bad request")
        eq(env.mock.requests(), [], "mock saw the bad request")


def test_count_tokens_passthrough():
    with Env() as env:
        r = curl(env.proxy.url + "/v1/messages/count_tokens", headers=CURL_HEADERS, data=MSG_BODY)
        eq(r.status, 200, f"count_tokens status (body {r.body!r}, curl: {r.stderr})")
        eq(r.json(), {"input_tokens": 42}, "count_tokens body")
        rec = env.mock.last_request()
        eq((rec["method"], rec["target"]), ("POST", "/v1/messages/count_tokens"), "upstream request")


def test_models_passthrough():
    with Env() as env:
        r = curl(env.proxy.url + "/v1/models?limit=20", headers=CURL_HEADERS)
        eq(r.status, 200, f"models status (body {r.body!r}, curl: {r.stderr})")
        eq(r.body, env.mock.response_body(env.mock.last_request()), "models body")
        eq([m["type"] for m in r.json()["data"]], ["model", "model"], "models list")
        eq(env.mock.last_request()["target"], "/v1/models?limit=20", "upstream target")


def _find_access_line(objs, method, path, status):
    for o in objs:
        if (o.get("method") == method and isinstance(o.get("path"), str) and o["path"].startswith(path)
                and str(o.get("status")) == str(status)):
            return o
    return None


def test_request_log_json_and_no_token():
    with Env() as env:
        eq(api_request(env.proxy.port, "/v1/messages?beta=true").status, 200, "messages status")
        eq(api_request(env.proxy.port, scenario="status:429").status, 429, "429 status")
        eq(http_request(env.proxy.port, "GET", "/healthz").status, 200, "healthz status")
        expected = [("POST", "/v1/messages", 200), ("POST", "/v1/messages", 429), ("GET", "/healthz", 200)]
        for method, path, status in expected:
            wait_until(lambda: _find_access_line(env.proxy.log_json(), method, path, status), 3,
                       f"a JSON log line with method={method} path={path} status={status}")
        text = env.proxy.log_text()
        bad = [l for l in text.splitlines() if l.strip() and not re.match(r"\s*\{.*\}\s*$", l)]
        eq(bad[:3], [], "log lines that are not JSON objects (with --log-format json)")
    # Read the log again after shutdown: nothing may leak the token, even at debug level.
    not_contains(env.proxy.log_text(), TOKEN, "proxy log")
    not_contains(env.proxy.log_text(), TOKEN[len("sk-ant-oat01-"):], "proxy log (token without prefix)")
