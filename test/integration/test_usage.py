"""Rate-limit tracker and token accounting (src/README.md §2-§5): the usage poll (cadence, values,
429 back-off, limits-only shape), rate-limit headers, token totals over curl / raw sockets / gzip /
SSE / the official TypeScript SDK, a client gone mid-stream, --state-file across a restart,
window rollover vs reset-time jitter, and the poll's spend object with the answers' per-window status and
surpassed threshold in /usage and /metrics. Compared against what the mock says it served."""

import datetime
import json
import os
import re
import time

from harness import (CLIENT_HEADERS, CTX, OAUTH_BETA, STREAM_BODY, Conn, OAuthEnv, PoolEnv, api_request, bearer_of,
                     build_request, curl, eq, fail, ok, parse_sse, run_sdk_client, wait_until)

SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-1-20250805"
FIELDS = ("input", "output", "cache_creation", "cache_read")


def body(model=SONNET, stream=False, text="Say hello."):
    return json.dumps({"model": model, "max_tokens": 64, "stream": stream,
                       "messages": [{"role": "user", "content": text}]}).encode()


def window(u, name):
    w = (u.get("windows") or {}).get(name)
    ok(isinstance(w, dict), f"/usage windows.{name} missing; windows: {sorted((u.get('windows') or {}))}")
    return w


def approx(actual, expected, what, tol=0.01):
    ok(isinstance(actual, (int, float)) and not isinstance(actual, bool) and abs(actual - expected) <= tol,
       f"{what}: expected {expected}, got {actual!r}")


def tokens_of(obj):
    """Token counters of a window or a model entry (`{"tokens": {...}}` or the counters themselves)."""
    return obj.get("tokens") if isinstance(obj.get("tokens"), dict) else obj


def model_tokens(u, model):
    m = (u.get("models") or {}).get(model)
    ok(isinstance(m, dict), f"/usage models[{model!r}] missing; models: {sorted((u.get('models') or {}))}")
    return tokens_of(m)


def expected_tokens(served):
    """Counters the proxy should show for these served answers (mock stats usage_served)."""
    t = {f: sum((s.get(f) or 0) for s in served) for f in FIELDS}
    t["requests"] = len(served)
    t["in"] = t["input"] + t["cache_creation"] + t["cache_read"]
    t["out"] = t["output"]
    return t


def check_tokens(actual, expected, what):
    ok(isinstance(actual, dict), f"{what}: not an object: {actual!r}")
    got = {k: actual.get(k) for k in expected}
    eq(got, expected, what)


def wait_counted(env, n, timeout=3):
    """/usage once windows.5h.tokens.requests reaches n."""
    def counted():
        u = env.proxy.usage()
        w = (u.get("windows") or {}).get("5h") or {}
        return u if (tokens_of(w) or {}).get("requests", 0) >= n else None
    try:
        return wait_until(counted, timeout, f"/usage windows.5h.tokens.requests >= {n}")
    except AssertionError as e:
        fail(f"{e}; /usage: {json.dumps(env.proxy.usage())[:1500]}")


def served(env):
    return env.mock.stats()["usage_served"]


def poll_times(env):
    return env.mock.stats()["usage_poll_times"]


def mock_reset(env, name):
    return env.mock.usage_state()["windows"][name]["resets_at"]


# ---------------------------------------------------------------------------------------------------------------
# The usage poll
# ---------------------------------------------------------------------------------------------------------------

