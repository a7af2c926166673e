"""Alert webhooks (--alert-webhook): a receiver on 127.0.0.1 (plain HTTP and HTTPS with the test CA) gets one
JSON POST when a window crosses --warn-utilization, none while it stays high, one "resolved" when it drops; a
receiver that is down gets the message once it is back; a receiver that never answers does not slow traffic."""

import http.server
import json
import re
import socket
import ssl
import threading
import time

from harness import Env, PoolEnv, api_request, contains, eq, free_port, matches, not_contains, ok, pki, wait_until

HIGH = "window_utilization_high"


class Receiver:
    """Records every POST (path, headers, JSON body). `hold` (a threading.Event) makes it sit on each request
    until the event is set; `status` is what it answers."""

    def __init__(self, port=None, tls=False, status=200, hold=None):
        self.port = port or free_port()
        self.posts = []
        self.status = status
        self.hold = hold
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                outer.posts.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "doc": doc, "at": time.monotonic()})
                if outer.hold is not None:
                    outer.hold.wait(30)
                try:
                    self.send_response(outer.status)
                    self.send_header("content-type", "text/plain")
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the proxy gave up on this POST (or stopped) meanwhile

            def log_message(self, *a):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(pki().localhost_pem, pki().localhost_key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def docs(self, event=None):
        return [p["doc"] for p in self.posts if p["doc"] and (event is None or p["doc"].get("event") == event)]


def set_5h(env, percent):
    """Moves the mock's 5h window; the next answer's rate-limit headers carry it to the proxy."""
    env.mock.usage_config(windows={"five_hour": {"utilization": percent}})
    eq(api_request(env.proxy.port).status, 200, "a request through the proxy")


def metric(env, name, labels=""):
    text = env.proxy.get("/metrics").body.decode()
    m = re.search(r"^" + re.escape(name + labels) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_alert_window_high_once_then_resolved():
    with Receiver() as rx, Env(proxy_args=["--alert-webhook", f"http://127.0.0.1:{rx.port}/hooks/ops?x=1",
                                           "--warn-utilization", "80"]) as env:
        set_5h(env, 60)
        time.sleep(2.5)  # more than one evaluation period
        eq(rx.docs(), [], "no alert below the line")
        set_5h(env, 85)
        wait_until(lambda: rx.docs(HIGH), 6, "the alert POST")
        post = rx.posts[0]
        eq(post["path"], "/hooks/ops?x=1", "the webhook's path and query")
        eq(post["headers"].get("content-type"), "application/json", "content type")
        doc = post["doc"]
        eq((doc["event"], doc["state"], doc["account"], doc["window"]), (HIGH, "firing", "default", "5h"), "fields")
        eq(doc["utilization"], 0.85, "utilization (a fraction)")
        eq(doc["warn_utilization"], 0.8, "the line")
        matches(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc["resets_at"], "resets_at")
        contains(doc["text"], "account default, window 5h at 85% (warning at 80%); resets ", "Slack text")
        matches(r"\(in \d+m\)", doc["text"], "time to the reset")
        # Stays high (and higher): no repeat.
        for _ in range(3):
            set_5h(env, 90)
        time.sleep(4.5)
        eq(len(rx.docs(HIGH)), 1, "one message while the window stays high")
        eq(metric(env, "anthropic_proxy_alerts_sent_total", '{event="window_utilization_high"}'), 1.0,
           "alerts_sent_total")
        # Drops below the line (minus the hysteresis): one resolved message.
        set_5h(env, 30)
        wait_until(lambda: len(rx.docs(HIGH)) == 2, 6, "the resolved POST")
        doc = rx.docs(HIGH)[1]
        eq((doc["state"], doc["window"]), ("resolved", "5h"), "resolved")
        contains(doc["text"], "window 5h back to 30% (below 80%)", "resolved text")
        time.sleep(2.5)
        eq(len(rx.posts), 2, "nothing else was sent")
        log = env.proxy.log_text()
        ok("/hooks/ops" not in log, "the webhook's path (which may hold a secret) is not logged")
        eq(metric(env, "anthropic_proxy_alert_failures_total"), 0.0, "no failures")


def test_alert_https_receiver_with_test_ca():
    with Receiver(tls=True) as rx, Env(proxy_args=["--alert-webhook", f"https://localhost:{rx.port}/h"]) as env:
        set_5h(env, 95)
        wait_until(lambda: rx.docs(HIGH), 6, "the alert over HTTPS")
        eq(rx.docs(HIGH)[0]["window"], "5h", "window")
        eq(rx.posts[0]["headers"].get("host"), f"localhost:{rx.port}", "Host header")


def test_alert_receiver_down_then_back():
    port = free_port()
    with Env(proxy_args=["--alert-webhook", f"http://127.0.0.1:{port}/down"]) as env:
        set_5h(env, 88)
        wait_until(lambda: (metric(env, "anthropic_proxy_alert_failures_total") or 0) >= 2, 10,
                   "failed deliveries while nothing listens")
        log = env.proxy.log_text()
        contains(log, '"alert_delivery_failed"', "failures logged")
        contains(log, f'"webhook":"http://127.0.0.1:{port}"', "the webhook named by its origin only")
        with Receiver(port=port) as rx:
            wait_until(lambda: rx.docs(HIGH), 12, "delivery once the receiver is back")
            time.sleep(1)
            eq(len(rx.docs(HIGH)), 1, "delivered once")
            eq(rx.docs(HIGH)[0]["state"], "firing", "the queued message")
            eq(metric(env, "anthropic_proxy_alerts_sent_total", '{event="window_utilization_high"}'), 1.0, "sent")


def test_alert_slow_receiver_does_not_hold_traffic():
    hold = threading.Event()
    with Receiver(hold=hold) as rx, Env(proxy_args=["--alert-webhook", f"http://127.0.0.1:{rx.port}/slow"]) as env:
        set_5h(env, 95)  # over --warn-utilization, under --max-utilization (the guard would answer at 98%)
        wait_until(lambda: rx.posts, 6, "the POST reached the receiver (which does not answer)")
        worst = 0.0
        for _ in range(20):
            t0 = time.monotonic()
            eq(api_request(env.proxy.port).status, 200, "request while the webhook hangs")
            worst = max(worst, time.monotonic() - t0)
        ok(worst < 1.0, f"requests answered promptly while the webhook hangs (slowest {worst:.3f}s)")
        eq(env.proxy.get("/healthz").status, 200, "healthz")
        hold.set()


def test_alert_webhook_flag_validation():
    from harness import run_binary
    r = run_binary(["--alert-webhook", "ftp://example.invalid/x"])
    eq(r.returncode, 2, "exit status for a bad webhook URL")
    contains(r.stderr, "--alert-webhook", "error names the flag")
    not_contains(r.stderr, "example.invalid", "the URL (which may hold a secret) is not echoed")


def test_alert_client_budget_exhausted_once():
    from test_clients import GROWING, clients_file, send
    path = clients_file("batch sk-proxy-batch-0001 5h=20%\nide sk-proxy-ide-00001\n")
    with Receiver() as rx, PoolEnv(accounts=GROWING, poll="1s",
                                   proxy_args=["--clients-file", path, "--alert-webhook", f"http://127.0.0.1:{rx.port}/b"]) as env:
        for i in range(30):
            if send(env, "batch").status == 429:
                break
        docs = wait_until(lambda: rx.docs("client_budget_exhausted") or None, 8, "the budget alert")
        d = docs[0]
        eq((d["state"], d["client"], d["window"], d["budget"]), ("firing", "batch", "5h", 0.2), "the budget alert's fields")
        ok(d["utilization"] >= 0.2, f"attributed utilization at the budget: {d}")
        ok("client batch reached its budget for the 5h window" in d["text"], f"text: {d['text']}")
        for i in range(3):
            send(env, "batch")
        time.sleep(2.5)  # more evaluations: still firing, no second message
        eq(len(rx.docs("client_budget_exhausted")), 1, "one message while it stays exhausted")
