"""Observability: GET /metrics passes promtool's linter, the files in deploy/ (Prometheus config,
alert rules and their unit tests, Grafana dashboard) are valid, and a real Prometheus scraping a
proxy under traffic evaluates every dashboard query and every alert expression.

Needs Debian's `prometheus` package (it provides both `prometheus` and `promtool`). Prometheus runs
as a plain child process on 127.0.0.1 (a free port, a temp TSDB, a generated config): it needs no
user of its own and no flags beyond the ones below, also as root.
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import (CTX, MSG_BODY, ROOT, STREAM_BODY, OAuthEnv, _stop_process, api_request, eq, fail,
                     free_port, ok, wait_until)

DEPLOY = os.path.join(ROOT, "deploy")
DASHBOARD = os.path.join(DEPLOY, "grafana", "anthropic-proxy-dashboard.json")
PROM_CONFIG = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
ALERTS = os.path.join(DEPLOY, "prometheus", "alerts.yml")
ALERTS_TEST = os.path.join(DEPLOY, "prometheus", "alerts_test.yml")
GRAFANA_DATASOURCE = os.path.join(DEPLOY, "grafana", "provisioning", "datasources", "prometheus.yml")
GRAFANA_PROVIDER = os.path.join(DEPLOY, "grafana", "provisioning", "dashboards", "anthropic-proxy.yml")

JOB = "anthropic-proxy"  # the job name of deploy/prometheus/prometheus.yml (AnthropicProxyDown uses it)

# The alerts deploy/prometheus/alerts.yml must define.
REQUIRED_ALERTS = {"AnthropicWindowUtilizationHigh", "AnthropicWindowProjectedExhaustion",
                   "AnthropicTokenRefreshFailing", "AnthropicUsagePollFailing", "AnthropicUpstreamErrorRate",
                   "AnthropicLoginNotReady"}

# Every metric family /metrics must declare (a `# TYPE` line), even while it has no sample.
EXPECTED_FAMILIES = [
    "anthropic_proxy_window_utilization_ratio", "anthropic_proxy_window_reset_timestamp_seconds",
    "anthropic_proxy_window_reset_in_seconds", "anthropic_proxy_window_status",
    "anthropic_proxy_window_data_age_seconds", "anthropic_proxy_window_tokens", "anthropic_proxy_window_tokens_in",
    "anthropic_proxy_window_tokens_out", "anthropic_proxy_window_requests",
    "anthropic_proxy_window_burn_rate_ratio_per_hour", "anthropic_proxy_window_projected_exhaustion_timestamp_seconds",
    "anthropic_proxy_window_rollovers_total", "anthropic_proxy_rate_limit_status",
    "anthropic_proxy_overage_utilization_ratio", "anthropic_proxy_extra_usage_enabled",
    "anthropic_proxy_extra_usage_monthly_limit_minor_units", "anthropic_proxy_extra_usage_used_minor_units",
    "anthropic_proxy_extra_usage_utilization_ratio", "anthropic_proxy_requests_total", "anthropic_proxy_tokens_total",
    "anthropic_proxy_request_duration_seconds", "anthropic_proxy_time_to_first_byte_seconds",
    "anthropic_proxy_upstream_connect_duration_seconds", "anthropic_proxy_upstream_tls_handshake_duration_seconds",
    "anthropic_proxy_upstream_errors_total", "anthropic_proxy_rate_limited_total",
    "anthropic_proxy_subscription_rejections_total", "anthropic_proxy_stream_errors_total",
    "anthropic_proxy_oversized_events_total", "anthropic_proxy_client_timeouts_total", "anthropic_proxy_replays_total",
    "anthropic_proxy_oauth_ready", "anthropic_proxy_oauth_token_expiry_timestamp_seconds",
    "anthropic_proxy_oauth_refreshes_total", "anthropic_proxy_usage_polls_total",
    "anthropic_proxy_usage_poll_last_success_timestamp_seconds", "anthropic_proxy_client_connections",
    "anthropic_proxy_upstream_connections", "anthropic_proxy_upstream_dials_total",
    "anthropic_proxy_upstream_pool_purged_total", "anthropic_proxy_log_dropped_bytes_total",
    "anthropic_proxy_build_info",
    "process_start_time_seconds", "process_resident_memory_bytes",
]

# Dashboard queries that may legitimately return nothing in a short test against the mock: each
# entry is a metric name; a query that mentions it may be empty (it must still parse).
EMPTY_OK = {
    # Burn rate needs the utilization to move over time (the mock's stays at 42% / 17%) and the
    # projection exists only when exhaustion comes before the reset: absent here by design.
    # (Also covers "Projected lock-out before reset" and "Allowance left at the current burn rate".)
    "anthropic_proxy_window_burn_rate_ratio_per_hour",
    "anthropic_proxy_window_projected_exhaustion_timestamp_seconds",
    # Only set from an anthropic-ratelimit-unified-overage-utilization header, which the mock never sends.
    "anthropic_proxy_overage_utilization_ratio",
}
# Every other dashboard query must return at least one sample. Counters of rare events (refresh
# failures, subscription rejections, stream errors, client timeouts, replays...) are exported as 0
# from the start, so their rates are 0-valued samples, not empty results.

# Grafana's built-in variables, as the test substitutes them.
BUILTIN_VARS = {"__rate_interval": "1m", "__range": "5m", "__interval": "15s", "__range_s": "300",
                "__interval_ms": "15000", "__range_ms": "300000"}

# What a client with no key of its own sends (the proxy signs with the subscription's token).
API_HEADERS = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]


# --------------------------------------------------------------------------------------
# Helpers: tools, HTTP to Prometheus, the dashboard's queries, traffic.
# --------------------------------------------------------------------------------------

def tool(name):
    path = shutil.which(name)
    if not path:
        fail(f"`{name}` is not installed: install Debian's `prometheus` package (it ships prometheus and promtool)")
    return path


def run_tool(args, timeout=30, stdin=None):
    try:
        p = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"{' '.join(args)} did not finish within {timeout}s")
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an http_proxy from the env


def http_json(url, data=None, timeout=5):
    """GET (or POST form data) a Prometheus API URL; returns (http status, parsed JSON or None)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)
    try:
        with _NO_PROXY.open(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"status": "unparsable", "raw": raw[:300].decode(errors="replace")}


