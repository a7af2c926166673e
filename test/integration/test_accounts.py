"""Several subscriptions behind one proxy (README "Several subscriptions"): routing by headroom, sticky
conversations, failover, the plan-limits guard and its 429, the extra-usage tripwires, a dead login, and the real
clients (the official SDK, the Claude Code CLI) through a two-account pool. The mock holds one login, one set of
windows and one set of answer modes per account; a request's bearer selects its account."""

import json
import os
import re
import time

from harness import (PoolEnv, api_error, api_request, eq, http_request, matches, ok, parallel, run_sdk_client,
                     wait_until)

SONNET = "claude-sonnet-4-5-20250929"


def body(session_user_id=None, model=SONNET):
    doc = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "Say hello."}]}
    if session_user_id:
        doc["metadata"] = {"user_id": session_user_id}
    return json.dumps(doc).encode()


def send(env, session=None, user_id=None, model=SONNET):
    hs = [("x-claude-code-session-id", session)] if session else []
    return api_request(env.proxy.port, body=body(user_id, model), extra_headers=hs)


def accounts(env):
    return env.proxy.usage().get("accounts") or {}


def util(u, account, window):
    w = ((u.get("accounts") or {}).get(account, {}).get("windows") or {}).get(window) or {}
    return w.get("utilization_percent")


def wait_windows(env, want, timeout=10):
    """Waits until /usage shows every {account: {window: percent}} (the usage poll brought them)."""
    def seen():
        u = env.proxy.usage()
        for a, ws in want.items():
            for w, pct in ws.items():
                got = util(u, a, w)
                if got is None or abs(got - pct) > 0.01:
                    return None
        return u
    return wait_until(seen, timeout, f"/usage accounts' windows {want}")


def metric(env, name, labels=""):
    text = env.proxy.get("/metrics").body.decode()
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


def served(env):
    return [(e["account"], e["status"]) for e in env.mock.routing()]


def test_accounts_route_by_headroom_and_time_to_reset():
    # a is fuller (60%) but its 5h window resets in 10 minutes; b is at 30% with 4.5 hours to go. Room that resets
    # soon is spent first: headroom a = min(0.4 / (600/18000), 7d 0.9 / (5/7)) = 1.26; b = min(0.7 / 0.9, 1.26) = 0.78.
    accts = {"a": {"windows": {"5h": {"utilization": 0.6, "resets_in": 600},
                               "7d": {"utilization": 0.1, "resets_in": 5 * 86400}}},
             "b": {"windows": {"5h": {"utilization": 0.3, "resets_in": 4.5 * 3600},
                               "7d": {"utilization": 0.1, "resets_in": 5 * 86400}}}}
    with PoolEnv(accounts=accts, poll="1s") as env:
        u = wait_windows(env, {"a": {"5h": 60, "7d": 10}, "b": {"5h": 30, "7d": 10}})
        ha, hb = (u["accounts"][n]["routing"]["headroom"] for n in ("a", "b"))
        ok(abs(ha - 0.9 / (5 / 7)) < 0.03 and abs(hb - 0.7 / 0.9) < 0.03, f"headrooms a={ha} b={hb}")
        for i in range(6):
            eq(send(env).status, 200, f"request {i}")
        eq(served(env), [("a", 200)] * 6, "every request went to the account with the most headroom")
        # a reaches --max-utilization (98%): the guard takes it out; everything goes to b.
        env.mock.account("a", windows={"5h": {"utilization": 0.985}})
        wait_windows(env, {"a": {"5h": 98.5}})
        for i in range(4):
            eq(send(env).status, 200, f"request {i} after a filled up")
        eq(served(env)[6:], [("b", 200)] * 4, "requests after a reached 98%")
        u = env.proxy.usage()
        eq((u["accounts"]["a"]["routing"]["usable"], u["accounts"]["a"]["routing"]["block"]), (False, "full"),
           "/usage accounts.a.routing")
        eq(u["routing"]["last"]["account"], "b", "/usage routing.last")
        eq(metric(env, "anthropic_proxy_account_requests_total", '{account="a"}'), 6, "requests routed to a")
        eq(metric(env, "anthropic_proxy_account_requests_total", '{account="b"}'), 4, "requests routed to b")
        eq(metric(env, "anthropic_proxy_account_usable", '{account="a"}'), 0, "a usable (metric)")
        ok(metric(env, "anthropic_proxy_window_utilization_ratio", '{account="b",window="5h"}') is not None,
           "window metrics carry the account label")


