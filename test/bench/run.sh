#!/usr/bin/env bash
# wrk benchmark of anthropic-proxy side by side with nginx and HAProxy doing the same job
# (plain HTTP in, header rewrite, TLS out to one upstream over a keep-alive pool, streaming answers back).
#
#   test/bench/run.sh [BINARY]          (BINARY defaults to build/anthropic-proxy, which is then made first)
#
# Upstream stand-in: nginx (1 worker) over TLS on 127.0.0.1 with canned /v1/messages answers (JSON ~1 KB,
# SSE ~4 KB, SSE ~2 MB for the slow-reader check) carrying usage and anthropic-ratelimit-unified-* headers.
# Per server under test (direct to the upstream = the limit, nginx, HAProxy, anthropic-proxy; one worker/thread
# each, run one after another): wrk json/sse x 50/200 connections, warm-up + measured run, req/s, p50, p99,
# errors, peak RSS, CPU per request (user and kernel). Then: token accounting (/usage vs 2xx answers), the memory
# of 5,000 idle keep-alive client connections per server (each started afresh), 1,000 slow SSE readers (RSS per
# stream and drift over a minute), instructions per request under callgrind, grouped by part (cipher, llhttp, usage
# scan, logging...) beside the kernel's share, and what the TLS record cipher costs per JSON exchange in Mbed TLS
# (the proxy's vendored 3.6) and in OpenSSL (nginx's and HAProxy's). The proxy runs at its default flags (access log
# on); nginx and HAProxy offer TLS 1.2 and 1.3 upstream, and the stand-in logs what every new upstream connection
# negotiated, tallied per server in the report.
# Writes build/bench/results-<date>.md and build/bench/latest.md (curated numbers live in test/bench/RESULTS.md).
# Exit status 1 if a check fails.
#
# Knobs (environment): BENCH_THREADS (wrk -t, 2), BENCH_WARM (2 s), BENCH_DUR (6 s), BENCH_CONNS ("50 200"),
# BENCH_KINDS ("json sse"), BENCH_SERVERS ("direct nginx haproxy anthropic-proxy anthropic-proxy-static";
# anthropic-proxy-static is the stripped static binary the container image ships, same code; also available:
# anthropic-proxy-pool32, a diagnostic row with --pool-size BENCH_ALT_POOL (32), to tell upstream pool churn
# from per-request cost), BENCH_SLOW (1: run the slow-reader check), BENCH_SLOW_CONNS (1000), BENCH_SLOW_SECS (60), BENCH_CALLGRIND (1), BENCH_CG_N (200),
# BENCH_ROUNDS (3: each scenario is measured this many times on every server, interleaved; the report keeps each
# row's median round by req/s), BENCH_QUIET_WAIT (60: seconds, in all, that rows may wait for other work on the
# machine to drop below a quarter
# of a core before they start), BENCH_KEEP (1: keep the temp dir with configs and logs even on success),
# BENCH_IDLE_CONNS (5000: idle keep-alive connections per server; 0 skips the step), BENCH_IDLE_PAR (8: of those
# being set up at once), BENCH_NGX_ACCESS_LOG (0; 1: nginx under test logs requests too, its default combined
# format, unbuffered).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BENCH="$ROOT/test/bench"
BIN=${1:-build/anthropic-proxy}

