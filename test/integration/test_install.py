"""`make install` into a temporary DESTDIR: the binary, the man page (lint-clean, naming every flag --help prints,
every endpoint, signal and environment variable) and the hardened systemd unit (pointed at the installed binary,
`systemd-analyze verify` clean where systemd-analyze exists)."""

import os
import re
import shutil
import stat
import subprocess

import harness
from harness import CTX, ROOT, contains, eq, ok, run_binary

MAN_SRC = os.path.join(ROOT, "deploy", "man", "anthropic-proxy.1")


def install(prefix="/usr"):
    dest = CTX.tmpdir("destdir-")
    binary = harness.BINARY
    # -o: the binary under test is taken as it is, never rebuilt (it may be a sanitizer or valgrind build).
    r = subprocess.run(["make", "-s", "-C", ROOT, "install", f"DESTDIR={dest}", f"PREFIX={prefix}", f"BIN={binary}",
                        "-o", binary], capture_output=True, text=True, timeout=120)
    eq(r.returncode, 0, f"make install exit status (stderr: {r.stderr[-800:]})")
    return dest


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def help_flags():
    r = run_binary(["--help"])
    eq(r.returncode, 0, "--help exit status")
    return set(re.findall(r"^  (--[a-z][a-z0-9-]*)", r.stdout, re.M))


def test_install_files_and_modes():
    dest = install()
    binary = os.path.join(dest, "usr/bin/anthropic-proxy")
    man = os.path.join(dest, "usr/share/man/man1/anthropic-proxy.1")
    unit = os.path.join(dest, "usr/lib/systemd/system/anthropic-proxy.service")
    for p, m in ((binary, 0o755), (man, 0o644), (unit, 0o644)):
        ok(os.path.isfile(p), f"installed: {p}")
        eq(oct(mode(p)), oct(m), f"mode of {os.path.basename(p)}")
    with open(man) as f, open(MAN_SRC) as g:
        eq(f.read(), g.read(), "the man page installed as written")
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    eq(r.returncode, 0, "the installed binary runs")
    contains(r.stdout, "anthropic-proxy ", "--version")
    text = open(unit).read()
    contains(text, "ExecStart=/usr/bin/anthropic-proxy\n", "ExecStart points at the installed binary (PREFIX=/usr)")


def test_install_prefix_default_is_usr_local():
    r = subprocess.run(["make", "-s", "-n", "-C", ROOT, "install", "DESTDIR=/nonexistent", f"BIN={harness.BINARY}",
                        "-o", harness.BINARY], capture_output=True, text=True, timeout=60)
    eq(r.returncode, 0, "make -n install")
    contains(r.stdout, "/nonexistent/usr/local/bin/anthropic-proxy", "PREFIX defaults to /usr/local")
    contains(r.stdout, "/nonexistent/usr/local/share/man/man1/anthropic-proxy.1", "man page under PREFIX")


def test_install_man_page_lint_clean():
    if shutil.which("mandoc"):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", MAN_SRC], capture_output=True, text=True,
                           timeout=30)
        eq((r.returncode, r.stdout + r.stderr), (0, ""), "mandoc -T lint -W warning")
    else:
        ok(shutil.which("groff"), "mandoc or groff is installed (deps/install.sh test installs mandoc)")
        r = subprocess.run(["groff", "-ww", "-man", "-z", MAN_SRC], capture_output=True, text=True, timeout=30)
        eq((r.returncode, r.stderr), (0, ""), "groff -ww -man -z")


def test_install_man_page_names_every_flag_endpoint_signal_variable():
    src = open(MAN_SRC).read()
    # Flags as the page defines them: `.TP` then a line of .B/.BI/.BR starting with \-\-name.
    documented = set("--" + m.replace("\\-", "-") for m in
                     re.findall(r"^\.TP\n\.B[IR]? \\-\\-((?:[a-z0-9]|\\-)+)", src, re.M))
    helped = help_flags()
    ok(len(helped) >= 30 and "--listen" in helped and "--alert-webhook" in helped, f"--help's flags parsed: {helped}")
    eq(sorted(helped - documented), [], "flags --help prints that the man page does not document")
    eq(sorted(documented - helped), [], "flags in the man page that --help does not print")
    for word in ("/healthz", "/readyz", "/metrics", "/usage", "SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1",
                 "ANTHROPIC_PROXY_", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 ".credentials.json", "EXIT STATUS"):
        contains(src, word, "the man page")


def test_install_systemd_unit_hardened_and_verified():
    dest = install()
    unit = os.path.join(dest, "usr/lib/systemd/system/anthropic-proxy.service")
    text = open(unit).read()
    settings = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            settings.setdefault(k, []).append(v)
    for k, v in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                 ("ProtectHome", "yes"), ("PrivateDevices", "yes"), ("CapabilityBoundingSet", ""),
                 ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("MemoryDenyWriteExecute", "yes")):
        eq(settings.get(k), [v], f"{k}=")
    # Writes go only to the credentials directory and the state file's directory.
    eq(settings.get("ReadWritePaths"), ["/var/lib/anthropic-proxy/credentials /var/lib/anthropic-proxy/state"],
       "ReadWritePaths")
    env = dict(e.split("=", 1) for e in settings.get("Environment", []))
    eq(os.path.dirname(env.get("ANTHROPIC_PROXY_CREDENTIALS", "")), "/var/lib/anthropic-proxy/credentials",
       "the credentials file lives in a writable directory")
    eq(os.path.dirname(env.get("ANTHROPIC_PROXY_STATE_FILE", "")), "/var/lib/anthropic-proxy/state",
       "the state file lives in a writable directory")
    if not shutil.which("systemd-analyze"):
        return  # verified where systemd is installed; the checks above still hold
    # verify wants ExecStart's binary to exist and the Documentation= man page to be found.
    check = os.path.join(CTX.tmpdir("unit-"), "anthropic-proxy.service")
    with open(check, "w") as f:
        f.write(text.replace("ExecStart=/usr/bin/anthropic-proxy", f"ExecStart={dest}/usr/bin/anthropic-proxy"))
    e = dict(os.environ, MANPATH=os.path.join(dest, "usr/share/man"))
    r = subprocess.run(["systemd-analyze", "verify", check], capture_output=True, text=True, timeout=60, env=e)
    eq((r.returncode, r.stderr.strip()), (0, ""), "systemd-analyze verify")