def test_accounts_sticky_conversations_over_100_turns():
    with PoolEnv(accounts=("a", "b")) as env:
        # Requests without a conversation are routed one by one: equal headroom, so both accounts take turns.
        for i in range(6):
            eq(send(env).status, 200, f"unpinned request {i}")
        eq(sorted({a for a, _ in served(env)}), ["a", "b"], "unpinned requests spread over both accounts")
        # Two conversations, 100 turns, interleaved: one by header, one by the session in metadata.user_id.
        for i in range(50):
            eq(send(env, session="conv-header-1").status, 200, f"turn {i} of the header conversation")
            eq(send(env, user_id="user_0f3a_account_9b1c_session_conv-body-2").status, 200,
               f"turn {i} of the metadata conversation")
        log = env.mock.routing()[6:]
        eq(len(log), 100, "turns that reached the mock")
        by_header = {e["account"] for e in log if e["session_id"] == "conv-header-1"}
        by_body = {e["account"] for e in log if e["user_id_session"] == "conv-body-2"}
        eq(len(by_header), 1, f"accounts of the header conversation: {by_header}")
        eq(len(by_body), 1, f"accounts of the metadata conversation: {by_body}")
        u = env.proxy.usage()
        eq(u["routing"]["pinned_conversations"], 2, "/usage routing.pinned_conversations")
        ok(u["routing"]["decisions"]["sticky"] >= 98, f"sticky decisions: {u['routing']['decisions']}")
        eq(metric(env, "anthropic_proxy_pinned_conversations"), 2, "pinned conversations (metric)")
        # The pinned account becomes unusable (a window 429): the conversation moves once and stays moved.
        pinned = by_header.pop()
        other = "b" if pinned == "a" else "a"
        env.mock.account(pinned, modes=[{"kind": "429", "window": "5h"}])
        for i in range(5):
            eq(send(env, session="conv-header-1").status, 200, f"turn {i} after {pinned} hit its window")
        tail = [(e["account"], e["status"]) for e in env.mock.routing()[106:]]
        eq(tail, [(pinned, 429)] + [(other, 200)] * 5, "the conversation failed over once, then stayed")


def test_accounts_failover_on_window_429_gives_one_answer():
    accts = {"a": {"modes": [{"kind": "429", "window": "5h", "count": 1}]}, "b": {}}
    with PoolEnv(accounts=accts) as env:
        r = send(env, session="conv-f")
        eq(r.status, 200, f"status the client saw ({r.body[:300]!r})")
        ok(json.loads(r.body).get("type") == "message", f"the client got one whole message: {r.body[:300]!r}")
        eq(served(env), [("a", 429), ("b", 200)], "the 429 was held back and the request replayed on b")
        line = next(e for e in env.proxy.log_json()
                    if e.get("event") == "request" and e.get("path") == "/v1/messages")
        eq((line["status"], line["bytes_out"]), (200, len(r.body)), "access log: status, bytes out (not the held 429's)")
        u = env.proxy.usage()
        ra = u["accounts"]["a"]["routing"]
        eq((ra["usable"], ra["block"], ra["held_reason"]), (False, "limited", "window"), "/usage accounts.a.routing")
        ok(ra["held_until_unix"] > 0, f"a is held until its window resets: {ra}")
        eq(u["routing"]["failovers"], 1, "/usage routing.failovers")
        eq(metric(env, "anthropic_proxy_failovers_total"), 1, "failovers (metric)")
        # The conversation moved with it, and unpinned requests skip a too: a is not asked again.
        for i in range(3):
            eq(send(env, session="conv-f").status, 200, f"next turn {i}")
            eq(send(env).status, 200, f"unpinned request {i}")
        eq(served(env)[2:], [("b", 200)] * 6, "requests after the failover")