def test_usage_poll_cadence_and_values():
    with OAuthEnv(poll="1s", start_proxy=False) as env:
        t0 = time.monotonic()
        env.start_proxy()
        times = wait_until(lambda: (t := poll_times(env)) and len(t) >= 4 and t, 5.5,
                           "4 usage polls with --poll-interval 1s")
        ok(times[0] - t0 <= 1.5, f"first poll {times[0] - t0:.2f}s after start (expected within ~1 s)")
        ok(times[2] - t0 <= 3.6, f"third poll {times[2] - t0:.2f}s after start (expected >= 3 polls in ~3.5 s)")
        gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
        ok(all(0.8 <= g <= 1.3 for g in gaps), f"gaps between polls (1 s +-10% jitter): {gaps}")

        polls = env.mock.requests(kind="usage_poll")
        ok(polls, "the mock recorded no usage poll")
        h = {k.lower(): v for k, v in polls[0]["headers"]}
        eq(bearer_of(polls[0]), env.access0, "poll bearer")
        ok(OAUTH_BETA in h.get("anthropic-beta", ""), f"poll anthropic-beta: {h.get('anthropic-beta')!r}")
        ok(h.get("user-agent", "").lower().startswith("claude-code/"), f"poll user-agent: {h.get('user-agent')!r}")
        ok("application/json" in h.get("accept", ""), f"poll accept: {h.get('accept')!r}")
        eq((polls[0]["method"], polls[0]["path"]), ("GET", "/api/oauth/usage"), "poll request")

        u = env.proxy.usage()
        for name, mname, pct in (("5h", "five_hour", 42.0), ("7d", "seven_day", 17.0)):
            w = window(u, name)
            approx(w.get("utilization_percent"), pct, f"windows.{name}.utilization_percent (the poll's percent)")
            eq(w.get("source"), "poll", f"windows.{name}.source")
            reset = mock_reset(env, mname)
            ok(isinstance(w.get("resets_at_unix"), int) and abs(w["resets_at_unix"] - reset) <= 2,
               f"windows.{name}.resets_at_unix: expected {reset:.0f} +-2, got {w.get('resets_at_unix')!r}")
            ok(w["resets_at_unix"] > time.time(), f"windows.{name} resets in the future")
        p = u.get("poll") or {}
        eq(p.get("enabled"), True, "poll.enabled")
        ok(isinstance(p.get("polls_ok"), int) and p["polls_ok"] >= 3, f"poll.polls_ok: {p.get('polls_ok')!r}")
        eq(p.get("polls_failed"), 0, "poll.polls_failed")
        ok(p.get("last_success"), f"poll.last_success: {p.get('last_success')!r}")


def test_usage_poll_429_backs_off():
    with OAuthEnv(poll="1s") as env:
        wait_until(lambda: ((env.proxy.usage().get("poll") or {}).get("polls_ok") or 0) >= 1, 3,
                   "a first successful poll")
        env.mock.usage_config(status=429, retry_after=2, count=1)
        n0 = len(poll_times(env))
        t_fail = wait_until(lambda: (t := poll_times(env)) and len(t) > n0 and t[n0], 2.5,
                            "the poll that gets the 429")

        def limited():
            p = env.proxy.usage().get("poll") or {}
            return p if (p.get("rate_limited") or 0) >= 1 else None
        try:
            p = wait_until(limited, 1.5, "poll.rate_limited >= 1 after a 429")
        except AssertionError as e:
            fail(f"{e}; poll: {env.proxy.usage().get('poll')}")
        ok(isinstance(p.get("backoff_ms"), int) and p["backoff_ms"] > 0, f"poll.backoff_ms after a 429: {p}")
        ok((p.get("polls_failed") or 0) >= 1, f"poll.polls_failed after a 429: {p}")
        ok(p.get("last_error"), f"poll.last_error after a 429: {p}")
        approx(window(env.proxy.usage(), "5h").get("utilization_percent"), 42.0,
               "windows.5h.utilization_percent (the last good snapshot is kept)")

        # retry-after: 2 is honoured. Wait a little past it; a poll sooner than 2 s fails the test.
        deadline = t_fail + 3.5
        while time.monotonic() < deadline and len(poll_times(env)) <= n0 + 1:
            time.sleep(0.05)
        times = poll_times(env)
        if len(times) > n0 + 1:
            ok(times[n0 + 1] - t_fail >= 1.95,
               f"next poll {times[n0 + 1] - t_fail:.2f}s after the 429 with retry-after: 2 (must wait >= 2 s)")


