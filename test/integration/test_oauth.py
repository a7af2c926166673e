"""OAuth credential lifecycle (src/README.md §6): refresh ahead of / after expiry with one refresh in
flight, replay after an upstream 401 "expired", adopting tokens another process rotated, atomic 0600
write-back that keeps unknown keys (also under SIGKILL), --follow-credentials, token-URL fallback,
invalid_grant, /readyz, SIGHUP. Tokens must never reach logs, /readyz or error bodies.

Every test runs the mock in OAuth validation mode (only currently valid access tokens pass) with a
Claude Code credentials file; see harness.OAuthEnv."""

import collections
import json
import os
import random
import re
import signal
import time

from harness import (CTX, TOKEN, EXPIRED_MESSAGE, EXTRA_CRED_KEYS, MSG_BODY, STREAM_BODY, Env, OAuthEnv, api_error,
                     api_request, assert_no_secrets, bearer_of, contains, credentials_doc, eq, fail, file_mode,
                     free_port, new_token_pair, now_ms, ok, parallel, parse_sse, read_credentials, sha256,
                     wait_until, write_credentials)

HOUR_MS = 3600 * 1000


def issued(env, i=0):
    """The i-th token pair the mock issued (fails the test if there is none)."""
    iss = env.mock.oauth_state()["issued"]
    ok(len(iss) > i, f"the mock issued {len(iss)} token pair(s); expected at least {i + 1}")
    return iss[i]["access_token"], iss[i]["refresh_token"]


def error_shape(r, what, tokens):
    """A proxy/upstream error in the API error shape, with no token in it. Returns (type, message)."""
    typ, msg = api_error(r, what)
    assert_no_secrets(r.body.decode("utf-8", "replace"), tokens, f"{what} body")
    return typ, msg


def readyz(env):
    r = env.proxy.get("/readyz")
    assert_no_secrets(r.body.decode("utf-8", "replace"), env.all_tokens(), "/readyz body")
    return r


def ready_json(r):
    try:
        obj = json.loads(r.body)
    except ValueError:
        fail(f"/readyz body is not JSON (status {r.status}): {r.body[:300]!r}")
    ok(isinstance(obj, dict), f"/readyz body is not an object: {obj!r}")
    return obj


def bearer_now(env):
    """Sends one request; returns the bearer the mock saw for it (None if it did not succeed)."""
    r = api_request(env.proxy.port, timeout=10)
    if r.status != 200:
        return None
    return bearer_of(env.mock.last_request())


def rotated_doc(path, access, refresh, expires_at_ms):
    """The file as Claude Code rewrites it after its own refresh: same keys, new token fields."""
    doc = read_credentials(path)
    doc["claudeAiOauth"].update(accessToken=access, refreshToken=refresh, expiresAt=expires_at_ms)
    return doc


# ---------------------------------------------------------------------------------------------------------------
# /readyz
# ---------------------------------------------------------------------------------------------------------------

def test_readyz_ready_with_valid_credentials():
    with OAuthEnv() as env:
        r = readyz(env)
        eq(r.status, 200, f"/readyz status with a valid credentials file (body {r.body[:300]!r})")
        eq(ready_json(r).get("status"), "ready", "/readyz status field")
        r = api_request(env.proxy.port)
        eq(r.status, 200, f"request status ({r.body[:300]!r})")
        eq(bearer_of(env.mock.last_request()), env.access0, "upstream bearer = the file's access token")
        eq(env.refreshes(), 0, "token endpoint calls with a token valid for 8 h")


def test_readyz_503_without_credentials():
    with Env(token=None) as env:  # HOME is an empty temp dir, no CLAUDE_CODE_OAUTH_TOKEN, no --credentials
        r = env.proxy.get("/readyz")
        eq(r.status, 503, f"/readyz status without credentials (body {r.body[:300]!r})")
        obj = ready_json(r)
        ok(isinstance(obj.get("reason"), str) and obj["reason"].strip(),
           f"/readyz 503 needs a non-empty string 'reason', got {obj!r}")
        ok(obj.get("status") != "ready", f"/readyz 503 must not say ready: {obj!r}")
        r = api_request(env.proxy.port)
        eq(r.status, 503, "request without credentials")
        api_error(r, "503 without credentials")
        eq(env.mock.stats()["requests"], 0, "requests that reached the mock")