THREADS=${BENCH_THREADS:-2}
WARM=${BENCH_WARM:-2}
DUR=${BENCH_DUR:-6}
CONNS=${BENCH_CONNS:-50 200}
# nginx's upstream `keepalive` is the idle connections each worker keeps: below the client count, every request
# past it closes an upstream connection and the next one dials and handshakes again, which measures nginx's TLS
# handshakes instead of its proxying. It covers the largest connection count (HAProxy's `http-reuse always` and
# this proxy's pool are unbounded by default).
NGX_KEEPALIVE=$(printf '%s\n' $CONNS | sort -n | tail -n1)
KINDS=${BENCH_KINDS:-json sse}
ALT_POOL=${BENCH_ALT_POOL:-32}
SERVERS=${BENCH_SERVERS-direct nginx haproxy anthropic-proxy anthropic-proxy-static}
SLOW=${BENCH_SLOW:-1}
SLOW_CONNS=${BENCH_SLOW_CONNS:-1000}
SLOW_SECS=${BENCH_SLOW_SECS:-60}
CALLGRIND=${BENCH_CALLGRIND:-1}
IDLE_CONNS=${BENCH_IDLE_CONNS:-5000}
IDLE_PAR=${BENCH_IDLE_PAR:-8}
NGX_ACCESS_LOG=${BENCH_NGX_ACCESS_LOG:-0}
# nginx under test logs no requests unless BENCH_NGX_ACCESS_LOG=1 (then its default: combined format, unbuffered).
NGX_ACCESS_LOG_LINE=off
# Client connections each server must take at once: the idle-connection step's, or wrk's and the slow readers'.
MAXCONN=$((IDLE_CONNS + 1000)); [ "$MAXCONN" -lt $((SLOW_CONNS + 1000)) ] && MAXCONN=$((SLOW_CONNS + 1000))
ROUNDS=${BENCH_ROUNDS:-3}
CG_N=${BENCH_CG_N:-200}
TOKEN=sk-ant-oat01-bench

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
[ "$WARM" -le 10 ] && [ "$DUR" -le 10 ] || die "BENCH_WARM and BENCH_DUR are at most 10 s"

# 1. Packages (wrk nginx haproxy openssl valgrind, plus python3 curl).
deps/install.sh bench || die "deps/install.sh bench"
for c in wrk nginx haproxy openssl valgrind python3 curl; do
  command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || die "$c is not installed"
done
export PATH="$PATH:/usr/sbin:/sbin"
if [ -z "${1:-}" ]; then # the default binary: bring it up to date first
  make --no-print-directory -s build/anthropic-proxy >&2 || die "make build/anthropic-proxy failed"
fi
[ -x "$BIN" ] || die "no executable $BIN (run make first)"
BIN=$(realpath "$BIN")
STATIC_BIN=$ROOT/build/anthropic-proxy-static
if [[ " $SERVERS " == *" anthropic-proxy-static "* ]]; then
  make --no-print-directory -s static >&2 || die "make static failed"
fi

# 1,000 slow readers need ~2,100 descriptors in the proxy and as many in the client and the upstream; the idle step
# BENCH_IDLE_CONNS and a few more. Only the soft limit is raised (to the hard one): `ulimit -n N` would lower the
# hard limit too, and the proxy sizes its default --max-connections from the limit it inherits.
want_fds=$((2 * MAXCONN + 200))
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -Sn)" = unlimited ] || [ "$(ulimit -Sn)" -ge "$want_fds" ] ||
  die "ulimit -n is $(ulimit -Sn) (hard $(ulimit -Hn)); $SLOW_CONNS slow readers and $IDLE_CONNS idle connections need $want_fds"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/anthropic-proxy-bench.XXXXXX)
LOGS="$TMP/logs"
[ "$NGX_ACCESS_LOG" = 1 ] && NGX_ACCESS_LOG_LINE="$TMP/ngx/access.log combined"
mkdir -p "$LOGS" "$TMP/pki" "$TMP/answers" "$TMP/up/tmp" "$TMP/ngx/tmp" "$TMP/home"
RESULTS="$TMP/results.jsonl"
: >"$RESULTS"
echo "${BENCH_QUIET_WAIT:-60}" >"$TMP/quiet-budget" # seconds, over all rows, of waiting for other load to pass
say "work dir and logs: $TMP"

# Everything started here is in PIDS; the EXIT trap stops it (TERM, then KILL after 10 s), by pid only.
PIDS=()
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { say "pid $pid ignored SIGTERM for 10 s; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  if [ "$rc" -ne 0 ] || [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "kept configs and logs in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

py() { python3 "$BENCH/bench.py" "$@"; }

free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}
read -r UPORT SPORT NPORT HPORT APORT PPORT XPORT SLPORT CGPORT U1 U2 U3 U4 U5 U6 U7 <<<"$(free_ports 16)"
# The upstream stand-in listens on one port per client of it, so that its log of new TLS connections (protocol,
# cipher, resumed) can be tallied per server under test.
declare -A UP=([direct]=$UPORT [nginx]=$U1 [haproxy]=$U2 [anthropic-proxy]=$U3 [anthropic-proxy-static]=$U4
  [anthropic-proxy-pool$ALT_POOL]=$U5 [slow-readers]=$U6 [callgrind]=$U7)