def test_accounts_absurd_retry_after_is_bounded():
    # A 429 whose retry-after does not fit in 64 bits holds its account for 8 days (the longest window and a day),
    # not for a time computed out of range.
    accts = {"a": {"modes": [{"kind": "429", "window": "5h", "count": 1, "retry_after": 10 ** 20}]}, "b": {}}
    with PoolEnv(accounts=accts) as env:
        r = send(env, session="conv-r")
        eq(r.status, 200, f"status the client saw ({r.body[:300]!r})")
        eq(served(env), [("a", 429), ("b", 200)], "the 429 on a, the answer from b")
        held = env.proxy.usage()["accounts"]["a"]["routing"]["held_until_unix"]
        ok(abs(held - (time.time() + 8 * 86400)) < 120, f"a held until {held}, expected now + 8 days")


def test_accounts_held_refusal_no_failover_takes_reaches_the_client():
    # With two accounts a 400 on /v1/messages is held back until its body says whether it is the extra-usage refusal
    # another account would not give. An ordinary 400 is not: it must reach the client as it came, at once (it once
    # reached nobody: the client waited for its keep-alive timeout), and the account stays usable.
    mode = {"kind": "error", "status": 400, "message": "max_tokens: Field required", "count": 1}
    with PoolEnv(accounts={"a": {"modes": [dict(mode)]}, "b": {"modes": [dict(mode)]}}) as env:
        r = send(env, session="conv-400")
        eq((r.status, api_error(r)), (400, ("invalid_request_error", "max_tokens: Field required")),
           "the upstream 400, as it came")
        eq(len(served(env)), 1, "one upstream request: no failover for an ordinary 400")
        first = served(env)[0][0]
        eq(send(env, session="conv-400").status, 200, "the conversation's next turn")
        eq(served(env), [(first, 400), (first, 200)], "both turns on the same account")
        u = env.proxy.usage()
        eq(u["routing"]["failovers"], 0, "/usage routing.failovers")
        ok(all(a["routing"]["usable"] for a in u["accounts"].values()), f"both accounts usable: {u['accounts']}")


def test_accounts_all_refuse_client_gets_one_429_with_capped_retry_after():
    # Both windows are exhausted upstream (retry-after = the reset, days away): each account is tried once, the
    # client gets the last 429 with retry-after lowered to --max-retry-after, and the next request is the guard's.
    modes = [{"kind": "429", "window": "7d"}]
    accts = {"a": {"windows": {"7d": {"utilization": 0.5, "resets_in": 3 * 86400}}, "modes": modes},
             "b": {"windows": {"7d": {"utilization": 0.5, "resets_in": 2 * 86400}}, "modes": modes}}
    with PoolEnv(accounts=accts, proxy_args=["--max-retry-after", "120"]) as env:
        r = send(env)
        eq(r.status, 429, "status after both accounts refused")
        eq(api_error(r)[0], "rate_limit_error", "error type of the upstream 429")
        eq(r.header("retry-after"), "120", "upstream retry-after (2-3 days) capped at --max-retry-after")
        eq(sorted(served(env)), [("a", 429), ("b", 429)], "each account tried once")
        r = send(env)
        eq(r.status, 429, "the guard's own answer")
        err_type, msg = api_error(r)
        eq(err_type, "rate_limit_error", "the guard's error type")
        matches(r"a: 7d window .*clears in (2d23h|3d0h).*b: 7d window .*clears in (1d23h|2d0h)", msg, "the guard names both")
        eq(r.header("retry-after"), "120", "the guard's retry-after, capped")
        eq(len(served(env)), 2, "the guard's answer did not go upstream")
        ok((metric(env, "anthropic_proxy_guard_refusals_total", '{reason="limited"}') or 0) >= 1,
           "guard refusals by reason (metric)")