# ---------------------------------------------------------------------------------------------------------------
# Refresh when expired: one refresh for many waiting requests
# ---------------------------------------------------------------------------------------------------------------

def test_concurrent_requests_share_one_refresh():
    # The file's token expired a minute ago; the token endpoint takes 400 ms: 50 requests arrive meanwhile.
    with OAuthEnv(expires_in_s=-60, mock_oauth={"delay_ms": 400}) as env:
        results = parallel(lambda i: api_request(env.proxy.port, timeout=20), 50, timeout=40)
        statuses = [r.status if hasattr(r, "status") else f"{type(r).__name__}: {r}" for r in results]
        eq(dict(collections.Counter(statuses)), {200: 50}, "statuses of 50 concurrent requests")
        st = env.mock.stats()
        eq(st["refreshes"], 1, "token endpoint calls for 50 concurrent requests with an expired token")
        eq(st["refresh_tokens_received"], [env.refresh0], "refresh tokens sent")
        new_access, _ = issued(env)
        bearers = collections.Counter(bearer_of(r) for r in env.api_records())
        eq(dict(bearers), {new_access: 50},
           "bearers upstream (every request waits for the refresh; none goes out with the expired token)")
        eq(readyz(env).status, 200, "/readyz after the refresh")


# ---------------------------------------------------------------------------------------------------------------
# Upstream 401 "OAuth token has expired"
# ---------------------------------------------------------------------------------------------------------------

def test_upstream_401_expired_refreshes_and_replays():
    body = json.dumps({"model": "claude-sonnet-4-5-20250929", "max_tokens": 32,
                       "messages": [{"role": "user", "content": "replay me byte for byte ✓ " + "z" * 3000}]},
                      ensure_ascii=False).encode()
    with OAuthEnv() as env:
        eq(api_request(env.proxy.port).status, 200, "first request")
        eq(env.refreshes(), 0, "token endpoint calls before the upstream says expired")

        env.mock.oauth(expire_now=True)  # the access token dies early (revoked server-side)
        r = api_request(env.proxy.port, body=body, timeout=20)
        eq(r.status, 200, f"status after the upstream said 'expired' (the client must not see that 401): "
                          f"{r.body[:300]!r}")
        eq(env.refreshes(), 1, "token endpoint calls")
        recs = env.api_records()[1:]
        eq([(bearer_of(x) == env.access0, x["response"]["status"]) for x in recs], [(True, 401), (False, 200)],
           "upstream attempts: (sent with the old token?, status)")
        new_access, _ = issued(env)
        eq(bearer_of(recs[1]), new_access, "bearer of the replay")
        eq((recs[1]["body_length"], recs[1]["body_sha256"]), (len(body), sha256(body)), "replayed body")
        eq(r.body, env.mock.response_body(recs[1]), "client body = the replay's answer")

        # A streaming request is replayed the same way (the 401 comes before any stream byte).
        env.mock.oauth(expire_now=True)
        r = api_request(env.proxy.port, body=STREAM_BODY, timeout=20)
        eq(r.status, 200, f"streaming request after 'expired' ({r.body[:300]!r})")
        names = [e for e, _ in parse_sse(r.body.decode("utf-8", "replace"))]
        ok(names[:1] == ["message_start"] and names[-1:] == ["message_stop"], f"SSE events: {names}")
        eq(env.refreshes(), 2, "token endpoint calls after the second expiry")
        eq(bearer_of(env.mock.last_request()), issued(env, 1)[0], "bearer of the streaming replay")

        # Later requests use the new token straight away.
        eq(api_request(env.proxy.port).status, 200, "request after the refreshes")
        eq(bearer_of(env.mock.last_request()), issued(env, 1)[0], "bearer after the refreshes")
        eq(env.refreshes(), 2, "token endpoint calls (no more)")