def test_usage_poll_limits_only_shape():
    cfg = {"shape": "limits", "windows": {"five_hour": {"utilization": 63.5}, "seven_day": {"utilization": 21.25}}}
    with OAuthEnv(poll="1s", mock_usage=cfg) as env:
        wait_until(lambda: ((env.proxy.usage().get("poll") or {}).get("polls_ok") or 0) >= 1, 3,
                   "a successful poll")
        sent = json.loads(env.mock.response_body(env.mock.requests(kind="usage_poll")[0]))
        eq(sorted(sent), ["limits"], "mock self-check: the poll body has only limits[]")
        u = env.proxy.usage()
        for name, mname, pct in (("5h", "five_hour", 63.5), ("7d", "seven_day", 21.25)):
            w = window(u, name)
            approx(w.get("utilization_percent"), pct, f"windows.{name}.utilization_percent from limits[]")
            reset = mock_reset(env, mname)
            ok(isinstance(w.get("resets_at_unix"), int) and abs(w["resets_at_unix"] - reset) <= 2,
               f"windows.{name}.resets_at_unix from limits[]: expected {reset:.0f} +-2, got "
               f"{w.get('resets_at_unix')!r}")


def test_usage_poll_limits_windows_with_scope_and_unknown_kinds():
    # A poll that has only limits[]: a per-model (Opus) weekly entry and a kind the proxy has never heard of are
    # windows too, shown with their kind, group, severity, is_active and scope; the Opus one counts Opus answers only.
    now = int(time.time())

    def at(s):
        return datetime.datetime.fromtimestamp(now + s, datetime.timezone.utc).isoformat()
    limits = [
        {"kind": "session", "group": "session", "percent": 12.5, "resets_at": at(3600), "severity": "normal",
         "scope": None, "is_active": True},
        {"kind": "weekly_all", "group": "weekly", "percent": 30, "resets_at": at(4 * 86400), "severity": "normal",
         "scope": None, "is_active": True},
        {"kind": "weekly_scoped", "group": "weekly", "percent": 91, "resets_at": at(3 * 86400),
         "severity": "critical", "scope": {"model": {"display_name": "Opus"}}, "is_active": True},
        {"kind": "monthly_spend", "group": "billing", "percent": 5, "resets_at": None, "severity": "advisory",
         "scope": None, "is_active": False},
    ]
    with OAuthEnv(poll="1s", mock_usage={"body": {"limits": limits}}) as env:
        wait_until(lambda: ((env.proxy.usage().get("poll") or {}).get("polls_ok") or 0) >= 1, 3,
                   "a successful poll")
        sent = json.loads(env.mock.response_body(env.mock.requests(kind="usage_poll")[0]))
        eq(sent, {"limits": limits}, "mock self-check: the poll body is the literal one")
        u = env.proxy.usage()
        want = {
            "5h": (12.5, now + 3600, "session", "session", "normal", True, None),
            "7d": (30, now + 4 * 86400, "weekly_all", "weekly", "normal", True, None),
            "7d_opus": (91, now + 3 * 86400, "weekly_scoped", "weekly", "critical", True, "opus"),
            "monthly_spend": (5, 0, "monthly_spend", "billing", "advisory", False, None),
        }
        for name, (pct, reset, kind, group, severity, active, scope) in want.items():
            w = window(u, name)
            approx(w.get("utilization_percent"), pct, f"windows.{name}.utilization_percent")
            eq(w.get("resets_at_unix"), reset, f"windows.{name}.resets_at_unix")
            eq((w.get("kind"), w.get("group"), w.get("severity"), w.get("is_active"), w.get("scope")),
               (kind, group, severity, active, scope), f"windows.{name} kind, group, severity, is_active, scope")
        r = env.proxy.get("/metrics")
        eq(r.status, 200, "GET /metrics")
        text = r.body.decode()
        for needle in ('anthropic_proxy_window_info{account="default",window="7d_opus",kind="weekly_scoped",scope="opus"} 1',
                       'anthropic_proxy_window_info{account="default",window="monthly_spend",kind="monthly_spend",scope=""} 1'):
            ok(needle in text, f"/metrics should contain {needle!r}")

        eq(api_request(env.proxy.port, body=body(OPUS), scenario="usage:10/1/0/0").status, 200, "Opus answer")
        eq(api_request(env.proxy.port, body=body(SONNET), scenario="usage:20/2/0/0").status, 200, "Sonnet answer")
        u = wait_counted(env, 2)
        eq(tokens_of(window(u, "7d_opus")).get("input"), 10, "windows.7d_opus.tokens.input (Opus answers only)")
        eq(tokens_of(window(u, "monthly_spend")).get("input"), 30, "windows.monthly_spend.tokens.input (every model)")
        eq(tokens_of(window(u, "7d")).get("input"), 30, "windows.7d.tokens.input (every model)")


