"""Integration-test harness for anthropic-proxy: test PKI, the mock API, the proxy process,
raw-socket and curl clients, and assertion helpers that print both operands.

Tests use it like this:

    from harness import Env, eq, ok, api_request

    def test_something():
        with Env() as env:                       # mock (TLS) + proxy pointed at it
            r = api_request(env.proxy.port, body=MSG)
            eq(r.status, 200, "status")
            eq(env.mock.stats()["requests"], 1, "mock requests")

Standard library only. Every blocking call has a timeout; run.py adds a per-test alarm.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MOCK_SCRIPT = os.path.join(ROOT, "test", "mock", "mock_api.py")

TOKEN = "sk-ant-oat01-test-token"
OAUTH_BETA = "oauth-2025-04-20"
CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"  # Claude Code's OAuth client id (the proxy's default)
EXPIRED_MESSAGE = "OAuth token has expired. Please obtain a new token or refresh your existing token."
BINARY = os.path.join(ROOT, "build", "anthropic-proxy")  # run.py --binary overrides this

# Sanitizer reports in the proxy's log that fail a test even when the test itself passed.
SANITIZER_PATTERNS = ["ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                      "WARNING: ThreadSanitizer", "ERROR: MemorySanitizer"]

MSG_BODY = json.dumps({
    "model": "claude-sonnet-4-5-20250929",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Say hello. Ünïcödé ✓"}],
}, ensure_ascii=False).encode()
STREAM_BODY = json.dumps({
    "model": "claude-sonnet-4-5-20250929",
    "max_tokens": 64,
    "stream": True,
    "messages": [{"role": "user", "content": "Say hello."}],
}).encode()

# What a typical SDK client sends (the proxy must replace x-api-key with the OAuth bearer).
CLIENT_HEADERS = [
    ("content-type", "application/json"),
    ("anthropic-version", "2023-06-01"),
    ("x-api-key", "client-key"),
]


class TestTimeout(BaseException):
    """Raised by run.py's alarm. BaseException so that `except Exception` never swallows it."""


# --------------------------------------------------------------------------------------
# Assertions: every message names what was compared and shows both operands.
# --------------------------------------------------------------------------------------

def _short(v, limit=400):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + f"...<{len(s) - limit} more chars>"


def fail(msg):
    raise AssertionError(msg)


def eq(actual, expected, what="value"):
    if actual != expected:
        fail(f"{what}: expected {_short(expected)}, got {_short(actual)}")


def ok(cond, msg):
    if not cond:
        fail(msg)


def contains(haystack, needle, what="value"):
    if needle not in haystack:
        fail(f"{what}: expected to contain {_short(needle)}, got {_short(haystack)}")


def not_contains(haystack, needle, what="value"):
    if needle in haystack:
        fail(f"{what}: expected NOT to contain {_short(needle)}, got {_short(haystack)}")


def matches(pattern, text, what="value", flags=re.I):
    if not re.search(pattern, text or "", flags):
        fail(f"{what}: expected to match /{pattern}/, got {_short(text)}")


def le(actual, limit, what="value"):
    if not actual <= limit:
        fail(f"{what}: expected <= {_short(limit)}, got {_short(actual)}")


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a truthy value; fails with `what` after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            fail(f"timed out after {timeout}s waiting for {what} (last: {_short(last)})")
        time.sleep(interval)


# --------------------------------------------------------------------------------------
# Per-test context: where logs go, which processes are alive (run.py reads this).
# --------------------------------------------------------------------------------------

class _Context:
    def __init__(self):
        self.run_dir = None      # one directory per run, kept when something failed
        self.test_dir = None     # a sub-directory per test
        self.logs = []           # (label, path) of logs to show when the test fails
        self.live = []           # processes (Mock/Proxy) still running

    def new_test(self, name):
        if self.run_dir is None:
            self.run_dir = tempfile.mkdtemp(prefix="anthropic-proxy-it-")
        self.test_dir = os.path.join(self.run_dir, re.sub(r"[^A-Za-z0-9_.-]", "_", name))
        os.makedirs(self.test_dir, exist_ok=True)
        self.logs = []

    def tmpdir(self, prefix):
        if self.test_dir is None:
            self.new_test("adhoc")
        return tempfile.mkdtemp(prefix=prefix, dir=self.test_dir)

    def cleanup(self):
        """Stops whatever a test left running (after a failure or timeout)."""
        for p in list(self.live):
            try:
                p.stop()
            except BaseException:
                pass
        self.live = []


CTX = _Context()


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return [f"<cannot read {path}: {e}>"]
    text = data.decode("utf-8", "replace").splitlines()
    return text[-lines:]


# --------------------------------------------------------------------------------------
# Test PKI, made with the openssl CLI and cached under build/test-pki/.
# --------------------------------------------------------------------------------------