class Prometheus:
    """A real Prometheus server on 127.0.0.1 scraping one proxy every second, with alerts.yml loaded.
    Registered in CTX.live, so run.py stops it even after a timeout."""

    def __init__(self, proxy_port, rule_files=(ALERTS,), label="prometheus"):
        self.proxy_port = proxy_port
        self.rule_files = list(rule_files)
        self.label = label
        self.proc = None
        self.port = None

    def config(self):
        rules = "".join(f"  - {json.dumps(p)}\n" for p in self.rule_files)
        return ("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                f"rule_files:\n{rules}"
                "scrape_configs:\n"
                f"  - job_name: {JOB}\n    metrics_path: /metrics\n    scrape_interval: 1s\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{self.proxy_port}']\n")

    def start(self):
        binary = tool("prometheus")
        d = CTX.tmpdir(self.label + "-")
        cfg = os.path.join(d, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(self.config())
        self.log_path = os.path.join(d, "prometheus.log")
        for attempt in range(3):
            self.port = free_port()
            self.log_file = open(self.log_path, "ab")
            cmd = [binary, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(d, f'data{attempt}')}",
                   f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h",
                   "--log.level=info"]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            CTX.live.append(self)
            if self.label not in [lbl for lbl, _ in CTX.logs]:
                CTX.logs.append((self.label, self.log_path))
            if self._wait_ready(20):
                return self
            rc = self.proc.poll()
            self.stop()
            text = open(self.log_path, errors="replace").read()
            if rc is not None and re.search(r"address already in use", text, re.I) and attempt < 2:
                continue
            fail(f"prometheus did not become ready within 20s (exit status {rc}); command: {' '.join(cmd)}")
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with _NO_PROXY.open(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        return False

    def stop(self):
        if self.proc is not None:
            _stop_process(self.proc, grace=5)
            self.log_file.close()
            self.proc = None
        if self in CTX.live:
            CTX.live.remove(self)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def api(self, path, data=None):
        """Calls /api/v1/<path>; returns `data` of a successful answer, fails the test otherwise."""
        status, doc = http_json(f"{self.url}/api/v1/{path}", data)
        if status != 200 or doc.get("status") != "success":
            fail(f"prometheus /api/v1/{path} {data or ''} -> HTTP {status}: {json.dumps(doc)[:500]}")
        return doc["data"]

    def query(self, expr):
        """Instant query. Returns (ok, result list or error text)."""
        status, doc = http_json(f"{self.url}/api/v1/query", {"query": expr, "time": f"{time.time():.3f}"})
        if status != 200 or doc.get("status") != "success":
            return False, f"HTTP {status} {doc.get('errorType', '')}: {doc.get('error', doc)}"
        return True, doc["data"]["result"]

    def scalar(self, expr, default=None):
        good, res = self.query(expr)
        if not good or not res:
            return default
        return float(res[0]["value"][1])


def load_dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def all_panels(dash):
    """Every panel, including those nested in collapsed rows."""
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out += p.get("panels", []) or []
    return out


def dashboard_queries(dash):
    """[(panel title, refId, expr)] of every target of every panel."""
    out = []
    for p in all_panels(dash):
        for t in p.get("targets", []) or []:
            if "expr" in t:
                out.append((p.get("title", "?"), t.get("refId", "?"), t["expr"]))
    return out


def template_vars(dash):
    return {v["name"]: v for v in dash.get("templating", {}).get("list", [])}


_VAR = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def substitute(expr, variables):
    """Grafana's variables in a query, replaced for an instant query: built-ins by fixed durations,
    the dashboard's own query variables by `.*` (their All value: every real value matches)."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN_VARS:
            return BUILTIN_VARS[name]
        v = variables.get(name)
        if v is None:
            fail(f"query uses ${name}, which is neither a Grafana built-in nor a dashboard variable: {expr}")
        if v.get("type") not in ("query", "custom"):
            fail(f"query uses ${name} of type {v.get('type')!r} (only query/custom variables belong in PromQL): {expr}")
        return ".*"
    return _VAR.sub(repl, expr)


_METRIC = re.compile(r"\b((?:anthropic_proxy|process)_[a-z0-9_]+)")


def metric_names(expr):
    """Metric names an expression mentions (anthropic_proxy_* and process_*), histogram suffixes removed."""
    names = set()
    for n in _METRIC.findall(expr):
        names.add(re.sub(r"_(bucket|sum|count)$", "", n) if n.endswith(("_bucket", "_sum", "_count")) else n)
    return names


def declared_families(text):
    return {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")}


def families_ok(names, families, what):
    for n in sorted(names):
        if n in families:
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        if base in families and families[base] == "histogram":
            continue
        fail(f"{what} uses {n}, which /metrics does not declare (families: {sorted(families)})")


def rfc3339(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).isoformat(timespec="microseconds")


def configure_usage(env):
    """The mock's usage endpoint: its own 5h / 7d windows (same reset times as its headers, so no
    rollover), plus a 7d_sonnet window and enabled paid extra usage."""
    st = env.mock.usage_state()["windows"]
    body = {name: {"utilization": w["utilization"], "resets_at": rfc3339(w["resets_at"])} for name, w in st.items()}
    body["seven_day_sonnet"] = {"utilization": 5.0, "resets_at": rfc3339(st["seven_day"]["resets_at"])}
    body["seven_day_opus"] = None
    body["extra_usage"] = {"is_enabled": True, "monthly_limit": 5000, "used_credits": 1234, "utilization": 24.68,
                           "currency": "USD"}
    env.mock.usage_config(body=body)


def traffic_round(port):
    """One of each kind of request through the proxy; returns the statuses. The 429 is never last:
    its headers say the 5h window is used up, the next 200's headers put it back."""
    sse = api_request(port, body=STREAM_BODY, headers=API_HEADERS)
    ok(sse.status != 200 or b"message_stop" in sse.body, f"SSE answer cut short: {sse.body[-300:]!r}")
    return [
        api_request(port, headers=API_HEADERS).status,                                   # JSON
        sse.status,                                                                      # SSE
        # A 429 that names no window: a window 429 would (rightly) have the guard answer the rest of the round.
        api_request(port, headers=API_HEADERS, scenario="status:429:bare").status,        # 429
        api_request(port, target="/v1/messages/count_tokens", headers=API_HEADERS).status,
        api_request(port, target="/v1/models", method="GET", headers=API_HEADERS).status,
        api_request(port, headers=API_HEADERS, scenario="status:500").status,             # 5xx
        api_request(port, body=MSG_BODY, headers=API_HEADERS).status,
    ]