UP_LISTEN=""
for k in "${!UP[@]}"; do UP_LISTEN+="        listen 127.0.0.1:${UP[$k]} ssl;"$'\n'; done

# 2. A throwaway CA and a server certificate for localhost (EC P-256, like most public API endpoints).
PKI="$TMP/pki"
{
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/ca.key"
  openssl req -x509 -new -key "$PKI/ca.key" -sha256 -days 2 -subj "/CN=anthropic-proxy bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$PKI/ca.pem"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/server.key"
  openssl req -new -key "$PKI/server.key" -subj "/CN=localhost" -out "$PKI/server.csr"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$PKI/ext.cnf"
  openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 -sha256 \
    -extfile "$PKI/ext.cnf" -out "$PKI/server.pem"
} >"$LOGS/openssl.log" 2>&1 || die "openssl (see $LOGS/openssl.log)"

# 3. The upstream stand-in.
ANS="$TMP/answers"
say "canned answers: $(py answers "$ANS")"
NOW=$(date +%s)
R5=$((NOW + 3600 - NOW % 3600 + 3600))
R7=$((NOW + 5 * 86400))
cat >"$TMP/up/nginx.conf" <<EOF
worker_processes 1;
user root;
daemon off;
pid $TMP/up/nginx.pid;
worker_rlimit_nofile $((2 * MAXCONN + 2000));
error_log $TMP/up/error.log warn;
events { worker_connections $((2 * MAXCONN + 1000)); }
http {
    # One line per new TLS connection (its first request): what each client of the upstream negotiated.
    map \$connection_requests \$first_on_conn { 1 1; default 0; }
    log_format tls '\$server_port \$ssl_protocol \$ssl_cipher \$ssl_curve \$ssl_session_reused';
    access_log $TMP/up/tls.log tls if=\$first_on_conn;
    server_tokens off;
    client_body_temp_path $TMP/up/tmp/body;
    proxy_temp_path $TMP/up/tmp/proxy;
    fastcgi_temp_path $TMP/up/tmp/fastcgi;
    uwsgi_temp_path $TMP/up/tmp/uwsgi;
    scgi_temp_path $TMP/up/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    send_timeout 600s;
    types { application/json json; text/event-stream sse; }
    map \$http_x_bench \$bench_answer { default json.json; sse sse.sse; big big.sse; }
    ssl_session_cache shared:UP:10m;
    server {
$UP_LISTEN        server_name localhost;
        ssl_certificate $PKI/server.pem;
        ssl_certificate_key $PKI/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        # The API's OAuth checks, so that a wrong header rewrite shows up as non-2xx answers.
        location = /v1/messages {
            if (\$http_authorization != "Bearer $TOKEN") { return 401; }
            if (\$http_x_api_key != "") { return 400; }
            if (\$http_anthropic_beta !~ "oauth-2025-04-20") { return 403; }
            # POST to a static file is a 405; error_page turns it into a GET of the canned answer.
            error_page 405 =200 /_answer/\$bench_answer;
            return 405;
        }
        location /_answer/ {
            internal;
            alias $ANS/;
            etag off;
            # SSI on SSE drops Content-Length: the stream goes out chunked, as the API sends it.
            ssi on;
            ssi_types text/event-stream;
            add_header request-id "req_011CV\$request_id" always;
            add_header anthropic-organization-id "00000000-0000-4000-8000-000000000000" always;
            add_header anthropic-ratelimit-unified-status "allowed" always;
            add_header anthropic-ratelimit-unified-reset "$R5" always;
            add_header anthropic-ratelimit-unified-5h-status "allowed" always;
            add_header anthropic-ratelimit-unified-5h-utilization "0.42" always;
            add_header anthropic-ratelimit-unified-5h-reset "$R5" always;
            add_header anthropic-ratelimit-unified-7d-status "allowed" always;
            add_header anthropic-ratelimit-unified-7d-utilization "0.17" always;
            add_header anthropic-ratelimit-unified-7d-reset "$R7" always;
            add_header anthropic-ratelimit-unified-representative-claim "five_hour" always;
            add_header anthropic-ratelimit-unified-fallback-percentage "0.5" always;
            add_header anthropic-ratelimit-unified-overage-status "rejected" always;
            add_header anthropic-ratelimit-unified-overage-disabled-reason "org_level_disabled" always;
            add_header via "1.1 google" always;
            add_header cf-cache-status "DYNAMIC" always;
            add_header x-robots-tag "none" always;
        }
        location = /api/oauth/usage {
            if (\$http_authorization != "Bearer $TOKEN") { return 401; }
            alias $ANS/usage.json;
            etag off;
            add_header request-id "req_011CV\$request_id" always;
        }
        # What the connection negotiated, for the report (under /v1/: the proxy forwards only the API's paths).
        location = /v1/__tls {
            default_type text/plain;
            return 200 "\$ssl_protocol \$ssl_cipher \$ssl_curve\n";
        }
        location / { return 404; }
    }
    server {
        listen 127.0.0.1:$SPORT;
        access_log off;
        location = /status { stub_status; }
    }
}
EOF