# ---------------------------------------------------------------------------------------------------------------
# Rate-limit headers
# ---------------------------------------------------------------------------------------------------------------

def test_rate_limit_headers_fill_windows():
    cfg = {"windows": {"five_hour": {"utilization": 37.5}, "seven_day": {"utilization": 6.25}}}
    with OAuthEnv(poll="off", mock_usage=cfg) as env:
        r = api_request(env.proxy.port)
        eq(r.status, 200, "status")
        eq((r.header("anthropic-ratelimit-unified-5h-utilization"),
            r.header("anthropic-ratelimit-unified-7d-utilization")), ("0.375", "0.0625"),
           "mock self-check: header fractions")
        u = env.proxy.usage()
        for name, pct in (("5h", 37.5), ("7d", 6.25)):
            w = window(u, name)
            approx(w.get("utilization_percent"), pct, f"windows.{name}.utilization_percent (header fraction x 100)")
            eq(w.get("resets_at_unix"), int(r.header(f"anthropic-ratelimit-unified-{name}-reset")),
               f"windows.{name}.resets_at_unix (the header's value)")
            eq(w.get("source"), "header", f"windows.{name}.source")
        eq((u.get("poll") or {}).get("enabled"), False, "poll.enabled with --poll-interval off")


# ---------------------------------------------------------------------------------------------------------------
# Token accounting
# ---------------------------------------------------------------------------------------------------------------

def test_token_totals_mixed_clients():
    with OAuthEnv(poll="off") as env:
        # 1. curl, JSON answer
        r = curl(env.proxy.url + "/v1/messages", data=body(SONNET),
                 headers=CLIENT_HEADERS + [("x-mock-scenario", "usage:31/7/0/512")])
        eq(r.status, 200, f"curl JSON ({r.stderr})")
        # 2. curl, SSE cut into 1-7 byte chunks
        r = curl(env.proxy.url + "/v1/messages", data=body(OPUS, stream=True),
                 headers=CLIENT_HEADERS + [("x-mock-scenario", "sse-split,usage:100/40/2000/0")])
        eq(r.status, 200, f"curl SSE ({r.stderr})")
        eq(parse_sse(r.body.decode())[-1][0], "message_stop", "curl SSE complete")
        # 3. SSE where message_delta carries output_tokens only
        r = api_request(env.proxy.port, body=body(SONNET, stream=True), scenario="usage-split,usage:5/9/11/13")
        eq(r.status, 200, "usage-split SSE")
        # 4. gzip JSON answer (the client asked for gzip and gets gzip)
        with Conn(env.proxy.port) as c:
            c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [
                ("Accept-Encoding", "gzip"), ("x-mock-scenario", "gzip,usage:1/2/3/4")], body(OPUS)))
            r = c.read_response()
        eq((r.status, r.header("content-encoding")), (200, "gzip"), "gzip answer")
        # 5. count_tokens: not an answer that spends tokens
        r = api_request(env.proxy.port, target="/v1/messages/count_tokens", body=body(SONNET))
        eq((r.status, r.json()), (200, {"input_tokens": 42}), "count_tokens")

        s = served(env)
        eq([(x["model"], x["input"], x["output"], x["cache_creation"], x["cache_read"]) for x in s],
           [(SONNET, 31, 7, 0, 512), (OPUS, 100, 40, 2000, 0), (SONNET, 5, 9, 11, 13), (OPUS, 1, 2, 3, 4)],
           "mock self-check: usage served")
        u = wait_counted(env, len(s))
        want = expected_tokens(s)
        for name in ("5h", "7d"):
            check_tokens(tokens_of(window(u, name)), want, f"windows.{name}.tokens")
        for model in (SONNET, OPUS):
            check_tokens(model_tokens(u, model), expected_tokens([x for x in s if x["model"] == model]),
                         f"models[{model}]")
        time.sleep(0.2)  # nothing more may trickle in (count_tokens must not count)
        check_tokens(tokens_of(window(env.proxy.usage(), "5h")), want, "windows.5h.tokens a moment later")


