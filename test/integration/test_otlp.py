"""OTLP export: a receiver on 127.0.0.1 decodes what the proxy pushes (OTLP/HTTP, JSON encoding) and checks it
against the OTLP JSON mapping and against /metrics; with the collector down the exporter backs off and the proxy's
memory stays flat."""

import http.server
import json
import re
import socketserver
import threading
import time

from harness import MSG_BODY, STREAM_BODY, Env, api_request, eq, free_port, ok, wait_until


class Receiver:
    """A minimal OTLP/HTTP collector: records every POST (path, headers, decoded JSON), answers 200."""

    def __init__(self, status=200):
        self.port = free_port()
        self.posts = []
        self.status = status
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                outer.posts.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "doc": doc,
                                    "at": time.monotonic()})
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a):
                pass

        socketserver.TCPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def prom_samples(text):
    """{(name, frozenset(labels)): value} from Prometheus text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="([^"]*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def attrs(point):
    return frozenset((a["key"], a["value"]["stringValue"]) for a in point.get("attributes", []))


def test_otlp_export_matches_metrics():
    with Receiver() as rx:
        env_vars = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{rx.port}",
                    "OTEL_METRIC_EXPORT_INTERVAL": "300",
                    "OTEL_EXPORTER_OTLP_HEADERS": "x-team=obs%20team,authorization=Bearer%20collector-key",
                    "OTEL_SERVICE_NAME": "sidecar-7",
                    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,service.name=ignored"}
        with Env(proxy_env=env_vars) as env:
            for body in (MSG_BODY, STREAM_BODY):
                r = api_request(env.proxy.port, body=body)
                eq(r.status, 200, "request through the proxy")
            n0 = len(rx.posts)
            wait_until(lambda: len(rx.posts) >= n0 + 2, 5, "two exports after the traffic")
            # The newest export and a /metrics scrape taken right after must agree on the counters.
            prom = prom_samples(env.proxy.get("/metrics").body.decode())
            post = rx.posts[-1]
    eq(post["path"], "/v1/metrics", "the base endpoint gets /v1/metrics appended")
    eq(post["headers"].get("content-type"), "application/json", "content type")
    eq(post["headers"].get("x-team"), "obs team", "OTEL_EXPORTER_OTLP_HEADERS, percent-decoded")
    eq(post["headers"].get("authorization"), "Bearer collector-key", "a collector authorization header")
    doc = post["doc"]
    ok(doc is not None, "the export is JSON")
    rm = doc["resourceMetrics"]
    eq(len(rm), 1, "one resource")
    res = {a["key"]: a["value"]["stringValue"] for a in rm[0]["resource"]["attributes"]}
    eq(res.get("service.name"), "sidecar-7", "OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES")
    eq(res.get("deployment.environment"), "test", "OTEL_RESOURCE_ATTRIBUTES")
    sm = rm[0]["scopeMetrics"]
    eq(sm[0]["scope"]["name"], "anthropic-proxy", "scope name")
    metrics = {m["name"]: m for m in sm[0]["metrics"]}

    # Kinds: window values are gauges, counts cumulative monotonic sums (no _total), durations histograms.
    util = metrics["anthropic_proxy_window_utilization_ratio"]
    ok("gauge" in util, "utilization is a gauge")
    req = metrics["anthropic_proxy_requests"]
    eq((req["sum"]["aggregationTemporality"], req["sum"]["isMonotonic"]), (2, True), "requests: cumulative monotonic")
    ok("anthropic_proxy_requests_total" not in metrics, "sums are named without _total")
    dur = metrics["anthropic_proxy_request_duration_seconds"]
    eq(dur["unit"], "s", "duration unit")
    ok("histogram" in dur and dur["histogram"]["aggregationTemporality"] == 2, "duration is a cumulative histogram")
    for p in dur["histogram"]["dataPoints"]:
        eq(len(p["bucketCounts"]), len(p["explicitBounds"]) + 1, "bucketCounts has one more entry than bounds")
        eq(sum(int(c) for c in p["bucketCounts"]), int(p["count"]), "bucket counts add up to count")
        ok(int(p["startTimeUnixNano"]) <= int(p["timeUnixNano"]), "start time before time")

    # Values against /metrics: utilization, tokens by model and kind, messages requests.
    for p in util["gauge"]["dataPoints"]:
        key = ("anthropic_proxy_window_utilization_ratio", attrs(p))
        eq(p["asDouble"], prom.get(key), f"utilization {dict(attrs(p))} in OTLP vs /metrics")
    tokens = metrics["anthropic_proxy_tokens"]["sum"]["dataPoints"]
    ok(tokens, "token counts exported")
    for p in tokens:
        eq(p["asDouble"], prom.get(("anthropic_proxy_tokens_total", attrs(p))),
           f"tokens {dict(attrs(p))} in OTLP vs /metrics")
    msgs = [p for p in req["sum"]["dataPoints"] if ("route", "messages") in attrs(p)]
    eq(sum(p["asDouble"] for p in msgs), 2.0, "two messages requests counted in the export")


def test_otlp_collector_down_backs_off_memory_flat():
    port = free_port()  # nobody listens here
    env_vars = {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"http://127.0.0.1:{port}/custom/path",
                "OTEL_METRIC_EXPORT_INTERVAL": "100"}
    with Env(proxy_env=env_vars) as env:
        def rss_kb():
            for line in open(f"/proc/{env.proxy.proc.pid}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
            return 0

        time.sleep(0.5)
        before = rss_kb()
        time.sleep(3.0)
        after = rss_kb()
        log = env.proxy.log_text()
        fails = [json.loads(l) for l in log.splitlines() if '"otlp_export_failed"' in l]
        ok(fails, "the failed exports are logged")
        # Backing off: with a 100 ms period, 3.5 s without backoff would be ~35 attempts; doubling delays give
        # about 6 (0.1+0.2+0.4+0.8+1.6...). The log line of the last one says how many failures there were.
        ok(max(f.get("failures", 0) for f in fails) <= 8, f"exports back off: {fails[-1]}")
        ok(fails[-1].get("retry_in_ms", 0) >= 800, f"the retry delay grew: {fails[-1]}")
        ok(after - before < 512, f"RSS flat while the collector is down: {before} kB -> {after} kB")
        r = api_request(env.proxy.port)
        eq(r.status, 200, "proxying unaffected by a dead collector")