def test_upstream_401_with_failing_token_endpoint():
    with OAuthEnv() as env:
        env.mock.oauth(fail_status=500, expire_now=True)   # fails until cleared
        r = api_request(env.proxy.port, timeout=25)
        ok(r.status in (401, 503), f"status when the token is expired and the refresh fails: expected 401 or 503, "
                                   f"got {r.status} {r.body[:300]!r}")
        error_shape(r, f"{r.status} while the token endpoint fails", env.all_tokens())
        n = env.refreshes()
        ok(1 <= n <= 5, f"token endpoint calls while it fails: expected 1..5, got {n}")
        eq(env.mock.stats()["invalid_grants"], 0, "invalid_grant answers")

        # The endpoint recovers: the login is not dead, a later request gets through.
        env.mock.oauth(fail_status=None)
        wait_until(lambda: api_request(env.proxy.port, timeout=15).status == 200, 15,
                   "a request to succeed once the token endpoint works again", interval=0.5)
        new_access, _ = issued(env)
        eq(bearer_of(env.mock.last_request()), new_access, "bearer after recovery")
        doc = wait_until(lambda: (d := read_credentials(env.path))["claudeAiOauth"]["accessToken"] == new_access
                         and d, 5, "the file to hold the new token")
        eq(doc["claudeAiOauth"]["refreshToken"], issued(env)[1], "refresh token in the file")


def test_second_401_after_refresh_is_passed_through():
    with OAuthEnv() as env:
        # The token dies, and the one the refresh hands out is rejected as expired too.
        env.mock.oauth(expire_now=True, issue_expired=True)
        r = api_request(env.proxy.port, timeout=20)
        eq(r.status, 401, f"status when the refreshed token is rejected too ({r.body[:300]!r})")
        typ, msg = error_shape(r, "second 401", env.all_tokens())
        eq((typ, msg), ("authentication_error", EXPIRED_MESSAGE), "the upstream's 401, passed through")
        recs = env.api_records()
        new_access, _ = issued(env)
        eq([bearer_of(x) for x in recs], [env.access0, new_access], "upstream attempts (exactly one replay)")
        eq(r.body, env.mock.response_body(recs[-1]), "client body = the second 401's body")
        eq(env.refreshes(), 1, "token endpoint calls")
        time.sleep(0.5)  # no refresh/replay loop may follow in the background
        eq(env.refreshes(), 1, "token endpoint calls 0.5 s later (no loop)")
        eq(len(env.api_records()), 2, "upstream attempts 0.5 s later (no loop)")


# ---------------------------------------------------------------------------------------------------------------
# Another process (Claude Code) rotates the tokens in the file
# ---------------------------------------------------------------------------------------------------------------

def test_rotation_by_another_process_is_adopted():
    # The file's token is due for refresh in ~3 s (expiry 303 s away, default margin 5 m).
    with OAuthEnv(expires_in_s=303) as env:
        eq(api_request(env.proxy.port).status, 200, "first request")
        eq(bearer_of(env.mock.last_request()), env.access0, "bearer before the rotation")

        # Claude Code refreshes on its own and rewrites the file: refresh0 is now dead.
        a1 = env.mock.refresh(env.refresh0)
        write_credentials(env.path, rotated_doc(env.path, a1["access_token"], a1["refresh_token"],
                                                now_ms() + 8 * HOUR_MS))
        # When the proxy's refresh comes due it must take the file's tokens, not spend refresh0.
        wait_until(lambda: bearer_now(env) == a1["access_token"], 8,
                   "the proxy to use the access token another process wrote (timer path)", interval=0.25)
        st = env.mock.stats()
        eq(st["refresh_tokens_received"].count(env.refresh0), 1,
           f"times the stale refresh token was sent (only the test's own call may send it); "
           f"results: {[(x['status'], x['error']) for x in st['refresh_results']]}")
        eq(st["invalid_grants"], 0, "invalid_grant answers")

        # Second rotation, then the upstream rejects the token the proxy holds: the 401 path re-reads the file.
        cur = read_credentials(env.path)["claudeAiOauth"]["refreshToken"]
        a2 = env.mock.refresh(cur)
        write_credentials(env.path, rotated_doc(env.path, a2["access_token"], a2["refresh_token"],
                                                now_ms() + 8 * HOUR_MS))
        env.mock.oauth(expire_tokens=[a1["access_token"]])
        r = api_request(env.proxy.port, timeout=20)
        eq(r.status, 200, f"request after the second rotation + 401 ({r.body[:300]!r})")
        eq(bearer_of(env.mock.last_request()), a2["access_token"], "bearer after the 401 (the file's newest)")
        st = env.mock.stats()
        for stale in (env.refresh0, cur):
            eq(st["refresh_tokens_received"].count(stale), 1,
               f"times a rotated-away refresh token was sent; results: "
               f"{[(x['status'], x['error']) for x in st['refresh_results']]}")
        eq(st["invalid_grants"], 0, "invalid_grant answers")
        # Whatever the proxy did, the file ends up holding the live login (the mock's one valid refresh token).
        wait_until(lambda: read_credentials(env.path)["claudeAiOauth"]["refreshToken"]
                   == env.mock.oauth_state()["refresh_token"], 3, "the file to hold the live refresh token")


