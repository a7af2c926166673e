-- wrk script for test/bench/run.sh: POST /v1/messages with a small Messages body, keep-alive.
--   wrk ... URL -- KIND MODE
-- KIND: json | sse | big (the x-bench header that makes the upstream pick its canned answer)
-- MODE: client (what a client of the proxy sends: a placeholder x-api-key) or
--       direct (what the proxy would send upstream: the bearer token, the OAuth beta, no x-api-key)
-- done() prints one line "BENCH_JSON {...}" with the summary and latency percentiles (microseconds).

wrk.method = "POST"
wrk.body = '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'

function init(args)
  local kind, mode = args[1] or "json", args[2] or "client"
  wrk.headers["content-type"] = "application/json"
  wrk.headers["anthropic-version"] = "2023-06-01"
  wrk.headers["x-bench"] = kind
  if mode == "direct" then
    wrk.headers["Authorization"] = "Bearer sk-ant-oat01-bench"
    wrk.headers["anthropic-beta"] = "oauth-2025-04-20"
  else
    wrk.headers["x-api-key"] = "sk-ant-api03-placeholder"
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"mean":%.1f,"max":%d}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
