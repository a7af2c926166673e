#!/usr/bin/env python3
"""Writes the seed corpora in test/fuzz/corpus/<target>/ (run again after changing it; the files are committed).

fuzz_request: requests recorded from curl 7.88 and @anthropic-ai/sdk 1.14 (Node 20) against a plain socket, plus
chunked, pipelined, Expect, HTTP/1.0, absolute-form and a few classic bad ones. First byte: where the input is split
into two reads.
fuzz_usage: SSE streams and JSON answers as the mock API (test/mock/mock_api.py) writes them, gzip and deflate
bodies, error bodies. First byte: content type / coding / switches (see fuzz_usage.c), second: piece-size seed.
fuzz_json: usage-poll answers of both shapes (windows + extra_usage, limits[] only), the proxy's state file,
Claude Code credentials files, OAuth token answers and rate-limit header lines.
"""

import gzip
import json
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "mock"))
import mock_api  # noqa: E402

OUT = os.path.join(HERE, "corpus")

CURL = (b'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:39861\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n'
        b'content-type: application/json\r\nx-api-key: placeholder\r\nanthropic-version: 2023-06-01\r\n'
        b'Content-Length: 89\r\n\r\n'
        b'{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}')
SDK_STREAM = (b'POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:39861\r\nconnection: keep-alive\r\n'
              b'Accept: application/json\r\nUser-Agent: Anthropic/JS 1.14.0\r\nX-Stainless-Retry-Count: 0\r\n'
              b'X-Stainless-Timeout: 600\r\nX-Stainless-Lang: js\r\nX-Stainless-Package-Version: 1.14.0\r\n'
              b'X-Stainless-OS: Linux\r\nX-Stainless-Arch: x64\r\nX-Stainless-Runtime: node\r\n'
              b'X-Stainless-Runtime-Version: v20.20.2\r\nanthropic-version: 2026-10-21\r\n'
              b'authorization: Bearer placeholder\r\ncontent-type: application/json\r\naccept-language: *\r\n'
              b'sec-fetch-mode: cors\r\naccept-encoding: gzip, deflate\r\ncontent-length: 123\r\n\r\n'
              b'{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user",'
              b'"content":"Say hello. \xc3\x9cn\xc3\xafc\xc3\xb6d\xc3\xa9"}]}')
SDK_BETA = (b'POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:39861\r\nconnection: keep-alive\r\n'
            b'Accept: application/json\r\nUser-Agent: Anthropic/JS 1.14.0\r\nX-Stainless-Retry-Count: 0\r\n'
            b'X-Stainless-Lang: js\r\nanthropic-version: 2026-10-21\r\nauthorization: Bearer placeholder\r\n'
            b'content-type: application/json\r\nanthropic-beta: interleaved-thinking-2025-05-14\r\n'
            b'accept-encoding: gzip, deflate\r\ncontent-length: 87\r\n\r\n'
            b'{"model":"claude-opus-4-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}')
BODY = b'{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'


def chunked(body, sizes=(7, 1, 40)):
    out, i, k = b"", 0, 0
    while i < len(body):
        piece = body[i:i + sizes[k % len(sizes)]]
        out += b"%x%s\r\n" % (len(piece), b";ext=1" if k == 1 else b"") + piece + b"\r\n"
        i += len(piece)
        k += 1
    return out


