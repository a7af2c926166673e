"""A fleet of proxies sharing logins, windows, counters and budgets through Redis (README "A fleet of proxies").

Every test runs a real redis-server (Debian's) on 127.0.0.1 with a temporary directory, the multi-account mock
in OAuth validation mode, and several proxy replicas with --redis, each with its own copy of the credentials
file (as pods would have) or none at all."""

import json
import os
import shutil
import socket
import subprocess
import threading
import time

from harness import (CTX, PoolEnv, Proxy, api_error, bearer_of, eq, fail, free_port, http_request, ok, parallel,
                     read_credentials, wait_until)

SONNET = "claude-sonnet-4-5-20250929"
BODY = json.dumps({"model": SONNET, "max_tokens": 64, "messages": [{"role": "user", "content": "Say hello."}]}).encode()
HEADERS = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]
WINDOWS = {"a": {"windows": {"5h": {"utilization": 0.2, "resets_in": 3600}, "7d": {"utilization": 0.1,
                                                                                     "resets_in": 5 * 86400}}}}


class Redis:
    """redis-server on 127.0.0.1:PORT (the same port across restarts), persistence off, in a temp directory."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = CTX.tmpdir("redis-")
        self.proc = None
        self.log_path = os.path.join(self.dir, "redis.log")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        exe = shutil.which("redis-server")
        ok(exe, "redis-server is installed (deps/install.sh test)")
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                                      "--save", "", "--appendonly", "no", "--logfile", self.log_path],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        CTX.live.append(self)
        CTX.logs.append(("redis", self.log_path))
        wait_until(lambda: self._ping(), 10, "redis-server answers PING")
        return self

    def _ping(self):
        try:
            return self.cmd("PING") == "PONG"
        except OSError:
            return False

    def cmd(self, *args):
        """One command over RESP; returns str, int, list or None."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as s:
            out = f"*{len(args)}\r\n".encode()
            for a in args:
                a = str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            f = s.makefile("rb")
            return self._read(f)

    def _read(self, f):
        line = f.readline()
        if not line:
            raise OSError("redis closed the connection")
        kind, rest = line[:1], line[1:].rstrip(b"\r\n")
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise AssertionError(f"redis error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:n]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read(f) for _ in range(n)]
        raise OSError(f"bad RESP line {line!r}")

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None
        if self in CTX.live:
            CTX.live.remove(self)
        return []


class FleetEnv(PoolEnv):
    """PoolEnv with one account "a" (or `accounts`), a redis-server, and no proxy started: replica() starts one
    more proxy with --redis and its own copy of the credentials file (files=False: --account a alone)."""

    def __init__(self, accounts=WINDOWS, expires_in_s=8 * 3600, proxy_args=(), poll="off"):
        super().__init__(accounts=accounts, expires_in_s=expires_in_s, proxy_args=proxy_args, poll=poll,
                         start_proxy=False)
        self.redis = None
        self.replicas = []

    def __enter__(self):
        self.redis = Redis().start()
        try:
            super().__enter__()
        except BaseException:
            self.redis.stop()
            raise
        return self

    def replica(self, files=True, extra=(), wait_ready=True):
        n = len(self.replicas) + 1
        args = []
        for name, acc in self.pool.items():
            if files:
                d = CTX.tmpdir(f"replica{n}-{name}-")
                path = os.path.join(d, ".credentials.json")
                shutil.copyfile(acc.path, path)
                os.chmod(path, 0o600)
                args += ["--account", f"{name}={path}"]
            else:
                args += ["--account", name]
        args += ["--token-url", self.mock.token_url, "--redis", self.redis.url,
                 "--redis-prefix", "t:"]
        if self.poll is not None:
            args += ["--poll-interval", self.poll]
        p = Proxy(self.mock.url, args + self.proxy_args + list(extra), token=None, label=f"replica{n}",
                  wait_ready=wait_ready)
        self.replicas.append(p)
        self.proxies.append(p)
        self.proxy = p
        return p.start()

    def _stop(self):
        problems = super()._stop()
        if self.redis:
            self.redis.stop()
        return problems

    def token_results(self):
        return self.mock.stats()["refresh_results"]


def send(proxy, body=BODY, headers=HEADERS, timeout=40):
    return http_request(proxy.port, "POST", "/v1/messages", headers, body, timeout=timeout)


def fleet(proxy):
    u = proxy.usage()
    ok("fleet" in u, f"/usage has a fleet key: {sorted(u)}")
    return u["fleet"]


def metric(proxy, name, labels=""):
    text = proxy.get("/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith(name + labels + " ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def decided(results):
    """Token calls the mock decided (not abandoned), by refresh token."""
    out = {}
    for r in results:
        if not r.get("abandoned"):
            out.setdefault(r["refresh_token"], []).append(r["status"])
    return out


def test_fleet_three_replicas_one_refresh_for_an_expired_login():
    with FleetEnv(expires_in_s=-60) as env:
        reps = [env.replica(wait_ready=True) for _ in range(3)]
        wait_until(lambda: all(fleet(p)["up"] for p in reps), 10, "every replica reaches Redis")

        def one(i):
            return send(reps[i % 3]).status

        statuses = parallel(one, 150, timeout=60)
        eq(sorted(set(statuses)), [200], "every one of 150 requests (50 per replica) answered 200")
        results = env.token_results()
        ok(len([r for r in results if r["status"] == 200]) == 1,
           f"exactly one refresh at the mock for the fleet: {results}")
        eq(env.mock.stats()["spent_refresh_reuse"], 0, "no spent refresh token presented again")
        versions = {fleet(p)["accounts"]["a"]["login_version"] for p in reps}
        eq(len(versions), 1, f"every replica holds the same login version: {versions}")
        adopted = sum(fleet(p)["accounts"]["a"]["logins_adopted"] for p in reps)
        ok(adopted >= 2, f"the two replicas that did not refresh adopted the new login ({adopted})")
        leases = [fleet(p)["leases"]["refresh"]["acquired"] for p in reps]
        eq(sum(leases), 1, f"one refresh lease taken in the fleet: {leases}")


def test_fleet_rotation_by_one_replica_is_adopted_without_a_401():
    with FleetEnv(accounts={"a": dict(WINDOWS["a"], oauth={"revoke_on_refresh": True})}) as env:
        r1, r2 = env.replica(), env.replica()
        wait_until(lambda: fleet(r1)["up"] and fleet(r2)["up"], 10, "both replicas reach Redis")
        eq(send(r1).status, 200, "r1 serves")
        eq(send(r2).status, 200, "r2 serves")
        # The API expires the token: r1 meets the 401, refreshes under the lease and publishes the pair; the mock
        # revokes the old access token on rotation, so r2 would meet a 401 with it.
        env.mock.account("a", oauth={"expire_now": True})
        eq(send(r1).status, 200, "r1's request after the expiry (401 -> refresh -> replay)")
        results = [s for s in env.token_results() if s["status"] == 200]
        eq(len(results), 1, "one refresh")
        new_access = results[0]["access_token"]
        for i in range(5):
            r = send(r2)
            eq(r.status, 200, f"r2 request {i} after r1 rotated the login")
        recs = [x for x in env.mock.requests() if x.get("account") == "a"]
        eq(bearer_of(recs[-1]), new_access, "r2 signs with the adopted token")
        eq(len([s for s in env.token_results() if s["status"] == 200]), 1, "r2 did not refresh itself")
        f2 = fleet(r2)["accounts"]["a"]
        ok(f2["logins_adopted"] >= 1 and f2["login_version"] == fleet(r1)["accounts"]["a"]["login_version"],
           f"r2 adopted r1's login: {f2}")
        # r2 writes the adopted pair into its own credentials file, so a restart without Redis still works.
        path = r2.args[r2.args.index("--account") + 1].split("=", 1)[1]
        eq(read_credentials(path)["claudeAiOauth"]["accessToken"], new_access, "r2's credentials file follows")


def test_fleet_replica_without_credentials_file_serves():
    with FleetEnv() as env:
        r1 = env.replica()
        r2 = env.replica(files=False)
        wait_until(lambda: r2.get("/readyz").status == 200, 10, "the file-less replica becomes ready")
        for i in range(3):
            eq(send(r2).status, 200, f"file-less replica request {i}")
        recs = [x for x in env.mock.requests() if x.get("account") == "a"]
        eq(bearer_of(recs[-1]), env.pool['a'].access0, "it signs with the login r1 seeded into Redis")
        f = fleet(r2)["accounts"]["a"]
        ok(f["logins_adopted"] >= 1 and f["login_version"] >= 1, f"r2's login came from the fleet: {f}")
        eq(send(r1).status, 200, "r1 still serves")
        eq(env.token_results(), [], "no refresh")


def test_fleet_file_less_replica_replays_an_expired_401():
    # A replica whose login comes from Redis alone meets "OAuth token has expired": it refreshes under the lease and
    # replays, as a replica with a file does (it once passed the 401 to the client).
    with FleetEnv() as env:
        env.replica()
        r2 = env.replica(files=False)
        wait_until(lambda: r2.get("/readyz").status == 200, 10, "the file-less replica becomes ready")
        eq(send(r2).status, 200, "first request")
        env.mock.account("a", oauth={"expire_now": True})
        resp = send(r2, timeout=20)
        eq(resp.status, 200, f"the file-less replica's request after the expiry ({resp.body[:200]!r})")
        results = [s for s in env.token_results() if s["status"] == 200]
        eq(len(results), 1, "one refresh")
        recs = [x for x in env.mock.requests() if x.get("account") == "a"]
        eq(bearer_of(recs[-1]), results[0]["access_token"], "the replay signed with the new token")


def test_fleet_file_less_replica_not_ready_without_redis():
    with FleetEnv() as env:
        env.redis.stop()
        r = env.replica(files=False)
        rd = r.get("/readyz")
        eq(rd.status, 503, "not ready before any login arrived")
        resp = send(r, timeout=15)
        eq(resp.status, 503, "a request without a login")
        typ, msg = api_error(resp, "no-login error")
        ok("redis" in msg.lower() or "fleet" in msg.lower(), f"the error says the login comes from the fleet: {msg}")


def test_fleet_lease_holder_killed_mid_refresh():
    with FleetEnv(expires_in_s=-60, proxy_args=["--redis-lease", "5s", "--connect-timeout", "2s"]) as env:
        # The first token call is held 9 s before the mock decides it; its client will be dead by then.
        env.mock.account("a", oauth={"hold_ms": 9000, "hold_count": 1})
        r1 = env.replica()
        wait_until(lambda: env.mock.stats()["refreshes"] >= 1, 10, "r1 started the refresh (it holds the lease)")
        eq(fleet(r1)["leases"]["refresh"]["acquired"], 1, "r1 took the refresh lease")
        r2 = env.replica()
        r1.kill()
        t0 = time.monotonic()
        resp = send(r2, timeout=40)
        waited = time.monotonic() - t0
        eq(resp.status, 200, "r2 answers once the dead holder's lease expired and it refreshed")
        ok(waited < 30, f"within the lease and a refresh ({waited:.1f}s)")
        wait_until(lambda: any(r.get("abandoned") for r in env.token_results()), 12,
                   "the mock let go of the killed holder's call (its client was gone): nothing decided")
        results = env.token_results()
        d = decided(results)
        ok(all(len(v) == 1 for v in d.values()), f"no refresh token decided twice: {d}")
        eq(len([r for r in results if r["status"] == 200]), 1, "one refresh succeeded")
        eq(env.mock.stats()["spent_refresh_reuse"], 0, "no spent refresh token presented again")
        f2 = fleet(r2)
        ok(f2["leases"]["refresh"]["busy"] >= 1 and f2["leases"]["refresh"]["acquired"] == 1,
           f"r2 found the lease held, then took it: {f2['leases']}")


def test_fleet_sigterm_waits_for_the_refresh_in_flight_and_its_publish():
    # A token request that is out may already have rotated the login at the server: a shutdown that cut it off
    # would lose the new pair and leave the fleet an old refresh token that is spent.
    with FleetEnv(expires_in_s=-60) as env:
        env.mock.account("a", oauth={"hold_ms": 1500, "hold_count": 1})
        r1 = env.replica()
        wait_until(lambda: env.mock.stats()["refreshes"] >= 1, 10, "r1 sent the refresh (held at the mock)")
        t0 = time.monotonic()
        problems = r1.stop()  # SIGTERM, then SIGKILL after 5 s
        waited = time.monotonic() - t0
        eq(problems, [], "r1 stopped cleanly")
        ok(0.5 < waited < 4.5, f"r1 waited for the held token answer, then exited on its own ({waited:.1f}s)")
        ok("ignored SIGTERM" not in r1.log_text(), "no SIGKILL was needed")
        results = env.token_results()
        eq([(r["status"], bool(r.get("abandoned"))) for r in results], [(200, False)],
           "the one token call was answered and taken, not abandoned")
        log = r1.log_text()
        ok("token_refreshed" in log and "fleet_login_published" in log, "r1 refreshed and published before exiting")
        # A replica without the file starts from what Redis holds: the rotated login, usable without a refresh.
        r2 = env.replica(files=False)
        wait_until(lambda: r2.get("/readyz").status == 200, 10, "r2 read the login from Redis")
        eq(send(r2).status, 200, "r2 serves with the login r1 stored while shutting down")
        eq(env.mock.stats()["refreshes"], 1, "no second refresh: the stored login was the new one")
        eq(env.mock.stats()["spent_refresh_reuse"], 0, "no spent refresh token presented again")


def test_fleet_redis_away_no_refresh_then_one_when_back():
    with FleetEnv(expires_in_s=-60) as env:
        port = env.redis.port
        env.redis.stop()
        r1 = env.replica()
        r2 = env.replica()
        for p in (r1, r2):
            resp = send(p, timeout=15)
            eq(resp.status, 503, "an expired token while Redis is away: no refresh")
            typ, msg = api_error(resp, "503 while Redis is away")
            ok("redis" in msg.lower(), f"the error names Redis: {msg}")
        eq(env.mock.stats()["refreshes"], 0, "nobody refreshed without the lease")
        ok(metric(r1, "anthropic_proxy_redis_up") == 0, "anthropic_proxy_redis_up 0")
        wait_until(lambda: (metric(r1, "anthropic_proxy_redis_errors_total", '{kind="connect"}') or 0) >= 2, 5,
                   "refused connects counted (and retried)")
        env.redis = Redis(port).start()
        wait_until(lambda: fleet(r1)["up"] and fleet(r2)["up"], 15, "both replicas reconnect")
        wait_until(lambda: send(r1, timeout=15).status == 200 and send(r2, timeout=15).status == 200, 20,
                   "both serve once Redis is back")
        eq(len([r for r in env.token_results() if r["status"] == 200]), 1, "exactly one refresh")
        eq(metric(r2, "anthropic_proxy_redis_up"), 1.0, "anthropic_proxy_redis_up 1")


def test_fleet_redis_restart_under_load_keeps_traffic_and_resyncs_counters():
    with FleetEnv() as env:
        reps = [env.replica() for _ in range(3)]
        wait_until(lambda: all(fleet(p)["up"] for p in reps), 10, "replicas reach Redis")
        port = env.redis.port
        # Six clients send back to back through the three replicas while Redis is killed and, a second later,
        # started again (empty: it kept no files).
        statuses, stop = [], threading.Event()

        def client(i):
            n = 0
            while not stop.is_set() and n < 200:
                statuses.append(send(reps[(i + n) % 3]).status)
                n += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        env.redis.kill()
        wait_until(lambda: all(not fleet(p)["up"] for p in reps), 5, "every replica saw Redis go")
        time.sleep(0.5)
        env.redis = Redis(port).start()
        wait_until(lambda: all(fleet(p)["up"] for p in reps), 10, "every replica reconnected")
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        total = len(statuses)
        ok(total >= 30, f"load kept flowing: {total} requests")
        eq(sorted(set(statuses)), [200], f"no request lost while Redis died and came back ({total} requests)")
        served = [x for x in env.mock.requests() if x.get("account") == "a" and x.get("path") == "/v1/messages"]
        eq(len(served), total, "the mock served every request")

        def fleet_input():
            return [(((fleet(p)["accounts"]["a"]["windows"].get("5h") or {}).get("tokens") or {}).get("requests"))
                    for p in reps]

        wait_until(lambda: fleet_input() == [total] * 3, 15, f"every replica's fleet count re-synced to {total}")
        tokens = fleet(reps[0])["accounts"]["a"]["windows"]["5h"]["tokens"]
        own = [p.usage()["accounts"]["a"]["windows"]["5h"]["tokens"] for p in reps]
        for k in ("input", "output", "cache_creation", "cache_read"):
            eq(tokens[k], sum(o[k] for o in own), f"fleet {k} tokens = the replicas' own")
        ok(tokens["output"] > 0, "answers carried tokens")
        ok(sum(metric(p, "anthropic_proxy_redis_errors_total", '{kind="disconnect"}') or 0 for p in reps) >= 1,
           "the lost connection was counted")
        ok(metric(reps[0], "anthropic_proxy_fleet_window_tokens", '{account="a",window="5h",type="output"}')
           == tokens["output"], "the fleet gauge shows the fleet total")


def test_fleet_token_totals_equal_what_the_mock_served():
    with FleetEnv() as env:
        reps = [env.replica() for _ in range(3)]
        wait_until(lambda: all(fleet(p)["up"] for p in reps), 10, "replicas reach Redis")
        statuses = parallel(lambda i: send(reps[i % 3]).status, 45, timeout=60)
        eq(sorted(set(statuses)), [200], "all served")
        served = [x for x in env.mock.requests() if x.get("account") == "a" and x.get("path") == "/v1/messages"]
        want_out = 0
        for x in served:
            body = env.mock.response_body(x)
            try:
                want_out += json.loads(body)["usage"]["output_tokens"]
            except (ValueError, KeyError, TypeError):
                fail(f"a served answer without usage: {body[:200]!r}")

        def outs():
            return [(((fleet(p)["accounts"]["a"]["windows"].get("5h") or {}).get("tokens") or {}).get("output"))
                    for p in reps]

        wait_until(lambda: outs() == [want_out] * 3, 10, f"every replica's fleet output tokens = {want_out}")
        eq(fleet(reps[0])["accounts"]["a"]["windows"]["5h"]["replicas"], 3, "three replicas counted")
        wait_until(lambda: fleet(reps[0])["replicas"] == 3, 5, "three replicas seen")


def test_fleet_budgets_count_fleet_totals():
    d = CTX.tmpdir("clients-")
    path = os.path.join(d, "clients")
    with open(path, "w") as f:
        f.write("x sk-proxy-x-000001 5h=30%\ny sk-proxy-y-000001\n")
    keys = {"x": "sk-proxy-x-000001", "y": "sk-proxy-y-000001"}
    acct = {"a": {"windows": {"5h": {"utilization": 0.8, "resets_in": 3600}}}}
    with FleetEnv(accounts=acct, proxy_args=["--clients-file", path]) as env:
        ra, rb = env.replica(), env.replica()
        wait_until(lambda: fleet(ra)["up"] and fleet(rb)["up"], 10, "replicas reach Redis")

        def as_client(p, c):
            return send(p, headers=HEADERS + [("x-api-key", keys[c])]).status

        def fleet_requests(p):
            w = fleet(p)["accounts"]["a"]["windows"].get("5h") or {}
            return (w.get("tokens") or {}).get("requests")

        def attributed(p):
            w = ((p.usage().get("clients") or {}).get("x", {}).get("windows") or {}).get("5h") or {}
            return w.get("attributed_utilization_percent")

        # y sends 9 requests through A. Then x sends through B, which sees nobody else locally: alone, B would
        # attribute x all of the 80% window after its first request and refuse the second (budget 30%). On the
        # fleet's totals x holds n/(9+n) of it, so B serves x until that reaches 30/80.
        for _ in range(9):
            eq(as_client(ra, "y"), 200, "y through A")
        wait_until(lambda: fleet_requests(rb) == 9, 10, "B reads A's 9 requests from the fleet")
        served = 0
        refused = False
        for n in range(1, 12):
            st = as_client(rb, "x")
            if st == 429:
                refused = True
                break
            eq(st, 200, f"x request {n} through B")
            served += 1
            wait_until(lambda: fleet_requests(rb) == 9 + served, 10, "B's fleet total includes x's request")
            if served == 1:
                a1 = attributed(rb)
                ok(a1 is not None and 5 < a1 < 10, f"x attributed ~8% (1 of 10 fleet requests), not 80%: {a1}")
        ok(refused, "x refused once its fleet-wide share reached its budget")
        ok(5 <= served <= 7, f"x served until n/(9+n) of 80% reached 30% (n = 6): served {served}")
        eq(as_client(rb, "y"), 200, "y is still served")
        fx = fleet(rb)["clients"]["x"]["a/5h"]
        eq(fx["requests"], served, "the fleet's count of x's requests in the window")
        wait_until(lambda: (attributed(ra) or 0) >= 30, 10, "A, which never served x, attributes x its fleet share")
        eq(as_client(ra, "x"), 429, "A refuses x too: the budget is the fleet's")


def test_fleet_one_usage_poller_and_shared_header_windows():
    with FleetEnv(poll="1s") as env:
        reps = [env.replica() for _ in range(3)]
        wait_until(lambda: all(fleet(p)["up"] for p in reps), 10, "replicas reach Redis")
        before = env.mock.account_stats("a")["usage_polls"]
        time.sleep(4.2)
        polls = env.mock.account_stats("a")["usage_polls"] - before
        ok(2 <= polls <= 6, f"about one poll a second for the whole fleet, not three: {polls} in 4.2 s")
        turns = [p.usage()["accounts"]["a"]["poll"].get("fleet_turns", 0) for p in reps]
        ok(sum(turns) >= 4, f"the replicas that did not poll took the poller's snapshot: {turns}")
        utils = {p.usage()["accounts"]["a"]["windows"]["7d"]["utilization_percent"] for p in reps}
        eq(utils, {10}, "every replica shows the polled 7d window")
        leases = [fleet(p)["leases"]["poll"] for p in reps]
        ok(sum(x["busy"] for x in leases) >= 4, f"the poll lease was found held: {leases}")


def test_fleet_header_windows_seen_by_one_replica_reach_the_others():
    acct = {"a": {"windows": {"5h": {"utilization": 0.42, "resets_in": 3600}}}}
    with FleetEnv(accounts=acct) as env:
        r1, r2 = env.replica(), env.replica()
        wait_until(lambda: fleet(r1)["up"] and fleet(r2)["up"], 10, "replicas reach Redis")
        eq(r2.usage()["accounts"]["a"]["windows"].get("5h"), None, "r2 knows no 5h window before any answer")
        eq(send(r1).status, 200, "r1 serves one request")

        def r2_5h():
            return (r2.usage()["accounts"]["a"]["windows"].get("5h") or {}).get("utilization_percent")

        wait_until(lambda: r2_5h() == 42, 5, "r2 shows the 5h window r1 saw in an answer's headers")
        ok(fleet(r2)["accounts"]["a"]["windows_adopted"] >= 1, "counted as adopted")
        # A newer value seen by r2 replaces it on r1 (newest first).
        env.mock.account("a", windows={"5h": {"utilization": 0.61}})
        eq(send(r2).status, 200, "r2 serves one request")
        wait_until(lambda: (r1.usage()["accounts"]["a"]["windows"]["5h"] or {}).get("utilization_percent") == 61, 5,
                   "r1 takes r2's newer value")


def test_fleet_redis_password_from_environment_and_wrong_password():
    with FleetEnv() as env:
        env.redis.cmd("CONFIG", "SET", "requirepass", "s3cret-pass")
        good = Proxy(env.mock.url, ["--account", f"a={env.pool['a'].path}", "--token-url", env.mock.token_url,
                                    "--redis", env.redis.url, "--poll-interval", "off"],
                     token=None, label="good", env={"ANTHROPIC_PROXY_REDIS_PASSWORD": "s3cret-pass"})
        bad = Proxy(env.mock.url, ["--account", f"a={env.pool['a'].path}", "--token-url", env.mock.token_url,
                                   "--redis", "redis://:wrong@127.0.0.1:%d" % env.redis.port, "--poll-interval", "off"],
                    token=None, label="bad")
        env.proxies += [good, bad]
        good.start()
        bad.start()
        wait_until(lambda: fleet(good)["up"], 10, "the password from the environment works")
        wait_until(lambda: fleet(bad)["errors"]["auth"] >= 1, 10, "a wrong password is an auth error")
        eq(fleet(bad)["up"], False, "not up with a wrong password")
        eq(send(bad).status, 200, "traffic flows on local state without Redis")
        for p in (good, bad):
            text = p.log_text()
            ok("s3cret-pass" not in text and "wrong@" not in text, f"{p.label}: no password in the log")


def test_fleet_refused_select_is_not_up_and_backs_off():
    # SELECT refused (no such database) while the PING behind it succeeds: the connection must not count as up, and
    # the retries back off instead of reconnecting four times a second.
    with FleetEnv() as env:
        p = Proxy(env.mock.url, ["--account", f"a={env.pool['a'].path}", "--token-url", env.mock.token_url,
                                 "--redis", f"redis://127.0.0.1:{env.redis.port}/99", "--poll-interval", "off"],
                  token=None, label="db99")
        env.proxies.append(p)
        p.start()
        wait_until(lambda: fleet(p)["errors"]["auth"] >= 1, 10, "the refused SELECT is counted")
        time.sleep(4)
        f = fleet(p)
        eq(f["up"], False, "not up with a refused SELECT")
        log = p.log_text()
        eq(log.count('"redis_up"'), 0, "redis_up never logged")
        # two connections (commands, subscriber), each retrying after 250 ms, 0.5, 1, 2, 4 s: a dozen at most here
        ok(2 <= f["errors"]["auth"] <= 14, f"retries back off (250 ms doubling to 5 s): {f['errors']}")
        eq(send(p).status, 200, "traffic flows on local state")


def test_fleet_counts_written_again_after_flushall():
    # FLUSHALL (or an eviction) takes this replica's counts away without a reconnect: it writes them again.
    with FleetEnv() as env:
        r1 = env.replica()
        for _ in range(3):
            eq(send(r1).status, 200, "request")
        key = "t:tokens:a:5h"
        wait_until(lambda: env.redis.cmd("HLEN", key) == 1, 5, "r1's 5h counts are in Redis")
        env.redis.cmd("FLUSHALL")
        wait_until(lambda: env.redis.cmd("HLEN", key) == 1, 5, "r1 wrote its counts again after FLUSHALL")
        fields = env.redis.cmd("HGETALL", key)
        ok(fields[1].split()[-1] == "3", f"with its 3 requests: {fields}")
        w = fleet(r1)["accounts"]["a"]["windows"]["5h"]
        eq((w["replicas"], w["tokens"]["requests"]), (1, 3), f"fleet totals keep r1 and its 3 requests: {w}")


def test_fleet_next_token_url_only_within_the_lease():
    # The first token URL swallows the connection (a TLS handshake that never ends: --connect-timeout 2s). With a 5 s
    # lease, the second URL's request (2 s connect + 2 s silence allowance) could outlast it, and another replica
    # could then take the lease and refresh the same token: the holder defers that URL to its next leased round.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        with FleetEnv(expires_in_s=-60) as env:
            url1 = "https://127.0.0.1:%d/v1/oauth/token" % silent.getsockname()[1]
            p = Proxy(env.mock.url, ["--account", f"a={env.pool['a'].path}", "--token-url", url1,
                                     "--token-url", env.mock.token_url, "--redis", env.redis.url,
                                     "--redis-prefix", "t:", "--redis-lease", "5s", "--connect-timeout", "2s",
                                     "--poll-interval", "off"], token=None, label="r1", wait_ready=False)
            env.proxies.append(p)
            p.start()
            wait_until(lambda: env.mock.stats()["refreshes"] >= 1, 20, "the refresh reached the second URL")
            eq([r["status"] for r in env.token_results()], [200], "one token call, answered")
            log = p.log_text()
            ok("token_url_deferred" in log, "the second URL was deferred to the next leased round")
            wait_until(lambda: fleet(p)["leases"]["refresh"]["acquired"] == 2, 5,
                       "the second URL was tried under a lease of its own")
            eq(send(p).status, 200, "requests are served with the new login")
    finally:
        silent.close()
