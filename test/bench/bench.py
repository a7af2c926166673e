#!/usr/bin/env python3
"""Helpers for test/bench/run.sh (standard library only).

    bench.py answers DIR                 canned upstream answers (JSON ~1 KB, SSE ~4 KB, SSE ~2 MB) + expected.json
    bench.py idle ...                    idle RSS of a process -> one JSON line
    bench.py measure ...                 warm-up + measured wrk run, with /proc and /usage sampling -> one JSON line
    bench.py seq ...                     N sequential requests on K keep-alive connections (exact, no load)
    bench.py exact ...                   token-accounting check with a client whose requests all complete
    bench.py slowread ...                1,000 slow SSE readers, RSS sampled -> one JSON line
    bench.py idleconns ...               N keep-alive connections left idle after one request each: RSS per connection
    bench.py tlstally ...                the upstream stand-in's log of new TLS connections, tallied per server
    bench.py callgrind-groups ...        callgrind self cost per request grouped by what it does (cipher, parsing...)
    bench.py wait-listen PORT            waits until PORT is in LISTEN state (without connecting to it)
    bench.py callgrind-ir FILE           total Ir of a callgrind output file
    bench.py report ...                  the Markdown report from the JSON lines

Everything talks to 127.0.0.1 only.
"""

import argparse
import asyncio
import concurrent.futures
import http.client
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

MODEL_REQ = "claude-sonnet-4-5"
MODEL_ANS = "claude-sonnet-4-5-20250929"
REQ_BODY = json.dumps({"model": MODEL_REQ, "max_tokens": 64,
                       "messages": [{"role": "user", "content": "hi"}]}, separators=(",", ":")).encode()
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The canned usage of each answer kind: (input, output, cache_creation, cache_read).
USAGE = {"json": (25, 187, 1024, 2048), "sse": (30, 211, 512, 4096), "big": (40, 60000, 0, 8192)}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def dumps(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- answers

FILLER = ("Sure. Here is a short overview of how a keep-alive connection pool behaves under load: idle "
          "connections are kept for reuse, the least recently used one is closed when the pool is full, and "
          "a connection whose answer was cut short is never handed out again. ")


def message(usage, text):
    i, o, c, cr = usage
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": MODEL_ANS,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": i, "cache_creation_input_tokens": c, "cache_read_input_tokens": cr,
                  "cache_creation": {"ephemeral_5m_input_tokens": c, "ephemeral_1h_input_tokens": 0},
                  "output_tokens": o, "service_tier": "standard"},
    }


def sse(usage, n_deltas, delta_text):
    i, o, c, cr = usage
    start = message((i, 1, c, cr), "")
    start["content"], start["stop_reason"] = [], None
    ev = [("message_start", {"type": "message_start", "message": start}),
          ("content_block_start", {"type": "content_block_start", "index": 0,
                                   "content_block": {"type": "text", "text": ""}}),
          ("ping", {"type": "ping"})]
    for k in range(n_deltas):
        ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta", "text": f"{k}: {delta_text}"}}))
    ev += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
           ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                              "usage": {"input_tokens": i, "cache_creation_input_tokens": c,
                                        "cache_read_input_tokens": cr, "output_tokens": o}}),
           ("message_stop", {"type": "message_stop"})]
    return "".join(f"event: {name}\ndata: {dumps(data)}\n\n" for name, data in ev).encode()


def cmd_answers(a):
    os.makedirs(a.dir, exist_ok=True)
    files = {
        "json.json": dumps(message(USAGE["json"], (FILLER * 3)[:640])).encode(),
        "sse.sse": sse(USAGE["sse"], 10, FILLER[:200]),
        "big.sse": sse(USAGE["big"], 7400, FILLER[:200]),
        "usage.json": dumps({
            "five_hour": {"utilization": 42.0, "resets_at": "2030-01-01T00:00:00.000000+00:00"},
            "seven_day": {"utilization": 17.0, "resets_at": "2030-01-05T00:00:00.000000+00:00"},
            "seven_day_oauth_apps": None, "seven_day_opus": None,
            "extra_usage": {"is_enabled": False, "monthly_limit": None, "used_credits": None,
                            "utilization": None, "currency": "USD"}}).encode(),
    }
    for name, data in files.items():
        with open(os.path.join(a.dir, name), "wb") as f:
            f.write(data)
    with open(os.path.join(a.dir, "expected.json"), "w") as f:
        json.dump({"model": MODEL_ANS, "usage": USAGE,
                   "sizes": {k: len(v) for k, v in files.items()}}, f)
    print(" ".join(f"{k}={len(v)}B" for k, v in files.items()))


# ---------------------------------------------------------------------------------------------- /proc

def proc_status(pid, keys=("VmRSS", "VmHWM", "Threads")):
    """Fields of /proc/PID/status (kB for the memory ones)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def proc_private_kb(pid):
    """Memory the process holds that no other process shares (Private_Clean + Private_Dirty of smaps_rollup, kB):
    its heap, stacks and written data, without the library and binary pages that RSS also counts (those are in the
    page cache once for every process that maps them, and RSS counts them at the kernel's fault-around granularity
    whatever the process touched). None where smaps_rollup is missing (Linux < 4.14)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return sum(int(line.split()[1]) for line in f if line.startswith(("Private_Clean:", "Private_Dirty:")))
    except OSError:
        return None


class PrivatePeak:
    """The largest proc_private_kb seen, sampled every 0.2 s while the block runs (there is no kernel high-water
    mark for it, unlike VmHWM for RSS)."""

    def __init__(self, pid):
        self.pid, self.peak = pid, None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while True:
            v = proc_private_kb(self.pid)
            if v is not None and (self.peak is None or v > self.peak):
                self.peak = v
            if self.stop.wait(0.2):
                return

    def __enter__(self):
        if self.pid:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.pid:
            self.stop.set()
            self.thread.join()


def proc_cpu_split(pid):
    """(utime, stime) of a process in clock ticks: user-space CPU and kernel CPU (its system calls, the TCP work
    done on its behalf)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]), int(fields[12])  # fields 14 and 15 of stat


def proc_cpu_ticks(pid):
    return sum(proc_cpu_split(pid))


def busy_ticks():
    """Busy CPU time of the whole machine (all CPUs), in clock ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]  # user nice system idle iowait irq softirq steal -> without idle, iowait


def children_ticks():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * CLK_TCK


def reset_hwm(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0); returns False where not supported."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def n_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def stub_status(url):
    """nginx stub_status of the upstream: accepted connections and requests so far."""
    with urllib.request.urlopen(url, timeout=5) as r:
        t = r.read().decode()
    m = re.search(r"\n\s*(\d+)\s+(\d+)\s+(\d+)", t)
    a = re.search(r"Active connections:\s*(\d+)", t)
    return {"accepts": int(m.group(1)), "requests": int(m.group(3)), "active": int(a.group(1))}


def cmd_idle(a):
    st = proc_status(a.pid)
    rec = {"type": "idle", "server": a.server, "pid": a.pid, "rss_kb": st["VmRSS"], "hwm_kb": st["VmHWM"],
           "private_kb": proc_private_kb(a.pid)}
    append(a.out, rec)
    log(f"{a.server}: idle RSS {st['VmRSS']} kB (pid {a.pid})")


def append(path, rec):
    with open(path, "a") as f:
        f.write(dumps(rec) + "\n")


# ---------------------------------------------------------------------------------------------- wrk