EXPECTED_ROUND = [200, 200, 429, 200, 200, 500, 200]


def wait_polled(env, timeout=10):
    wait_until(lambda: env.proxy.usage()["poll"].get("polls_ok", 0) >= 1 and
               "7d_sonnet" in env.proxy.usage()["windows"], timeout, "a successful usage poll")


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------

def test_observability_metrics_lint():
    """promtool check metrics on a live scrape taken after JSON, SSE, 429, count_tokens and models
    traffic and a usage poll: no lint output at all, and every expected family is declared."""
    promtool = tool("promtool")
    with OAuthEnv(poll="1s") as env:
        configure_usage(env)
        eq(traffic_round(env.proxy.port), EXPECTED_ROUND, "statuses of the traffic round")
        wait_polled(env)
        r = env.proxy.get("/metrics")
        eq(r.status, 200, "GET /metrics status")
        ok((r.header("content-type") or "").startswith("text/plain; version=0.0.4"),
           f"GET /metrics content-type: {r.header('content-type')!r}")
        path = os.path.join(CTX.tmpdir("metrics-"), "metrics.txt")
        with open(path, "wb") as f:
            f.write(r.body)
        rc, out, err = run_tool([promtool, "check", "metrics"], stdin=r.body)
        eq((rc, (out + err).strip()), (0, ""), f"promtool check metrics (scrape saved in {path}): rc, output")
        families = declared_families(r.body.decode())
        missing = [f for f in EXPECTED_FAMILIES if f not in families]
        eq(missing, [], "metric families missing from /metrics")
        text = r.body.decode()
        for needle in ('anthropic_proxy_window_utilization_ratio{account="default",window="7d_sonnet"}',
                       'anthropic_proxy_requests_total{route="count_tokens"',
                       'anthropic_proxy_rate_limited_total{kind="bare"} 1',
                       'anthropic_proxy_extra_usage_used_minor_units{account="default"} 1234',
                       'anthropic_proxy_oauth_token_expiry_timestamp_seconds{account="default"} '):
            ok(needle in text, f"/metrics after traffic should contain {needle!r}")