cat >"$TMP/ngx/nginx.conf" <<EOF
worker_processes 1;
user root;
daemon off;
pid $TMP/ngx/nginx.pid;
worker_rlimit_nofile $((2 * MAXCONN + 2000));
error_log $TMP/ngx/error.log warn;
events { worker_connections $((2 * MAXCONN + 1000)); }
http {
    access_log $NGX_ACCESS_LOG_LINE;
    client_body_temp_path $TMP/ngx/tmp/body;
    proxy_temp_path $TMP/ngx/tmp/proxy;
    fastcgi_temp_path $TMP/ngx/tmp/fastcgi;
    uwsgi_temp_path $TMP/ngx/tmp/uwsgi;
    scgi_temp_path $TMP/ngx/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    upstream anthropic {
        server 127.0.0.1:${UP[nginx]};
        keepalive $NGX_KEEPALIVE;
        keepalive_requests 1000000;
        keepalive_timeout 30s;
    }
    server {
        listen 127.0.0.1:$NPORT;
        client_max_body_size 32m;
        location / {
            proxy_pass https://anthropic;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host "localhost:${UP[nginx]}";
            proxy_set_header Authorization "Bearer $TOKEN";
            proxy_set_header x-api-key "";
            proxy_set_header anthropic-beta "oauth-2025-04-20";
            proxy_buffering off;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $PKI/ca.pem;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            # nginx 1.22's default is TLSv1 TLSv1.1 TLSv1.2: without this it talks TLS 1.2 upstream while the
            # proxy and HAProxy talk TLS 1.3.
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_ssl_session_reuse on;
            proxy_connect_timeout 10s;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }
    }
}
EOF

cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $MAXCONN
defaults
    mode http
    maxconn $MAXCONN
    timeout connect 10s
    timeout client 75s
    timeout server 600s
    timeout http-request 30s
    timeout http-keep-alive 75s
frontend fe
    bind 127.0.0.1:$HPORT
    http-request set-header Authorization "Bearer $TOKEN"
    http-request del-header x-api-key
    http-request set-header anthropic-beta "oauth-2025-04-20"
    default_backend api
backend api
    http-reuse always
    server api 127.0.0.1:${UP[haproxy]} ssl ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3 verify required ca-file $PKI/ca.pem sni str(localhost) verifyhost localhost
EOF

# Starts nginx in the foreground (daemon off) as a background job; sets STARTED to the master pid. $1: its directory.
start_nginx() {
  local dir=$1
  nginx -t -q -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/check.log" 2>&1 ||
    { cat "$dir/check.log" >&2; die "nginx config $dir/nginx.conf"; }
  nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}
