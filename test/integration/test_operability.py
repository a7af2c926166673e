"""Operability (issue 19): checks at start, the admin listener, signals, logfmt and request ids, --help,
the status command, spend and per-window status in /usage and the metrics."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness
from harness import (CTX, MSG_BODY, Env, OAuthEnv, api_request, contains, credentials_doc, eq, free_port,
                     http_request, matches, new_token_pair, not_contains, now_ms, ok, run_binary, wait_until,
                     write_credentials)


# ---- checks at start --------------------------------------------------------------------------------------------

def test_state_file_in_missing_directory_stops_the_start():
    missing = os.path.join(CTX.tmpdir("state-"), "no-such-dir", "state.json")
    p = run_binary(["--state-file", missing])
    eq(p.returncode, 2, f"exit status (stderr: {p.stderr!r})")
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    eq(len(lines), 1, f"stderr lines (stderr: {p.stderr!r})")
    contains(lines[0], "does not exist", "the line says what is wrong")
    contains(lines[0], os.path.dirname(missing), "the line names the directory")


def _unprivileged():
    """Runs a child as nobody when we are root (root writes anywhere: a 0555 directory would not stop it)."""
    return {"user": 65534, "group": 65534} if os.geteuid() == 0 else {}


def _read_only_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)  # /tmp: reachable by the unprivileged child
    os.chmod(d, 0o555)
    return d


def test_state_file_in_unwritable_directory_stops_the_start():
    d = _read_only_dir("ap-state-ro-")
    try:
        p = subprocess.run([harness.BINARY, "--state-file", os.path.join(d, "state.json")],
                           env={"PATH": "/usr/bin:/bin", "HOME": d}, capture_output=True, text=True, timeout=10,
                           **_unprivileged())
        eq(p.returncode, 2, f"exit status (stderr: {p.stderr!r})")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        eq(len(lines), 1, f"stderr lines (stderr: {p.stderr!r})")
        contains(lines[0], "not writable", "the line says what is wrong")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _start_and_read_log(args, env, extra=None, until="\"listening\""):
    """Starts the binary (unprivileged when root), waits for `until` in its log, stops it; returns the log."""
    log = os.path.join(CTX.tmpdir("log-"), "proxy.log")
    with open(log, "wb") as f:
        proc = subprocess.Popen([harness.BINARY] + args, env=env, stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT, start_new_session=True, **(extra or {}))
    try:
        wait_until(lambda: until in open(log, errors="replace").read() or proc.poll() is not None, 10,
                   f"{until} in the log")
        ok(proc.poll() is None, f"the proxy exited early: {open(log, errors='replace').read()!r}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    return open(log, errors="replace").read()


def _cred_dir(writable):
    d = tempfile.mkdtemp(prefix="ap-creds-")
    path = os.path.join(d, ".credentials.json")
    access, refresh = new_token_pair("startcheck")
    write_credentials(path, credentials_doc(access, refresh, now_ms() + 3600 * 1000))
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        if writable:
            os.chown(d, 65534, 65534)
    os.chmod(d, 0o755 if writable else 0o555)
    return d, path


def test_unwritable_credentials_directory_is_a_loud_warning():
    d, path = _cred_dir(writable=False)
    try:
        port = free_port()
        env = {"PATH": "/usr/bin:/bin", "HOME": d}
        base = ["--listen", f"127.0.0.1:{port}", "--upstream", "https://localhost:1", "--credentials", path,
                "--poll-interval", "off", "--log-format", "json"]
        text = _start_and_read_log(base, env, _unprivileged())
        warn = [json.loads(l) for l in text.splitlines() if "credentials_dir_not_writable" in l]
        eq(len(warn), 1, f"credentials_dir_not_writable lines in {text!r}")
        eq(warn[0].get("level"), "warn", "level")
        eq(warn[0].get("dir"), d, "the directory is named")
        contains(warn[0].get("msg", ""), "--follow-credentials", "the fix is named")
        contains(warn[0].get("msg", ""), "writable", "the fix is named")
        # Follow mode never writes the file: no warning.
        text = _start_and_read_log(base + ["--follow-credentials"], env, _unprivileged())
        not_contains(text, "credentials_dir_not_writable", "log with --follow-credentials")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_writable_credentials_directory_gives_no_warning():
    d, path = _cred_dir(writable=True)
    try:
        port = free_port()
        text = _start_and_read_log(["--listen", f"127.0.0.1:{port}", "--upstream", "https://localhost:1",
                                    "--credentials", path, "--poll-interval", "off"],
                                   {"PATH": "/usr/bin:/bin", "HOME": d}, _unprivileged())
        contains(text, "listening", "the proxy started")
        not_contains(text, "credentials_dir_not_writable", "log")
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- the admin listener -------------------------------------------------------------------------------------------

ADMIN_KEY = "sk-proxy-admin-test-0001"
ADMIN_PATHS = ("/healthz", "/readyz", "/metrics", "/usage")


def _not_found_shape(r, what):
    eq(r.status, 404, f"{what} status")
    body = r.json()
    eq(body.get("type"), "error", f"{what}: the API's error shape")
    eq((body.get("error") or {}).get("type"), "not_found_error", f"{what}: error type")
    ok((body.get("error") or {}).get("message"), f"{what}: a message")


def test_admin_listen_serves_admin_paths_without_the_client_key():
    admin = free_port()
    with Env(proxy_args=["--client-key", ADMIN_KEY, "--admin-listen", f"127.0.0.1:{admin}"]) as env:
        # The admin listener: all four, no key asked for.
        for path in ADMIN_PATHS:
            r = http_request(admin, "GET", path)
            eq(r.status, 200, f"GET {path} on the admin listener")
        contains(http_request(admin, "GET", "/metrics").body.decode(), "anthropic_proxy_", "/metrics there")
        ok("windows" in http_request(admin, "GET", "/usage").json(), "/usage there is the usage document")
        eq(http_request(admin, "HEAD", "/metrics").status, 200, "HEAD /metrics on the admin listener")
        # It serves nothing else: not the API, not other methods.
        _not_found_shape(api_request(admin, extra_headers=[("x-api-key", ADMIN_KEY)]), "POST /v1/messages there")
        eq(http_request(admin, "POST", "/usage", body=b"{}").status, 405, "POST /usage there")
        # The client listener: liveness only, in the API's shape for the rest; the API with the key as before.
        eq(env.proxy.get("/healthz").status, 200, "/healthz on the client listener")
        for path in ("/readyz", "/metrics", "/usage"):
            _not_found_shape(env.proxy.get(path), f"GET {path} on the client listener")
        eq(api_request(env.proxy.port, extra_headers=[("x-api-key", ADMIN_KEY)]).status, 200,
           "an API request with the client key")
        eq(api_request(env.proxy.port).status, 401, "an API request without it")
        listening = [l for l in env.proxy.log_json() if l.get("event") == "listening"]
        eq(listening[0].get("admin_listen") if listening else None, f"127.0.0.1:{admin}", "the listening line")


def test_admin_listen_from_the_environment_with_a_bare_port():
    admin = free_port()
    with Env(proxy_env={"ANTHROPIC_PROXY_ADMIN_LISTEN": str(admin)}) as env:
        eq(http_request(admin, "GET", "/readyz").status, 200, "/readyz on 127.0.0.1:<bare port>")
        eq(env.proxy.get("/readyz").status, 404, "/readyz on the client listener")


def test_admin_listen_absent_changes_nothing():
    with Env() as env:
        for path in ADMIN_PATHS:
            eq(env.proxy.get(path).status, 200, f"GET {path} on the one listener")


def test_admin_listen_bad_values_stop_the_start():
    for value, words in (("nonsense", "--admin-listen"), ("127.0.0.1:99999", "--admin-listen"),
                         ("example.com:9090", "IP address"), ("127.0.0.1:8080", "same address")):
        p = run_binary(["--admin-listen", value])
        eq(p.returncode, 2, f"exit status for --admin-listen {value} (stderr: {p.stderr!r})")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        eq(len(lines), 1, f"one line for --admin-listen {value}: {p.stderr!r}")
        contains(lines[0], words, f"the line for --admin-listen {value}")
        contains(lines[0], value, f"the line for --admin-listen {value} quotes it")


# ---- the status command -------------------------------------------------------------------------------------------

def test_status_prints_the_windows_and_exits_0_when_ready():
    with Env() as env:
        env.mock.usage_config(windows={"five_hour": {"utilization": 42.0, "resets_at": time.time() + 2 * 3600 + 900},
                                       "seven_day": {"utilization": 17.0, "resets_at": time.time() + 3 * 86400 + 1800}})
        eq(api_request(env.proxy.port).status, 200, "a request that brings the windows")
        p = run_binary(["status", "--url", env.proxy.url])
        eq(p.returncode, 0, f"exit status (stdout: {p.stdout!r}, stderr: {p.stderr!r})")
        lines = p.stdout.splitlines()
        contains(lines[0], "ready", "the first line")
        five = [l for l in lines if l.startswith("5h ")]
        eq(len(five), 1, f"one line for the 5h window in {p.stdout!r}")
        matches(r"\[#{8}\.{12}\]\s+42%", five[0], "the 5h line's bar and percentage")
        matches(r"resets in 2h1[45]m", five[0], "the 5h line's time to reset")
        matches(r"tokens \S+ in, \S+ out, 1 request\b", five[0], "the 5h line's tokens")
        ok(any(l.startswith("7d ") and "17%" in l and "resets in 3d0h" in l for l in lines),
           f"the 7d line in {p.stdout!r}")
        for l in lines:
            ok(len(l) <= 100, f"a status line wider than 100 columns: {l!r}")


def test_status_exits_1_when_not_ready():
    with Env(token=None) as env:  # no credentials anywhere: /readyz says 503
        eq(env.proxy.get("/readyz").status, 503, "/readyz without credentials")
        p = run_binary(["status", "--url", env.proxy.url + "/"])
        eq(p.returncode, 1, f"exit status (stdout: {p.stdout!r}, stderr: {p.stderr!r})")
        contains(p.stdout.splitlines()[0], "not ready", "the first line")


def test_status_follows_the_admin_listener_and_exits_2_when_unreachable():
    admin = free_port()
    with Env(proxy_args=["--admin-listen", f"127.0.0.1:{admin}"]) as env:
        p = run_binary(["status"], env={"ANTHROPIC_PROXY_ADMIN_LISTEN": f"127.0.0.1:{admin}"})
        eq(p.returncode, 0, f"status on the admin listener named by the environment (stderr: {p.stderr!r})")
        p = run_binary(["status", "--url", env.proxy.url])
        eq(p.returncode, 2, f"status on the client listener, which 404s /usage (stdout: {p.stdout!r})")
        contains(p.stderr, "--admin-listen", "the hint")
    closed = free_port()
    p = run_binary(["status", "--url", f"http://127.0.0.1:{closed}"])
    eq(p.returncode, 2, f"exit status on a closed port (stdout: {p.stdout!r}, stderr: {p.stderr!r})")
    contains(p.stderr, f"127.0.0.1:{closed}", "the message names the address")
    eq(p.stdout, "", "nothing on stdout")
    eq(run_binary(["status", "--bogus"]).returncode, 2, "an unknown argument")


def test_status_and_check_give_up_on_a_trickling_server():
    # One byte every half second, forever: a per-read timeout would never fire; the whole answer has 5 s.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            srv.settimeout(0.2)
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    while not stop.wait(0.5):
                        conn.sendall(b"x")
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        for args, want in ((["status", "--url", f"http://127.0.0.1:{port}"], 2),
                           (["--check", f"http://127.0.0.1:{port}/healthz"], 1)):
            t0 = time.monotonic()
            p = run_binary(args, timeout=20)
            took = time.monotonic() - t0
            eq(p.returncode, want, f"{args[0]} against a trickling server (stderr {p.stderr!r})")
            ok(4 < took < 9, f"{args[0]} gave up after about 5 s ({took:.1f}s)")
    finally:
        stop.set()
        t.join(timeout=5)
        srv.close()


def test_admin_listener_has_connections_of_its_own():
    # --max-connections counts the client listener; the admin listener takes SERVER_ADMIN_MAX (16) besides, so
    # neither can starve the other.
    admin = free_port()
    with Env(proxy_args=["--max-connections", "3", "--admin-listen", f"127.0.0.1:{admin}"]) as env:
        held = [socket.create_connection(("127.0.0.1", env.proxy.port)) for _ in range(3)]
        try:
            time.sleep(0.2)
            eq(http_request(admin, "GET", "/readyz").status, 200, "the admin listener answers with the API full")
            eq(env.proxy.get("/healthz").status, 503, "the client listener is full")
            for s in held:
                s.close()
            held = [socket.create_connection(("127.0.0.1", admin)) for _ in range(16)]
            time.sleep(0.2)
            eq(api_request(env.proxy.port).status, 200, "the API answers with the admin listener full")
            eq(http_request(admin, "GET", "/readyz").status, 503, "the 17th admin connection is refused")
        finally:
            for s in held:
                s.close()
        wait_until(lambda: any(l.get("event") == "connection_limit" and l.get("listener") == "api"
                               and l.get("max_connections") == 3 for l in env.proxy.log_json()), 5,
                   "the first refusal is logged with its listener and limit")


# ---- signals ------------------------------------------------------------------------------------------------------

def test_sigusr1_and_sigusr2_do_not_stop_the_proxy():
    with Env() as env:
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGUSR1):
            env.proxy.send_signal(sig)
            time.sleep(0.1)
        eq(env.proxy.get("/healthz").status, 200, "/healthz after SIGUSR1 and SIGUSR2")
        eq(api_request(env.proxy.port).status, 200, "a request after them")
        wait_until(lambda: len([l for l in env.proxy.log_json() if l.get("event") == "signal_ignored"]) == 3, 5,
                   "three signal_ignored lines")
        names = [l.get("signal") for l in env.proxy.log_json() if l.get("event") == "signal_ignored"]
        eq(names, ["SIGUSR1", "SIGUSR2", "SIGUSR1"], "the signals named in the log")


# ---- --help -------------------------------------------------------------------------------------------------------

def test_help_fits_100_columns_under_headings_with_placeholders():
    p = run_binary(["--help"])
    eq(p.returncode, 0, "--help exit status")
    lines = p.stdout.splitlines()
    wide = [l for l in lines if len(l) > 100]
    eq(wide, [], "--help lines wider than 100 columns")
    headings = [l[:-1] for l in lines if re.match(r"^[A-Z][a-z ]+:$", l)]
    eq(headings, ["Listening", "Upstream", "Login and accounts", "Clients and budgets", "Usage and limits",
                  "Logging and metrics", "Alerts", "A fleet", "Other"], "headings, in order")
    flags = dict(re.findall(r"^  --([a-z][a-z0-9-]*)(?: ([A-Z][A-Z:=_]*))?", p.stdout, re.M))
    for flag, arg in (("listen", "HOST:PORT"), ("admin-listen", "HOST:PORT"), ("account", "NAME=PATH"),
                      ("client-key", "KEY"), ("max-retry-after", "DUR"), ("allow-overage", "")):
        eq(flags.get(flag), arg, f"--{flag}'s placeholder")
    # Every flag the parser knows is shown: each one --help lists is accepted, and the README's table (checked
    # against --help by test_frontdoor_readme_lists_every_flag) has no other.
    readme = open(os.path.join(harness.ROOT, "README.md")).read()
    table = set(re.findall(r"^\| `--([a-z][a-z0-9-]*)", readme, re.M)) - {"help"}
    eq(sorted(table - set(flags)), [], "flags of the README's table missing from --help")