def test_observability_rules_and_config_check():
    """promtool check rules / check config / test rules on deploy/prometheus."""
    promtool = tool("promtool")
    rc, out, err = run_tool([promtool, "check", "rules", ALERTS])
    eq(rc, 0, f"promtool check rules {ALERTS}: {out}{err}")
    ok("SUCCESS" in out, f"promtool check rules output: {out}{err}")
    rc, out, err = run_tool([promtool, "check", "config", PROM_CONFIG])
    eq(rc, 0, f"promtool check config {PROM_CONFIG}: {out}{err}")
    ok("1 rule files found" in out, f"prometheus.yml should load alerts.yml as its rule file: {out}{err}")
    # Alert unit tests: each alert fires when it should, with its labels and annotations, and not otherwise.
    rc, out, err = run_tool([promtool, "test", "rules", ALERTS_TEST], timeout=60)
    eq(rc, 0, f"promtool test rules {ALERTS_TEST}: {out}{err}")
    with open(PROM_CONFIG) as f:
        cfg = f.read()
    for needle in ("job_name: anthropic-proxy", '"anthropic-proxy:8080"', "metrics_path: /metrics",
                   "scrape_interval: 15s", "alerts.yml"):
        ok(needle in cfg, f"deploy/prometheus/prometheus.yml should contain {needle!r}")
    with open(GRAFANA_DATASOURCE) as f:
        ds = f.read()
    ok("url: http://prometheus:9090" in ds and "type: prometheus" in ds, f"Grafana data source: {ds}")
    with open(GRAFANA_PROVIDER) as f:
        prov = f.read()
    ok("type: file" in prov and "path:" in prov, f"Grafana dashboard provider: {prov}")