# The (only) worker of an nginx master.
worker_of() {
  local master=$1 w="" i
  for i in $(seq 100); do
    w=$(pgrep -P "$master" | head -n1 || true)
    [ -n "$w" ] && { echo "$w"; return 0; }
    kill -0 "$master" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
wait_http() { # url, pid, what
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited at start-up"
    sleep 0.1
  done
  die "$3 does not answer $1"
}

start_nginx "$TMP/up"
UP_MASTER=$STARTED
UP_WORKER=$(worker_of "$UP_MASTER") || die "upstream nginx did not start (see $TMP/up/error.log)"
STUB="http://127.0.0.1:$SPORT/status"
wait_http "$STUB" "$UP_MASTER" "upstream nginx"
say "upstream nginx on https://localhost:$UPORT (master $UP_MASTER, worker $UP_WORKER)"

# One request of each kind through a server: status 200, the canned answer's exact size, the rate-limit headers kept.
preflight() { # name base-url direct|client
  local name=$1 base=$2 mode=$3 kind out code ct size want
  local -a auth=(-H "x-api-key: sk-ant-api03-placeholder")
  [ "$mode" = direct ] && auth=(-H "authorization: Bearer $TOKEN" -H "anthropic-beta: oauth-2025-04-20" --cacert "$PKI/ca.pem")
  for kind in json sse big; do
    out="$LOGS/preflight-$name-$kind"
    read -r code ct size < <(curl -sS --max-time 20 -D "$out.head" -o "$out.body" -w '%{http_code} %{content_type} %{size_download}\n' \
      "${auth[@]}" -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' -H "x-bench: $kind" \
      --data-binary '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}' \
      "$base/v1/messages" 2>>"$LOGS/curl.log" || echo "000 - 0")
    case $kind in json) want=$(wc -c <"$ANS/json.json") ;; sse) want=$(wc -c <"$ANS/sse.sse") ;; big) want=$(wc -c <"$ANS/big.sse") ;; esac
    [ "$code" = 200 ] && [ "$size" = "$want" ] ||
      die "preflight $name $kind: status $code, $size bytes (want 200, $want bytes); head in $out.head, log $LOGS/curl.log"
    grep -qi '^anthropic-ratelimit-unified-5h-utilization: 0.42' "$out.head" || die "preflight $name $kind: rate-limit headers lost"
  done
  local tls
  tls=$(curl -sS --max-time 5 ${mode:+--cacert "$PKI/ca.pem"} -H "x-api-key: sk-ant-api03-placeholder" "$base/v1/__tls" | tr -cd 'A-Za-z0-9_.\- ')
  printf '{"type":"tls","server":"%s","info":"%s"}\n' "$name" "$tls" >>"$RESULTS"
  say "preflight $name: json, sse, big answered 200 with the right bodies; upstream TLS: $tls"
}

