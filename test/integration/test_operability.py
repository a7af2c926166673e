"""Operability (issue 19): checks at start, the admin listener, signals, logfmt and request ids, --help,
the status command, spend and per-window status in /usage and the metrics."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
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