def test_token_totals_official_sdk():
    with OAuthEnv(poll="off") as env:
        out = run_sdk_client(env.proxy.url, SONNET)
        s = served(env)
        eq(len(s), 2, "answers the mock served to the SDK")
        for i, kind in enumerate(("create", "stream")):
            got = out[kind]
            eq(got["model"], SONNET, f"SDK {kind}: model")
            ok(got["text"].startswith("Hello"), f"SDK {kind}: text {got['text']!r}")
            su = got["usage"]
            eq((su["input_tokens"], su["output_tokens"], su["cache_creation_input_tokens"],
                su["cache_read_input_tokens"]),
               (s[i]["input"], s[i]["output"], s[i]["cache_creation"], s[i]["cache_read"]),
               f"SDK {kind}: usage the SDK saw = what the mock served")
        ok(out["stream"]["events"] >= 5, f"SDK stream events: {out['stream']['events']}")
        ok(s[1]["stream"] and not s[0]["stream"], f"one JSON and one SSE answer: {s}")
        for rec in env.mock.requests():
            eq(bearer_of(rec), env.access0, "bearer the SDK's requests carried upstream")
            ok(not any(k.lower() == "x-api-key" for k, _ in rec["headers"]), "x-api-key removed")
        u = wait_counted(env, 2)
        check_tokens(tokens_of(window(u, "5h")), expected_tokens(s), "windows.5h.tokens after the SDK calls")
        check_tokens(model_tokens(u, SONNET), expected_tokens(s), f"models[{SONNET}] after the SDK calls")


def test_client_gone_midstream_tokens_counted():
    with OAuthEnv(poll="off") as env:
        with Conn(env.proxy.port) as c:
            c.send(build_request("POST", "/v1/messages", CLIENT_HEADERS + [
                ("x-mock-scenario", "sse-endless,usage:77/500/100/200")], body(OPUS, stream=True)))
            r = c.read_response(timeout=10, stop_when=lambda r: b"tick 3 " in r.body)
            eq(r.status, 200, "status")
            ok(b"message_start" in r.body, f"message_start reached the client: {r.body[:200]!r}")
        wait_until(lambda: env.mock.stats()["closed_by_peer_midstream"] >= 1, 5,
                   "the proxy to close the upstream stream after the client left")
        s = served(env)
        eq([(x["input"], x["output"], x["cache_creation"], x["cache_read"], x["complete"]) for x in s],
           [(77, 1, 100, 200, False)], "mock self-check: usage served before the cut (message_start)")
        u = wait_counted(env, 1)
        check_tokens(tokens_of(window(u, "5h")), expected_tokens(s), "windows.5h.tokens of the abandoned stream")
        check_tokens(model_tokens(u, OPUS), expected_tokens(s), f"models[{OPUS}] of the abandoned stream")