# The proxy runs at its default flags (log level info, access log on: one line per request, to its log file), with
# --max-connections set explicitly for the idle-connection step. UPNAME: its port at the upstream stand-in.
start_proxy() { # port log [more flags]; sets STARTED to its pid (PROXY_BIN: another binary than BIN)
  local port=$1 log=$2
  shift 2
  CLAUDE_CODE_OAUTH_TOKEN=$TOKEN HOME="$TMP/home" "${PROXY_BIN:-$BIN}" --listen "127.0.0.1:$port" \
    --upstream "https://localhost:${UP[${UPNAME:-anthropic-proxy}]}" --ca-file "$PKI/ca.pem" \
    --max-connections "$MAXCONN" "$@" >"$log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}

preflight upstream "https://localhost:$UPORT" direct
py idle --server upstream --pid "$UP_WORKER" --out "$RESULTS"

# Every server under test is started first and stays up; then each scenario (kind x connections) is measured on
# every server back to back, round after round, so that the rows a ratio compares ran seconds apart, not minutes.
declare -A URL PID USAGE MODE MASTER
start_server() { # name
  local server=$1 master worker hp ap port extra bin
  case $server in
    direct)
      URL[$server]="https://localhost:$UPORT/v1/messages" PID[$server]=0 MODE[$server]=direct
      ;;
    nginx)
      start_nginx "$TMP/ngx"
      master=$STARTED
      worker=$(worker_of "$master") || die "nginx proxy did not start (see $TMP/ngx/error.log)"
      wait_http "http://127.0.0.1:$NPORT/" "$master" "nginx proxy"
      py idle --server nginx --pid "$worker" --out "$RESULTS"
      preflight nginx "http://127.0.0.1:$NPORT" client
      URL[$server]="http://127.0.0.1:$NPORT/v1/messages" PID[$server]=$worker MODE[$server]=client MASTER[$server]=$master
      ;;
    haproxy)
      haproxy -c -f "$TMP/haproxy.cfg" >"$LOGS/haproxy-check.log" 2>&1 || { cat "$LOGS/haproxy-check.log" >&2; die "haproxy config"; }
      haproxy -db -f "$TMP/haproxy.cfg" >"$LOGS/haproxy${LOGTAG:-}.log" 2>&1 &
      hp=$!; PIDS+=("$hp")
      wait_http "http://127.0.0.1:$HPORT/" "$hp" "haproxy (see $LOGS/haproxy.log)"
      py idle --server haproxy --pid "$hp" --out "$RESULTS"
      preflight haproxy "http://127.0.0.1:$HPORT" client
      URL[$server]="http://127.0.0.1:$HPORT/v1/messages" PID[$server]=$hp MODE[$server]=client
      ;;
    anthropic-proxy | anthropic-proxy-pool$ALT_POOL | anthropic-proxy-static)
      extra=() port=$APORT bin=$BIN
      [ "$server" = "anthropic-proxy-pool$ALT_POOL" ] && extra=(--pool-size "$ALT_POOL") port=$PPORT
      [ "$server" = anthropic-proxy-static ] && port=$XPORT bin=$STATIC_BIN
      UPNAME=$server PROXY_BIN=$bin start_proxy "$port" "$LOGS/$server${LOGTAG:-}.log" "${extra[@]}"
      ap=$STARTED
      wait_http "http://127.0.0.1:$port/healthz" "$ap" "$server (see $LOGS/$server${LOGTAG:-}.log)"
      py idle --server "$server" --pid "$ap" --out "$RESULTS"
      preflight "$server" "http://127.0.0.1:$port" client
      URL[$server]="http://127.0.0.1:$port/v1/messages" PID[$server]=$ap MODE[$server]=client
      USAGE[$server]="http://127.0.0.1:$port/usage"
      ;;
    *) die "unknown server '$server' in BENCH_SERVERS" ;;
  esac
}
finish_server() { # name
  local server=$1 base
  case $server in
    nginx) stop_pid "${MASTER[$server]}" ;;
    haproxy) stop_pid "${PID[$server]}" ;;
    anthropic-proxy | anthropic-proxy-pool$ALT_POOL | anthropic-proxy-static)
      base=${USAGE[$server]%/usage}
      if [ "$server" = anthropic-proxy ]; then
        # 8. Token accounting, exactly: a client whose every request completes.
        py exact --port "${base##*:}" --usage-url "${USAGE[$server]}" --n 1000 --conns 10 --out "$RESULTS" ||
          die "exact accounting client"
      fi
      curl -s "$base/usage" >"$LOGS/$server-usage-after-load.json" || true
      curl -s "$base/metrics" >"$LOGS/$server-metrics-after-load.txt" || true
      stop_pid "${PID[$server]}"
      py logsummary --server "$server" --what "wrk load" --log "$LOGS/$server.log" \
        --metrics "$LOGS/$server-metrics-after-load.txt" --out "$RESULTS"
      ;;
  esac
}

for server in $SERVERS; do start_server "$server"; done
for round in $(seq "$ROUNDS"); do
  for kind in $KINDS; do
    for c in $CONNS; do
      for server in $SERVERS; do
        pid=${PID[$server]} usage=${USAGE[$server]:-}
        py measure --server "$server" --url "${URL[$server]}" --kind "$kind" --mode "${MODE[$server]}" \
          --lua "$BENCH/wrk.lua" --stub-url "$STUB" --out "$RESULTS" --logdir "$LOGS" --pid "$pid" \
          --up-pid "$UP_WORKER" --conns "$c" --threads "$THREADS" --warm "$WARM" --dur "$DUR" --round "$round" \
          ${usage:+--usage-url "$usage"} --quiet-file "$TMP/quiet-budget" ||
          die "measuring $server $kind c$c (server logs in $LOGS, $TMP/ngx, $TMP/up)"
        [ "$pid" = 0 ] || kill -0 "$pid" 2>/dev/null || die "$server (pid $pid) died during $kind c$c (logs in $LOGS)"
      done
    done
  done
done
for server in $SERVERS; do finish_server "$server"; done