# ---------------------------------------------------------------------------------------------------------------
# Write-back
# ---------------------------------------------------------------------------------------------------------------

def check_cred_doc(doc, base, what):
    """Everything but the three token fields is as in `base`; the token fields are well-typed."""
    eq(sorted(doc), sorted(base), f"{what}: top-level keys")
    for k in EXTRA_CRED_KEYS:
        eq(doc[k], base[k], f"{what}: {k} kept exactly")
    o, b = doc["claudeAiOauth"], base["claudeAiOauth"]
    ok(isinstance(o, dict), f"{what}: claudeAiOauth is not an object: {o!r}")
    for k in b:
        if k not in ("accessToken", "refreshToken", "expiresAt"):
            eq(o.get(k), b[k], f"{what}: claudeAiOauth.{k} kept")
    ok(isinstance(o.get("accessToken"), str) and o["accessToken"].startswith("sk-ant-oat01-"),
       f"{what}: accessToken {str(o.get('accessToken'))[:20]!r}...")
    ok(isinstance(o.get("refreshToken"), str) and o["refreshToken"].startswith("sk-ant-ort01-"),
       f"{what}: refreshToken {str(o.get('refreshToken'))[:20]!r}...")
    ok(isinstance(o.get("expiresAt"), int) and not isinstance(o["expiresAt"], bool),
       f"{what}: expiresAt must be an integer (unix ms), got {o.get('expiresAt')!r}")


def test_credentials_file_written_back_after_refresh():
    with OAuthEnv(expires_in_s=-60, mock_oauth={"expires_in": 7200}) as env:
        t0 = now_ms()
        r = api_request(env.proxy.port, timeout=20)
        eq(r.status, 200, f"request with an expired token in the file ({r.body[:300]!r})")
        t1 = now_ms()
        a1, r1 = issued(env)
        doc = wait_until(lambda: (d := read_credentials(env.path))["claudeAiOauth"]["accessToken"] == a1 and d,
                         5, "the refreshed tokens in the credentials file")
        check_cred_doc(doc, env.doc, "credentials file after refresh")
        eq(file_mode(env.path), 0o600, "credentials file mode")
        o = doc["claudeAiOauth"]
        eq(o["refreshToken"], r1, "refresh token in the file (the rotated one)")
        ok(t0 + 7200 * 1000 - 5000 <= o["expiresAt"] <= t1 + 7200 * 1000 + 5000,
           f"expiresAt = now + expires_in (ms): expected within [{t0 + 7200000 - 5000}, {t1 + 7200000 + 5000}], "
           f"got {o['expiresAt']}")
        ok(o["expiresAt"] > now_ms(), "expiresAt is in the future")
        stray = [f for f in os.listdir(env.dir) if f != ".credentials.json" and "lock" not in f.lower()]
        eq(stray, [], "files left next to the credentials file after a clean write")
        eq(env.mock.stats()["refresh_tokens_received"], [env.refresh0], "refresh tokens sent")