def test_observability_dashboard_structure():
    """The dashboard JSON: schema 39, a datasource variable every panel uses, a window variable
    from label_values, unique panel ids, panels inside the 24-column grid and not overlapping."""
    dash = load_dashboard()
    eq(dash.get("schemaVersion"), 39, "schemaVersion")
    ok(dash.get("uid") and dash.get("title"), "dashboard uid and title")
    vs = template_vars(dash)
    ds = vs.get("DS_PROMETHEUS")
    ok(ds is not None, f"a DS_PROMETHEUS template variable: {sorted(vs)}")
    eq((ds["type"], ds["query"]), ("datasource", "prometheus"), "DS_PROMETHEUS variable type, query")
    w = vs.get("window")
    ok(w is not None and w["type"] == "query", f"a `window` query variable: {w}")
    q = w["query"]["query"] if isinstance(w["query"], dict) else w["query"]
    ok(re.match(r"label_values\(anthropic_proxy_window_\w+(\{.*\})?,\s*window\)$", q),
       f"window variable query: {q!r}")
    for v in vs.values():
        if v["type"] == "query":
            eq(v.get("datasource"), {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, f"datasource of ${v['name']}")
    ids, boxes = [], []
    for p in all_panels(dash):
        ids.append(p.get("id"))
        g = p["gridPos"]
        ok(g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0,
           f"panel {p.get('title')!r} gridPos out of the grid: {g}")
        for (t, b) in boxes:
            if g["x"] < b["x"] + b["w"] and b["x"] < g["x"] + g["w"] and g["y"] < b["y"] + b["h"] and b["y"] < g["y"] + g["h"]:
                fail(f"panels {t!r} {b} and {p.get('title')!r} {g} overlap")
        boxes.append((p.get("title"), g))
        if p["type"] == "row":
            continue
        eq(p.get("datasource"), {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, f"datasource of {p.get('title')!r}")
        ok(p.get("targets"), f"panel {p.get('title')!r} has no query")
        for t in p["targets"]:
            eq(t.get("datasource"), {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
               f"datasource of {p.get('title')!r} {t.get('refId')}")
    eq(len(ids), len(set(ids)), f"panel ids are unique: {ids}")
    titles = " | ".join(p.get("title", "") for p in all_panels(dash)).lower()
    for word in ("utilization", "reset", "tokens", "burn rate", "exhaustion", "request rate", "p50", "upstream errors",
                 "429", "stream errors", "rejections", "oauth", "expires", "refreshes", "polls", "connections",
                 "memory"):
        ok(word in titles, f"no panel title mentions {word!r}: {titles}")


def test_observability_prometheus_evaluates_dashboard_and_alerts():
    """A real Prometheus scrapes the proxy every second while traffic flows; then every dashboard
    query and alert expression is evaluated through its HTTP API."""
    dash = load_dashboard()
    variables = template_vars(dash)
    queries = dashboard_queries(dash)
    ok(len(queries) >= 30, f"dashboard queries found: {len(queries)}")
    used_allowances = {m for m in EMPTY_OK if any(m in e for _, _, e in queries)}
    eq(used_allowances, EMPTY_OK, "every EMPTY_OK entry matches some dashboard query (remove stale ones)")
    deadline = time.monotonic() + 50  # the whole test stays well under run.py's 60 s

    prom = None
    with OAuthEnv(poll="1s") as env:
        try:
            configure_usage(env)
            wait_polled(env)
            prom = Prometheus(env.proxy.port).start()
            # Prometheus hands new targets to its scrape loop about 5 s after start: wait for the first scrape.
            wait_until(lambda: prom.scalar(f'up{{job="{JOB}"}}') == 1, 15, "Prometheus' first scrape of the proxy",
                       interval=0.2)

            # Traffic for a few seconds while Prometheus scrapes every second.
            rounds, t_end = 0, time.monotonic() + 5
            while time.monotonic() < t_end:
                eq(traffic_round(env.proxy.port), EXPECTED_ROUND, f"statuses of traffic round {rounds}")
                rounds += 1
                time.sleep(0.2)
            ok(rounds >= 3, f"only {rounds} traffic rounds in 5 s")

            # Prometheus has seen all of it once a scrape shows the proxy's final counter.
            families_text = env.proxy.get("/metrics").body.decode()
            families = declared_families(families_text)
            m = re.search(r'anthropic_proxy_requests_total\{route="messages",status_class="2xx",model="[^"]+"\} (\d+)',
                          families_text)
            ok(m, "messages 2xx counter in /metrics")
            want = int(m.group(1))
            ok(want >= 3 * rounds, f"messages 2xx counted by the proxy: {want} after {rounds} rounds")
            expr = f'sum(anthropic_proxy_requests_total{{job="{JOB}",route="messages",status_class="2xx"}})'
            wait_until(lambda: (prom.scalar(expr, -1) or 0) >= want, 10,
                       f"Prometheus to scrape the final count {want} ({expr})", interval=0.2)

            # The scrape itself is healthy.
            good, res = prom.query(f'up{{job="{JOB}"}}')
            ok(good, f"up query: {res}")
            eq([(r["metric"].get("instance"), r["value"][1]) for r in res], [(f"127.0.0.1:{env.proxy.port}", "1")],
               "up{job=anthropic-proxy} series (instance, value)")
            targets = prom.api("targets")["activeTargets"]
            eq([(t["labels"]["job"], t["health"], t["lastError"]) for t in targets], [(JOB, "up", "")],
               "Prometheus' active targets (job, health, lastError)")

            # Template variables: label_values(metric{...}, label) has values (window: 5h, 7d, 7d_sonnet).
            for name, v in variables.items():
                if v["type"] != "query":
                    continue
                q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
                lm = re.match(r"label_values\((.+),\s*(\w+)\)$", q)
                ok(lm, f"variable ${name}: query {q!r} is not label_values(selector, label)")
                selector, label = substitute(lm.group(1), variables), lm.group(2)
                data = prom.api("series", {"match[]": selector, "start": f"{time.time() - 300:.0f}",
                                           "end": f"{time.time():.0f}"})
                values = sorted({s.get(label) for s in data if s.get(label)})
                ok(values, f"variable ${name}: {q!r} has no values")
                if name == "window":
                    ok({"5h", "7d", "7d_sonnet"} <= set(values), f"window variable values: {values}")

            # Every dashboard query: only declared metrics, parses, and has data unless allow-listed.
            problems, empty_allowed, checked = [], [], 0
            for title, ref, raw in queries:
                families_ok(metric_names(raw), families, f"dashboard panel {title!r} {ref}")
                expr = substitute(raw, variables)
                good, res = prom.query(expr)
                checked += 1
                if not good:
                    problems.append(f"[{title} {ref}] does not evaluate: {res}\n      {expr}")
                elif not res:
                    if metric_names(raw) & EMPTY_OK:
                        empty_allowed.append(f"{title} {ref}")
                    else:
                        problems.append(f"[{title} {ref}] returned no data\n      {expr}")
            ok(not problems, f"{len(problems)} of {checked} dashboard queries failed:\n    " + "\n    ".join(problems))

            # Every {{label}} a legend names is a label of the series its query returns (else Grafana shows
            # "5h ()" for a label the metric does not have).
            legend_problems, legends = [], 0
            for p in all_panels(dash):
                for t in p.get("targets", []):
                    names = re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat") or "")
                    if not names or not t.get("expr"):
                        continue
                    good, res = prom.query(substitute(t["expr"], variables))
                    legends += 1
                    for r in res if good else []:
                        missing = [n for n in names if n not in r["metric"]]
                        if missing:
                            legend_problems.append(f"[{p.get('title')} {t.get('refId')}] legend {t['legendFormat']!r}: "
                                                   f"no label {missing} in {r['metric']}")
                            break
            ok(legends >= 20, f"legends with labels checked: {legends}")
            eq(legend_problems, [], "legend labels the queries' series do not have")

            # Every alert rule Prometheus loaded from alerts.yml: healthy after evaluation, parses, and
            # a healthy proxy under this traffic trips none of them.
            def rules_evaluated():
                groups = prom.api("rules")["groups"]
                rs = [r for g in groups for r in g["rules"]]
                done = rs and all(r.get("health") == "ok" for r in rs)
                return rs if done else None
            rules = wait_until(rules_evaluated, 10, "every alert rule evaluated with health ok", interval=0.2)
            names = {r["name"] for r in rules}
            ok(REQUIRED_ALERTS <= names, f"alerts missing from alerts.yml: {sorted(REQUIRED_ALERTS - names)}")
            for r in rules:
                eq(r.get("lastError", ""), "", f"last evaluation error of {r['name']}")
                ok(r["labels"].get("severity") in ("warning", "critical", "info"), f"severity label of {r['name']}: {r['labels']}")
                ok(r["annotations"].get("summary") and r["annotations"].get("description"),
                   f"summary and description annotations of {r['name']}: {r['annotations']}")
                families_ok(metric_names(r["query"]), families, f"alert {r['name']}")
                good, res = prom.query(r["query"])
                ok(good, f"alert {r['name']} expression does not evaluate: {res}\n  {r['query']}")
                eq(res, [], f"alert {r['name']} expression on a healthy proxy")
            # (a 429's headers put the 5h window at 100% for a moment: give a pending alert a few
            # evaluations to clear now that the last answers and polls say 42% again)
            wait_until(lambda: prom.api("alerts")["alerts"] == [], 5, "no pending or firing alert")
            ok(time.monotonic() < deadline, "the test took longer than its 50 s budget")
        finally:
            if prom is not None:
                prom.stop()
