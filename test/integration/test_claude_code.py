"""The real Claude Code CLI as a client of the proxy.

test/integration/claude-code/package.json pins `@anthropic-ai/claude-code` (exact version, lock file
without download URLs). It is installed once with `npm ci` into claude-code/node_modules/ (git-ignored);
the test fails, never skips, when it is not installed and node or npm is missing or the install fails.

Since 2.1.12x (2.1.110 still shipped cli.js) the package is a thin wrapper: its `claude` bin is `bin/claude.exe`, a placeholder that the
package's postinstall (`node install.cjs`) replaces with the native binary of the platform package
(`@anthropic-ai/claude-code-linux-x64`, ...; about 400 MB unpacked, hard-linked, not copied). There is no
cli.js any more, and the native binary does not need Node at run time.

The CLI runs non-interactively (`claude -p "Say hi" --output-format json`) with a fresh HOME, TMPDIR and
CLAUDE_CONFIG_DIR (so it sees no real login and leaves nothing behind), ANTHROPIC_API_KEY=placeholder-key,
no proxy variables, and DISABLE_TELEMETRY / DISABLE_ERROR_REPORTING / DISABLE_AUTOUPDATER /
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC. Checked while this test was written (2.1.332, strace -f of the
connect() calls, and the CLI inside a network namespace with a logging DNS server): with these variables
the CLI's only socket is one TCP connection to ANTHROPIC_BASE_URL and it makes no DNS lookup. Without
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC it also sends `HEAD /api/hello` to ANTHROPIC_BASE_URL and resolves
api.anthropic.com.

The CLI runs twice:
  1. against a plain-HTTP recorder in this process, to learn what the CLI itself sends (its headers and
     betas, its x-api-key), independent of the proxy;
  2. against the proxy (mock upstream): the mock must see what the CLI sent, signed with the proxy's
     OAuth token, and the proxy's /usage must count the tokens the mock served.
"""

import base64
import fcntl
import http.server
import json
import os
import platform
import re
import shutil
import signal
import socketserver
import subprocess
import threading
import time

from harness import (CTX, HERE, OAUTH_BETA, TOKEN, Env, _short, assert_no_secrets, bearer_of, contains, eq,
                     fail, matches, ok, parse_sse, wait_until)

CC_DIR = os.path.join(HERE, "claude-code")
CC_PKG = "@anthropic-ai/claude-code"
API_KEY = "placeholder-key"
PROMPT = "Say hi"

# Native packages the wrapper's install.cjs knows (platform key -> package suffix).
_CC_PLATFORMS = {("linux", "x86_64"): "linux-x64", ("linux", "aarch64"): "linux-arm64",
                 ("darwin", "x86_64"): "darwin-x64", ("darwin", "arm64"): "darwin-arm64"}
# Executable formats (the placeholder bin/claude.exe is a shell script).
_BINARY_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


# --------------------------------------------------------------------------------------
# Installing the pinned CLI (once).
# --------------------------------------------------------------------------------------

def _cc_pin():
    with open(os.path.join(CC_DIR, "package.json")) as f:
        return json.load(f)["dependencies"][CC_PKG]


def _cc_platform_pkg():
    u = os.uname()
    key = (u.sysname.lower(), u.machine)
    ok(key in _CC_PLATFORMS, f"no Claude Code native package for {key} in this test")
    suffix = _CC_PLATFORMS[key]
    if key[0] == "linux" and platform.libc_ver()[0] != "glibc":
        suffix += "-musl"  # install.cjs: no glibc runtime version -> the musl build
    return f"{CC_PKG}-{suffix}"


def _cc_paths():
    pkg_dir = os.path.join(CC_DIR, "node_modules", *CC_PKG.split("/"))
    return pkg_dir, os.path.join(pkg_dir, "bin", "claude.exe")