PKI_VERSION = "2"  # bump to force regeneration when the layout below changes

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_localhost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_wrong]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_otherip]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.2, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_expired]
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
policy = policy_any
[policy_any]
commonName = supplied
"""


class PKI:
    """Paths of the test certificates. All keys are EC P-256, signatures SHA-256.

    ca.pem                       the test CA (the proxy gets it via --ca-file)
    localhost.pem/.key           SAN DNS:localhost, IP:127.0.0.1, signed by ca
    wrong.pem/.key               SAN DNS:wrong.example only, signed by ca
    untrusted-ca.pem             a second, self-signed CA the proxy does NOT trust
    untrusted-localhost.pem/.key SAN DNS:localhost, IP:127.0.0.1, signed by untrusted-ca
    otherip.pem/.key             CN 127.0.0.1 but SAN DNS:localhost, IP:127.0.0.2, IP:::1 only, signed by ca
    expired.pem/.key             SAN DNS:localhost, IP:127.0.0.1, signed by ca, valid only on 1-2 Jan 2020
    """

    FILES = ["ca.pem", "ca.key", "localhost.pem", "localhost.key", "wrong.pem", "wrong.key",
             "untrusted-ca.pem", "untrusted-ca.key", "untrusted-localhost.pem", "untrusted-localhost.key",
             "otherip.pem", "otherip.key", "expired.pem", "expired.key"]

    def __init__(self, d):
        self.dir = d
        for f in self.FILES:
            setattr(self, f.replace("-", "_").replace(".", "_"), os.path.join(d, f))

    # (cert, key, ca that signed it) for each kind of mock server certificate
    def server(self, kind):
        return {
            "localhost": (self.localhost_pem, self.localhost_key, self.ca_pem),
            "wrong": (self.wrong_pem, self.wrong_key, self.ca_pem),
            "untrusted": (self.untrusted_localhost_pem, self.untrusted_localhost_key, self.untrusted_ca_pem),
            "otherip": (self.otherip_pem, self.otherip_key, self.ca_pem),
            "expired": (self.expired_pem, self.expired_key, self.ca_pem),
        }[kind]


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=30)
    if r.returncode != 0:
        fail(f"openssl {' '.join(args)} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")


def _make_pki(d):
    with open(os.path.join(d, "openssl.cnf"), "w") as f:
        f.write(_OPENSSL_CNF)

    def key(name):
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", f"{name}.key", cwd=d)

    def ca(name, cn):
        key(name)
        _openssl("req", "-x509", "-new", "-key", f"{name}.key", "-config", "openssl.cnf",
                 "-extensions", "v3_ca", "-subj", f"/CN={cn}", "-days", "3650", "-sha256",
                 "-out", f"{name}.pem", cwd=d)

    def leaf(name, cn, ext, ca_name):
        key(name)
        _openssl("req", "-new", "-key", f"{name}.key", "-config", "openssl.cnf",
                 "-subj", f"/CN={cn}", "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca_name}.pem", "-CAkey", f"{ca_name}.key",
                 "-set_serial", str(secrets.randbits(63)), "-days", "825", "-sha256",
                 "-extfile", "openssl.cnf", "-extensions", ext, "-out", f"{name}.pem", cwd=d)

    ca("ca", "anthropic-proxy test CA")
    leaf("localhost", "localhost", "v3_localhost", "ca")
    leaf("wrong", "wrong.example", "v3_wrong", "ca")
    ca("untrusted-ca", "anthropic-proxy UNTRUSTED test CA")
    leaf("untrusted-localhost", "localhost", "v3_localhost", "untrusted-ca")
    leaf("otherip", "127.0.0.1", "v3_otherip", "ca")
    # An expired certificate needs explicit dates, which only `openssl ca` takes (OpenSSL 3.0's x509 has no
    # -not_after).
    key("expired")
    _openssl("req", "-new", "-key", "expired.key", "-config", "openssl.cnf", "-subj", "/CN=localhost",
             "-out", "expired.csr", cwd=d)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("%016x\n" % secrets.randbits(63))
    _openssl("ca", "-batch", "-notext", "-config", "openssl.cnf", "-name", "ca_expired", "-cert", "ca.pem",
             "-keyfile", "ca.key", "-in", "expired.csr", "-out", "expired.pem", "-startdate", "20200101000000Z",
             "-enddate", "20200102000000Z", "-extfile", "openssl.cnf", "-extensions", "v3_localhost", cwd=d)
    with open(os.path.join(d, "STAMP"), "w") as f:
        f.write(PKI_VERSION + "\n")


def _pki_valid(d):
    try:
        with open(os.path.join(d, "STAMP")) as f:
            if f.read().strip() != PKI_VERSION:
                return False
    except OSError:
        return False
    if not all(os.path.exists(os.path.join(d, f)) for f in PKI.FILES):
        return False
    for cert in ("ca.pem", "localhost.pem", "wrong.pem", "untrusted-ca.pem", "untrusted-localhost.pem", "otherip.pem"):
        r = subprocess.run(["openssl", "x509", "-checkend", "86400", "-noout", "-in", cert],
                           cwd=d, capture_output=True, timeout=30)
        if r.returncode != 0:
            return False
    return True


_pki = None


def pki():
    """The test PKI, generated once and cached in build/test-pki/ (regenerated when stale)."""
    global _pki
    if _pki is None:
        cache = os.path.join(ROOT, "build", "test-pki")
        if not _pki_valid(cache):
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=".test-pki-", dir=os.path.dirname(cache))
            _make_pki(tmp)
            shutil.rmtree(cache, ignore_errors=True)
            try:
                os.replace(tmp, cache)  # atomic: a concurrent run never sees half a PKI
            except OSError:
                # another run put its own PKI there first: use that one
                shutil.rmtree(tmp, ignore_errors=True)
                if not _pki_valid(cache):
                    raise
        _pki = PKI(cache)
    return _pki


# --------------------------------------------------------------------------------------
# HTTP/1.1 client on raw sockets (optionally TLS), with an incremental response parser.
# --------------------------------------------------------------------------------------

class Headers:
    """Ordered (name, value) pairs; look-ups are case-insensitive."""

    def __init__(self, pairs=None):
        self.pairs = [(k, v) for k, v in (pairs or [])]

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.pairs:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.pairs if k.lower() == name]

    def names(self):
        return [k.lower() for k, _ in self.pairs]

    def __contains__(self, name):
        return name.lower() in self.names()

    def __repr__(self):
        return f"Headers({self.pairs!r})"


class Response:
    def __init__(self):
        self.status = None
        self.reason = None
        self.version = None
        self.headers = Headers()
        self.interim = []        # statuses of 1xx answers seen before this one
        self.body = b""          # de-chunked body
        self.raw_body = b""      # body bytes as received (chunk framing included)
        self.framing = None      # "length", "chunked", "close" or "none"
        self.complete = False    # the body ended as its framing says it should
        self.closed = False      # the peer closed the connection (EOF/reset) while we read

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            fail(f"body is not JSON (status {self.status}): {_short(self.body)}")

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def __repr__(self):
        return (f"<Response {self.status} framing={self.framing} complete={self.complete} "
                f"closed={self.closed} headers={self.headers.pairs!r} body={_short(self.body, 300)}>")


class Conn:
    """One client connection. send() exact bytes; read_response() parses one answer and leaves
    any following bytes buffered for the next one (keep-alive)."""

    def __init__(self, port, host="127.0.0.1", tls_ca=None, server_hostname="localhost", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            # The mocks' control channel: the test talks to its own mock, whose certificate may be the expired
            # one under test (X509_V_FLAG_NO_CHECK_TIME; the chain and the name are still checked).
            ctx.verify_flags |= 0x200000
            self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.buf = b""
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, deadline, what):
        """Receives more bytes into self.buf. Returns False at EOF."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout(what)
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise socket.timeout(what)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, ssl.SSLEOFError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def wait_closed(self, timeout=3):
        """True if the peer closes the connection (EOF/reset) within timeout; any bytes that
        arrive meanwhile are kept in self.buf."""
        deadline = time.monotonic() + timeout
        try:
            while self._recv(deadline, "close"):
                pass
            return True
        except socket.timeout:
            return False

    def read_response(self, method="POST", timeout=10, stop_when=None, resp=None, interim=False):
        """Reads one answer. 1xx answers are skipped (noted in resp.interim) unless interim=True,
        in which case the first 1xx is returned. stop_when(resp) -> True returns early with a
        partial Response; pass it back as `resp` to continue reading the same answer."""
        deadline = time.monotonic() + timeout
        r = resp or Response()
        st = getattr(r, "_state", None) or {"phase": "head"}
        r._state = st

        def progress():
            # Returns True once the answer is complete.
            while True:
                if st["phase"] == "head":
                    i = self.buf.find(b"\r\n\r\n")
                    if i < 0:
                        return False
                    head, self.buf = self.buf[:i].decode("latin-1"), self.buf[i + 4:]
                    lines = head.split("\r\n")
                    parts = lines[0].split(" ", 2)
                    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                        fail(f"bad status line {lines[0]!r}")
                    r.version, r.status = parts[0], int(parts[1])
                    r.reason = parts[2] if len(parts) > 2 else ""
                    r.headers = Headers([tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]])
                    if 100 <= r.status < 200:
                        if interim:
                            st["phase"] = "done"
                            r.complete = True
                            return True
                        r.interim.append(r.status)
                        continue
                    te = (r.headers.get("transfer-encoding") or "").lower()
                    cl = r.headers.get("content-length")
                    if method == "HEAD" or r.status in (204, 304):
                        r.framing, st["phase"] = "none", "done"
                    elif "chunked" in te:
                        r.framing, st["phase"] = "chunked", "chunk-size"
                    elif cl is not None:
                        r.framing, st["phase"], st["left"] = "length", "length", int(cl)
                    else:
                        r.framing, st["phase"] = "close", "close"
                    if st["phase"] == "done":
                        r.complete = True
                        return True
                elif st["phase"] == "length":
                    take = self.buf[:st["left"]]
                    self.buf = self.buf[len(take):]
                    r.body += take
                    r.raw_body += take
                    st["left"] -= len(take)
                    if st["left"] == 0:
                        st["phase"], r.complete = "done", True
                        return True
                    return False
                elif st["phase"] == "close":
                    r.body += self.buf
                    r.raw_body += self.buf
                    self.buf = b""
                    return False
                elif st["phase"] == "chunk-size":
                    i = self.buf.find(b"\r\n")
                    if i < 0:
                        return False
                    line = self.buf[:i]
                    size = int(line.split(b";")[0].strip(), 16)
                    r.raw_body += self.buf[:i + 2]
                    self.buf = self.buf[i + 2:]
                    if size == 0:
                        st["phase"] = "trailers"
                    else:
                        st["phase"], st["left"] = "chunk-data", size
                elif st["phase"] == "chunk-data":
                    if len(self.buf) < st["left"] + 2:
                        # hand over what we have so far (streaming), keep the rest pending
                        take = self.buf[:st["left"]]
                        if take:
                            self.buf = self.buf[len(take):]
                            r.body += take
                            r.raw_body += take
                            st["left"] -= len(take)
                        return False
                    data = self.buf[:st["left"]]
                    if self.buf[st["left"]:st["left"] + 2] != b"\r\n":
                        fail(f"chunk data not followed by CRLF: {self.buf[st['left']:st['left'] + 8]!r}")
                    r.body += data
                    r.raw_body += self.buf[:st["left"] + 2]
                    self.buf = self.buf[st["left"] + 2:]
                    st["phase"] = "chunk-size"
                elif st["phase"] == "trailers":
                    i = self.buf.find(b"\r\n")
                    if i < 0:
                        return False
                    line, self.buf = self.buf[:i], self.buf[i + 2:]
                    r.raw_body += line + b"\r\n"
                    if line == b"":
                        st["phase"], r.complete = "done", True
                        return True
                elif st["phase"] == "done":
                    return True

        while True:
            if progress():
                return r
            if stop_when is not None and r.status is not None and stop_when(r):
                return r
            try:
                more = self._recv(deadline, "response")
            except socket.timeout:
                fail(f"timed out after {timeout}s reading the response; so far: {r!r}")
            if not more:
                r.closed = True
                if st["phase"] == "head":
                    if r.status is None:
                        fail(f"connection closed before a response head; received {_short(self.buf)}")
                    return r  # only 1xx answers were seen
                if st["phase"] == "close":
                    r.complete = True
                return r