def test_sigkill_during_refresh_never_corrupts_file():
    # Tokens live 2 s and are refreshed 1.9 s before expiry: the proxy refreshes and rewrites the file about
    # every 100 ms. It is SIGKILLed at random moments, 30 times; the file must always be whole.
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    iterations = 30
    with OAuthEnv(expires_in_s=1, start_proxy=False, proxy_args=["--refresh-margin", "1900ms"],
                  mock_oauth={"expires_in": 2}) as env:
        seen = {env.access0}
        for i in range(iterations):
            what = f"credentials file before run {i} (seed {seed})"
            if not os.path.exists(env.path):
                fail(f"{what}: missing; directory holds {sorted(os.listdir(env.dir))}")
            doc = read_credentials(env.path, what)
            check_cred_doc(doc, env.doc, what)
            eq(file_mode(env.path), 0o600, f"{what}: mode")
            o = doc["claudeAiOauth"]
            seen.add(o["accessToken"])
            # Whatever the last run managed to write is what a restart starts from: make the mock agree with it
            # (a kill between the mock's rotation and the write leaves the file one rotation behind).
            env.mock.oauth(refresh_token=o["refreshToken"], access_tokens=[o["accessToken"]],
                           delay_ms=rng.choice([0, 0, 2, 10, 30]))
            p = env.start_proxy()
            time.sleep(rng.uniform(0.0, 0.35))  # the random moment of the crash
            p.kill()
            if i < iterations - 1:  # keep only the last run's log in a failure report
                CTX.logs = [x for x in CTX.logs if x[1] != p.log_path]
        what = f"credentials file after the last kill (seed {seed})"
        ok(os.path.exists(env.path), f"{what}: missing")
        doc = read_credentials(env.path, what)
        check_cred_doc(doc, env.doc, what)
        eq(file_mode(env.path), 0o600, f"{what}: mode")
        seen.add(doc["claudeAiOauth"]["accessToken"])
        refreshes = env.mock.stats()["refreshes"]
        ok(len(seen) - 1 >= 10,
           f"only {len(seen) - 1} refreshed token(s) reached the file over {iterations} runs "
           f"({refreshes} token endpoint calls): the kills never met a refresh-and-write")


# ---------------------------------------------------------------------------------------------------------------
# --follow-credentials, SIGHUP
# ---------------------------------------------------------------------------------------------------------------

def test_follow_credentials_picks_up_file_changes():
    with OAuthEnv(proxy_args=["--follow-credentials"]) as env:
        eq(bearer_now(env), env.access0, "bearer at start")
        for n, atomic in ((1, True), (2, False)):  # Claude Code-style rename, then an in-place rewrite
            access, refresh = new_token_pair(f"cc{n}")
            env.secrets += [access, refresh]
            env.mock.oauth(access_tokens=[access])
            doc = rotated_doc(env.path, access, refresh, now_ms() + 8 * HOUR_MS)
            write_credentials(env.path, doc, atomic=atomic)
            wait_until(lambda: bearer_now(env) == access, 5,
                       f"the proxy to use the token written to the file ({'rename' if atomic else 'in place'})",
                       interval=0.2)
            eq(read_credentials(env.path), doc, "the proxy never writes the file in follow mode")
        eq(env.refreshes(), 0, "token endpoint calls in follow mode")

        # The token dies upstream and the file has nothing newer: the 401 reaches the client, no refresh.
        env.mock.oauth(expire_now=True)
        r = api_request(env.proxy.port, timeout=20)
        ok(r.status in (401, 503), f"status with a dead token in follow mode: {r.status} {r.body[:300]!r}")
        error_shape(r, "follow mode, dead token", env.all_tokens())
        eq(env.refreshes(), 0, "token endpoint calls in follow mode")


def test_sighup_rereads_credentials():
    with OAuthEnv() as env:
        eq(bearer_now(env), env.access0, "bearer at start")
        access, refresh = new_token_pair("relogin")
        env.secrets += [access, refresh]
        env.mock.oauth(access_tokens=[access], refresh_token=refresh)
        write_credentials(env.path, rotated_doc(env.path, access, refresh, now_ms() + 8 * HOUR_MS))
        env.proxy.send_signal(signal.SIGHUP)
        wait_until(lambda: bearer_now(env) == access, 5, "the proxy to use the file's new token after SIGHUP",
                   interval=0.2)
        eq(env.refreshes(), 0, "token endpoint calls")


# ---------------------------------------------------------------------------------------------------------------
# Token URLs, invalid_grant
# ---------------------------------------------------------------------------------------------------------------