REQUESTS = {
    "curl": (60, CURL),
    "sdk-stream": (200, SDK_STREAM),
    "sdk-beta": (3, SDK_BETA),
    "chunked-trailer": (90, b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            b"x-api-key: k\r\nanthropic-beta: a-1, oauth-2025-04-20\r\n\r\n" + chunked(BODY)
                        + b"0\r\nX-Trailer: 1\r\n\r\n"),
    "pipelined": (30, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + CURL + b"GET /usage HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n"),
    "expect": (120, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n"
                    b"Authorization: Bearer client\r\n\r\n" % len(BODY) + BODY),
    "http10": (10, b"POST /v1/messages HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: %d\r\n\r\n"
                   % len(BODY) + BODY),
    "absolute": (255, b"POST http://api.anthropic.com/v1/messages/count_tokens?x=1 HTTP/1.1\r\nHost: y\r\n"
                      b"Content-Length: 2\r\nAccept-Encoding: br;q=1, gzip;q=0.5, zstd, identity\r\n\r\n{}"),
    "hop-by-hop": (0, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, TE, x-drop\r\n"
                      b"Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Drop: 1\r\nProxy-Connection: k\r\n"
                      b"Content-Length: 2\r\n\r\n{}"),
    "get-models": (5, b"GET /v1/models?limit=20 HTTP/1.1\r\nHost: x\r\nx-api-key: a\r\nx-api-key: b\r\n\r\n"),
    "leading-crlf": (1, b"\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    "cl-and-te": (50, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"),
    "obs-fold": (20, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
    "chunk-ext-long": (40, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;" + b"e" * 1100
                           + b"\r\n{}\r\n0\r\n\r\n"),
    "te-gzip-chunked": (40, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n"
                            b"0\r\n\r\n"),
    # The front door (door.h): even split bytes listen on loopback (Host checked), odd ones on 0.0.0.0.
    "door-hosts": (40, b"GET /v1/models HTTP/1.1\r\nHost: LocalHost.:8080\r\n\r\nGET /v1/models HTTP/1.1\r\n"
                       b"Host: [::1]:1\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: 127.0.0.9\r\n\r\n"
                       b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1.evil.example\r\n\r\n"),
    "door-absolute-localhost": (44, b"GET http://localhost:8080/v1/models?x=/../ HTTP/1.1\r\nHost: evil\r\n\r\n"),
    "door-origin": (12, b"POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nOrigin: https://ok.example\r\n"
                        b"Content-Length: 2\r\n\r\n{}POST /v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                        b"Origin: null\r\nContent-Length: 2\r\n\r\n{}"),
    "door-paths": (7, b"GET /x/thing HTTP/1.1\r\nHost: a\r\n\r\nDELETE /api/files/1 HTTP/1.1\r\nHost: a\r\n\r\n"
                      b"GET /v1/.%2e/x HTTP/1.1\r\nHost: a\r\n\r\n"),
    "door-dot-segments": (9, b"GET /v1/a/../b HTTP/1.1\r\nHost: a\r\n\r\n"),
    "door-encoded-slash": (11, b"GET /v1/models%2F..%5Cx HTTP/1.1\r\nHost: a\r\n\r\n"),
    "door-method": (13, b"TRACE /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
    "door-admin-post": (2, b"POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                           b"Content-Length: 5\r\n\r\nhello"),
    "door-two-hosts": (4, b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nHost: evil\r\n\r\n"),
    "door-connection-lists": (3, b"POST /v1/messages HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
                                 b"CONNECTION: X-A, x-b\r\nX-A: 1\r\nx-B: 2\r\nContent-Length: 2\r\n\r\n{}"),
    "version-junk": (255, b"GET /healthz HTTP/1.1x\r\nHost: a\r\n\r\n"),
    "version-1-2": (255, b"GET /healthz HTTP/1.2\r\nHost: a\r\n\r\n"),
    # Regressions: the inputs behind the bugs in README.md ("Known bugs").
    "regress-first-byte": (255, b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    "regress-first-byte-pipelined": (37, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\x00ET / HTTP/1.1\r\n\r\n"),
    "regress-absolute-short": (255, b"GET http://a HTTP/1.1\r\nHost: x\r\n\r\n"),
    "regress-cr-cr": (255, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\r\n"),
    "regress-empty-fold": (255, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A:\r\n \r\n\r\n"),
    "regress-trailers": (255, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
                              b"X-T: 1\r\n\r\n"),
    "regress-te-empty": (255, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\nGET /smuggled HTTP/1.1\r\n"
                              b"Host: x\r\n\r\n"),
    "regress-tab-target": (255, b"GET /v1/mo\tdels HTTP/1.1\r\nHost: x\r\n\r\n"),
}


def sse_body(crlf=False, split=False, usage=None):
    return b"".join(mock_api.encode_event(e, crlf) for e in
                    mock_api.sse_events("claude-sonnet-4-5-20250929", usage, split=split))


def deflate_raw(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# fuzz_usage selector byte: low 3 bits type (0 SSE, 1 JSON, 2 SSE;charset, 3 JSON;charset, 4 SSE mixed case,
# 5 html, 6 none, 7 jsonx), bits 3-5 coding (0 none, 1 gzip, 2 x-gzip, 3 deflate, 4 identity, 5 br, 6 list,
# 7 GZIP), bit 6: gzip the rest in the target, bit 7: free without finish.
def sel(t, c=0, gz=False, free=False):
    return bytes([t | c << 3 | (0x40 if gz else 0) | (0x80 if free else 0)])


MSG = mock_api.to_json(mock_api.message_json("claude-opus-4-1-20250805"))
ERR = mock_api.api_error_body(529, "Overloaded", "req_0123")
SSE_ERR = (b"event: message_start\ndata: " + mock_api.to_json(
    {"type": "message_start", "message": {"model": "claude-sonnet-4-5", "usage": {"input_tokens": 9}}})
    + b"\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")

USAGE = {
    "sse-lf": sel(0) + b"\x07" + sse_body(),
    "sse-crlf-split": sel(2) + b"\x01" + sse_body(crlf=True, split=True, usage=(1, 2, 3, 4)),
    "sse-error": sel(0) + b"\x33" + SSE_ERR,
    "sse-cr-only": sel(4) + b"\x02" + sse_body().replace(b"\n", b"\r"),
    "sse-gzip": sel(0, 1) + b"\x05" + gzip.compress(sse_body()),
    "sse-gzip-self": sel(0, 0, gz=True) + b"\x09" + sse_body(),
    "json": sel(1) + b"\x11" + MSG,
    "json-gzip": sel(3, 2) + b"\x13" + gzip.compress(MSG),
    "json-deflate-zlib": sel(1, 3) + b"\x17" + zlib.compress(MSG),
    "json-deflate-raw": sel(1, 3) + b"\x19" + deflate_raw(MSG),
    "json-error": sel(1) + b"\x1b" + ERR,
    "json-count-tokens": sel(1, 4) + b"\x1d" + b'{"input_tokens":42}',
    "json-deep": sel(1, free=True) + b"\x1f" + b"[" * 200 + b"]" * 200,
    "json-nested-usage": sel(1) + b"\x21" + b'{"content":[{"usage":{"input_tokens":999}}],"usage":{"input_tokens":'
                                            b'12345678901234567890,"output_tokens":-3,"cache_read_input_tokens":1.5,'
                                            b'"cache_creation":{"input_tokens":7}},"model":"bad model\\u0000\\n"}',
    "sse-no-event-lines": sel(0) + b"\x23" + b"".join(
        b"data: " + mock_api.to_json(d) + b"\n\n" for _, d in mock_api.sse_events("m")),
    "unsupported-br": sel(1, 5) + b"\x25" + MSG,
}

POLL_FULL = {"five_hour": {"utilization": 42.0, "resets_at": "2026-01-02T19:59:59.600956+00:00"},
             "seven_day": {"utilization": 17.0, "resets_at": "2026-01-05T00:00:00.250123+00:00"},
             "seven_day_oauth_apps": None, "seven_day_opus": None,
             "seven_day_sonnet": {"utilization": 3, "resets_at": None},
             "extra_usage": {"is_enabled": True, "monthly_limit": 5000, "used_credits": 1234, "utilization": 24.68,
                             "currency": "USD"},
             "limits": [{"kind": "session", "group": "session", "percent": 42.0,
                         "resets_at": "2026-01-02T19:59:59.600956+00:00", "severity": "normal", "scope": None,
                         "is_active": True},
                        {"kind": "weekly_all", "group": "weekly", "percent": 17.0,
                         "resets_at": "2026-01-05T00:00:00Z", "severity": "normal", "scope": None,
                         "is_active": True}]}
POLL_LIMITS = {"limits": POLL_FULL["limits"] + [{"kind": "weekly_model", "percent": 99}, {"kind": 7}, "junk"]}
STATE = {"version": 1, "windows": [
    {"name": "5h", "resets_at": 1767383999, "tokens": {"input": 25, "output": 87, "cache_creation": 1024,
                                                       "cache_read": 2048, "requests": 1}},
    {"name": "7d_sonnet", "resets_at": 1767571200, "tokens": {"input": 1, "output": 2, "cache_creation": 3,
                                                              "cache_read": 4, "requests": 5}}]}
CREDS = {"claudeAiOauth": {"accessToken": "sk-ant-oat01-abc", "refreshToken": "sk-ant-ort01-def",
                           "expiresAt": 1767003600000, "scopes": ["user:inference", "user:profile"],
                           "subscriptionType": "max", "rateLimitTier": "default_claude_max_20x"},
         "mcpOAuth": {"keep": "me"}, "unknownTop": [1, 2, {"x": None}]}
TOKEN_OK = {"access_token": "sk-ant-oat01-n", "refresh_token": "sk-ant-ort01-n", "expires_in": 28800,
            "token_type": "Bearer", "scope": "user:inference user:profile"}
TOKEN_ERR = {"error": "invalid_grant", "error_description": "Refresh token not found or invalid"}
HEADERS = (b"anthropic-ratelimit-unified-status: allowed\nanthropic-ratelimit-unified-reset: 1767383999\n"
           b"anthropic-ratelimit-unified-5h-status: allowed\nanthropic-ratelimit-unified-5h-utilization: 0.42\n"
           b"anthropic-ratelimit-unified-5h-reset: 1767383999\nanthropic-ratelimit-unified-7d-utilization: 1.07\n"
           b"anthropic-ratelimit-unified-7d_sonnet-surpassed-threshold: 0.75\n"
           b"anthropic-ratelimit-unified-representative-claim: five_hour\n"
           b"anthropic-ratelimit-unified-fallback-percentage: 0.5\n"
           b"anthropic-ratelimit-unified-overage-status: rejected\n"
           b"anthropic-ratelimit-unified-overage-disabled-reason: org_level_disabled\n"
           b"anthropic-ratelimit-unified-overage-reset: 1e3\n")

JSONS = {
    "poll-full": json.dumps(POLL_FULL).encode(),
    "poll-limits-only": json.dumps(POLL_LIMITS).encode(),
    "poll-classic-nulls": json.dumps({k: v for k, v in POLL_FULL.items() if k != "limits"}).encode(),
    "state": json.dumps(STATE).encode(),
    "credentials": json.dumps(CREDS).encode(),
    "credentials-minimal": b'{"claudeAiOauth":{"accessToken":"sk-ant-oat01-x","expiresAt":1.5e12}}',
    "credentials-bad-token": b'{"claudeAiOauth":{"accessToken":"sk-ant-oat01-a\\r\\nx-evil: 1"}}',
    "token-answer": json.dumps(TOKEN_OK).encode(),
    "token-error": json.dumps(TOKEN_ERR).encode(),
    "headers": HEADERS,
    "empty": b"",
    # Regressions (README.md, "Known bugs").
    "regress-short-zone-offset": b'{"five_hour":{"utilization":42,"resets_at":"2026-01-02T19:59:59+0:00"}}',
    "regress-expires-at-huge": b'{"claudeAiOauth":{"accessToken":"sk-ant-oat01-x","expiresAt":1.5e24}}',
    "regress-expires-in-overflow": b'{"access_token":"sk-ant-oat01-x","expires_in":9223372036854775807}',
    "regress-huge-utilization": b"anthropic-ratelimit-unified-5h-utilization: 1e308\n"
                                b"anthropic-ratelimit-unified-7d-utilization: 1e40\n"
                                b"anthropic-ratelimit-unified-reset: 1e300\n"
                                b"anthropic-ratelimit-unified-overage-disabled-reason: caf\xe9\xe2\x82\xac\n",
    "regress-currency-cut": b'{"extra_usage":{"is_enabled":true,"currency":"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"}}',
    # The spend object: known fields, unknown numbers, a nested object, junk, and keys that slug alike.
    "poll-spend": b'{"spend":{"is_enabled":1,"used_credits":123456,"monthly_limit":null,"currency":"USD\\u0000",'
                  b'"Odd Key!":2.5,"odd_key_":3,"period":{"days":30,"x":{"y":1},"s":"t"},"list":[1,2],"neg":-5,'
                  b'"big":1e300,"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}}',
}


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for name, (split, data) in REQUESTS.items():
        write("fuzz_request", name, bytes([split]) + data)
    for name, data in USAGE.items():
        write("fuzz_usage", name, data)
    for name, data in JSONS.items():
        write("fuzz_json", name, data)
    print(f"wrote {len(REQUESTS)} + {len(USAGE)} + {len(JSONS)} seeds under {OUT}")


if __name__ == "__main__":
    main()