# 8b. Idle keep-alive connections: each server started afresh (after a load, memory its allocator kept from the
# load's buffers would hold the new connections and hide their cost), IDLE_CONNS clients that each make one request
# and stay open; RSS per connection. The proxy's log shows whether its listener turned any away.
if [ "$IDLE_CONNS" -gt 0 ]; then
  for server in $SERVERS; do
    [ "$server" = direct ] && continue
    LOGTAG=-idle start_server "$server"
    url=${URL[$server]#http://127.0.0.1:}
    say "idle connections: $IDLE_CONNS to a fresh $server"
    py idleconns --server "$server" --port "${url%%/*}" --pid "${PID[$server]}" --conns "$IDLE_CONNS" \
      --concurrency "$IDLE_PAR" --out "$RESULTS" ||
      say "idle connections to $server: not all answered or kept open (see the report)"
    kill -0 "${PID[$server]}" 2>/dev/null || die "$server died during the idle-connection step (logs in $LOGS)"
    if [ "$server" = nginx ]; then stop_pid "${MASTER[$server]}"; else stop_pid "${PID[$server]}"; fi
    if [[ $server == anthropic-proxy* ]]; then
      py logsummary --server "$server" --what "idle connections" --log "$LOGS/$server-idle.log" --out "$RESULTS"
    fi
  done
fi

# 9. Slow readers: a fresh proxy, 1,000 streams of a 2 MB SSE answer read at 10 kB/s each.
if [ "$SLOW" = 1 ]; then
  UPNAME=slow-readers start_proxy "$SLPORT" "$LOGS/anthropic-proxy-slowread.log"
  sp=$STARTED
  wait_http "http://127.0.0.1:$SLPORT/healthz" "$sp" "anthropic-proxy (see $LOGS/anthropic-proxy-slowread.log)"
  say "slow readers: $SLOW_CONNS connections for ${SLOW_SECS} s"
  py slowread --port "$SLPORT" --pid "$sp" --up-pid "$UP_WORKER" --conns "$SLOW_CONNS" --duration "$SLOW_SECS" \
    --out "$RESULTS" || die "slow-reader check"
  curl -s "http://127.0.0.1:$SLPORT/metrics" >"$LOGS/anthropic-proxy-slowread-metrics.txt" || true
  stop_pid "$sp"
  py logsummary --server anthropic-proxy --what "slow readers" --log "$LOGS/anthropic-proxy-slowread.log" \
    --metrics "$LOGS/anthropic-proxy-slowread-metrics.txt" --out "$RESULTS"
fi

# 10. Instructions per request under callgrind: 0, 1 and CG_N JSON requests on one keep-alive connection.
CG_JSON=""
if [ "$CALLGRIND" = 1 ]; then
  declare -A IR
  for n in 0 1 "$CG_N"; do
    out="$LOGS/callgrind.$n.out"
    CLAUDE_CODE_OAUTH_TOKEN=$TOKEN HOME="$TMP/home" valgrind --tool=callgrind --callgrind-out-file="$out" \
      "$BIN" --listen "127.0.0.1:$CGPORT" --upstream "https://localhost:${UP[callgrind]}" --ca-file "$PKI/ca.pem" \
      >"$LOGS/callgrind.$n.log" 2>&1 &
    cg=$!; PIDS+=("$cg")
    py wait-listen "$CGPORT" --timeout 60 || die "anthropic-proxy under valgrind did not listen (see $LOGS/callgrind.$n.log)"
    [ "$n" -gt 0 ] && { py seq --port "$CGPORT" --n "$n" --kind json >/dev/null || die "callgrind client ($n requests)"; }
    kill -TERM "$cg"
    wait "$cg" || true
    IR[$n]=$(py callgrind-ir "$out") || die "callgrind output $out (see $LOGS/callgrind.$n.log)"
    say "callgrind: $n requests -> Ir ${IR[$n]}"
  done
  top=$(py callgrind-top "$LOGS/callgrind.1.out" "$LOGS/callgrind.$CG_N.out" --n $((CG_N - 1))) || top=null
  groups=$(py callgrind-groups "$LOGS/callgrind.1.out" "$LOGS/callgrind.$CG_N.out" --n $((CG_N - 1))) || groups=null
  CG_JSON="{\"n\":$CG_N,\"ir0\":${IR[0]},\"ir1\":${IR[1]},\"irn\":${IR[$CG_N]},\"top\":$top,\"groups\":$groups}"
fi

# 11. The record cipher: one JSON exchange's two records (sizes as a direct client sees them), sealed by Mbed TLS
# (test/bench/cipher.c, linked with the proxy's vendored libmbedcrypto and config) and by OpenSSL (`openssl speed`).
make --no-print-directory -s mbedtls >/dev/null || die "building the vendored Mbed TLS"
cc -std=c11 -O2 -Wall -Wextra -Werror -I"$ROOT/deps/mbedtls/include" \
  -DMBEDTLS_CONFIG_FILE="\"$ROOT/deps/mbedtls_config.h\"" "$BENCH/cipher.c" -o "$TMP/cipher" \
  "$ROOT/build/deps/libmbedcrypto.a" || die "building test/bench/cipher.c"
read -r req_b head_b body_b < <(curl -sS --max-time 10 --cacert "$PKI/ca.pem" -o /dev/null \
  -w '%{size_request} %{size_header} %{size_download}\n' -H "authorization: Bearer $TOKEN" \
  -H "anthropic-beta: oauth-2025-04-20" -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \
  -H 'x-bench: json' --data-binary '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}' \
  "https://localhost:$UPORT/v1/messages") || die "sizing one JSON exchange"
mbed=$("$TMP/cipher" "$req_b" $((head_b + body_b))) || die "test/bench/cipher"
py cipher --request-bytes "$req_b" --answer-bytes $((head_b + body_b)) --mbedtls "$mbed" --out "$RESULTS" ||
  die "openssl speed"
say "record cipher: $mbed (Mbed TLS, µs per record of $req_b and $((head_b + body_b)) B)"

# 12. Report. First what every client of the upstream negotiated, from the stand-in's log of new TLS connections.
ports=""; for k in "${!UP[@]}"; do ports+="$k=${UP[$k]} "; done
py tlstally --log "$TMP/up/tls.log" --ports "$ports" --out "$RESULTS" || die "tallying $TMP/up/tls.log"
STAMP=$(date +%Y-%m-%d_%H%M)
export M_DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" M_HOST="$(hostname)" M_CPUS="$(nproc)" M_KERNEL="$(uname -sr)"
export M_GIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
export M_POOL_DEFAULT="$("$BIN" --help 2>&1 | awk '/^  --/ { f = $1 == "--pool-size" } /^[^ ]/ { f = 0 } f' | tr '\n' ' ' | sed -n 's/.*(default \([0-9]*\)).*/\1/p')" M_ALT_POOL="$ALT_POOL" M_NGX_KEEPALIVE="$NGX_KEEPALIVE"
export M_CMD="test/bench/run.sh ${1:-}" M_THREADS="$THREADS" M_WARM="$WARM" M_DUR="$DUR" M_LOGS="$LOGS" M_CG="$CG_JSON"
export M_VERSIONS="$("$BIN" --version 2>&1 | head -n1), $(nginx -v 2>&1 | sed 's/.*: //'), \
$(haproxy -v | head -n1 | awk '{print "HAProxy " $3}'), $(wrk -v 2>&1 | head -n1 | awk '{print "wrk " $2}'), \
$("$BIN" --version 2>&1 | grep '^Mbed TLS') (vendored), $(openssl version | awk '{print "OpenSSL " $2}'); \
load average before $LOAD_BEFORE, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$TMP/meta.json" "$ANS/expected.json" <<'EOF'
import json, os, sys
e = os.environ
meta = {"date": e["M_DATE"], "host": e["M_HOST"], "cpus": e["M_CPUS"], "kernel": e["M_KERNEL"], "git": e["M_GIT"],
        "cmdline": e["M_CMD"].strip(), "threads": e["M_THREADS"], "warm": e["M_WARM"], "dur": e["M_DUR"],
        "logdir": e["M_LOGS"], "versions": e["M_VERSIONS"], "sizes": json.load(open(sys.argv[2]))["sizes"],
        "callgrind": json.loads(e["M_CG"]) if e["M_CG"] else None,
        "pool_default": e["M_POOL_DEFAULT"] or "?", "alt_pool": e["M_ALT_POOL"],
        "ngx_keepalive": e["M_NGX_KEEPALIVE"]}
json.dump(meta, open(sys.argv[1], "w"))
EOF
cp "$RESULTS" "$LOGS/results.jsonl"
rc=0
OUTDIR="$ROOT/build/bench"
mkdir -p "$OUTDIR"
py report --results "$RESULTS" --meta "$TMP/meta.json" --md "$OUTDIR/results-$STAMP.md" --md "$OUTDIR/latest.md" || rc=$?
say "report: build/bench/results-$STAMP.md (and build/bench/latest.md); raw records: $LOGS/results.jsonl"
[ "$rc" = 0 ] || die "a check failed (see the report)"