def test_token_url_fallback():
    with OAuthEnv(expires_in_s=-60, start_proxy=False) as env:
        closed = f"https://localhost:{free_port()}/v1/oauth/token"
        missing = f"https://localhost:{env.mock.port}/nope/v1/oauth/token"
        env.token_urls = [closed, missing, env.mock.token_url]
        env.start_proxy()
        r = api_request(env.proxy.port, timeout=25)
        eq(r.status, 200, f"request after refreshing via the third token URL ({r.body[:300]!r})")
        eq(env.refreshes(), 1, "calls that reached the working token endpoint")
        recs = env.mock.requests(kind=None)
        tried_404 = [x for x in recs if x["path"] == "/nope/v1/oauth/token"]
        ok(tried_404 and tried_404[0]["response"]["status"] == 404,
           f"the second URL (a 404) was tried: {[(x['method'], x['path']) for x in recs]}")
        token_call = [x for x in recs if x.get("kind") == "oauth_token"][0]
        ok(tried_404[0]["seq"] < token_call["seq"], "URLs tried in order (the 404 one before the working one)")
        eq(bearer_of(env.mock.last_request()), issued(env)[0], "bearer after the refresh")


def test_invalid_grant_marks_login_dead_and_keeps_file():
    # The file's refresh token is unknown to the token endpoint (revoked, or rotated by a process that died
    # before writing): invalid_grant, and no newer file to adopt.
    with OAuthEnv(expires_in_s=-60, refresh_valid=False) as env:
        with open(env.path, "rb") as f:
            original = f.read()
        r = api_request(env.proxy.port, timeout=25)
        ok(r.status in (401, 503), f"request status with a dead login: expected 401 or 503, got {r.status} "
                                   f"{r.body[:300]!r}")
        error_shape(r, "dead login", env.all_tokens())
        rz = wait_until(lambda: (x := readyz(env)).status == 503 and
                        re.search(r"log ?in", str(ready_json(x).get("reason", "")), re.I) and x, 5,
                        "/readyz 503 with a reason mentioning login")
        ok(isinstance(ready_json(rz)["reason"], str), "reason is a string")
        st = env.mock.stats()
        ok(1 <= st["refreshes"] <= 2, f"token endpoint calls: expected 1 or 2, got {st['refreshes']}")
        eq(st["invalid_grants"], st["refreshes"], "every token call got invalid_grant")
        with open(env.path, "rb") as f:
            eq(f.read(), original, "credentials file after invalid_grant (must not be wiped or rewritten)")

        # A dead login stays dead: more requests do not hammer the token endpoint.
        n = st["refreshes"]
        r = api_request(env.proxy.port, timeout=25)
        ok(r.status in (401, 503), f"second request with a dead login: {r.status}")
        error_shape(r, "dead login (second request)", env.all_tokens())
        eq(env.refreshes(), n, "token endpoint calls after a second request")
        eq(env.mock.stats()["requests"], 0, "requests that reached the API with a dead login")

        # The user logs in again (a new file) and tells the proxy (SIGHUP): ready again.
        access, refresh = new_token_pair("relogin")
        env.secrets += [access, refresh]
        env.mock.oauth(access_tokens=[access], refresh_token=refresh)
        write_credentials(env.path, credentials_doc(access, refresh, now_ms() + 8 * HOUR_MS))
        env.proxy.send_signal(signal.SIGHUP)
        wait_until(lambda: readyz(env).status == 200, 5, "/readyz 200 after a new login + SIGHUP")
        eq(bearer_now(env), access, "bearer after the new login")
        contains(read_credentials(env.path)["claudeAiOauth"]["accessToken"], "relogin", "file keeps the new login")