def test_state_file_survives_restart():
    state = os.path.join(CTX.tmpdir("state-"), "usage-state.json")
    with OAuthEnv(poll="off", proxy_args=["--state-file", state]) as env:
        eq(api_request(env.proxy.port, body=body(SONNET), scenario="usage:10/20/30/40").status, 200, "JSON")
        eq(api_request(env.proxy.port, body=body(OPUS, stream=True), scenario="usage:1/2/3/4").status, 200, "SSE")
        u1 = wait_counted(env, 2)
        before = {name: tokens_of(window(u1, name)) for name in ("5h", "7d")}
        check_tokens(before["5h"], expected_tokens(served(env)), "windows.5h.tokens before the restart")

        env.stop_proxy()  # SIGTERM
        ok(os.path.exists(state), f"state file {state} exists after SIGTERM")
        env.start_proxy()
        u2 = env.proxy.usage()
        for name in ("5h", "7d"):
            check_tokens(tokens_of(window(u2, name)), before[name], f"windows.{name}.tokens after the restart")

        # Same reset times after the restart: no rollover, counting goes on from the restored values.
        eq(api_request(env.proxy.port, body=body(SONNET), scenario="usage:5/6/7/8").status, 200, "after restart")
        u3 = wait_counted(env, 3)
        for name in ("5h", "7d"):
            w = window(u3, name)
            check_tokens(tokens_of(w), expected_tokens(served(env)), f"windows.{name}.tokens after one more answer")
            eq(w.get("rollovers"), 0, f"windows.{name}.rollovers")


def test_reset_jitter_is_not_a_rollover_but_a_moved_reset_is():
    # The poll's resets_at jitters by up to +-1.5 s (§5): never a rollover. A reset moved forward by the
    # window length is one: that window's counters restart, the others keep theirs.
    with OAuthEnv(poll="1s", mock_usage={"jitter": 1.5}) as env:
        eq(api_request(env.proxy.port, scenario="usage:3/4/5/6").status, 200, "first answer")
        wait_counted(env, 1)
        n0 = len(poll_times(env))
        wait_until(lambda: len(poll_times(env)) >= n0 + 3, 5, "three jittered polls")
        u = env.proxy.usage()
        for name in ("5h", "7d"):
            w = window(u, name)
            eq(w.get("rollovers"), 0, f"windows.{name}.rollovers after jittered polls")
            eq(tokens_of(w).get("requests"), 1, f"windows.{name}.tokens.requests after jittered polls")

        old = mock_reset(env, "five_hour")
        env.mock.usage_config(windows={"five_hour": {"resets_at": old + 5 * 3600}})
        try:
            u = wait_until(lambda: (x := env.proxy.usage()) and window(x, "5h").get("rollovers") == 1 and x, 3,
                           "windows.5h.rollovers == 1 after the reset moved 5 h forward")
        except AssertionError as e:
            fail(f"{e}; windows.5h: {window(env.proxy.usage(), '5h')}")
        eq(tokens_of(window(u, "5h")).get("requests"), 0, "windows.5h.tokens.requests after the rollover")
        eq(tokens_of(window(u, "7d")).get("requests"), 1, "windows.7d.tokens.requests (no rollover there)")
        eq(window(u, "7d").get("rollovers"), 0, "windows.7d.rollovers")
        eq(api_request(env.proxy.port, scenario="usage:1/1/1/1").status, 200, "answer after the rollover")
        u = wait_counted(env, 1)
        check_tokens(tokens_of(window(u, "5h")), expected_tokens(served(env)[1:]), "windows.5h.tokens after")
        check_tokens(tokens_of(window(u, "7d")), expected_tokens(served(env)), "windows.7d.tokens after")


# ---------------------------------------------------------------------------------------------------------------
# The poll's spend object and the answers' per-window status and surpassed threshold (issue 19)
# ---------------------------------------------------------------------------------------------------------------

def _sample(text, name, **labels):
    """The value of the sample of `name` whose labels include `labels`, or None."""
    for m in re.finditer(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? (\S+)$", text, re.M):
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(2))
    return None


