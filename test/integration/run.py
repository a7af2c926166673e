#!/usr/bin/env python3
"""Runs the integration tests against the real proxy binary.

    python3 test/integration/run.py [--binary build/anthropic-proxy] [-k SUBSTRING] [--timeout 60]

Discovers test/integration/test_*.py and, in each, the functions named test_* (in file order).
Each test runs with a timeout (SIGALRM). Output: one line per test,
    ok   name (0.42s)
    FAIL name: <message>          (followed by indented log tails of the processes involved)
and, as the very last line, "N passed, M failed". Exit status 1 if anything failed.
Logs of a run are kept in a temp directory (printed) when something failed.
"""

import argparse
import importlib
import os
import shutil
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def discover():
    tests = []
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = importlib.import_module(fname[:-3])
        for name, fn in vars(mod).items():  # dict order = definition order
            if name.startswith("test_") and callable(fn) and getattr(fn, "__module__", None) == mod.__name__:
                tests.append((mod.__name__, name, fn))
    seen = {}
    for mod, name, _ in tests:
        seen[name] = seen.get(name, 0) + 1
    # Plain function names when unique, module-qualified otherwise.
    return [(name if seen[name] == 1 else f"{mod}.{name}", mod, fn) for mod, name, fn in tests]


def where(tb):
    """file:line of the innermost frame that belongs to a test file."""
    frames = [f for f in traceback.extract_tb(tb) if os.path.basename(f.filename).startswith("test_")]
    if not frames:
        frames = traceback.extract_tb(tb)
    if not frames:
        return ""
    f = frames[-1]
    return f" [{os.path.basename(f.filename)}:{f.lineno}]"


def on_alarm(signum, frame):
    raise harness.TestTimeout()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=None, help="proxy binary (default: build/anthropic-proxy)")
    ap.add_argument("-k", dest="keyword", action="append", default=[],
                    help="run only tests whose name (or module) contains this substring; repeatable")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-test timeout in seconds (default 60)")
    ap.add_argument("--keep-logs", action="store_true", help="keep the log directory even if all passed")
    args = ap.parse_args()

    if args.binary:
        harness.BINARY = os.path.abspath(args.binary)

    try:
        tests = discover()
    except Exception as e:
        print(f"FAIL discovery: {type(e).__name__}: {e}")
        print("0 passed, 1 failed")
        return 1
    if args.keyword:
        tests = [t for t in tests if any(k in t[0] or k in t[1] for k in args.keyword)]

    signal.signal(signal.SIGALRM, on_alarm)
    passed = failed = 0
    started = time.monotonic()
    for name, mod, fn in tests:
        harness.CTX.new_test(name)
        t0 = time.monotonic()
        error = None
        try:
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
            try:
                fn()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except harness.TestTimeout:
            error = f"timed out after {args.timeout:g}s"
        except AssertionError as e:
            error = f"{e}{where(e.__traceback__)}"
        except Exception as e:
            error = f"{type(e).__name__}: {e}{where(e.__traceback__)}"
        # Anything the test left running is stopped here (after failures and timeouts).
        try:
            harness.CTX.cleanup()
        except BaseException as e:
            error = error or f"cleanup failed: {e}"
        dt = time.monotonic() - t0
        if error is None:
            passed += 1
            print(f"ok   {name} ({dt:.2f}s)", flush=True)
        else:
            failed += 1
            print(f"FAIL {name}: {' '.join(error.splitlines())}", flush=True)
            for label, path in harness.CTX.logs:
                print(f"    --- tail of {label} log ({path}) ---")
                for line in harness.tail(path, 25):
                    print(f"    | {line}")
            sys.stdout.flush()

    run_dir = harness.CTX.run_dir
    if run_dir:
        if failed or args.keep_logs:
            print(f"logs: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    print(f"({time.monotonic() - started:.1f}s total)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
