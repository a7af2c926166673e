"""TLS to the upstream (Mbed TLS 3.6): TLS 1.3 and TLS 1.2 servers, session resumption in both, the negotiated
version and cipher suite in the log and the metrics, the cipher preference following the CPU, and certificate
checks: IP-address names, wrong names, an untrusted CA, an expired certificate."""

import re

from harness import Env, Mock, api_error, api_request, contains, eq, http_request, matches, ok


def cpu_has_aes():
    """What the proxy's cipher preference looks at: AES-NI and PCLMULQDQ (x86-64), AES and PMULL (arm64)."""
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith(("flags", "Features")):
                flags |= set(line.split(":", 1)[1].split())
    return {"aes", "pclmulqdq"} <= flags or {"aes", "pmull"} <= flags


def tls_info(port):
    """The labels of anthropic_proxy_upstream_tls_info series with value 1, as (version, cipher) pairs."""
    r = http_request(port, "GET", "/metrics")
    eq(r.status, 200, "GET /metrics")
    return re.findall(r'^anthropic_proxy_upstream_tls_info\{version="([^"]*)",cipher="([^"]*)"\} 1$',
                      r.body.decode(), re.M)


# (mock's only version, version the proxy reports, cipher the proxy reports, the mock's name for it), by CPU
CASES = {
    "1.3": ("TLSv1.3", {True: ("TLS1-3-AES-128-GCM-SHA256", "TLS_AES_128_GCM_SHA256"),
                        False: ("TLS1-3-CHACHA20-POLY1305-SHA256", "TLS_CHACHA20_POLY1305_SHA256")}),
    "1.2": ("TLSv1.2", {True: ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
                        False: ("TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305")}),
}


def check_version(version):
    want_version, by_cpu = CASES[version]
    want_cipher, mock_cipher = by_cpu[cpu_has_aes()]
    # The mock lets the client's preference decide, so the suite shows the proxy's own order.
    with Env(mock_opts=dict(tls_version=version, client_cipher_order=True)) as env:
        for i in range(4):  # close-after: a fresh upstream connection for each request
            r = api_request(env.proxy.port, scenario="close-after")
            eq(r.status, 200, f"request {i} to a TLS {version}-only upstream ({r.body[:200]!r})")
        recs = env.mock.requests()
        eq(len(recs), 4, "requests that reached the mock")
        eq([x["tls"]["version"] for x in recs], [want_version] * 4, "protocol of each upstream connection")
        eq([x["tls"]["cipher"] for x in recs], [mock_cipher] * 4,
           f"cipher suite of each connection (the CPU {'has' if cpu_has_aes() else 'lacks'} AES instructions)")
        eq([x["tls"]["resumed"] for x in recs], [False, True, True, True],
           "connections that resumed the session (all but the first)")
        eq(env.mock.stats()["resumed_connections"], 3, "resumed handshakes the mock counted")
        eq(tls_info(env.proxy.port), [(want_version, want_cipher)], "anthropic_proxy_upstream_tls_info series")
        logged = [e for e in env.proxy.log_json() if e.get("event") == "upstream_tls"]
        eq([(e.get("version"), e.get("cipher")) for e in logged], [(want_version, want_cipher)],
           "upstream_tls log lines (once per origin, not per connection)")


def test_tls13_upstream_negotiated_visible_and_resumed():
    # TLS 1.3 sessions come with tickets after the handshake; the proxy must keep them to resume.
    check_version("1.3")


def test_tls12_upstream_negotiated_visible_and_resumed():
    check_version("1.2")


def test_tls13_burst_resumes_one_session():
    # Cold proxy, TLS 1.3: connections that connect during the first full handshake wait for its ticket (which
    # comes after the handshake), so the burst costs one full handshake.
    from concurrent.futures import ThreadPoolExecutor
    n = 8
    with Env(mock_opts=dict(tls_version="1.3")) as env:
        with ThreadPoolExecutor(n) as pool:
            rs = list(pool.map(lambda _: api_request(env.proxy.port), range(n)))
        eq([r.status for r in rs], [200] * n, "statuses of the burst")
        st = env.mock.stats()
        eq(st["resumed_connections"], st["connections"] - 1,
           f"resumed upstream connections of {st['connections']} (all but the first)")


def test_tls13_burst_without_tickets_does_not_wait_for_the_first_answer():
    # A TLS 1.3 server that sends no session tickets (some gateways do not): connections that connected during the
    # first full handshake wait a moment for its ticket, then handshake in full. They once waited for the first
    # answer byte instead, and timed out when it took longer than the connect timeout, as here.
    from concurrent.futures import ThreadPoolExecutor
    n = 4
    with Env(mock_opts=dict(tls_version="1.3", no_tickets=True), proxy_args=["--connect-timeout", "2s"]) as env:
        with ThreadPoolExecutor(n) as pool:
            rs = list(pool.map(lambda _: api_request(env.proxy.port, scenario="delay:3000", timeout=20), range(n)))
        eq([r.status for r in rs], [200] * n, f"statuses of the burst ({[r.body[:120] for r in rs]})")
        st = env.mock.stats()
        eq((st["connections"], st["resumed_connections"]), (n, 0), "upstream connections, resumed ones")


def test_upstream_ip_literal_matches_ip_san():
    # --upstream https://127.0.0.1:PORT against a certificate naming IP:127.0.0.1 (Mbed TLS 2.28 could not).
    with Mock(cert="localhost") as m, Env(upstream=f"https://127.0.0.1:{m.port}") as env:
        r = api_request(env.proxy.port)
        eq(r.status, 200, f"status through an upstream given by IP address ({r.body[:300]!r})")
        eq(len(m.requests()), 1, "requests that reached the mock")


def refused(env, mock, what, pattern):
    r = api_request(env.proxy.port)
    eq(r.status, 502, f"status with {what} ({r.body[:300]!r})")
    err_type, message = api_error(r)
    eq(err_type, "api_error", f"error type with {what}")
    matches(pattern, message, f"the 502's message with {what}")
    eq(mock.requests(kind=None), [], f"requests that reached the mock with {what}")
    log = env.proxy.log_text()
    contains(log, "certificate verification failed", f"the proxy's log with {what}")


def test_upstream_ip_literal_other_ips_refused():
    # The certificate names DNS:localhost, IP:127.0.0.2 and IP:::1, and has CN=127.0.0.1: with subject alternative
    # names present the CN does not count, and no IP name is 127.0.0.1.
    with Mock(cert="otherip") as m, Env(upstream=f"https://127.0.0.1:{m.port}") as env:
        refused(env, m, "a certificate for other addresses",
                r"certificate verification failed: the certificate does not name '127\.0\.0\.1'")
    # The same certificate is fine for the name it has.
    with Env(mock_cert="otherip") as env:
        eq(api_request(env.proxy.port).status, 200, "status with the same certificate reached as localhost")


def test_certificate_failures_are_spelled_out():
    cases = (
        ("wrong", "a certificate for another host name",
         r"certificate verification failed: the certificate does not name 'localhost'"),
        ("untrusted", "a certificate from an untrusted CA", r"certificate verification failed: .*trusted CA"),
        ("expired", "an expired certificate", r"certificate verification failed: .*expired"),
    )
    for kind, what, pattern in cases:
        with Env(mock_cert=kind) as env:
            refused(env, env.mock, what, pattern)
            ok(not tls_info(env.proxy.port), f"no tls_info series without a completed handshake ({what})")