def run_wrk(a, seconds, tag):
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{seconds}s", "--timeout", "5s", "--latency",
           "-s", a.lua, a.url, "--", a.kind, a.mode]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    wall = time.monotonic() - t0
    logf = os.path.join(a.logdir, f"wrk-{a.server}-{a.kind}-c{a.conns}-{tag}.txt")
    with open(logf, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + p.stdout + p.stderr)
    m = re.search(r"^BENCH_JSON (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise SystemExit(f"wrk failed (exit {p.returncode}); output in {logf}")
    r = json.loads(m.group(1))
    r["wall_s"] = wall
    r["log"] = logf
    return r


def usage_totals(u, model):
    """The counters the token check compares (missing means 0)."""
    if u is None:
        return None
    m = (u.get("models") or {}).get(model) or {}
    out = {"requests_counted": u.get("requests_counted", 0)}
    for k in ("requests", "input", "output", "cache_creation", "cache_read"):
        out["model." + k] = m.get(k, 0)
    for w in ("5h", "7d"):
        t = ((u.get("windows") or {}).get(w) or {}).get("tokens") or {}
        for k in ("requests", "input", "output", "cache_creation", "cache_read"):
            out[f"{w}.{k}"] = t.get(k, 0)
    return out


def wait_quiet(a):
    """Waits (from a budget shared by all rows, kept in a.quiet_file) until the rest of the machine uses less than
    a.quiet_threshold of a core, measured over 1 s while the bench itself is idle. Returns the load last seen."""
    try:
        with open(a.quiet_file) as f:
            budget = float(f.read() or 0)
    except (OSError, ValueError, TypeError):
        budget = 0.0
    t0 = time.monotonic()
    while True:
        b0 = busy_ticks()
        time.sleep(1)
        other = (busy_ticks() - b0) / CLK_TCK
        spent = time.monotonic() - t0
        if other < a.quiet_threshold or spent >= min(budget, a.quiet_max):
            break
        if spent < 1.5:
            log(f"other work on the machine uses {other:.2f} cores; waiting for it (budget left {budget - spent:.0f} s)")
    if a.quiet_file:
        with open(a.quiet_file, "w") as f:
            f.write(str(max(0.0, budget - max(0.0, time.monotonic() - t0 - 1))))
    return other


def cmd_measure(a):
    quiet_before = wait_quiet(a)
    usage0 = usage_totals(get_json(a.usage_url), MODEL_ANS) if a.usage_url else None
    warm = run_wrk(a, a.warm, "warm") if a.warm > 0 else None
    hwm_reset = reset_hwm(a.pid) if a.pid else False
    split0 = proc_cpu_split(a.pid) if a.pid else None
    cpu0 = sum(split0) if a.pid else None
    ucpu0 = proc_cpu_ticks(a.up_pid)
    stub0 = stub_status(a.stub_url)
    busy0, wrk0 = busy_ticks(), children_ticks()
    with PrivatePeak(a.pid) as priv:
        meas = run_wrk(a, a.dur, "measured")
    busy1, wrk1 = busy_ticks(), children_ticks()
    split1 = proc_cpu_split(a.pid) if a.pid else None
    cpu1 = sum(split1) if a.pid else None
    ucpu1 = proc_cpu_ticks(a.up_pid)
    stub1 = stub_status(a.stub_url)
    st = proc_status(a.pid) if a.pid else {}
    usage1 = None
    if a.usage_url:
        time.sleep(0.3)  # lets exchanges that wrk abandoned at its deadline finish or be dropped
        usage1 = usage_totals(get_json(a.usage_url), MODEL_ANS)
    n = meas["requests"]
    rec = {
        "type": "run", "round": a.round, "quiet_before": quiet_before, "server": a.server, "kind": a.kind, "conns": a.conns, "threads": a.threads,
        "dur_s": meas["duration_us"] / 1e6, "requests": n, "rps": n / (meas["duration_us"] / 1e6),
        "p50_us": meas["p50"], "p90_us": meas["p90"], "p99_us": meas["p99"], "max_us": meas["max"],
        "non2xx": meas["status"], "sock_err": meas["connect"] + meas["read"] + meas["write"] + meas["timeout"],
        "sock_detail": {k: meas[k] for k in ("connect", "read", "write", "timeout")},
        "bytes_per_resp": meas["bytes"] / n if n else 0,
        "peak_rss_kb": st.get("VmHWM"), "rss_kb": st.get("VmRSS"), "hwm_reset": hwm_reset,
        "peak_private_kb": priv.peak,
        "cpu_us_per_req": ((cpu1 - cpu0) / CLK_TCK * 1e6 / n) if a.pid and n else None,
        "cpu_user_us_per_req": ((split1[0] - split0[0]) / CLK_TCK * 1e6 / n) if a.pid and n else None,
        "cpu_sys_us_per_req": ((split1[1] - split0[1]) / CLK_TCK * 1e6 / n) if a.pid and n else None,
        "cpu_util": ((cpu1 - cpu0) / CLK_TCK / (meas["duration_us"] / 1e6)) if a.pid else None,
        "wrk_cores": (wrk1 - wrk0) / CLK_TCK / meas["wall_s"],
        # Everything else the machine did meanwhile (other processes, unattributed softirq): the noise.
        "other_cores": ((busy1 - busy0) - (wrk1 - wrk0) - (ucpu1 - ucpu0) - ((cpu1 - cpu0) if a.pid else 0))
                       / CLK_TCK / meas["wall_s"],
        "up_cpu_us_per_req": ((ucpu1 - ucpu0) / CLK_TCK * 1e6 / n) if n else None,
        "up_conns_opened": stub1["accepts"] - stub0["accepts"] - 1,  # minus our own stub_status connection
        "up_requests": stub1["requests"] - stub0["requests"] - 1,
        "warm": {"requests": warm["requests"], "non2xx": warm["status"],
                 "sock_err": warm["connect"] + warm["read"] + warm["write"] + warm["timeout"]} if warm else None,
        "usage_before": usage0, "usage_after": usage1, "wrk_log": meas["log"],
    }
    append(a.out, rec)
    cpu = f"{rec['cpu_us_per_req']:.1f}" if rec["cpu_us_per_req"] is not None else "-"
    log(f"{a.server:16} {a.kind:4} c{a.conns:<4} {rec['rps']:9.0f} req/s  p50 {meas['p50'] / 1000:7.2f} ms  "
        f"p99 {meas['p99'] / 1000:7.2f} ms  non2xx {rec['non2xx']}  sockerr {rec['sock_err']}  "
        f"cpu {cpu} us/req  peak {rec['peak_rss_kb']} kB  upstream conns opened {rec['up_conns_opened']}  "
        f"cores: wrk {rec['wrk_cores']:.2f} other {rec['other_cores']:.2f}")


# ---------------------------------------------------------------------------------------------- exact clients

def headers_for(kind):
    return {"content-type": "application/json", "anthropic-version": "2023-06-01",
            "x-api-key": "sk-ant-api03-placeholder", "x-bench": kind}


def sequential(port, n, kind):
    """n requests one after another on one keep-alive connection; returns the statuses seen."""
    statuses = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for _ in range(n):
            conn.request("POST", "/v1/messages", body=REQ_BODY, headers=headers_for(kind))
            r = conn.getresponse()
            body = r.read()
            if r.status == 200 and kind != "json" and not body.rstrip().endswith(b'{"type":"message_stop"}'):
                statuses["truncated"] = statuses.get("truncated", 0) + 1
            statuses[r.status] = statuses.get(r.status, 0) + 1
    finally:
        conn.close()
    return statuses


def many(port, n, conns, kind):
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    total = {}
    with concurrent.futures.ThreadPoolExecutor(conns) as ex:
        for st in ex.map(lambda k: sequential(port, k, kind), per):
            for s, c in st.items():
                total[s] = total.get(s, 0) + c
    return total


def cmd_seq(a):
    st = many(a.port, a.n, a.conns, a.kind)
    ok = st.get(200, 0)
    print(dumps({str(k): v for k, v in st.items()}))
    if ok != a.n:
        raise SystemExit(f"seq: {a.n} requests, {ok} answered 200: {st}")


def check_delta(before, after, n_ok, kind, slack=0):
    """Compares /usage counter deltas with n_ok answers of `kind`. slack: how many more the proxy may have
    counted (exchanges wrk abandoned at its deadline that the proxy still saw complete). Returns (ok, detail)."""
    i, o, c, cr = USAGE[kind]
    d = {k: after[k] - before.get(k, 0) for k in after}
    counted = d["requests_counted"]
    problems = []
    if not (n_ok <= counted <= n_ok + slack):
        problems.append(f"requests_counted +{counted}, 2xx answers {n_ok}" + (f" (+{slack} allowed)" if slack else ""))
    exp = {"requests": counted, "input": counted * i, "output": counted * o, "cache_creation": counted * c,
           "cache_read": counted * cr}
    for scope in ("model", "5h", "7d"):
        for k, v in exp.items():
            if d[f"{scope}.{k}"] != v:
                problems.append(f"{scope}.{k} +{d[f'{scope}.{k}']} != {v} ({counted} x canned)")
    return not problems, {"counted": counted, "ok_2xx": n_ok, "slack": slack, "delta": d, "problems": problems}


def cmd_exact(a):
    results = []
    for kind in a.kinds.split(","):
        before = usage_totals(get_json(a.usage_url), MODEL_ANS)
        st = many(a.port, a.n, a.conns, kind)
        time.sleep(0.3)
        after = usage_totals(get_json(a.usage_url), MODEL_ANS)
        ok, det = check_delta(before, after, st.get(200, 0), kind)
        if st.get(200, 0) != a.n:
            ok = False
            det["problems"].append(f"{a.n} requests sent, statuses {st}")
        det.update({"type": "exact", "kind": kind, "n": a.n, "conns": a.conns, "statuses": {str(k): v for k, v in st.items()},
                    "pass": ok})
        append(a.out, det)
        log(f"exact accounting {kind}: {a.n} requests on {a.conns} connections -> "
            f"{'PASS' if ok else 'FAIL ' + '; '.join(det['problems'])}")
        results.append(ok)
    return 0


# ---------------------------------------------------------------------------------------------- slow readers

def cmd_slowread(a):
    return asyncio.run(slowread(a))


def tcp_mem_mb():
    """Kernel memory of all TCP sockets (the bytes queued in socket buffers), from /proc/net/sockstat."""
    with open("/proc/net/sockstat") as f:
        m = re.search(r"^TCP:.* mem (\d+)", f.read(), re.M)
    return round(int(m.group(1)) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1) if m else None


def tcp_mem_max_mb():
    try:
        with open("/proc/sys/net/ipv4/tcp_mem") as f:
            return round(int(f.read().split()[2]) * os.sysconf("SC_PAGE_SIZE") / 2**20)
    except (OSError, ValueError, IndexError):
        return None


async def slowread(a):
    """a.conns clients, opened over a.ramp seconds, each POSTing for the big SSE answer and reading a.chunk bytes
    every a.every seconds. The a.duration seconds of measurement start once every stream got its head (at most
    a.ramp + 30 s after the start). The baseline RSS is the first sample a.settle seconds into the measurement."""
    loop = asyncio.get_running_loop()
    req = (f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\ncontent-type: application/json\r\n"
           f"anthropic-version: 2023-06-01\r\nx-api-key: sk-ant-api03-placeholder\r\nx-bench: big\r\n"
           f"content-length: {len(REQ_BODY)}\r\n\r\n").encode() + REQ_BODY
    stop = asyncio.Event()
    got = [0] * a.conns
    first = [None] * a.conns
    began = [None] * a.conns
    state = {"connected": 0, "streaming": 0, "eof": 0, "errors": 0, "status": {}, "first_err": None}

    async def reader(i):
        await asyncio.sleep(a.ramp * i / a.conns)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if a.rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        try:
            began[i] = time.monotonic()
            await loop.sock_connect(s, ("127.0.0.1", a.port))
            state["connected"] += 1
            await loop.sock_sendall(s, req)
            while not stop.is_set():
                data = await asyncio.wait_for(loop.sock_recv(s, a.chunk), timeout=60)
                if not data:
                    state["eof"] += 1
                    return
                if got[i] == 0:
                    first[i] = time.monotonic()
                    m = re.match(rb"HTTP/1\.1 (\d+)", data)
                    code = m.group(1).decode() if m else "?"
                    state["status"][code] = state["status"].get(code, 0) + 1
                    state["streaming"] += 1
                got[i] += len(data)
                await asyncio.sleep(a.every)
        except (OSError, asyncio.TimeoutError) as e:
            state["errors"] += 1
            state["first_err"] = state["first_err"] or repr(e)
        finally:
            s.close()

    def sample(t0, phase):
        st = proc_status(a.pid)
        fds = n_fds(a.pid)
        open_clients = state["connected"] - state["eof"] - state["errors"] if phase != "closed" else 0
        return {"up_conns": fds - idle_fds - open_clients if fds is not None else None, "t": round(time.monotonic() - t0, 1), "phase": phase, "rss_kb": st["VmRSS"], "hwm_kb": st["VmHWM"],
                "up_rss_kb": proc_status(a.up_pid)["VmRSS"], "fds": n_fds(a.pid), "streaming": state["streaming"],
                "bytes_mb": round(sum(got) / 1e6, 1), "tcp_mem_mb": tcp_mem_mb()}

    def show(s):
        log(f"slow readers t={s['t']:5.1f}s {s['phase']:7} proxy RSS {s['rss_kb'] / 1024:7.1f} MB  fds {s['fds']}  "
            f"streams {s['streaming']}/{a.conns}  upstream conns {s['up_conns']}  received {s['bytes_mb']} MB  kernel TCP mem {s['tcp_mem_mb']} MB  "
            f"upstream RSS {s['up_rss_kb'] / 1024:.1f} MB")

    idle = proc_status(a.pid)["VmRSS"]
    idle_fds = n_fds(a.pid)
    cpu0 = proc_cpu_ticks(a.pid)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(reader(i)) for i in range(a.conns)]
    samples, capped = [], False
    # Ramp: until every stream has its head (or gave up), bounded.
    while time.monotonic() - t0 < a.ramp + 30:
        await asyncio.sleep(1)
        if time.monotonic() - t0 >= a.ramp and state["streaming"] + state["errors"] + state["eof"] >= a.conns:
            break
    t_all = time.monotonic()
    ramp_s = t_all - t0
    s = sample(t0, "ramped")
    samples.append(s)
    show(s)
    while time.monotonic() - t_all < a.duration and not capped:
        await asyncio.sleep(min(a.interval, a.duration - (time.monotonic() - t_all)))
        s = sample(t0, "measure")
        samples.append(s)
        show(s)
        if s["rss_kb"] > a.rss_cap_mb * 1024:
            log(f"slow readers: proxy RSS above the {a.rss_cap_mb} MB cap; stopping early")
            capped = True
    t_end = time.monotonic()
    cpu1 = proc_cpu_ticks(a.pid)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(3)  # the proxy notices the closes and drops the upstream streams
    after = sample(t0, "closed")
    show(after)

    base = next((x for x in samples if x["t"] >= ramp_s + a.settle), samples[-1])
    last = samples[-1]
    streams = max(1, state["streaming"])
    per_stream_kb = (base["rss_kb"] - idle) / streams
    drift_kb = last["rss_kb"] - base["rss_kb"]
    held_kb = (base["rss_kb"] - idle) / base["up_conns"] if base.get("up_conns") else None
    flat = not capped and drift_kb <= max(5 * 1024, 0.10 * base["rss_kb"])
    rates = sorted(got[i] / (t_end - first[i]) for i in range(a.conns) if first[i] and t_end > first[i])
    heads = sorted(first[i] - began[i] for i in range(a.conns) if first[i])
    rec = {"type": "slowread", "conns": a.conns, "chunk": a.chunk, "every_s": a.every, "duration_s": a.duration,
           "ramp_s": round(ramp_s, 1), "settle_s": a.settle, "idle_rss_kb": idle, "samples": samples,
           "after_close": after, "state": state, "base": base, "rss_per_stream_kb": per_stream_kb,
           "rss_per_held_stream_kb": held_kb, "tcp_mem_max_mb": tcp_mem_max_mb(),
           "drift_kb": drift_kb, "drift_per_stream_kb": drift_kb / streams, "flat": flat, "capped": capped,
           "peak_rss_kb": max(x["hwm_kb"] for x in samples + [after]), "cpu_s": (cpu1 - cpu0) / CLK_TCK,
           "rate_Bps": {"min": rates[0], "median": rates[len(rates) // 2], "max": rates[-1],
                        "target": a.chunk / a.every} if rates else None,
           "head_s": {"p50": heads[len(heads) // 2], "p90": heads[int(len(heads) * 0.9)], "p99": heads[int(len(heads) * 0.99)],
                      "max": heads[-1]} if heads else None}
    append(a.out, rec)
    log(f"slow readers: {state['streaming']}/{a.conns} streams (all heads after {ramp_s:.1f} s), statuses "
        f"{state['status']}, errors {state['errors']} {state['first_err'] or ''}; RSS idle {idle / 1024:.1f} MB -> "
        f"{base['rss_kb'] / 1024:.1f} MB at t={base['t']} s ({per_stream_kb:.1f} kB/stream) -> "
        f"{last['rss_kb'] / 1024:.1f} MB at t={last['t']} s (drift {drift_kb / 1024:+.1f} MB): "
        f"{'FLAT' if flat else 'GROWING'}")
    return 0


# ---------------------------------------------------------------------------------------------- idle connections

def cmd_idleconns(a):
    return asyncio.run(idleconns(a))


def proc_mem(pid):
    return proc_status(pid, ("VmRSS", "RssAnon", "RssFile"))


async def exchange(loop, s, port, req):
    """Connects s, sends one request and reads its whole answer (content-length or chunked); returns the status."""
    await loop.sock_connect(s, ("127.0.0.1", port))
    await loop.sock_sendall(s, req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = await loop.sock_recv(s, 65536)
        if not data:
            raise ConnectionError("EOF before the answer's head")
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d+)", head)
    status = int(m.group(1)) if m else 0
    cl = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if re.search(rb"(?im)^transfer-encoding:.*chunked", head):
        done = lambda: body.endswith(b"0\r\n\r\n")
    elif cl:
        done = lambda: len(body) >= int(cl.group(1))
    else:
        raise ConnectionError("an answer without length: it would end at close, not keep-alive")
    while not done():
        data = await loop.sock_recv(s, 65536)
        if not data:
            raise ConnectionError("EOF inside the answer")
        body += data
    if re.search(rb"(?im)^connection:\s*close", head):
        raise ConnectionError("the server answered connection: close")
    return status


async def idleconns(a):
    """a.conns client connections, at most a.concurrency being set up at once, each making one JSON request and
    then left open and idle. The server's RSS is read before (after a warm-up of a.concurrency * 4 connections that
    each make one request and close, so that its upstream pool and code are warm) and a.settle seconds after the
    last answer; the difference divided by the connections still open is the cost of one idle connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < a.conns + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < a.conns + 100:
        raise SystemExit(f"idleconns: the open-file limit {soft} is below {a.conns + 100}")
    loop = asyncio.get_running_loop()
    req = (f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\ncontent-type: application/json\r\n"
           f"anthropic-version: 2023-06-01\r\nx-api-key: sk-ant-api03-placeholder\r\nx-bench: json\r\n"
           f"content-length: {len(REQ_BODY)}\r\n\r\n").encode() + REQ_BODY
    sem = asyncio.Semaphore(a.concurrency)
    state = {"status": {}, "errors": 0, "first_err": None}

    async def one(keep):
        async with sem:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                st = await asyncio.wait_for(exchange(loop, s, a.port, req), timeout=10)
                state["status"][str(st)] = state["status"].get(str(st), 0) + 1
                if keep is not None and st == 200:
                    keep.append(s)
                    return
            except (OSError, asyncio.TimeoutError) as e:
                state["errors"] += 1
                state["first_err"] = state["first_err"] or repr(e)
            s.close()

    t_start = time.monotonic()
    await asyncio.gather(*(one(None) for _ in range(a.concurrency * 4)))
    warm = dict(state["status"])
    state["status"] = {}
    await asyncio.sleep(a.settle)
    before, fds0 = proc_mem(a.pid), n_fds(a.pid)
    socks = []
    t0 = time.monotonic()
    tasks = [asyncio.create_task(one(socks)) for _ in range(a.conns)]
    done, pending = await asyncio.wait(tasks, timeout=a.max_secs)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    open_s = time.monotonic() - t0
    await asyncio.sleep(a.settle)
    after, fds1 = proc_mem(a.pid), n_fds(a.pid)
    # Still open, and nothing unasked for waiting: a peek that would block.
    alive = closed = extra = 0
    for s in socks:
        try:
            d = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            closed += not d
            extra += bool(d)
        except BlockingIOError:
            alive += 1
        except OSError:
            closed += 1
    for s in socks:
        s.close()
    ok = state["status"].get("200", 0)
    per_conn = (after["VmRSS"] - before["VmRSS"]) * 1024 / alive if alive else None
    rec = {"type": "idleconns", "server": a.server, "pid": a.pid, "conns": a.conns, "concurrency": a.concurrency,
           "warm_status": warm, "status": state["status"], "errors": state["errors"], "first_err": state["first_err"],
           "timed_out": len(pending), "alive": alive, "closed": closed, "unasked_bytes": extra,
           "open_s": round(open_s, 2), "settle_s": a.settle, "before_kb": before, "after_kb": after,
           "fds_before": fds0, "fds_after": fds1,
           "other_fds_delta": fds1 - fds0 - alive if fds0 is not None and fds1 is not None else None,
           "bytes_per_conn": per_conn, "pass": ok == a.conns and alive == a.conns and not pending,
           "secs": round(time.monotonic() - t_start, 1)}
    append(a.out, rec)
    log(f"idle connections {a.server}: {ok}/{a.conns} answered 200 in {open_s:.1f} s (statuses {state['status']}, "
        f"errors {state['errors']} {state['first_err'] or ''}), {alive} open after {a.settle} s; RSS "
        f"{before['VmRSS'] / 1024:.1f} -> {after['VmRSS'] / 1024:.1f} MB: "
        f"{fmt(per_conn, ',.0f')} B per idle connection; fds {fds0} -> {fds1}")
    return 0 if rec["pass"] else 1


# ---------------------------------------------------------------------------------------------- proxy logs

def cmd_logsummary(a):
    """What anthropic-proxy said under load (log lines by level/event/error) and its upstream dial counters."""
    counts = {}
    with open(a.log, errors="replace") as f:
        for line in f:
            try:
                d = json.loads(line)
                key = " ".join(str(d.get(k)) for k in ("level", "event", "error") if d.get(k) is not None)
            except ValueError:
                key = "unparsed: " + line.strip()[:80]
            counts[key] = counts.get(key, 0) + 1
    metrics = {}
    if a.metrics and os.path.exists(a.metrics):
        with open(a.metrics) as f:
            for line in f:
                m = re.match(r"anthropic_proxy_(upstream_connect_duration_seconds|upstream_tls_handshake_duration_seconds)"
                             r"_(sum|count) (\S+)", line)
                if m:
                    metrics[m.group(1) + "_" + m.group(2)] = float(m.group(3))
                m = re.match(r'anthropic_proxy_upstream_errors_total\{kind="(\w+)"\} (\S+)', line)
                if m and float(m.group(2)):
                    metrics["upstream_errors_" + m.group(1)] = float(m.group(2))
    append(a.out, {"type": "proxylog", "server": a.server, "what": a.what, "counts": counts, "metrics": metrics})


# ---------------------------------------------------------------------------------------------- misc

def cmd_wait_listen(a):
    """Polls /proc/net/tcp for a LISTEN socket on the port: nothing touches the process being waited for."""
    deadline = time.monotonic() + a.timeout
    want = f":{a.port:04X}"
    while time.monotonic() < deadline:
        for f in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(f) as fh:
                    next(fh)
                    for line in fh:
                        p = line.split()
                        if p[1].endswith(want) and p[3] == "0A":
                            return 0
            except OSError:
                pass
        time.sleep(0.05)
    raise SystemExit(f"nothing listening on port {a.port} after {a.timeout} s")


CG_ENTRIES = ["mbedtls_ssl_read", "mbedtls_ssl_write", "llhttp_execute", "usage_reader_feed", "log_exchange",
              "uv__io_poll"]


def callgrind_costs(path, inclusive, objects=False):
    """{"file:function": Ir} from callgrind_annotate, inclusive or self; objects: " [object]" kept in the key, and
    costs of the same key summed."""
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", "--auto=no", path],
                         capture_output=True, text=True, check=True).stdout
    d = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S.*?)(?: \[(.*)\])?$", line)
        if m and not m.group(2).startswith("=>") and not (objects and m.group(2).startswith("PROGRAM TOTALS")):
            key = m.group(2) + (" [" + m.group(3) + "]" if objects and m.group(3) else "")
            d[key] = d.get(key, 0) + int(m.group(1).replace(",", "")) if objects else int(m.group(1).replace(",", ""))
    return d


def cmd_callgrind_top(a):
    """Functions by inclusive Ir per steady-state request: (file B - file A) / n, as JSON."""
    x, y = callgrind_costs(a.a, True), callgrind_costs(a.b, True)
    skip = re.compile(r"^(\?\?\?:0x|PROGRAM TOTALS|events annotated|.*\(below main\)|.*:main$|.*libc_start|\?\?\?:uv_run$)")
    root = os.getcwd() + "/"
    per = {}
    for k in y:
        if not skip.match(k):
            name = k.replace(root, "").replace("???:", "")
            per[name] = max(per.get(name, 0), (y[k] - x.get(k, 0)) / a.n)
    rows = sorted(((v, k) for k, v in per.items()), reverse=True)[:a.top]
    print(dumps([[round(v), k] for v, k in rows]))


def cmd_tlstally(a):
    """The upstream stand-in logs one line per new TLS connection ($server_port $ssl_protocol $ssl_cipher $ssl_curve
    $ssl_session_reused); each server under test has its own port there. Tallied per server, as JSON lines."""
    names = dict(reversed(kv.split("=", 1)) for kv in a.ports.split())
    tally = {}
    with open(a.log, errors="replace") as f:
        for line in f:
            p = line.split()
            if len(p) != 5 or p[0] not in names:
                continue
            t = tally.setdefault(names[p[0]], {}).setdefault(" ".join(p[1:4]), {"conns": 0, "reused": 0})
            t["conns"] += 1
            t["reused"] += p[4] == "r"
    append(a.out, {"type": "tlstally", "servers": tally})
    for srv, t in tally.items():
        log(f"upstream TLS connections from {srv}: " + "; ".join(
            f"{k}: {v['conns']} ({v['reused']} resumed)" for k, v in t.items()))


# What a steady-state request's instructions do, by the file (or, without debug information, the function and
# object) they run in: first matching rule wins. Self cost, so the groups add up to the whole.
CG_GROUPS = [
    ("cipher (record AEAD: AES-GCM, ChaCha20-Poly1305)",
     r"mbedtls/library/(aes|aesni|aesce|gcm|chacha20|chachapoly|poly1305|cipher|cipher_wrap|block_cipher|"
     r"psa_crypto_aead|psa_crypto_cipher|constant_time)\.c:|:(mbedtls_)?(aes|gcm|chacha|poly1305|cipher)"),
    ("TLS record layer (mbedtls_ssl_*)", r"mbedtls/library/ssl_|:mbedtls_ssl_"),
    ("other Mbed TLS / PSA (the handshake, one per run: cancels out but for its variation)", r"mbedtls/library/|:(mbedtls|psa)_|libmbed"),
    ("HTTP parsing (llhttp)", r"llhttp|:llhttp_"),
    ("usage scan (src/usage.c, yajl)", r"src/usage\.c:|:usage_|libyajl|:yajl_"),
    ("token accounting (src/tracker.c)", r"src/tracker\.c:|:tracker_"),
    ("logging (src/log.c)", r"src/log\.c:|:log_"),
    ("metrics (src/metrics.c)", r"src/metrics\.c:|:metrics_|hist\.h:"),
    ("libuv (event loop, syscall wrappers)", r"libuv|:uv_|:uv__"),
    ("malloc / free", r":(malloc|free|calloc|realloc|_int_malloc|_int_free|malloc_consolidate|"
     r"unlink_chunk|tcache_\w+|cfree|__libc_\w*alloc|__libc_free|_int_realloc|sysmalloc)\b"),
    ("memcpy / memset / string functions", r":(__)?(mem|str|wmem)\w*"),
    ("other libc (syscall wrappers, formatting)", r"^\./|libc\.so|libc-|ld-linux"),  # ./: glibc's sources
    ("the proxy's own code (server, proxy, request, upstream, transport)", r"(^|/)src/\w+\.[ch]:"),
]


def cmd_callgrind_groups(a):
    """Self Ir per steady-state request ((file B - file A) / n) summed by CG_GROUPS, as JSON [[group, Ir], ...],
    plus the largest functions of each group."""
    x, y = callgrind_costs(a.a, False, True), callgrind_costs(a.b, False, True)
    rules = [(g, re.compile(r)) for g, r in CG_GROUPS]
    groups, fns = {}, {}
    for k in set(x) | set(y):
        v = (y.get(k, 0) - x.get(k, 0)) / a.n
        if abs(v) < 0.5:
            continue
        name = next((g for g, r in rules if r.search(k)), "other")
        groups[name] = groups.get(name, 0) + v
        fn = re.sub(r"^.*:", "", k.split(" [")[0])
        fn = "(no symbols)" if fn.startswith("0x") else fn
        fns.setdefault(name, {})
        fns[name][fn] = fns[name].get(fn, 0) + v
    order = [g for g, _ in CG_GROUPS] + ["other"]
    # Inclusive cost of the entry points of each part: what it costs with the libc it calls (formatting, copies).
    xi, yi = callgrind_costs(a.a, True), callgrind_costs(a.b, True)
    entry = {}
    for k in yi:
        fn = k.rsplit(":", 1)[-1]
        if fn in CG_ENTRIES:
            entry[fn] = max(entry.get(fn, 0), round((yi[k] - xi.get(k, 0)) / a.n))
    print(dumps({"groups": [[g, round(groups[g]), [[f, round(v)] for f, v in
                                                   sorted(fns[g].items(), key=lambda kv: -kv[1])[:4]]]
                            for g in order if g in groups],
                 "entry": [[f, entry[f]] for f in CG_ENTRIES if f in entry]}))


def cmd_callgrind_ir(a):
    with open(a.file) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                print(line.split()[1])
                return 0
    raise SystemExit(f"no summary line in {a.file}")


def cmd_cipher(a):
    """The record cipher's cost for one JSON exchange (request record + answer record): mbedTLS's figures come from
    test/bench/cipher.c (--mbedtls, JSON), OpenSSL's from `openssl speed -aead` for the same sizes."""
    sizes = [a.request_bytes, a.answer_bytes]
    ossl = {}
    for name in ("chacha20-poly1305", "aes-256-gcm", "aes-128-gcm"):
        ossl[name] = {}
        for n in sizes:
            out = subprocess.run(["openssl", "speed", "-aead", "-evp", name, "-bytes", str(n), "-seconds", "1"],
                                 capture_output=True, text=True, check=True).stdout
            rate = float(out.strip().splitlines()[-1].split()[-1].rstrip("k")) * 1000  # bytes per second
            ossl[name][str(n)] = n / rate * 1e6
    append(a.out, {"type": "cipher", "request_bytes": a.request_bytes, "answer_bytes": a.answer_bytes,
                   "mbedtls": json.loads(a.mbedtls), "openssl": ossl})


# ---------------------------------------------------------------------------------------------- report

NOISY_CORES = 0.25  # rows where other work on the machine took more than this are flagged
SERVERS = ["direct", "nginx", "haproxy", "anthropic-proxy", "anthropic-proxy-static"]  # then diagnostic rows


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def median_rows(runs, kind, conns):
    """{server: the run of the median round by req/s (the lower one of two)} for one scenario."""
    rows = {}
    for srv in {r["server"] for r in runs}:
        mine = sorted((r for r in runs if r["kind"] == kind and r["conns"] == conns and r["server"] == srv),
                      key=lambda r: r["rps"])
        if mine:
            rows[srv] = mine[(len(mine) - 1) // 2]
    return rows


def aead_of(info):
    """The AEAD in a negotiated-TLS line ("TLSv1.3 TLS_AES_128_GCM_SHA256 x25519"), as cipher.c and openssl speed
    name it, or None."""
    u = (info or "").upper().replace("-", "_")
    for key, name in (("CHACHA20", "chacha20-poly1305"), ("AES_128_GCM", "aes-128-gcm"), ("AES128_GCM", "aes-128-gcm"),
                      ("AES_256_GCM", "aes-256-gcm"), ("AES256_GCM", "aes-256-gcm")):
        if key in u:
            return name
    return None


def cipher_section(w, c, runs, tls):
    """What sealing and opening one JSON exchange's two records costs in each TLS library, and what the proxy's CPU
    per request would be with OpenSSL's cipher speed."""
    sizes = [str(c["request_bytes"]), str(c["answer_bytes"])]
    w("## The TLS record cipher")
    w("")
    w(f"One JSON exchange puts two records through the upstream TLS connection: the request ({sizes[0]} B of "
      f"plaintext) and the answer ({sizes[1]} B: head and body), each sealed by one side and opened by the other at "
      "about the same cost. µs to seal one record of that size on this machine: Mbed TLS (the proxy's vendored 3.6, "
      "test/bench/cipher.c) and OpenSSL (nginx's and HAProxy's, `openssl speed -aead`):")
    w("")
    w(f"| library | cipher | {sizes[0]} B | {sizes[1]} B | per exchange |")
    w("|---|---|--:|--:|--:|")
    per = {}
    for lib in ("mbedtls", "openssl"):
        for name, t in c[lib].items():
            if min(t[sizes[0]], t[sizes[1]]) < 0:  # cipher.c: not in this build of the library
                w(f"| {lib} | {name} | - | - | - |")
                continue
            per[(lib, name)] = t[sizes[0]] + t[sizes[1]]
            w(f"| {lib} | {name} | {t[sizes[0]]:.2f} | {t[sizes[1]]:.2f} | {per[(lib, name)]:.2f} |")
    w("")
    # What each side negotiated with the upstream stand-in (see the negotiated TLS above).
    mine, nginx = aead_of(tls.get("anthropic-proxy")), aead_of(tls.get("nginx")) or "aes-256-gcm"
    ours, theirs = per.get(("mbedtls", mine)), per.get(("openssl", nginx))
    if ours is None or theirs is None:
        return
    w(f"anthropic-proxy negotiated {mine}; nginx and HAProxy, OpenSSL clients, {nginx}. Per JSON exchange the proxy "
      f"spends **{ours - theirs:.1f} µs more** on the cipher than they do. The JSON rows with that difference taken "
      "out (what the proxy's CPU per request would be with OpenSSL's cipher speed):")
    w("")
    w("| scenario | server | CPU µs/req | less the cipher difference | ÷ nginx | as measured ÷ nginx |")
    w("|---|---|--:|--:|--:|--:|")
    scen = sorted({(r["kind"], r["conns"]) for r in runs if r["kind"] == "json"}, key=lambda k: k[1])
    for kind, conns in scen:
        rows = median_rows(runs, kind, conns)
        ng = rows.get("nginx")
        for srv in ("anthropic-proxy", "anthropic-proxy-static"):
            r = rows.get(srv)
            if not r or r.get("cpu_us_per_req") is None:
                continue
            less = r["cpu_us_per_req"] - (ours - theirs)
            w(f"| {kind} c{conns} | {srv} | {r['cpu_us_per_req']:.1f} | {less:.1f} | "
              f"{ratio(less, ng and ng['cpu_us_per_req'])} | {ratio(r['cpu_us_per_req'], ng and ng['cpu_us_per_req'])} |")
    w("")


IDLE_TARGET_B = 1000  # issue 14: an idle keep-alive client connection costs the proxy at most this


def idle_section(w, recs, status):
    if not recs:
        return
    ng = next((r for r in recs if r["server"] == "nginx"), None)
    r0 = recs[0]
    w("## Idle keep-alive connections")
    w("")
    w(f"{r0['conns']:,} client connections to each server, started afresh for this step (after a load, memory the "
      "allocator kept from the load's buffers would hold new connections and hide their cost), set up "
      f"{r0['concurrency']} at a time; each makes one JSON "
      f"request (answered in full, keep-alive) and then stays open and idle. RSS of the server process (nginx: its "
      f"worker) before (after a warm-up that leaves its upstream pool in place) and {r0['settle_s']} s after the last "
      "answer; bytes per idle connection = RSS growth / connections still open. Kernel socket memory is not in RSS. "
      "other fds Δ: descriptors that came or went besides the client sockets (upstream connections). "
      f"Target for anthropic-proxy (issue 14): at most {IDLE_TARGET_B:,} B per idle connection.")
    w("")
    w("| server | answered 200 | errors | open after settle | set-up s | RSS before MB | RSS after MB "
      "| anon MB Δ | **B per idle conn** | ÷ nginx | other fds Δ | result |")
    w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in sorted(recs, key=lambda r: SERVERS.index(r["server"]) if r["server"] in SERVERS else 99):
        b, a = r["before_kb"], r["after_kb"]
        res = "PASS" if r["pass"] else "FAIL"
        if r["pass"] and r["server"].startswith("anthropic-proxy") and r["bytes_per_conn"] is not None:
            res += f", target {'met' if r['bytes_per_conn'] <= IDLE_TARGET_B else 'missed'}"
        status["pass"] &= r["pass"]
        w(f"| {r['server']} | {r['status'].get('200', 0):,} / {r['conns']:,} | {r['errors']}"
          f"{' ' + r['first_err'] if r['first_err'] else ''} | {r['alive']:,} | {r['open_s']} | "
          f"{b['VmRSS'] / 1024:.1f} | {a['VmRSS'] / 1024:.1f} | "
          f"{(a.get('RssAnon', 0) - b.get('RssAnon', 0)) / 1024:+.1f} | **{fmt(r['bytes_per_conn'], ',.0f')}** | "
          f"{ratio(r['bytes_per_conn'], ng and ng['bytes_per_conn'])} | {fmt(r['other_fds_delta'], '+d')} | {res} |")
    w("")


def breakdown_section(w, cg, runs):
    """The proxy's CPU per JSON request, split: user-space CPU by callgrind's self cost per group (instructions,
    taken as proportional to time), kernel CPU from the process's stime in the json c50 row."""
    groups = ((cg or {}).get("groups") or {}).get("groups")
    entry = cg["groups"].get("entry") if groups else None
    rows = median_rows(runs, "json", 50) if runs else {}
    r = rows.get("anthropic-proxy")
    if not groups:
        return
    total = sum(g[1] for g in groups)
    user = r.get("cpu_user_us_per_req") if r else None
    sysc = r.get("cpu_sys_us_per_req") if r else None
    w("## Where a request's CPU goes (anthropic-proxy, JSON)")
    w("")
    w("User-space work from callgrind (self instructions per steady-state request, (run "
      f"{cg['n']} − run 1) / {cg['n'] - 1}, grouped by the source file or library they run in; the groups add up to "
      "the whole)" + (", and the kernel's share from the json c50 row (the proxy process's utime and stime over the "
      "measured run, per request). The µs column spreads the measured user CPU over the groups in proportion to "
      "their instructions: an estimate (the cipher runs more instructions per cycle than branchy parsing code), "
      "the kernel row is measured." if user is not None else "; no json c50 row in this run, so no µs column."))
    w("")
    w("| part | Ir/request | share of user Ir | ≈ µs/request (json c50) | largest functions (Ir/request) |")
    w("|---|--:|--:|--:|---|")
    for name, ir, top in groups:
        us = fmt(user * ir / total if user is not None and total else None, ".1f")
        w(f"| {name} | {ir:,} | {ir / total * 100:.1f}% | {us} | "
          + ", ".join(f"`{f}` {v:,}" for f, v in top) + " |")
    w(f"| **user space, all** | **{total:,}** | 100% | {fmt(user, '.1f')} | |")
    if sysc is not None:
        w(f"| **kernel (system calls, TCP)** | - | - | {sysc:.1f} | stime of the process |")
        w(f"| **all** | | | **{user + sysc:.1f}** | utime + stime = the CPU µs/req column |")
    w("")
    if entry:
        w("Inclusive Ir per request of the entry points (with what they call: libc formatting and copies, callbacks; "
          "nested, so they overlap): " + ", ".join(f"`{f}` {v:,}" for f, v in entry) + ".")
        w("")
    ng = rows.get("nginx")
    others = [(s, rows[s]) for s in ("nginx", "haproxy", "anthropic-proxy", "anthropic-proxy-static") if s in rows]
    if any(x.get("cpu_user_us_per_req") is not None for _, x in others):
        w("User and kernel CPU per request at json c50, each server: " + "; ".join(
            f"{s} {fmt(x.get('cpu_user_us_per_req'), '.1f')} user + {fmt(x.get('cpu_sys_us_per_req'), '.1f')} kernel µs"
            for s, x in others) + (f" (nginx's kernel share {ng['cpu_sys_us_per_req'] / ng['cpu_us_per_req'] * 100:.0f}%)"
                                  if ng and ng.get("cpu_sys_us_per_req") is not None and ng["cpu_us_per_req"] else "") + ".")
        w("")


def cmd_report(a):
    recs = [json.loads(l) for l in open(a.results) if l.strip()]
    meta = json.load(open(a.meta))
    runs = [r for r in recs if r["type"] == "run"]
    idle = {}
    for r in recs:  # the first start's (the idle-connection step starts each server again)
        if r["type"] == "idle":
            idle.setdefault(r["server"], r["rss_kb"])
    tls = {r["server"]: r["info"] for r in recs if r["type"] == "tls"}
    out = []
    w = out.append
    w(f"# anthropic-proxy benchmark, {meta['date']}")
    w("")
    w(f"`{meta['cmdline']}` on {meta['host']}: {meta['cpus']} CPUs, {meta['kernel']}; git {meta['git']}.")
    w(f"Versions: {meta['versions']}.")
    w(f"Load: wrk -t{meta['threads']} keep-alive, {meta['warm']} s warm-up (not measured) + {meta['dur']} s measured per row; "
      f"one POST /v1/messages body of {len(REQ_BODY)} B. Upstream: nginx (1 worker) over TLS on 127.0.0.1 with canned "
      f"answers: json {meta['sizes']['json.json']} B (content-length), sse {meta['sizes']['sse.sse']} B (chunked, one piece). "
      f"Every server under test runs 1 worker/1 thread; all processes share the {meta['cpus']} CPUs.")
    w("")
    w("Columns: errors = non-2xx / socket errors (connect+read+write+timeout); peak RSS = VmHWM of the proxy process "
      "(nginx/HAProxy: the worker) reset before the measured run; private = the most memory that process held for "
      "itself alone during the measured run (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup, sampled every "
      "0.2 s: heap, stacks, written data; not the shared library and binary pages RSS counts too); CPU = utime+stime of that process over the measured "
      "run / requests; up CPU = the same for the upstream nginx worker; up conns = TLS connections the upstream "
      "accepted during the measured run (new upstream TLS connections: pool churn); ratios are to the nginx row of the "
      "same scenario (req/s: higher is better; CPU and RSS: lower is better). Idle upstream connections kept: nginx "
      f"`keepalive {meta.get('ngx_keepalive', '?')}`, anthropic-proxy `--pool-size {meta.get('pool_default', '?')}` (its default), HAProxy "
      f"`http-reuse always` (no cap). anthropic-proxy-static is the same code as the stripped static binary the "
      "container image ships (no shared libraries: its RSS has no library pages, which the dynamic build and nginx "
      f"count); anthropic-proxy-pool{meta.get('alt_pool', '?')}, when run, is a diagnostic row with "
      f"`--pool-size {meta.get('alt_pool', '?')}`, to tell pool churn from per-request cost. "
      f"⚠: more than {NOISY_CORES} of a core went to other work on the machine during that run (see the CPU table).")
    w("")
    if tls:
        w("Upstream TLS as negotiated (protocol, cipher, key exchange group), per client of the upstream: " +
          "; ".join(f"{k if k != 'upstream' else 'wrk/curl direct'}: {v}" for k, v in tls.items()) + ".")
        w("")
    tally = next((r["servers"] for r in reversed(recs) if r["type"] == "tlstally"), None)
    if tally:
        w("Every TLS connection the upstream stand-in accepted, by the client that opened it (the stand-in logs "
          "`$ssl_protocol $ssl_cipher $ssl_curve $ssl_session_reused` for the first request on each connection; every "
          "server under test has its own port there):")
        w("")
        w("| client of the upstream | TLS connections | protocol, cipher, group | resumed |")
        w("|---|--:|---|--:|")
        for srv in SERVERS + sorted(k for k in tally if k not in SERVERS):
            for k, v in sorted(tally.get(srv, {}).items(), key=lambda kv: -kv[1]["conns"]):
                w(f"| {srv} | {v['conns']} | {k} | {v['reused']} |")
        w("")
    w("| scenario | server | req/s | p50 ms | p99 ms | errors | peak RSS MB | idle RSS MB | private MB | CPU µs/req "
      "| up CPU µs/req | up conns | req/s ÷ nginx | CPU ÷ nginx | RSS ÷ nginx | private ÷ nginx |")
    w("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    scen = []
    for r in runs:
        k = (r["kind"], r["conns"])
        if k not in scen:
            scen.append(k)
    rounds = max(r.get("round", 1) for r in runs) if runs else 1
    for kind, conns in scen:
        rows = median_rows(runs, kind, conns)
        ng = rows.get("nginx")
        for s in SERVERS + sorted(k for k in rows if k not in SERVERS):
            r = rows.get(s)
            if not r:
                continue
            peak = r["peak_rss_kb"] / 1024 if r["peak_rss_kb"] else None
            priv = r.get("peak_private_kb")
            idl = idle.get(s)
            noisy = " ⚠" if (r.get("other_cores") or 0) > NOISY_CORES else ""
            w(f"| {kind} c{conns} | {s}{noisy} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | "
              f"{r['non2xx']} / {r['sock_err']} | {fmt(peak, '.1f')} | {fmt(idl / 1024 if idl else None, '.1f')} | "
              f"{fmt(priv / 1024 if priv else None, '.1f')} | "
              f"{fmt(r['cpu_us_per_req'], '.1f')} | {fmt(r['up_cpu_us_per_req'], '.1f')} | {r['up_conns_opened']} | "
              f"{ratio(r['rps'], ng and ng['rps'])} | "
              f"{ratio(r['cpu_us_per_req'], ng and ng['cpu_us_per_req']) if s != 'direct' else '-'} | "
              f"{ratio(r['peak_rss_kb'], ng and ng['peak_rss_kb']) if s != 'direct' else '-'} | "
              f"{ratio(priv, ng and ng.get('peak_private_kb')) if s != 'direct' else '-'} |")
    w("")
    if rounds > 1:
        w(f"Each row above is the median of {rounds} rounds by req/s (every server measured once per scenario per "
          "round, back to back). All rounds, req/s and CPU µs/req:")
        w("")
        w("| scenario | server | " + " | ".join(f"round {i} req/s | CPU" for i in range(1, rounds + 1)) + " |")
        w("|---|---|" + "--:|--:|" * rounds)
        for kind, conns in scen:
            for s in SERVERS + sorted({r["server"] for r in runs} - set(SERVERS)):
                mine = {r.get("round", 1): r for r in runs
                        if r["kind"] == kind and r["conns"] == conns and r["server"] == s}
                if not mine:
                    continue
                cells = " | ".join(f"{mine[i]['rps']:.0f} | {fmt(mine[i]['cpu_us_per_req'], '.1f')}" if i in mine
                                   else "- | -" for i in range(1, rounds + 1))
                w(f"| {kind} c{conns} | {s} | {cells} |")
        w("")
    w("Where the CPU went during each measured run, in cores (1.00 = one CPU busy for the whole run; the machine has "
      f"{meta['cpus']}): the server under test, the upstream nginx worker, wrk, and everything else (other processes "
      "and unattributed kernel work: the noise; rows with a high value are less trustworthy).")
    w("")
    noisy = [r for r in runs if (r.get("other_cores") or 0) > NOISY_CORES]
    if noisy:
        w(f"**{len(noisy)} of {len(runs)} rows ran while other work took more than {NOISY_CORES} of a core "
          f"(⚠); compare those with care, or re-run on a quiet machine.**")
        w("")
    w("| scenario | round | server | under test | upstream | wrk | other |")
    w("|---|--:|---|--:|--:|--:|--:|")
    for r in runs:
        up = r["up_cpu_us_per_req"] * r["requests"] / 1e6 / r["dur_s"] if r.get("up_cpu_us_per_req") is not None else None
        w(f"| {r['kind']} c{r['conns']} | {r.get('round', 1)} | {r['server']} | {fmt(r.get('cpu_util'), '.2f')} | {fmt(up, '.2f')} | "
          f"{fmt(r.get('wrk_cores'), '.2f')} | {fmt(r.get('other_cores'), '.2f')} |")
    w("")

    status = {"pass": True}

    # Token accounting against wrk.
    w("## Token accounting")
    w("")
    w("/usage counter deltas over each anthropic-proxy run (warm-up + measured) against the 2xx answers wrk "
      "completed (its requests minus non-2xx). wrk abandons up to one exchange per connection at each deadline, "
      "which the proxy may still have seen complete; so requests_counted may exceed the 2xx count by at most "
      "2 × connections, and every token counter must be exactly requests_counted × the canned usage.")
    w("")
    w("| run | 2xx (wrk) | requests_counted Δ | extra | result |")
    w("|---|--:|--:|--:|---|")
    for r in runs:
        if not r["server"].startswith("anthropic-proxy") or not r["usage_after"]:
            continue
        ok2xx = r["requests"] - r["non2xx"] + (r["warm"]["requests"] - r["warm"]["non2xx"] if r["warm"] else 0)
        ok, det = check_delta(r["usage_before"], r["usage_after"], ok2xx, r["kind"], slack=2 * r["conns"])
        status["pass"] &= ok
        w(f"| {r['server']} {r['kind']} c{r['conns']} round {r.get('round', 1)} | {ok2xx} | {det['counted']} | {det['counted'] - ok2xx} | "
          f"{'PASS' if ok else 'FAIL: ' + '; '.join(det['problems'])} |")
    ex = [r for r in recs if r["type"] == "exact"]
    if ex:
        w("")
        w("Exact check (a client whose every request completes, so no slack): " + "; ".join(
            f"{r['kind']}: {r['n']} requests on {r['conns']} connections, +{r['counted']} counted → "
            f"{'PASS' if r['pass'] else 'FAIL: ' + '; '.join(r['problems'])}" for r in ex))
        for r in ex:
            status["pass"] &= r["pass"]
    w("")

    sl = [r for r in recs if r["type"] == "slowread"]
    if sl:
        s = sl[-1]
        w("## Slow readers")
        w("")
        w(f"{s['conns']} connections to anthropic-proxy, each asking for a {meta['sizes']['big.sse'] / 1e6:.1f} MB SSE "
          f"answer and reading {s['chunk']} B every {s['every_s'] * 1000:.0f} ms; measured for {s['duration_s']:.0f} s "
          f"once all heads arrived. Streams that got a head: {s['state']['streaming']}, statuses "
          f"{s['state']['status']}, client errors {s['state']['errors']} {s['state']['first_err'] or ''}.")
        w("")
        h = s.get("head_s")
        w(f"- All {s['conns']} heads arrived {s['ramp_s']} s after the first connection" +
          (f" (time from connect to answer head per stream: p50 {h['p50']:.2f} s, p90 {h['p90']:.2f} s, p99 "
           f"{h['p99']:.2f} s, max {h['max']:.2f} s; each needs a new upstream TLS connection)" if h else "") +
          "; the measurement started then. "
          f"RSS idle {s['idle_rss_kb'] / 1024:.1f} MB → {s['base']['rss_kb'] / 1024:.1f} MB at t={s['base']['t']} s "
          f"(**{s['rss_per_stream_kb']:.1f} kB per stream**) → {s['samples'][-1]['rss_kb'] / 1024:.1f} MB at "
          f"t={s['samples'][-1]['t']} s: drift {s['drift_kb'] / 1024:+.1f} MB ({s['drift_per_stream_kb']:+.2f} kB/stream), "
          f"**{'FLAT' if s['flat'] else 'NOT FLAT'}**{' (stopped at the RSS cap)' if s['capped'] else ''}; "
          f"peak {s['peak_rss_kb'] / 1024:.1f} MB. 3 s after all clients closed: {s['after_close']['rss_kb'] / 1024:.1f} MB, "
          f"{s['after_close']['fds']} fds.")
        if s.get("rss_per_held_stream_kb") and s["base"]["up_conns"] >= 0.1 * s["conns"]:
            w(f"- Where the bytes wait: a stream whose whole answer fits in kernel socket buffers (the proxy's send "
              f"buffer autotunes up to `tcp_wmem` max, and all TCP sockets share `tcp_mem`, here at most "
              f"{s['tcp_mem_max_mb']} MB) is finished upstream and costs the proxy little; the others stay attached "
              f"upstream, backpressured. At t={s['base']['t']} s {s['base']['up_conns']} upstream connections were open "
              f"(busy + pooled): **≤ {s['rss_per_held_stream_kb']:.0f} kB of proxy RSS per backpressured stream** "
              f"((RSS − idle) / upstream connections, i.e. all growth charged to them).")
        r = s["rate_Bps"]
        if r:
            w(f"- Read rate per stream since its head: min {r['min'] / 1000:.1f}, median {r['median'] / 1000:.1f}, "
              f"max {r['max'] / 1000:.1f} kB/s (the readers aim at {r['target'] / 1000:.1f} kB/s). "
              f"Proxy CPU over the test: {s['cpu_s']:.1f} s. Kernel TCP memory (all sockets) is listed to show "
              f"where the unread bytes wait.")
        w("")
        w("| t s | phase | proxy RSS MB | proxy fds | upstream conns (busy+pooled) | streams | received MB | kernel TCP mem MB | upstream RSS MB |")
        w("|--:|---|--:|--:|--:|--:|--:|--:|--:|")
        for p in s["samples"] + [s["after_close"]]:
            w(f"| {p['t']} | {p['phase']} | {p['rss_kb'] / 1024:.1f} | {p['fds']} | {p['up_conns']} | {p['streaming']} | {p['bytes_mb']} | "
              f"{p['tcp_mem_mb']} | {p['up_rss_kb'] / 1024:.1f} |")
        w("")

    pl = [r for r in recs if r["type"] == "proxylog"]
    if pl:
        w("## What anthropic-proxy logged (default level info: `info request` is the access log) and its upstream dials")
        w("")
        for r in pl:
            c = ", ".join(f"{k}: {v}" for k, v in sorted(r["counts"].items(), key=lambda kv: -kv[1])) or "nothing"
            m = r["metrics"]
            dials = ""
            if m.get("upstream_connect_duration_seconds_count"):
                n = m["upstream_connect_duration_seconds_count"]
                hs = m.get("upstream_tls_handshake_duration_seconds_count") or 0
                dials = (f" Upstream connections dialled: {n:.0f} (mean connect {m['upstream_connect_duration_seconds_sum'] / n * 1000:.1f} ms"
                         + (f", mean TLS handshake {m['upstream_tls_handshake_duration_seconds_sum'] / hs * 1000:.1f} ms" if hs else "")
                         + ")" + "".join(f", {k} {v:.0f}" for k, v in m.items() if k.startswith("upstream_errors_")) + ".")
            w(f"- {r['server']} ({r['what']}): {c}.{dials}")
        w("")
        w("`client_gone` lines at the wrk deadlines are expected: wrk drops its connections with requests in flight.")
        w("")

    cg = meta.get("callgrind")
    if cg:
        w("## Instructions per request (callgrind)")
        w("")
        w(f"anthropic-proxy under `valgrind --tool=callgrind`, JSON requests one after another on one keep-alive "
          f"connection, stopped with SIGTERM; Ir = instructions executed by the whole process.")
        w("")
        w(f"- Ir with 0 requests (start-up + shutdown): {cg['ir0']:,}")
        w(f"- Ir with 1 request: {cg['ir1']:,} → first request (incl. upstream TLS handshake): {cg['ir1'] - cg['ir0']:,}")
        w(f"- Ir with {cg['n']} requests: {cg['irn']:,}")
        w(f"- **(Ir_{cg['n']} − Ir_0) / {cg['n']} = {(cg['irn'] - cg['ir0']) / cg['n']:,.0f} Ir per request**; "
          f"steady state (Ir_{cg['n']} − Ir_1) / {cg['n'] - 1} = {(cg['irn'] - cg['ir1']) / (cg['n'] - 1):,.0f}")
        w("")
        if cg.get("top"):
            steady = (cg['irn'] - cg['ir1']) / (cg['n'] - 1)
            w(f"Where a steady-state request goes (inclusive Ir per request, (run {cg['n']} − run 1) / {cg['n'] - 1}; "
              "nested, so the shares do not add up):")
            w("")
            w("| Ir/request | share | function |")
            w("|--:|--:|---|")
            for v, k in cg["top"]:
                w(f"| {v:,} | {v / steady * 100:.0f}% | `{k}` |")
            w("")
    idle_section(w, [r for r in recs if r["type"] == "idleconns"], status)
    breakdown_section(w, cg, runs)
    for c in (r for r in recs if r["type"] == "cipher"):
        cipher_section(w, c, runs, tls)
    w(f"Logs and raw wrk output: `{meta['logdir']}` (deleted at exit unless BENCH_KEEP=1).")
    text = "\n".join(out) + "\n"
    for path in a.md:
        with open(path, "w") as f:
            f.write(text)
    print(text)
    return 0 if status["pass"] else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("answers")
    s.add_argument("dir")
    s = sub.add_parser("idle")
    s.add_argument("--server", required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("measure")
    for k in ("server", "url", "kind", "mode", "lua", "stub-url", "out", "logdir"):
        s.add_argument("--" + k, required=True)
    s.add_argument("--usage-url")
    s.add_argument("--pid", type=int, default=0)
    s.add_argument("--up-pid", type=int, required=True)
    s.add_argument("--conns", type=int, required=True)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--warm", type=int, default=2)
    s.add_argument("--dur", type=int, default=6)
    s.add_argument("--round", type=int, default=1)
    s.add_argument("--quiet-file")
    s.add_argument("--quiet-threshold", type=float, default=0.25)
    s.add_argument("--quiet-max", type=float, default=20, help="most seconds one row waits")
    s = sub.add_parser("seq")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--conns", type=int, default=1)
    s.add_argument("--kind", default="json")
    s = sub.add_parser("exact")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--usage-url", required=True)
    s.add_argument("--n", type=int, default=1000)
    s.add_argument("--conns", type=int, default=10)
    s.add_argument("--kinds", default="json,sse")
    s.add_argument("--out", required=True)
    s = sub.add_parser("slowread")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--up-pid", type=int, required=True)
    s.add_argument("--conns", type=int, default=1000)
    s.add_argument("--duration", type=float, default=60)
    s.add_argument("--ramp", type=float, default=5)
    s.add_argument("--interval", type=float, default=5)
    s.add_argument("--chunk", type=int, default=1024)
    s.add_argument("--every", type=float, default=0.1)
    s.add_argument("--rcvbuf", type=int, default=0)
    s.add_argument("--settle", type=float, default=5)
    s.add_argument("--rss-cap-mb", type=int, default=3000)
    s.add_argument("--out", required=True)
    s = sub.add_parser("idleconns")
    s.add_argument("--server", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--conns", type=int, default=5000)
    s.add_argument("--concurrency", type=int, default=8, help="connections being set up at once")
    s.add_argument("--settle", type=float, default=1.0)
    s.add_argument("--max-secs", type=float, default=40, help="most seconds for opening them all")
    s.add_argument("--out", required=True)
    s = sub.add_parser("logsummary")
    for k in ("server", "what", "log", "out"):
        s.add_argument("--" + k, required=True)
    s.add_argument("--metrics")
    s = sub.add_parser("wait-listen")
    s.add_argument("port", type=int)
    s.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("callgrind-top")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--top", type=int, default=20)
    s = sub.add_parser("callgrind-groups")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--n", type=int, required=True)
    s = sub.add_parser("tlstally")
    s.add_argument("--log", required=True)
    s.add_argument("--ports", required=True, help="'name=port ...'")
    s.add_argument("--out", required=True)
    s = sub.add_parser("callgrind-ir")
    s.add_argument("file")
    s = sub.add_parser("cipher")
    s.add_argument("--request-bytes", type=int, required=True)
    s.add_argument("--answer-bytes", type=int, required=True)
    s.add_argument("--mbedtls", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("report")
    s.add_argument("--results", required=True)
    s.add_argument("--meta", required=True)
    s.add_argument("--md", action="append", default=[])
    a = p.parse_args()
    return globals()["cmd_" + a.cmd.replace("-", "_")](a) or 0


if __name__ == "__main__":
    sys.exit(main())