def test_accounts_guard_answers_429_until_the_earliest_reset():
    accts = {"a": {"windows": {"5h": {"utilization": 0.99, "resets_in": 3000}}},
             "b": {"windows": {"5h": {"utilization": 0.985, "resets_in": 100}}}}
    with PoolEnv(accounts=accts, poll="1s") as env:
        wait_windows(env, {"a": {"5h": 99}, "b": {"5h": 98.5}})
        r = send(env)
        eq(r.status, 429, f"status with every account at or above 98% ({r.body[:300]!r})")
        err_type, msg = api_error(r)
        eq(err_type, "rate_limit_error", "error type")
        matches(r"a: 5h window at 99% \(limit 98%\), clears in (4[89]|50)m..s; b: 5h window at 9[89]% \(limit 98%\), clears in "
                r"1m[34].s", msg, "message")
        ra = int(r.header("retry-after", "0"))
        ok(90 <= ra <= 101, f"retry-after = seconds to b's reset (100 s): {ra}")
        eq(served(env), [], "nothing went upstream")
        # count_tokens consumes nothing: it still goes through.
        r = api_request(env.proxy.port, target="/v1/messages/count_tokens", body=body())
        eq(r.status, 200, "count_tokens while the windows are full")
        # --max-utilization 100 lets b's 98.5% through (the window itself still says allowed).
    with PoolEnv(accounts=accts, poll="1s", proxy_args=["--max-utilization", "99.5%"]) as env:
        wait_windows(env, {"a": {"5h": 99}, "b": {"5h": 98.5}})
        eq(send(env).status, 200, "with --max-utilization 99.5%")
        eq(served(env)[-1][0], "b", "the account under the limit served")


def test_accounts_extra_usage_tripwires():
    # Each tripwire: the account is held back from then on (a 200 paid from extra usage cannot be undone; the 400
    # is replayed on the other account).
    for what, cfg, first in (("overage-in-use 200", {"modes": [{"kind": "overage", "count": 1}]}, ("a", 200)),
                             ("overage-in-use header", {"overage": {"in_use": True, "status": "allowed"}}, ("a", 200)),
                             ("third-party 400", {"modes": [{"kind": "third_party", "count": 1}]}, ("a", 400))):
        with PoolEnv(accounts={"a": cfg, "b": {}}) as env:
            eq(send(env).status, 200, f"{what}: first request")
            for i in range(4):
                eq(send(env).status, 200, f"{what}: request {i} after")
            log = served(env)
            eq(log[0], first, f"{what}: the first request went to a")
            eq([x for x in log[1:]], [("b", 200)] * 5 if first[1] == 400 else [("b", 200)] * 4,
               f"{what}: a not used after drawing on extra usage: {log}")
            ra = env.proxy.usage()["accounts"]["a"]["routing"]
            # A 200 paid from extra usage also says its window is rejected: either blocks a.
            ok(not ra["usable"] and ra["block"] in ("extra_usage", "rejected") and ra["extra_usage_until_unix"] > 0,
               f"{what}: /usage accounts.a.routing: {ra}")
            eq(metric(env, "anthropic_proxy_extra_usage_holds_total"), 1, f"{what}: holds (metric)")
    # --allow-overage: a stays in the rotation.
    with PoolEnv(accounts={"a": {"modes": [{"kind": "overage"}]}, "b": {}}, proxy_args=["--allow-overage"]) as env:
        for i in range(4):
            eq(send(env).status, 200, f"--allow-overage: request {i}")
        eq(sorted({a for a, _ in served(env)}), ["a", "b"], "--allow-overage: both accounts serve")