def build_request(method, target, headers=(), body=None, chunked=False, host="127.0.0.1"):
    """Exact request bytes. Adds Host (unless given) and Content-Length (unless chunked or
    a content-length/transfer-encoding header is given)."""
    hs = list(headers)
    names = [k.lower() for k, _ in hs]
    if "host" not in names:
        hs.insert(0, ("Host", host))
    if body is not None:
        if chunked:
            if "transfer-encoding" not in names:
                hs.append(("Transfer-Encoding", "chunked"))
        elif "content-length" not in names and "transfer-encoding" not in names:
            hs.append(("Content-Length", str(len(body))))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hs) + "\r\n"
    out = head.encode("latin-1")
    if body is not None:
        out += chunk_body(body) if chunked else body
    return out


def chunk_body(body, sizes=(7, 1, 100, 3)):
    """Chunked encoding of body with varied chunk sizes (cycled), terminated."""
    out, i, n = b"", 0, 0
    while i < len(body):
        size = sizes[n % len(sizes)]
        piece = body[i:i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        i += size
        n += 1
    return out + b"0\r\n\r\n"


def http_request(port, method, target, headers=(), body=None, timeout=10, chunked=False, tls_ca=None,
                 host=None, server_hostname="localhost"):
    """One request on a fresh connection (closed afterwards)."""
    with Conn(port, tls_ca=tls_ca, server_hostname=server_hostname, timeout=timeout) as c:
        c.send(build_request(method, target, headers, body, chunked,
                             host=host or (f"localhost:{port}" if tls_ca else f"127.0.0.1:{port}")))
        return c.read_response(method=method, timeout=timeout)


def api_request(port, target="/v1/messages", body=MSG_BODY, headers=CLIENT_HEADERS, scenario=None,
                extra_headers=(), method="POST", timeout=15):
    """An SDK-like API call through the proxy on a fresh connection."""
    hs = list(headers) + list(extra_headers)
    if scenario:
        hs.append(("x-mock-scenario", scenario))
    return http_request(port, method, target, hs, body if method != "GET" else None, timeout=timeout)


def curl(url, *args, data=None, headers=(), timeout=20):
    """Runs the real curl client (HTTP/1.1, no proxy from the environment). Returns a Response
    (status, headers of the final answer, body) with .rc and .stderr of curl."""
    d = CTX.tmpdir("curl-")
    hdr_file, body_file = os.path.join(d, "headers"), os.path.join(d, "body")
    cmd = ["curl", "-sS", "--no-buffer", "--http1.1", "--noproxy", "*", "--max-time", str(timeout),
           "-D", hdr_file, "-o", body_file]
    for k, v in headers:
        cmd += ["-H", f"{k}: {v}"]
    if data is not None:
        data_file = os.path.join(d, "request-body")
        with open(data_file, "wb") as f:
            f.write(data)
        cmd += ["--data-binary", "@" + data_file]
    cmd += list(args) + [url]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
    r = Response()
    r.rc, r.stderr = p.returncode, p.stderr.decode(errors="replace")
    try:
        raw = open(hdr_file, "rb").read().decode("latin-1")
    except OSError:
        raw = ""
    blocks = [b for b in raw.split("\r\n\r\n") if b.startswith("HTTP/")]
    if blocks:
        lines = blocks[-1].split("\r\n")
        r.status = int(lines[0].split(" ")[1])
        r.interim = [int(b.split(" ")[1]) for b in blocks[:-1]]
        r.headers = Headers([tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:] if ":" in l])
    try:
        r.body = open(body_file, "rb").read()
    except OSError:
        r.body = b""
    r.complete = p.returncode == 0
    return r


