"""The README's "Metrics" section names every metric family /metrics declares, and no other."""

import os
import re

from harness import ROOT, Env, eq, ok


def readme_families():
    text = open(os.path.join(ROOT, "README.md")).read()
    m = re.search(r"^## Metrics.*?$(.*?)^## ", text, re.M | re.S)
    ok(m, "a '## Metrics...' section in README.md")
    names = set()
    for code in re.findall(r"`([^`]+)`", m.group(1)):
        code = re.sub(r"\{.*", "", code).strip()
        if code == "_total":
            continue  # the OTLP paragraph's suffix, not a family
        if re.fullmatch(r"_[a-z0-9_]+", code):
            names.add("anthropic_proxy" + code)
        elif re.fullmatch(r"(anthropic_proxy|process)_[a-z0-9_]+", code):
            names.add(code)
    return names


def test_readme_metrics_list_matches_metrics():
    # --redis (unreachable here) declares the fleet's families too.
    with Env(proxy_args=["--redis", "redis://127.0.0.1:1"]) as env:
        text = env.proxy.get("/metrics").body.decode()
    declared = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    ok(len(declared) >= 40, f"families declared by /metrics: {len(declared)}")
    listed = readme_families()
    eq(sorted(declared - listed), [], "families /metrics declares that the README's Metrics section does not name")
    eq(sorted(listed - declared), [], "families the README's Metrics section names that /metrics does not declare")