def test_spend_and_window_status_per_account():
    spend_a = {"is_enabled": True, "used_credits": 123456, "monthly_limit": 500000, "currency": "USD",
               "resets_at": None, "daily_cap": 20000, "period": {"days": 30}}
    spend_b = {"is_enabled": False, "used_credits": None, "currency": "EUR"}
    accts = {"a": {"windows": {"5h": {"utilization": 0.5, "resets_in": 3600, "status": "allowed_warning",
                                      "surpassed_threshold": 0.5},
                               "7d": {"utilization": 0.1, "resets_in": 5 * 86400}},
                   "usage": {"spend": spend_a}},
             "b": {"windows": {"5h": {"utilization": 0.95, "resets_in": 3600},
                               "7d": {"utilization": 0.1, "resets_in": 5 * 86400}},
                   "usage": {"spend": spend_b}}}
    with PoolEnv(accounts=accts, poll="1s") as env:
        def polled():
            u = env.proxy.usage()
            accs = u.get("accounts") or {}
            return u if all((accs.get(n) or {}).get("spend") for n in ("a", "b")) else None
        u = wait_until(polled, 6, "/usage accounts.a.spend and accounts.b.spend after a poll")
        eq(u["accounts"]["a"]["spend"], {"is_enabled": True, "currency": "USD", "used_credits": 123456,
                                         "monthly_limit": 500000, "daily_cap": 20000, "period_days": 30},
           "accounts.a.spend (known fields first, unknown numeric ones kept, nested ones flattened)")
        eq(u["accounts"]["b"]["spend"], {"is_enabled": False, "currency": "EUR", "used_credits": None,
                                         "monthly_limit": None}, "accounts.b.spend (nulls are unknown)")
        # Answers from a (the account with headroom) carry its per-window status and surpassed threshold.
        r = api_request(env.proxy.port, body=body())
        eq(r.status, 200, "status")
        eq((r.header("anthropic-ratelimit-unified-5h-status"),
            r.header("anthropic-ratelimit-unified-5h-surpassed-threshold")), ("allowed_warning", "0.5"),
           "mock self-check: the answer's per-window headers")
        eq([e["account"] for e in env.mock.routing()][-1:], ["a"], "the request went to a")
        w = window(env.proxy.usage()["accounts"]["a"], "5h")
        eq((w.get("status"), w.get("surpassed_threshold_percent")), ("allowed_warning", 50),
           "accounts.a.windows.5h status and surpassed threshold")
        eq(window(env.proxy.usage()["accounts"]["a"], "7d").get("surpassed_threshold_percent"), None,
           "no -surpassed-threshold header: unknown")

        text = env.proxy.get("/metrics").body.decode()
        checks = [
            (("anthropic_proxy_window_status", {"account": "a", "window": "5h", "status": "allowed_warning"}), 1),
            (("anthropic_proxy_window_status", {"account": "a", "window": "7d", "status": "allowed"}), 0),
            (("anthropic_proxy_window_surpassed_threshold_ratio", {"account": "a", "window": "5h"}), 0.5),
            (("anthropic_proxy_window_surpassed_threshold_ratio", {"account": "a", "window": "7d"}), None),
            (("anthropic_proxy_spend_enabled", {"account": "a"}), 1),
            (("anthropic_proxy_spend_enabled", {"account": "b"}), 0),
            (("anthropic_proxy_spend_used_minor_units", {"account": "a"}), 123456),
            (("anthropic_proxy_spend_used_minor_units", {"account": "b"}), None),
            (("anthropic_proxy_spend_monthly_limit_minor_units", {"account": "a"}), 500000),
            (("anthropic_proxy_spend_value", {"account": "a", "field": "daily_cap"}), 20000),
            (("anthropic_proxy_spend_value", {"account": "a", "field": "period_days"}), 30),
        ]
        for (name, labels), want in checks:
            eq(_sample(text, name, **labels), want, f"{name}{labels}")