def send_until_answer(conn, head, body, piece=1000, pause=0.05, timeout=10):
    """Sends head, then body in pieces, but stops sending as soon as the server answers
    (an early 413/400) or refuses more bytes. Returns the parsed answer."""
    conn.send(head)
    for i in range(0, len(body), piece):
        readable, _, _ = select.select([conn.sock], [], [], pause)
        if readable:
            break
        try:
            conn.send(body[i:i + piece])
        except OSError:
            break
    return conn.read_response(timeout=timeout)


def wait_for_binary(timeout=15.0):
    """Fails unless the proxy binary exists. Waits a little first: a concurrent `make` relinking it
    makes it vanish for a moment."""
    deadline = time.monotonic() + timeout
    while not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        if time.monotonic() > deadline:
            fail(f"proxy binary not found or not executable: {BINARY} (build it first, e.g. `make`)")
        time.sleep(0.1)


def run_binary(args, timeout=10, env=None):
    """Runs the proxy binary to completion (CLI tests). Returns CompletedProcess (text)."""
    wait_for_binary()
    p = Proxy("https://localhost:1")
    e = p.environment()
    e.update(env or {})
    try:
        return subprocess.run([BINARY] + list(args), env=e, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, text=True, errors="replace")
    except subprocess.TimeoutExpired:
        fail(f"{os.path.basename(BINARY)} {' '.join(args)} did not exit within {timeout}s")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def free_port():
    """A port that was free a moment ago (bind to 0, then release)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_logfmt(line):
    """One logfmt line (--log-format text) as a dict, or None when it is not strict logfmt: every field
    key=value, a value bare (no space, '=' or '"') or double-quoted with backslash escapes."""
    out, i, n = {}, 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i == n:
            break
        m = re.match(r"[A-Za-z_][A-Za-z0-9_.]*=", line[i:])
        if not m:
            return None
        key, i = m.group(0)[:-1], i + len(m.group(0))
        if i < n and line[i] == '"':
            i, val = i + 1, []
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                    val.append({"n": "\n", "t": "\t", "r": "\r"}.get(line[i], line[i]))
                else:
                    val.append(line[i])
                i += 1
            if i == n:
                return None  # unterminated quote
            i += 1
            val = "".join(val)
        else:
            j = i
            while j < n and line[j] != " ":
                if line[j] in '="':
                    return None
                j += 1
            val, i = line[i:j], j
        if i < n and line[i] != " ":
            return None
        out[key] = val
    return out


def parse_sse(text):
    """[(event, data-string)] from an SSE text with any line endings."""
    events, ev, data = [], None, []
    for line in re.split(r"\r\n|\r|\n", text):
        if line == "":
            if ev is not None or data:
                events.append((ev, "\n".join(data)))
            ev, data = None, []
        elif line.startswith("event:"):
            ev = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    return events


def api_error(resp, what="error body"):
    """Checks the API error shape and returns (type, message)."""
    obj = resp.json()
    ok(isinstance(obj, dict) and obj.get("type") == "error" and isinstance(obj.get("error"), dict),
       f"{what}: expected {{'type':'error','error':{{...}}}}, got {_short(obj)}")
    e = obj["error"]
    ok(isinstance(e.get("type"), str) and isinstance(e.get("message"), str) and e["message"],
       f"{what}: error needs string 'type' and non-empty 'message', got {_short(e)}")
    return e["type"], e["message"]


# --------------------------------------------------------------------------------------
# Processes: the mock API and the proxy.
# --------------------------------------------------------------------------------------

def _stop_process(proc, grace=5.0):
    """SIGTERM, then SIGKILL after `grace` seconds. Returns (returncode, killed)."""
    if proc.poll() is not None:
        return proc.returncode, False
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=grace), False
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=5), True


class Mock:
    """The mock API server (test/mock/mock_api.py) on 127.0.0.1 over TLS."""

    def __init__(self, cert="localhost", expect_token=TOKEN, idle_timeout=None, label="mock",
                 oauth_validate=False, refresh_token=None, access_tokens=(), tls_version=None,
                 client_cipher_order=False, no_tickets=False):
        self.cert, self.key, self.ca = pki().server(cert)
        self.server_name = "wrong.example" if cert == "wrong" else "localhost"  # what its cert is for
        self.expect_token = expect_token
        self.idle_timeout = idle_timeout
        self.label = label
        self.oauth_validate = oauth_validate
        self.refresh_token = refresh_token
        self.access_tokens = list(access_tokens)
        self.tls_version = tls_version  # "1.2" or "1.3": the only version the mock speaks
        self.client_cipher_order = client_cipher_order
        self.no_tickets = no_tickets  # TLS 1.3 without session tickets (a server or gateway that sends none)
        self.proc = None
        self.port = None

    def start(self):
        d = CTX.tmpdir(self.label + "-")
        port_file = os.path.join(d, "port")
        self.log_path = os.path.join(d, "mock.log")
        cmd = [sys.executable, MOCK_SCRIPT, "--port", "0", "--cert", self.cert, "--key", self.key,
               "--port-file", port_file]
        if self.expect_token is not None:
            cmd += ["--expect-token", self.expect_token]
        if self.idle_timeout is not None:
            cmd += ["--idle-timeout", str(self.idle_timeout)]
        if self.oauth_validate:
            cmd += ["--oauth-validate"]
        if self.refresh_token is not None:
            cmd += ["--refresh-token", self.refresh_token]
        for t in self.access_tokens:
            cmd += ["--access-token", t]
        if self.tls_version:
            cmd += ["--tls-version", self.tls_version]
        if self.client_cipher_order:
            cmd += ["--client-cipher-order"]
        if self.no_tickets:
            cmd += ["--no-tickets"]
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        CTX.live.append(self)
        CTX.logs.append((self.label, self.log_path))
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                fail(f"mock exited with {self.proc.returncode} before listening")
            if time.monotonic() > deadline:
                fail("mock did not write its port file within 10s")
            time.sleep(0.02)
        self.port = int(open(port_file).read().strip())
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        if self.proc is not None:
            _stop_process(self.proc, grace=3)
            self.log_file.close()
            if self in CTX.live:
                CTX.live.remove(self)
            self.proc = None

    @property
    def url(self):
        return f"https://localhost:{self.port}"

    # ---- control endpoints (over TLS, trusting the CA that signed this mock's cert) ----
    def _control(self, method, path, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        r = http_request(self.port, method, path, [("connection", "close"), ("content-type", "application/json")],
                         body=data if method == "POST" else None, tls_ca=self.ca,
                         server_hostname=self.server_name, timeout=5)
        if r.status != 200:
            fail(f"mock control {method} {path} -> {r.status} {_short(r.body)}")
        return json.loads(r.body)

    def oauth(self, **cfg):
        """Configures the mock's token endpoint / token validation (see mock_api.py); returns its state."""
        return self._control("POST", "/__mock/oauth", cfg)

    def oauth_state(self):
        return self._control("GET", "/__mock/oauth")

    def usage_config(self, **cfg):
        """Configures the mock's usage endpoint and windows; returns its state."""
        return self._control("POST", "/__mock/usage", cfg)

    def usage_state(self):
        return self._control("GET", "/__mock/usage")

    @property
    def token_url(self):
        return f"https://localhost:{self.port}/v1/oauth/token"

    def token_calls(self):
        """Records of the token endpoint calls."""
        return self.requests(kind="oauth_token")

    def refresh(self, refresh_token, client_id=CLIENT_ID):
        """Performs a refresh against the mock like another process (Claude Code) would.
        Returns the token answer (a dict); fails the test on a non-200."""
        body = json.dumps({"grant_type": "refresh_token", "refresh_token": refresh_token,
                           "client_id": client_id}).encode()
        r = http_request(self.port, "POST", "/v1/oauth/token",
                         [("content-type", "application/json"), ("connection", "close")], body=body,
                         tls_ca=self.ca, server_hostname=self.server_name, timeout=10)
        if r.status != 200:
            fail(f"the test's own refresh at the mock failed: {r.status} {_short(r.body)}")
        return json.loads(r.body)

    def stats(self):
        return self._control("GET", "/__mock/stats")

    # ---- several accounts (see "Accounts" in mock_api.py) ----
    def accounts(self, **accounts):
        """Creates or updates accounts: mock.accounts(a={...}, b={...}) (None removes one; "default" is
        the historical single login). Returns every account's state."""
        return self._control("POST", "/__mock/accounts", {"accounts": accounts})

    def account(self, name, **cfg):
        """Configures one account (created when new); returns its state."""
        return self._control("POST", "/__mock/accounts", {"accounts": {name: cfg}})[name]

    def accounts_state(self):
        return self._control("GET", "/__mock/accounts")

    def account_stats(self, name):
        """This account's counters: requests, by_path, statuses, auth_failures, modes, usage_polls,
        usage_poll_times, refreshes, refresh_tokens_received, invalid_grants, spent_refresh_reuse."""
        st = self._control("GET", "/__mock/stats")["accounts"]
        ok(name in st, f"the mock has no account {name!r} (accounts: {sorted(st)})")
        return st[name]

    def routing(self):
        """Per API request that reached an account, in order: {"seq", "account", "method", "path",
        "session_id", "user_id", "user_id_session", "model", "mode", "status"}."""
        return self._control("GET", "/__mock/stats")["routing"]

    def requests(self, kind="api"):
        """Recorded requests; kind="api" leaves out usage polls (GET /api/oauth/usage), None = all."""
        recs = self._control("GET", "/__mock/requests")
        return [r for r in recs if kind is None or r.get("kind") == kind]

    def reset(self):
        self._control("POST", "/__mock/reset")

    def last_request(self):
        recs = self.requests()
        ok(recs, "the mock recorded no API request")
        return recs[-1]

    def response_body(self, rec):
        """The body bytes the mock sent for a recorded request (de-chunked)."""
        resp = rec.get("response") or {}
        ok("body_b64" in resp, f"mock kept no response body for request {rec.get('seq')}: {_short(resp)}")
        return base64.b64decode(resp["body_b64"])