def _cc_installed(pin):
    """None when the pinned CLI is installed and its `claude` bin is the native binary, else why not."""
    pkg_dir, exe = _cc_paths()
    native = os.path.join(CC_DIR, "node_modules", *_cc_platform_pkg().split("/"))
    for what, d in (("wrapper", pkg_dir), ("native package", native)):
        try:
            with open(os.path.join(d, "package.json")) as f:
                v = json.load(f).get("version")
        except (OSError, ValueError) as e:
            return f"{what} not installed ({e})"
        if v != pin:
            return f"{what} has version {v}, want {pin}"
    try:
        with open(exe, "rb") as f:
            head = f.read(4)
    except OSError as e:
        return f"{exe}: {e}"
    if head not in _BINARY_MAGIC or not os.access(exe, os.X_OK):
        return f"{exe} is still the placeholder (postinstall did not run)"
    return None


def _npm_output(p):
    """The start of npm's error report (its reason comes first, usage text after), else the tail."""
    text = (p.stderr or "") + (p.stdout or "")
    errors = [l for l in text.splitlines() if l.startswith("npm error")]
    return _short("\n".join(errors[:12]) if errors else text[-1500:], 1500)


def ensure_claude_code():
    """Installs test/integration/claude-code/ with `npm ci` once and returns the path of the `claude`
    executable. Later runs reuse node_modules. Fails (never skips) when npm or node is missing or the
    install fails.

    The download is ~190 MB, so run.py's per-test alarm is paused while npm runs (npm has its own
    300 s limit) and re-armed with the time the test had left."""
    pin = _cc_pin()
    _, exe = _cc_paths()
    if _cc_installed(pin) is None:
        return exe
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm:
        fail(f"npm is not installed: cannot install {CC_PKG}@{pin} for the Claude Code CLI test")
    if not node:
        fail(f"node is not installed: {CC_PKG}@{pin} needs it for its postinstall")
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        with open(os.path.join(CC_DIR, ".install.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent runs: one installs, the others wait
            if _cc_installed(pin) is None:
                return exe
            # npm ci: exactly the lock file, never rewrites it. --engine-strict=false: the wrapper asks
            # for node >= 22, but only its postinstall runs on node (the CLI is a native binary).
            cmd = [npm, "ci", "--no-audit", "--no-fund", "--engine-strict=false"]
            t0 = time.monotonic()
            try:
                p = subprocess.run(cmd, cwd=CC_DIR, stdin=subprocess.DEVNULL, capture_output=True, timeout=300,
                                   text=True, errors="replace")
            except subprocess.TimeoutExpired:
                fail(f"{' '.join(cmd)} (test/integration/claude-code) did not finish within 300s")
            if p.returncode != 0:
                fail(f"npm ci (test/integration/claude-code) failed with {p.returncode}: {_npm_output(p)}")
            why = _cc_installed(pin)
            if why and "placeholder" in why:
                # npm configured not to run install scripts: run the package's own postinstall.
                pkg_dir, _ = _cc_paths()
                q = subprocess.run([node, "install.cjs"], cwd=pkg_dir, stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=120, text=True, errors="replace")
                why = _cc_installed(pin)
                if why:
                    why += f"; node install.cjs exited {q.returncode}: {_npm_output(q)}"
            if why:
                fail(f"{CC_PKG}@{pin} not usable after npm ci: {why}; npm said: {_npm_output(p)}")
            print(f"    [installed {CC_PKG}@{pin} in {time.monotonic() - t0:.1f}s]", flush=True)
    finally:
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, left)
    return exe


# --------------------------------------------------------------------------------------
# Running the CLI.
# --------------------------------------------------------------------------------------

def cli_env(base_url, home):
    """A minimal environment: nothing inherited that could point the CLI at a real login, an API,
    a proxy or another config (no ANTHROPIC_*, CLAUDE_*, *_proxy, XDG_*)."""
    tmp = os.path.join(home, "tmp")
    os.makedirs(tmp, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": tmp,  # the CLI puts a control socket and fswatch probes there
        "CLAUDE_CONFIG_DIR": os.path.join(home, ".claude"),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": API_KEY,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    return env


def run_cli(exe, base_url, label):
    """Runs `claude -p PROMPT --output-format json` in a fresh HOME and an empty working directory.
    Returns (exit status, stdout, stderr, home). Kills the CLI's whole process group on timeout."""
    home = CTX.tmpdir(f"{label}-home-")
    work = CTX.tmpdir(f"{label}-work-")
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    timeout = 90.0 if left <= 0 else max(5.0, min(90.0, left - 10))  # fail here, before run.py's alarm
    out_path, err_path = os.path.join(home, "cli.stdout"), os.path.join(home, "cli.stderr")
    CTX.logs.append((f"{label} CLI stderr", err_path))
    cmd = [exe, "-p", PROMPT, "--output-format", "json"]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, cwd=work, env=cli_env(base_url, home), stdin=subprocess.DEVNULL, stdout=out,
                             stderr=err, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
    with open(out_path, "rb") as f:
        stdout = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    if rc is None:
        fail(f"{label}: the CLI did not finish within {timeout:.0f}s; stdout: {_short(stdout, 1000)}; "
             f"stderr: {_short(stderr[-1500:], 1500)}")
    return rc, stdout, stderr, home


def cli_result(rc, stdout, stderr, label):
    """The CLI's --output-format json object, after checking the exit status."""
    eq(rc, 0, f"{label}: CLI exit status (stdout: {stdout[-1500:]!r}; stderr: {stderr[-1500:]!r})")
    lines = [l for l in stdout.splitlines() if l.strip()]
    ok(lines, f"{label}: the CLI printed nothing on stdout; stderr: {_short(stderr[-1500:], 1500)}")
    try:
        out = json.loads(lines[-1])
    except ValueError:
        fail(f"{label}: the CLI's last stdout line is not JSON: {_short(lines[-1], 1000)}")
    ok(isinstance(out, dict), f"{label}: CLI output is not a JSON object: {_short(out)}")
    eq((out.get("type"), out.get("subtype"), out.get("is_error")), ("result", "success", False),
       f"{label}: CLI result type/subtype/is_error (output: {_short(out, 1500)})")
    return out


# --------------------------------------------------------------------------------------
# A plain-HTTP recorder: what the CLI sends when nothing rewrites it.
# --------------------------------------------------------------------------------------

RECORDER_TEXT = "Hi from the recorder."


def _recorder_sse(model):
    usage = {"input_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}
    msg = {"id": "msg_01recorder", "type": "message", "role": "assistant", "model": model, "content": [],
           "stop_reason": None, "stop_sequence": None, "usage": usage}
    events = [
        ("message_start", {"type": "message_start", "message": msg}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": RECORDER_TEXT}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": dict(usage, output_tokens=5)}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events).encode()


class Recorder:
    """HTTP/1.1 on 127.0.0.1: records every request; POST /v1/messages gets a small SSE answer,
    anything else a 404 in the API's error shape."""

    def __init__(self):
        self.records = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                recorder.records.append({"method": self.command, "target": self.path,
                                         "headers": [[k, v] for k, v in self.headers.items()], "body": body})
                if self.command == "POST" and self.path.split("?")[0] == "/v1/messages":
                    try:
                        model = json.loads(body).get("model") or "claude-sonnet-4-5"
                    except (ValueError, AttributeError):
                        model = "claude-sonnet-4-5"
                    status, ctype, data = 200, "text/event-stream", _recorder_sse(model)
                else:
                    status, ctype = 404, "application/json"
                    data = json.dumps({"type": "error", "error": {"type": "not_found_error",
                                                                  "message": "recorder: no route"}}).encode()
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("request-id", "req_recorder")
                self.send_header("content-length", str(len(data)))
                self.send_header("connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                self.close_connection = True

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

        class Server(http.server.ThreadingHTTPServer):
            def server_bind(self):  # HTTPServer's would look up the host name (getfqdn): not needed
                socketserver.TCPServer.server_bind(self)
                self.server_name, self.server_port = self.server_address[:2]

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


# --------------------------------------------------------------------------------------
# Helpers on recorded requests.
# --------------------------------------------------------------------------------------

def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def one_header(headers, name, what):
    vals = header_values(headers, name)
    eq(len(vals), 1, f"{what}: number of {name} headers ({_short(headers, 3000)})")
    return vals[0]


def beta_list(headers):
    return [t.strip() for v in header_values(headers, "anthropic-beta") for t in v.split(",") if t.strip()]


def sse_text(body):
    """The text of an SSE answer: its text_delta pieces, concatenated."""
    text = ""
    for ev, data in parse_sse(body.decode("utf-8")):
        if ev == "content_block_delta":
            d = json.loads(data).get("delta") or {}
            if d.get("type") == "text_delta":
                text += d.get("text", "")
    return text


def body_json(rec, what):
    ok("body_b64" in rec, f"{what}: the mock kept no request body ({rec.get('body_length')} bytes)")
    try:
        obj = json.loads(base64.b64decode(rec["body_b64"]))
    except ValueError:
        fail(f"{what}: request body is not JSON")
    ok(isinstance(obj, dict), f"{what}: request body is not a JSON object")
    return obj


FIELDS = ("input", "output", "cache_creation", "cache_read")


def expected_tokens(served):
    t = {f: sum((s.get(f) or 0) for s in served) for f in FIELDS}
    t["requests"] = len(served)
    t["in"] = t["input"] + t["cache_creation"] + t["cache_read"]
    t["out"] = t["output"]
    return t


def tokens_of(obj):
    return obj.get("tokens") if isinstance(obj.get("tokens"), dict) else obj


# Headers the proxy owns or rewrites on the way up (hop-by-hop, framing, credentials, codings).
REWRITTEN = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "accept-encoding",
             "authorization", "x-api-key", "anthropic-beta", "te", "proxy-connection", "upgrade"}
# Headers whose values do not change between two runs of the same CLI: forwarded untouched.
STABLE = ("user-agent", "x-app", "anthropic-version", "x-stainless-lang", "x-stainless-package-version",
          "x-stainless-os", "x-stainless-arch", "x-stainless-runtime", "content-type", "accept")


# --------------------------------------------------------------------------------------
# The test.
# --------------------------------------------------------------------------------------

def test_claude_code_cli_through_proxy():
    exe = ensure_claude_code()
    pin = _cc_pin()

    # 1. What the CLI sends by itself (no proxy in between).
    with Recorder() as recorder:
        rc, stdout, stderr, _ = run_cli(exe, f"http://127.0.0.1:{recorder.port}", "recorder")
    direct = cli_result(rc, stdout, stderr, "CLI -> recorder")
    eq([(r["method"], r["target"]) for r in recorder.records], [("POST", "/v1/messages?beta=true")],
       "requests the CLI made to ANTHROPIC_BASE_URL (recorder)")
    contains(direct.get("result") or "", RECORDER_TEXT, "CLI -> recorder: result")
    sent = recorder.records[0]
    eq(header_values(sent["headers"], "x-api-key"), [API_KEY], "CLI -> recorder: x-api-key the CLI sent")
    eq(header_values(sent["headers"], "authorization"), [], "CLI -> recorder: authorization the CLI sent")
    cli_betas = beta_list(sent["headers"])
    contains(cli_betas, "claude-code-20250219", "CLI -> recorder: anthropic-beta")
    matches(rf"^claude-cli/{re.escape(pin)}\b", one_header(sent["headers"], "user-agent", "CLI -> recorder"),
            "CLI -> recorder: user-agent")

    # 2. Through the proxy, to the mock.
    with Env() as env:
        rc, stdout, stderr, home = run_cli(exe, env.proxy.url, "proxy")
        out = cli_result(rc, stdout, stderr, "CLI -> proxy")

        recs = env.mock.requests(kind=None)
        eq([(r["method"], r["target"]) for r in recs], [("POST", "/v1/messages?beta=true")],
           "requests that reached the mock (every kind)")
        rec = recs[0]
        hs = rec["headers"]
        what = "upstream request"

        # Signed with the proxy's token; the CLI's key is gone.
        eq(header_values(hs, "x-api-key"), [], f"{what}: x-api-key")
        eq(one_header(hs, "authorization", what), f"Bearer {TOKEN}", f"{what}: authorization")
        eq(bearer_of(rec), TOKEN, f"{what}: bearer")
        for k, v in hs:
            ok(API_KEY not in v, f"{what}: the CLI's key {API_KEY!r} still in header {k}: {v!r}")

        # The CLI's betas, in order, plus the OAuth beta once.
        betas = beta_list(hs)
        want = cli_betas + ([] if OAUTH_BETA in cli_betas else [OAUTH_BETA])
        eq(betas, want, f"{what}: anthropic-beta (the CLI sent {cli_betas})")

        # The CLI's own headers arrive untouched.
        ua = one_header(hs, "user-agent", what)
        matches(rf"^claude-cli/{re.escape(pin)}\b", ua, f"{what}: user-agent")
        for name in STABLE:
            eq(header_values(hs, name), header_values(sent["headers"], name), f"{what}: {name}")
        sent_names = {k.lower() for k, _ in sent["headers"]} - REWRITTEN
        got_names = {k.lower() for k, _ in hs}
        eq(sorted(sent_names - got_names), [], f"{what}: headers of the CLI missing upstream")
        codings = {t.strip().split(";")[0] for v in header_values(hs, "accept-encoding") for t in v.split(",")}
        ok(codings <= {"gzip", "deflate", "identity"},
           f"{what}: accept-encoding narrowed to codings the proxy decodes: {header_values(hs, 'accept-encoding')} "
           f"(the CLI sent {header_values(sent['headers'], 'accept-encoding')})")

        # Streaming, as Claude Code always asks.
        req = body_json(rec, what)
        eq(req.get("stream"), True, f"{what}: body stream")
        model = req.get("model")
        ok(isinstance(model, str) and model, f"{what}: body model {model!r}")
        eq(model, json.loads(sent["body"]).get("model"), f"{what}: model (the one the CLI asked the recorder for)")

        # The answer the mock served is what the CLI printed.
        resp = rec.get("response") or {}
        eq(resp.get("status"), 200, f"{what}: mock answer status")
        served_text = sse_text(env.mock.response_body(rec))
        ok(served_text.strip(), f"mock self-check: served text {served_text!r}")
        contains(out.get("result") or "", served_text.strip(), "CLI -> proxy: result")

        served = env.mock.stats()["usage_served"]
        eq([(s["stream"], s["complete"], s["model"]) for s in served], [(True, True, model)],
           "answers the mock served (stream, complete, model)")
        cu = out.get("usage") or {}
        eq((cu.get("input_tokens"), cu.get("output_tokens"), cu.get("cache_creation_input_tokens"),
            cu.get("cache_read_input_tokens")),
           (served[0]["input"], served[0]["output"], served[0]["cache_creation"], served[0]["cache_read"]),
           "usage the CLI reported = usage the mock served")

        # The proxy counted those tokens.
        exp = expected_tokens(served)

        def counted():
            u = env.proxy.usage()
            w = (u.get("windows") or {}).get("5h") or {}
            return u if (tokens_of(w) or {}).get("requests", 0) >= 1 else None

        u = wait_until(counted, 5, "/usage windows.5h.tokens.requests >= 1")
        for name in ("5h", "7d"):
            w = tokens_of(u["windows"][name])
            eq({k: w.get(k) for k in exp}, exp, f"/usage windows.{name}.tokens after the CLI's request")
        m = (u.get("models") or {}).get(model)
        ok(isinstance(m, dict), f"/usage models[{model!r}] missing: {sorted(u.get('models') or {})}")
        eq({k: tokens_of(m).get(k) for k in exp}, exp, f"/usage models[{model!r}]")
        eq(u.get("requests_counted"), 1, "/usage requests_counted")

        assert_no_secrets(env.proxy.log_text(), [TOKEN, API_KEY], "proxy log")
        ok(os.path.isfile(os.path.join(home, ".claude", ".claude.json")),
           "the CLI wrote its state into the temp CLAUDE_CONFIG_DIR")