def test_accounts_dead_login_leaves_the_others_serving():
    # a's token has expired and its refresh token is not the one the token endpoint knows: invalid_grant, dead.
    accts = {"a": {"oauth": {"refresh_token": "sk-ant-ort01-not-this-one"}}, "b": {}}
    with PoolEnv(accounts=accts, expires_in_s={"a": -60, "b": 8 * 3600}) as env:
        rs = parallel(lambda i: send(env), 6)
        eq([r.status for r in rs], [200] * 6, "requests while a's login dies")
        eq({a for a, _ in served(env)}, {"b"}, "only b served")
        wait_until(lambda: accounts(env)["a"]["login"]["ready"] is False and
                   "invalid_grant" in (accounts(env)["a"]["login"]["reason"] or "") or None, 10,
                   "a's login reported dead in /usage")
        r = http_request(env.proxy.port, "GET", "/readyz")
        eq(r.status, 200, f"/readyz while b can sign ({r.body!r})")
        eq(metric(env, "anthropic_proxy_oauth_ready", '{account="a"}'), 0, "a's login (metric)")
        eq(metric(env, "anthropic_proxy_oauth_ready", '{account="b"}'), 1, "b's login (metric)")


def test_accounts_sdk_through_a_two_account_pool():
    accts = {"a": {"modes": [{"kind": "429", "window": "5h", "count": 1}]}, "b": {}}
    with PoolEnv(accounts=accts) as env:
        out = run_sdk_client(env.proxy.url, SONNET)
        for kind in ("create", "stream"):
            ok(out[kind]["text"].startswith("Hello"), f"SDK {kind}: text {out[kind]['text']!r}")
        eq(served(env), [("a", 429), ("b", 200), ("b", 200)], "the SDK's two requests: one failover, then b")
        eq(env.proxy.usage()["routing"]["failovers"], 1, "failovers")


def test_accounts_claude_code_cli_through_a_two_account_pool():
    from test_claude_code import cli_result, ensure_claude_code, run_cli
    exe = ensure_claude_code()
    accts = {"a": {"modes": [{"kind": "429", "window": "5h", "count": 1}]}, "b": {}}
    with PoolEnv(accounts=accts) as env:
        rc, stdout, stderr, _ = run_cli(exe, env.proxy.url, "pool")
        out = cli_result(rc, stdout, stderr, "CLI -> pool")
        ok((out.get("result") or "").strip(), f"the CLI printed an answer: {out}")
        log = env.mock.routing()
        eq([(e["account"], e["status"]) for e in log], [("a", 429), ("b", 200)],
           "the CLI's request: failover from a to b, one answer")
        sid = log[0]["session_id"]
        ok(sid and log[1]["session_id"] == sid, f"the CLI's session id reached the mock both times: {log}")
        u = env.proxy.usage()
        eq(u["routing"]["pinned_conversations"], 1, "the CLI's conversation is pinned")
        eq(u["routing"]["last"]["account"], "b", "pinned to b")


def test_accounts_polls_spread_and_state_file_per_account():
    import tempfile
    state = os.path.join(tempfile.mkdtemp(prefix="ap-state-"), "state.json")
    with PoolEnv(accounts=("a", "b", "c"), poll="1s", proxy_args=["--state-file", state]) as env:
        wait_until(lambda: all(len(env.mock.account_stats(n)["usage_poll_times"]) >= 3 for n in "abc") or None, 10,
                   "three polls of every account")
        times = sorted(t for n in "abc" for t in env.mock.account_stats(n)["usage_poll_times"])
        gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
        # --poll-interval 1s over three accounts: sent at least 333 ms apart, never in one burst (a burst arrives
        # within milliseconds; arrival times at the mock jitter by some tens of ms, more under sanitizers).
        ok(min(gaps) >= 0.2 and sum(gaps) / len(gaps) >= 0.3, f"gaps between the accounts' polls: {gaps}")
        for i in range(6):
            eq(send(env).status, 200, f"request {i}")
        before = {n: accounts(env)[n]["windows"]["5h"]["tokens"]["requests"] for n in "abc"}
        eq(sum(before.values()), 6, f"answers counted per account: {before}")
        env.stop_proxy()
        doc = json.load(open(state))
        eq(sorted(doc.get("accounts") or {}), ["a", "b", "c"], "the state file keeps every account")
        env.start_proxy()
        after = {n: accounts(env)[n]["windows"]["5h"]["tokens"]["requests"] for n in "abc"}
        eq(after, before, "per-account counters after a restart")