class Proxy:
    """The anthropic-proxy binary, started against an upstream URL."""

    def __init__(self, upstream, args=(), token=TOKEN, ca_file=None, env=None, label="proxy",
                 wait_ready=True):
        self.upstream = upstream
        self.args = list(args)
        self.token = token
        self.ca_file = ca_file or pki().ca_pem
        self.extra_env = dict(env or {})
        self.label = label
        self.wait_ready = wait_ready
        self.proc = None
        self.port = None
        self.log_path = None

    def environment(self):
        """A clean environment: no inherited credentials, proxy settings or ANTHROPIC_* vars."""
        drop = ("CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_") and k not in drop}
        home = self.home = CTX.tmpdir("home-")
        env["HOME"] = home
        env["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
        if self.token is not None:
            env["CLAUDE_CODE_OAUTH_TOKEN"] = self.token
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        env.update(self.extra_env)
        return env

    def command(self):
        return [BINARY, "--listen", f"127.0.0.1:{self.port}", "--upstream", self.upstream,
                "--ca-file", self.ca_file, "--log-format", "json", "--log-level", "debug"] + self.args

    def start(self):
        wait_for_binary()
        for attempt in range(3):
            self.port = free_port()
            d = CTX.tmpdir(self.label + "-")
            self.log_path = os.path.join(d, "proxy.log")
            self.log_file = open(self.log_path, "wb")
            self.proc = subprocess.Popen(self.command(), env=self.environment(), stdin=subprocess.DEVNULL,
                                         stdout=self.log_file, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            CTX.live.append(self)
            CTX.logs.append((self.label, self.log_path))
            if not self.wait_ready:
                return self
            if self._wait_healthy(5.0):
                return self
            rc = self.proc.poll()
            text = self.log_text()
            self.stop()
            if rc is not None and re.search(r"in use|EADDRINUSE", text, re.I) and attempt < 2:
                continue  # somebody took the port between free_port() and bind: try another
            if rc is not None:
                fail(f"proxy exited with status {rc} during start-up (command: {' '.join(self.command())})")
            fail("proxy did not answer GET /healthz with 200 within 5s")
        return self

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = http_request(self.port, "GET", "/healthz", timeout=1)
                if r.status == 200:
                    return True
            except (OSError, AssertionError):
                pass
            time.sleep(0.05)
        return False

    def stop(self):
        """Stops the proxy. Returns a list of problems: it died on its own, crashed on a
        signal, or a sanitizer reported something in its log."""
        problems = []
        if self.proc is None:
            return problems
        died = self.proc.poll()
        if died is not None:
            problems.append(f"proxy exited on its own with status {died} before the test stopped it")
        rc, killed = _stop_process(self.proc, grace=5)
        self.log_file.close()
        if self in CTX.live:
            CTX.live.remove(self)
        self.proc = None
        if rc < 0 and -rc not in (signal.SIGTERM, signal.SIGKILL):
            problems.append(f"proxy died on signal {signal.Signals(-rc).name}")
        if killed:
            # not a failure by the contract, but worth seeing in the log
            with open(self.log_path, "ab") as f:
                f.write(b"\n[harness] proxy ignored SIGTERM for 5s; sent SIGKILL\n")
        if os.environ.get("PROXY_TEST_IGNORE_LEAKS") == "1":
            patterns = [p for p in SANITIZER_PATTERNS if "LeakSanitizer" not in p]
        else:
            patterns = SANITIZER_PATTERNS
        text = self.log_text()
        for p in patterns:
            if p in text:
                problems.append(f"sanitizer report in the proxy log: {p!r}")
        return problems

    def kill(self):
        """SIGKILL (a crash at a random moment); no checks. Returns the exit status."""
        if self.proc is None:
            return None
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        rc = self.proc.wait(timeout=10)
        self.log_file.close()
        if self in CTX.live:
            CTX.live.remove(self)
        self.proc = None
        return rc

    def send_signal(self, sig):
        ok(self.proc is not None and self.proc.poll() is None, f"proxy is not running (cannot send {sig})")
        self.proc.send_signal(sig)

    def get(self, path, timeout=5):
        return http_request(self.port, "GET", path, timeout=timeout)

    def usage(self):
        """GET /usage as JSON (fails the test unless 200)."""
        r = self.get("/usage")
        if r.status != 200:
            fail(f"GET /usage -> {r.status} {_short(r.body)}")
        return r.json()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def log_json(self):
        """Every log line that parses as a JSON object."""
        out = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    out.append(obj)
        return out


class Env:
    """Context manager: a mock (unless upstream= is given) and a proxy pointed at it.
    On exit both are stopped and a proxy crash/sanitizer report fails the test."""

    def __init__(self, mock_cert="localhost", proxy_args=(), token=TOKEN, upstream=None, proxy_env=None,
                 mock_idle_timeout=None, start_mock=True, mock_opts=None):
        self.mock = None
        self.proxy = None
        self._mock_args = dict(cert=mock_cert, idle_timeout=mock_idle_timeout, **(mock_opts or {}))
        self._start_mock = start_mock and upstream is None
        self._upstream = upstream
        self._proxy_args = list(proxy_args)
        self._token = token
        self._proxy_env = proxy_env

    def __enter__(self):
        try:
            if self._start_mock:
                self.mock = Mock(**self._mock_args).start()
            upstream = self._upstream or self.mock.url
            self.proxy = Proxy(upstream, self._proxy_args, token=self._token, env=self._proxy_env).start()
            if self.mock:
                self.mock.reset()  # whatever happened during start-up is not the test's business
        except BaseException:
            self._stop()
            raise
        return self

    def _stop(self):
        problems = self.proxy.stop() if self.proxy else []
        if self.mock:
            self.mock.stop()
        return problems

    def __exit__(self, exc_type, exc, tb):
        problems = self._stop()
        if problems:
            msg = "; ".join(problems)
            if exc is not None and not isinstance(exc, TestTimeout):
                raise AssertionError(f"{exc} -- and: {msg}") from exc
            if exc is None:
                fail(msg)
        return False


# --------------------------------------------------------------------------------------
# OAuth credentials files, an environment with a credentials file, secrets in logs.
# --------------------------------------------------------------------------------------

# Top-level keys of a credentials file that the proxy does not own: they must survive every write-back.
EXTRA_CRED_KEYS = {"mcpOAuth": {"keep": "me"}, "unknownTop": [1, 2, {"x": None}]}
DEFAULT_SCOPES = ("user:inference", "user:profile")


def now_ms():
    return int(time.time() * 1000)


def new_token_pair(tag="test"):
    """A fresh (access, refresh) pair in the real format, long and unique (so a log search for it
    cannot match anything else)."""
    return (f"sk-ant-oat01-{tag}-{secrets.token_urlsafe(36)}", f"sk-ant-ort01-{tag}-{secrets.token_urlsafe(36)}")


def credentials_doc(access, refresh, expires_at_ms, scopes=DEFAULT_SCOPES, extra=None):
    """The Claude Code shape of ~/.claude/.credentials.json."""
    doc = {"claudeAiOauth": {"accessToken": access, "refreshToken": refresh, "expiresAt": expires_at_ms,
                             "scopes": list(scopes), "subscriptionType": "max",
                             "rateLimitTier": "default_claude_max_20x"}}
    doc.update(json.loads(json.dumps(EXTRA_CRED_KEYS if extra is None else extra)))
    return doc


def write_credentials(path, doc, atomic=True):
    """Writes a credentials file the way Claude Code would: mode 0600; atomic=True writes a temp
    file and renames it over the old one, atomic=False rewrites the file in place."""
    data = json.dumps(doc).encode()
    if atomic:
        tmp = f"{path}.writer-{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    os.chmod(path, 0o600)


def read_credentials(path, what="credentials file"):
    """The parsed file; fails the test when it is missing, empty or not one JSON object."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        fail(f"{what} {path}: cannot read: {e}")
    ok(data.strip(), f"{what} is empty ({len(data)} bytes)")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        fail(f"{what} is not valid JSON ({e}); {len(data)} bytes: {_short(data, 600)}")
    ok(isinstance(doc, dict), f"{what} is not a JSON object: {_short(doc)}")
    return doc


def file_mode(path):
    return os.stat(path).st_mode & 0o777


def find_secrets(text, tokens):
    """The tokens (full strings) that occur in text as whole tokens (so sk-...-mock-1 does not
    match inside sk-...-mock-12)."""
    found = []
    for t in tokens:
        if t and re.search(re.escape(t) + r"(?![A-Za-z0-9_-])", text):
            found.append(t)
    return found


def assert_no_secrets(text, tokens, what):
    leaked = find_secrets(text, tokens)
    if leaked:
        # Never print the whole token in the failure either: a prefix is enough to identify it.
        fail(f"{what} contains {len(leaked)} full token(s): {[t[:22] + '...' for t in leaked]}")


def bearer_of(rec):
    for k, v in rec.get("headers", []):
        if k.lower() == "authorization" and v.lower().startswith("bearer "):
            return v[7:].strip()
    return None


def parallel(fn, n, timeout=30):
    """Runs fn(i) for i in range(n) on n threads at once; returns the results (an exception
    object in place of a result that raised)."""
    import threading
    results = [None] * n
    start = threading.Event()

    def run(i):
        start.wait()
        try:
            results[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    start.set()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = sum(t.is_alive() for t in threads)
    if alive:
        fail(f"{alive} of {n} parallel calls still running after {timeout}s")
    return results


def account_args(accounts):
    """[("a", PATH), ("b", PATH2)] -> ["--account", "a=PATH", "--account", "b=PATH2"]."""
    out = []
    for name, path in accounts:
        out += ["--account", f"{name}={path}"]
    return out


def write_account_credentials(directory, name, access, refresh, expires_at_ms, scopes=DEFAULT_SCOPES, extra=None):
    """Writes DIRECTORY/NAME/.credentials.json (Claude Code's shape, mode 0600, with EXTRA_CRED_KEYS
    unless extra= says otherwise); returns its path. One directory per account, as separate Claude
    Code config dirs would be."""
    d = os.path.join(directory, name)
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, ".credentials.json")
    write_credentials(path, credentials_doc(access, refresh, expires_at_ms, scopes=scopes, extra=extra))
    return path


class PoolAccount:
    """One subscription of a PoolEnv: its name, its tokens at start, its credentials file."""

    def __init__(self, name, access0, refresh0, expires_in_s, path, doc):
        self.name, self.access0, self.refresh0 = name, access0, refresh0
        self.expires_in_s, self.path, self.doc = expires_in_s, path, doc

    def __repr__(self):
        return f"<PoolAccount {self.name} {self.path}>"


class OAuthEnv:
    """A mock in OAuth mode and a proxy that reads a Claude Code credentials file.

    The mock validates bearers (validate=True) and knows the file's tokens: access token
    `self.access0` (valid for `expires_in_s`, expired when negative) and refresh token
    `self.refresh0` (the valid one unless refresh_valid=False). The file (mode 0600, in its own
    temp dir) has the Claude Code shape plus the keys of EXTRA_CRED_KEYS. The proxy gets
    --credentials FILE --token-url <mock> --poll-interval <poll>, no CLAUDE_CODE_OAUTH_TOKEN and
    an empty HOME. The mock is NOT reset after start-up (what the proxy did at start counts).
    On exit: the proxy is stopped (a crash fails the test) and every proxy log is searched for
    every token the test or the mock ever used."""

    def __init__(self, expires_in_s=8 * 3600, validate=True, refresh_valid=True, proxy_args=(),
                 poll="off", token_urls=None, scopes=DEFAULT_SCOPES, start_proxy=True, mock_oauth=None,
                 mock_usage=None, credentials=True):
        self.expires_in_s = expires_in_s
        self.validate = validate
        self.refresh_valid = refresh_valid
        self.proxy_args = list(proxy_args)
        self.poll = poll
        self.token_urls = token_urls
        self.scopes = scopes
        self.start_proxy_now = start_proxy
        self.mock_oauth = mock_oauth or {}
        self.mock_usage = mock_usage
        self.credentials = credentials
        self.mock = None
        self.proxy = None
        self.proxies = []
        self.secrets = []            # extra tokens the test made up (checked in the logs too)
        self.access0, self.refresh0 = new_token_pair("file")
        self.secrets += [self.access0, self.refresh0]
        self.dir = None
        self.path = None
        self.doc = None

    def __enter__(self):
        try:
            self.mock = Mock(expect_token=None, oauth_validate=self.validate,
                             refresh_token=self.refresh0 if self.refresh_valid else None).start()
            self.mock.oauth(access_tokens=[{"token": self.access0, "expires_in": self.expires_in_s}],
                            **self.mock_oauth)
            if self.mock_usage:
                self.mock.usage_config(**self.mock_usage)
            self.dir = CTX.tmpdir("creds-")
            self.path = os.path.join(self.dir, ".credentials.json")
            self.doc = credentials_doc(self.access0, self.refresh0, now_ms() + int(self.expires_in_s * 1000),
                                       scopes=self.scopes)
            if self.credentials:
                write_credentials(self.path, self.doc)
            if self.start_proxy_now:
                self.start_proxy()
        except BaseException:
            self._stop()
            raise
        return self

    def args(self, extra=()):
        urls = self.token_urls if self.token_urls is not None else [self.mock.token_url]
        a = ["--credentials", self.path] if self.credentials else []
        for u in urls:
            a += ["--token-url", u]
        if self.poll is not None:
            a += ["--poll-interval", self.poll]
        return a + self.proxy_args + list(extra)

    def start_proxy(self, extra_args=(), wait_ready=True):
        """Starts a(nother) proxy with the same arguments (the previous one must be stopped)."""
        self.proxy = Proxy(self.mock.url, self.args(extra_args), token=None, wait_ready=wait_ready,
                           label=f"proxy{len(self.proxies) + 1}" if self.proxies else "proxy")
        self.proxies.append(self.proxy)
        return self.proxy.start()

    def stop_proxy(self):
        """SIGTERM; fails the test if it crashed or a sanitizer spoke."""
        problems = self.proxy.stop()
        if problems:
            fail("; ".join(problems))

    def all_tokens(self):
        toks = list(self.secrets)
        try:
            st = self.mock.oauth_state()
            for i in st.get("issued", []):
                toks += [i["access_token"], i["refresh_token"]]
            toks += list(st.get("access_tokens", {}).keys())
        except BaseException:
            pass
        return sorted(set(toks))

    def check_logs(self):
        toks = self.all_tokens()
        for p in self.proxies:
            assert_no_secrets(p.log_text(), toks, f"{p.label} log ({p.log_path})")

    def api_records(self):
        return self.mock.requests()

    def refreshes(self):
        return self.mock.stats()["refreshes"]

    def _stop(self):
        problems = []
        for p in self.proxies:
            problems += p.stop()
        leak = None
        if self.mock and self.mock.proc is not None:
            try:
                self.check_logs()
            except AssertionError as e:
                leak = str(e)
        if self.mock:
            self.mock.stop()
        if leak:
            problems.append(leak)
        return problems

    def __exit__(self, exc_type, exc, tb):
        problems = self._stop()
        if problems:
            msg = "; ".join(problems)
            if exc is not None and not isinstance(exc, TestTimeout):
                raise AssertionError(f"{exc} -- and: {msg}") from exc
            if exc is None:
                fail(msg)
        return False


class PoolEnv(OAuthEnv):
    """A mock with several accounts and a proxy with one --account NAME=PATH per account.

    accounts: names, or {name: extra mock account config} (windows, modes, usage, overage, ...; see
    mock_api.py). Each account gets a fresh token pair known to the mock (access valid for
    expires_in_s, a number or {name: seconds}; the refresh token valid) and its own credentials file
    (write_account_credentials). The mock's default account validates and knows no token, so a
    bearer from nowhere gets 401. The proxy gets --account NAME=PATH... --token-url <mock>
    --poll-interval <poll> (override with proxy_args), no CLAUDE_CODE_OAUTH_TOKEN, an empty HOME.
    As OAuthEnv: the mock is not reset after start-up; on exit the proxy logs are searched for
    every token of every account."""

    def __init__(self, accounts=("a", "b"), expires_in_s=8 * 3600, proxy_args=(), poll="off", token_urls=None,
                 scopes=DEFAULT_SCOPES, start_proxy=True):
        super().__init__(expires_in_s=8 * 3600, proxy_args=proxy_args, poll=poll, token_urls=token_urls,
                         scopes=scopes, start_proxy=start_proxy)
        self.account_cfg = dict(accounts) if isinstance(accounts, dict) else {n: {} for n in accounts}
        self.pool_expires = expires_in_s
        self.pool = {}              # name -> PoolAccount
        self.secrets = []
        self.access0 = self.refresh0 = self.path = None

    def __enter__(self):
        try:
            self.mock = Mock(expect_token=None, oauth_validate=True).start()
            self.dir = CTX.tmpdir("creds-")
            cfgs = {}
            for name, extra in self.account_cfg.items():
                ttl = self.pool_expires.get(name, 8 * 3600) if isinstance(self.pool_expires, dict) \
                    else self.pool_expires
                access, refresh = new_token_pair(f"file-{name}")
                self.secrets += [access, refresh]
                path = write_account_credentials(self.dir, name, access, refresh, now_ms() + int(ttl * 1000),
                                                 scopes=self.scopes)
                self.pool[name] = PoolAccount(name, access, refresh, ttl, path, read_credentials(path))
                cfg = dict(extra or {})
                cfg["oauth"] = dict({"refresh_token": refresh,
                                     "access_tokens": [{"token": access, "expires_in": ttl}]},
                                    **(cfg.get("oauth") or {}))
                cfgs[name] = cfg
            self.mock.accounts(**cfgs)
            if self.start_proxy_now:
                self.start_proxy()
        except BaseException:
            self._stop()
            raise
        return self

    def args(self, extra=()):
        urls = self.token_urls if self.token_urls is not None else [self.mock.token_url]
        a = account_args([(n, acc.path) for n, acc in self.pool.items()])
        for u in urls:
            a += ["--token-url", u]
        if self.poll is not None:
            a += ["--poll-interval", self.poll]
        return a + self.proxy_args + list(extra)

    def all_tokens(self):
        toks = list(self.secrets)
        try:
            for st in self.mock.accounts_state().values():
                toks += [i["access_token"] for i in st["oauth"]["issued"]]
                toks += [i["refresh_token"] for i in st["oauth"]["issued"]]
                toks += list(st["oauth"]["access_tokens"].keys())
        except BaseException:
            pass
        return sorted(set(toks))

    def served_by(self):
        """The account of every API request that reached one, in order (from the mock's routing log)."""
        return [e["account"] for e in self.mock.routing()]


# --------------------------------------------------------------------------------------
# The official TypeScript SDK (npm), installed once into test/integration/node/.
# --------------------------------------------------------------------------------------

NODE_DIR = os.path.join(HERE, "node")


def ensure_node_sdk():
    """Installs test/integration/node/ (package.json pins @anthropic-ai/sdk) with npm, once; later
    runs reuse node_modules. Fails (never skips silently) when node/npm are missing or npm fails."""
    import fcntl
    with open(os.path.join(NODE_DIR, "package.json")) as f:
        want = json.load(f)["dependencies"]["@anthropic-ai/sdk"]
    installed = os.path.join(NODE_DIR, "node_modules", "@anthropic-ai", "sdk", "package.json")

    def have():
        try:
            with open(installed) as f:
                return json.load(f).get("version") == want
        except (OSError, ValueError):
            return False

    node, npm = shutil.which("node"), shutil.which("npm")
    if not node:
        fail("node is not installed: the official-SDK test cannot run (needs Node 18+ and npm)")
    if have():
        return node
    if not npm:
        fail("npm is not installed: cannot install @anthropic-ai/sdk for the official-SDK test")
    with open(os.path.join(NODE_DIR, ".install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent runs: one installs, the others wait
        if have():
            return node
        try:
            p = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                               timeout=240, text=True, errors="replace")
        except subprocess.TimeoutExpired:
            fail("npm install (test/integration/node) did not finish within 240s")
        if p.returncode != 0 or not have():
            fail(f"npm install (test/integration/node) failed with {p.returncode}: "
                 f"{_short((p.stderr or p.stdout)[-1500:], 1500)}")
    return node


def run_sdk_client(base_url, model, timeout=40):
    """Runs test/integration/node/sdk_client.mjs (the official SDK: one create, one stream) against base_url with
    a clean environment (no ANTHROPIC_* or proxy variables); returns its JSON summary (fails on a non-zero exit)."""
    node = ensure_node_sdk()
    drop = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    e = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_") and k not in drop}
    try:
        p = subprocess.run([node, os.path.join(NODE_DIR, "sdk_client.mjs"), base_url, model], cwd=NODE_DIR,
                           env=e, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"the SDK client did not finish within {timeout}s")
    eq(p.returncode, 0, f"SDK client exit status (stderr: {p.stderr[-1500:]!r})")
    return json.loads(p.stdout.strip().splitlines()[-1])