def test_sighup_picks_up_a_login_made_after_start():
    """Started with no credentials at all; `claude /login` writes the file later; SIGHUP makes it usable."""
    import signal
    with Env(token=None) as env:
        r = api_request(env.proxy.port)
        eq(r.status, 503, "no credentials yet")
        eq(env.proxy.get("/readyz").status, 503, "/readyz without credentials")
        d = os.path.join(env.proxy.home, ".claude")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, ".credentials.json")
        with open(path, "w") as f:
            json.dump({"claudeAiOauth": {"accessToken": TOKEN, "refreshToken": "sk-ant-ort01-later",
                                         "expiresAt": int(time.time() * 1000) + 3600 * 1000}}, f)
        os.chmod(path, 0o600)
        env.proxy.send_signal(signal.SIGHUP)
        wait_until(lambda: env.proxy.get("/readyz").status == 200, 3, "/readyz after SIGHUP")
        r = api_request(env.proxy.port)
        eq(r.status, 200, "proxied after SIGHUP")


def test_unreadable_credentials_file_is_left_alone():
    # The file grows past what the proxy reads (1 MB) while its refresh is out: unreadable is not empty, so the
    # rotated login stays in memory and the file keeps everything it holds (it was once replaced by the login alone).
    with OAuthEnv(expires_in_s=-60, mock_oauth={"hold_ms": 3000}) as env:
        doc = read_credentials(env.path)
        doc["padding"] = "x" * (1024 * 1024 + 16)
        write_credentials(env.path, doc)
        r = api_request(env.proxy.port, timeout=20)
        eq(r.status, 200, f"request once the held refresh answered ({r.body[:200]!r})")
        wait_until(lambda: any(e.get("event") in ("credentials_not_written", "credentials_write_failed")
                               or e.get("msg", "").startswith("wrote") for e in env.proxy.log_json())
                   or len(read_credentials(env.path).get("padding", "")) == 0, 5, "the write-back decided")
        after = read_credentials(env.path)
        eq(len(after.get("padding", "")), 1024 * 1024 + 16, "the file's other keys, kept")
        eq(after["claudeAiOauth"]["refreshToken"], env.refresh0, "the file's refresh token (untouched)")
        ok(any(e.get("event") == "credentials_not_written" for e in env.proxy.log_json()),
           "the credentials_not_written log line")
        eq(bearer_now(env), issued(env)[0], "the rotated access token serves from memory")


def test_late_401_after_a_refresh_replays_without_another():
    # Two requests signed with a token the API has revoked: one 401 arrives at once and starts the refresh, the
    # other 1.5 s later, when the refresh is done. The late one is replayed with the new token; it must not start a
    # second refresh (it once did, rotating the login again for nothing).
    with OAuthEnv() as env:
        eq(api_request(env.proxy.port).status, 200, "first request")
        env.mock.oauth(expire_now=True)
        rs = parallel(lambda i: api_request(env.proxy.port, scenario="delay:1500" if i == 0 else None, timeout=20), 2)
        eq([r.status for r in rs], [200, 200], f"statuses ({[r.body[:200] for r in rs]})")
        eq(env.refreshes(), 1, "token endpoint calls")
        new_access, _ = issued(env)
        eq(sorted((bearer_of(x) == env.access0, x["response"]["status"]) for x in env.api_records()[1:]),
           [(False, 200), (False, 200), (True, 401), (True, 401)], "upstream attempts: (old token?, status)")
        eq(bearer_of(env.mock.last_request()), new_access, "bearer of the late replay")


def test_failing_token_endpoint_is_not_asked_once_per_request():
    # The token has expired and the token endpoint fails: traffic starts at most one refresh per 5 s (the timer
    # retries with back-off), and the requests in between get their 503 at once instead of each asking again.
    with OAuthEnv() as env:
        env.mock.oauth(fail_status=500, expire_now=True)
        t0 = time.monotonic()
        statuses = [api_request(env.proxy.port, timeout=25).status for _ in range(6)]
        took = time.monotonic() - t0
        ok(all(s in (401, 503) for s in statuses), f"statuses while the refresh fails: {statuses}")
        ok(took < 4.5, f"six requests took {took:.1f} s: the ones after the first failure were answered at once")
        eq(env.refreshes(), 1, "token endpoint calls for six requests within 5 s")
        env.mock.oauth(fail_status=None)
        wait_until(lambda: api_request(env.proxy.port, timeout=15).status == 200, 15,
                   "a request to succeed once the token endpoint works again", interval=0.5)
        eq(env.refreshes(), 2, "token endpoint calls: one more, after the pause")
