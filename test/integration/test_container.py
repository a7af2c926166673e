"""The container image and the client keys that make a container listener safe.

`docker build` cannot run on the development machines (no container engine), so the image is verified
by its contents instead: the Dockerfile's final stage is rebuilt here as a directory, from its own COPY
lines (sources mapped to this checkout: the build stage's /src is the repository, `make static` is run
for real, the build stage's RUN that lays out /rootfs is run for real against a temp directory, and the
CA bundle is the test CA so that the mock's certificate verifies), plus the /etc/hosts a container
runtime provides. The binary then runs `chroot`ed into that directory as the image's USER, with the
image's ENV and ENTRYPOINT, configured by environment variables only, against the mock API; the
HEALTHCHECK command runs the same way.

Also here: client keys (--client-key, ANTHROPIC_PROXY_CLIENT_KEY, --client-keys-file) and the refusal
to listen beyond loopback without them, and (printed, not asserted) the static binary's size and the
proxy's resident memory, idle and after 500 requests."""

import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import time

from harness import (CLIENT_HEADERS, CTX, MSG_BODY, ROOT, STREAM_BODY, TOKEN, Conn, Env, Mock, Proxy, api_error,
                     api_request, assert_no_secrets, bearer_of, build_request, contains, credentials_doc, eq, fail,
                     file_mode, free_port, http_request, new_token_pair, now_ms, ok, parallel, parse_sse, pki,
                     read_credentials, run_binary, wait_until, write_credentials)

DOCKERFILE = os.path.join(ROOT, "Dockerfile")
STATIC = os.path.join(ROOT, "build", "anthropic-proxy-static")
NONROOT = 65532
KEY = "ck-test-" + "k" * 24              # a client key (8..256 visible characters)
OTHER_KEY = "ck-other-" + "o" * 24
# What the final stage must hold, and nothing else (path: (kind, uid, gid, mode or None)).
EXPECTED_TREE = {
    "anthropic-proxy": ("file", 0, 0, None),
    "etc/ssl/certs/ca-certificates.crt": ("file", 0, 0, None),
    "etc/passwd": ("file", 0, 0, 0o644),
    "etc/group": ("file", 0, 0, 0o644),
    "home/nonroot": ("dir", NONROOT, NONROOT, 0o755),
    "home/nonroot/.claude": ("dir", NONROOT, NONROOT, 0o700),
    "var/lib/anthropic-proxy": ("dir", NONROOT, NONROOT, 0o770),
}
# Parent directories COPY creates on the way (their owner does not matter).
IMPLIED_DIRS = {"etc", "etc/ssl", "etc/ssl/certs", "home", "var", "var/lib"}


# ---------------------------------------------------------------------------------------------------------------
# The Dockerfile, parsed
# ---------------------------------------------------------------------------------------------------------------

def parse_dockerfile(path=DOCKERFILE):
    """[(stage_name, base_image, [(INSTRUCTION, args_text)])]: comments dropped, `\\` continuations joined
    the way Docker joins them (backslash and newline removed; comment lines inside a continuation skipped)."""
    with open(path) as f:
        lines = f.read().splitlines()
    instrs, cur = [], None
    for line in lines:
        if line.strip().startswith("#") or (cur is None and not line.strip()):
            continue
        piece = line.rstrip()
        cont = piece.endswith("\\")
        if cont:
            piece = piece[:-1]
        cur = piece if cur is None else cur + piece
        if not cont:
            word, _, rest = cur.strip().partition(" ")
            instrs.append((word.upper(), rest.strip()))
            cur = None
    ok(cur is None, f"Dockerfile ends inside a line continuation: {cur!r}")
    stages = []
    for word, rest in instrs:
        if word == "FROM":
            m = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            ok(m, f"cannot parse FROM {rest!r}")
            stages.append([m.group(2), m.group(1), []])
        else:
            ok(stages, f"{word} before any FROM")
            stages[-1][2].append((word, rest))
    return [tuple(s) for s in stages]


def split_flags(args):
    """COPY/HEALTHCHECK style: leading --flag=value words, then the rest."""
    words = args.split()
    flags = {}
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        flags[k] = v
    return flags, words


def exec_form(text, what):
    try:
        v = json.loads(text)
    except ValueError:
        fail(f"{what} is not in exec (JSON array) form: {text!r}")
    ok(isinstance(v, list) and all(isinstance(x, str) for x in v), f"{what}: expected a JSON string array, got {v!r}")
    return v


def image_config(stages):
    """The final stage's runtime settings: USER, ENV, EXPOSE, HEALTHCHECK, ENTRYPOINT."""
    _, base, instrs = stages[-1]
    cfg = {"user": None, "env": {}, "expose": [], "healthcheck": None, "entrypoint": None, "copies": []}
    for word, rest in instrs:
        if word == "USER":
            cfg["user"] = rest
        elif word == "ENV":
            parts = shlex.split(rest)
            ok(all("=" in p for p in parts), f"ENV in key=value form expected: {rest!r}")
            cfg["env"].update(p.split("=", 1) for p in parts)
        elif word == "EXPOSE":
            cfg["expose"] += rest.split()
        elif word == "HEALTHCHECK":
            flags, words = split_flags(rest)
            ok(words and words[0].upper() == "CMD", f"HEALTHCHECK without CMD: {rest!r}")
            cfg["healthcheck"] = (flags, exec_form(rest.split(None, len(flags) + 1)[-1], "HEALTHCHECK CMD"))
        elif word == "ENTRYPOINT":
            cfg["entrypoint"] = exec_form(rest, "ENTRYPOINT")
        elif word == "COPY":
            cfg["copies"].append(rest)
        elif word in ("LABEL", "STOPSIGNAL", "ARG", "WORKDIR"):
            pass
        else:
            fail(f"unexpected instruction in the final (scratch) stage: {word} {rest}")
    return cfg


# ---------------------------------------------------------------------------------------------------------------
# The final stage, rebuilt as a directory
# ---------------------------------------------------------------------------------------------------------------

def make_static():
    """Runs `make static` (the Dockerfile's build step) in this checkout, with none of an outer make's variables
    (`make test SANITIZE=1` would otherwise turn it into a sanitizer build). Fails the test if it fails."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL", "SANITIZE", "BUILD")}
    try:
        p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "-j4", "static"], env=env,
                           capture_output=True, text=True, errors="replace", timeout=45)
    except subprocess.TimeoutExpired:
        fail("`make static` did not finish within 45s")
    if p.returncode != 0 or not os.access(STATIC, os.X_OK):
        fail(f"`make static` failed ({p.returncode}); the image cannot be built either: "
             f"{(p.stderr or p.stdout)[-1500:]}")
    return STATIC


def elf_segments(path):
    """The program header types of an ELF64 little-endian file."""
    with open(path, "rb") as f:
        head = f.read(64)
        ok(head[:4] == b"\x7fELF" and head[4] == 2 and head[5] == 1, f"{path} is not an ELF64 LE file")
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return [struct.unpack_from("<I", table, i * phentsize)[0] for i in range(phnum)]


def assert_static(path):
    PT_DYNAMIC, PT_INTERP = 2, 3
    segs = elf_segments(path)
    ok(PT_DYNAMIC not in segs and PT_INTERP not in segs,
       f"{path} has a dynamic section or an interpreter (program header types {segs}): not fully static")
    p = subprocess.run(["ldd", path], capture_output=True, text=True, errors="replace", timeout=10)
    said = (p.stdout + p.stderr).strip()
    if "not a dynamic executable" in said:
        return
    if shutil.which("file"):  # not installed everywhere; ldd is (libc-bin)
        said_file = subprocess.run(["file", "-b", path], capture_output=True, text=True, errors="replace",
                                   timeout=10).stdout.strip()
        if "statically linked" in said_file:
            return
        said += f"; file says {said_file!r}"
    fail(f"ldd says {said!r}: expected a static executable")


def _copy_entry(src, dst, uid, gid):
    """Docker COPY of one source: a directory's contents are copied into dst; a file becomes dst."""
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
        for name in sorted(os.listdir(src)):
            s, d = os.path.join(src, name), os.path.join(dst, name)
            if os.path.isdir(s):
                os.makedirs(d, exist_ok=True)
                os.chmod(d, os.stat(s).st_mode & 0o7777)
                os.chown(d, uid, gid)
                _copy_entry(s, d, uid, gid)
            else:
                shutil.copy2(s, d)
                os.chown(d, uid, gid)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
        os.chown(dst, uid, gid)


def build_image_root(stages):
    """A directory holding exactly what the Dockerfile's final stage copies, plus /etc/hosts."""
    ok(len(stages) >= 2, f"expected a build stage and a final stage, got {[(s[0], s[1]) for s in stages]}")
    build_name, build_base, build_instrs = stages[0]
    eq((build_name, build_base), ("build", "debian:12"), "build stage (name, base)")
    eq(stages[-1][1], "scratch", "final stage base image")
    runs = [rest for word, rest in build_instrs if word == "RUN"]
    ok("deps/install.sh build" in runs, f"build stage must RUN deps/install.sh build; RUNs: {runs}")
    ok("make static" in runs, f"build stage must RUN make static; RUNs: {runs}")
    workdirs = [rest for word, rest in build_instrs if word == "WORKDIR"]
    eq(workdirs, ["/src"], "build stage WORKDIR")
    ok(os.geteuid() == 0, "the container tests chroot into the image tree and chown files as 65532: run them as root")
    make_static()
    assert_static(STATIC)

    top = CTX.tmpdir("image-")
    # The build stage's RUN that lays out /rootfs, run for real with /rootfs pointing into our temp dir.
    skel = os.path.join(top, "build-stage-rootfs")
    skel_runs = [r for r in runs if "/rootfs" in r]
    ok(skel_runs, "no build-stage RUN lays out /rootfs")
    for r in skel_runs:
        script = r.replace("/rootfs", skel)
        p = subprocess.run(["/bin/sh", "-c", script], cwd=top, capture_output=True, text=True, errors="replace",
                           timeout=30)
        eq(p.returncode, 0, f"exit status of the build stage's RUN {r[:120]!r}... (stderr {p.stderr!r})")

    root = os.path.join(top, "root")
    os.makedirs(root)
    os.chmod(root, 0o755)  # mkdtemp's 0700 would keep uid 65532 out of its own "/"
    copies = image_config(stages)["copies"]
    ok(copies, "the final stage copies nothing")
    for rest in copies:
        flags, words = split_flags(rest)
        ok(len(words) >= 2, f"COPY needs a source and a destination: {rest!r}")
        eq(flags.get("from"), "build", f"COPY --from of {rest!r}")
        ok(set(flags) <= {"from", "chown"}, f"unexpected COPY flags in {rest!r}")
        uid, gid = (int(x) for x in flags.get("chown", "0:0").split(":"))
        *srcs, dest = words
        ok(dest.startswith("/"), f"COPY destination must be absolute: {rest!r}")
        if len(srcs) > 1:
            ok(dest.endswith("/"), f"COPY of several sources needs a destination ending in /: {rest!r}")
        for src in srcs:
            if src == "/etc/ssl/certs/ca-certificates.crt":
                local = pki().ca_pem  # the test CA stands in for Debian's bundle: the mock's cert verifies
            elif src.startswith("/rootfs/") or src == "/rootfs":
                local = skel + src[len("/rootfs"):]
            elif src.startswith("/src/"):
                local = os.path.join(ROOT, src[len("/src/"):])
                eq(os.path.abspath(local), STATIC, f"the only file COPY'd from the build tree ({src})")
            else:
                fail(f"COPY source {src!r} is not mirrored by this test: teach build_image_root about it")
            ok(os.path.exists(local), f"COPY source {src!r} (here {local}) does not exist")
            target = root + dest
            if os.path.isfile(local) and dest.endswith("/"):
                target = os.path.join(target, os.path.basename(src))
            _copy_entry(local, target, uid, gid)

    # What the tree holds, compared with what it must hold.
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            st = os.lstat(full)
            found[os.path.relpath(full, root)] = ("dir" if os.path.isdir(full) else "file", st.st_uid, st.st_gid,
                                                  st.st_mode & 0o7777)
    eq(sorted(set(found) - IMPLIED_DIRS), sorted(EXPECTED_TREE), "paths in the final stage")
    for path, (kind, uid, gid, mode) in EXPECTED_TREE.items():
        f_kind, f_uid, f_gid, f_mode = found[path]
        eq((f_kind, f_uid, f_gid), (kind, uid, gid), f"/{path}: kind, owner, group")
        if mode is not None:
            eq(oct(f_mode), oct(mode), f"/{path} mode")
    ok(found["anthropic-proxy"][3] & 0o111, "/anthropic-proxy is not executable")
    with open(os.path.join(root, "etc/passwd")) as f:
        passwd = [l.split(":") for l in f.read().splitlines()]
    ok(["nonroot", "x", str(NONROOT), str(NONROOT), "nonroot", "/home/nonroot", "/sbin/nologin"] in passwd,
       f"/etc/passwd lacks the nonroot user: {passwd}")
    with open(os.path.join(root, "etc/group")) as f:
        ok(f"nonroot:x:{NONROOT}:" in f.read().splitlines(), "/etc/group lacks the nonroot group")
    # A container runtime provides /etc/hosts (and /etc/resolv.conf; none here: the mock is found via hosts).
    with open(os.path.join(root, "etc/hosts"), "w") as f:
        f.write("127.0.0.1\tlocalhost\n")
    return root


_image = None


def image():
    """(root directory, image config), built once per run (make static + the copies)."""
    global _image
    if _image is None or not os.path.isdir(_image[0]):
        stages = parse_dockerfile()
        cfg = image_config(stages)
        eq(cfg["user"], f"{NONROOT}:{NONROOT}", "USER")
        eq(cfg["entrypoint"], ["/anthropic-proxy"], "ENTRYPOINT")
        eq(cfg["env"].get("ANTHROPIC_PROXY_LISTEN"), "0.0.0.0:8080", "ENV ANTHROPIC_PROXY_LISTEN")
        eq(cfg["env"].get("HOME"), "/home/nonroot", "ENV HOME")
        ok("8080" in cfg["expose"] or "8080/tcp" in cfg["expose"], f"EXPOSE 8080: {cfg['expose']}")
        ok(cfg["healthcheck"], "no HEALTHCHECK")
        eq(cfg["healthcheck"][1], ["/anthropic-proxy", "--check", "http://127.0.0.1:8080/healthz"],
           "HEALTHCHECK CMD")
        root = build_image_root(stages)  # in this test's log dir, which lasts until the end of the run
        _image = (root, cfg)
    return _image


def container_env(cfg, **overrides):
    """What `docker run -e K=V` gives the process: the image's ENV, Docker's default PATH, the -e values."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": "test-container"}
    env.update(cfg["env"])
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def chroot_cmd(root, cfg, argv):
    return [shutil.which("chroot") or "/usr/sbin/chroot", f"--userspec={cfg['user']}", root] + list(argv)


class ContainerProxy(Proxy):
    """The image's ENTRYPOINT in a chroot of the image tree, as the image's USER, configured only by environment
    variables (the image's ENV plus `overrides`). Its listen port replaces 8080 in ANTHROPIC_PROXY_LISTEN."""

    def __init__(self, root, cfg, overrides, label="container"):
        super().__init__("https://unused", label=label)
        self.root, self.cfg, self.overrides = root, cfg, dict(overrides)

    def environment(self):
        listen = self.cfg["env"]["ANTHROPIC_PROXY_LISTEN"].replace(":8080", f":{self.port}")
        return container_env(self.cfg, ANTHROPIC_PROXY_LISTEN=listen, **self.overrides)

    def command(self):
        return chroot_cmd(self.root, self.cfg, self.cfg["entrypoint"])

    def uid(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return [l.split()[1:] for l in f.read().splitlines() if l.startswith(("Uid:", "Gid:"))]


def healthcheck(root, cfg, port, overrides=None):
    """The image's HEALTHCHECK CMD (port 8080 replaced), run in the container (same environment) as Docker would."""
    argv = [a.replace(":8080/", f":{port}/") for a in cfg["healthcheck"][1]]
    p = subprocess.run(chroot_cmd(root, cfg, argv), env=container_env(cfg, **(overrides or {})), capture_output=True,
                       text=True, errors="replace", timeout=15)
    return p.returncode, p.stderr


def stop_checked(proxy):
    problems = proxy.stop()
    if problems:
        fail("; ".join(problems))


def keyed(key=KEY):
    return [h for h in CLIENT_HEADERS if h[0] != "x-api-key"] + [("x-api-key", key)]


# ---------------------------------------------------------------------------------------------------------------
# The image, run
# ---------------------------------------------------------------------------------------------------------------

def test_container_static_binary_in_empty_root():
    root, cfg = image()
    with Mock() as mock:
        proxy = ContainerProxy(root, cfg, {
            "ANTHROPIC_PROXY_UPSTREAM": mock.url,
            "ANTHROPIC_PROXY_CLIENT_KEY": KEY,
            "ANTHROPIC_PROXY_STATE_FILE": "/var/lib/anthropic-proxy/state.json",
            "ANTHROPIC_PROXY_LOG_LEVEL": "debug",
            "CLAUDE_CODE_OAUTH_TOKEN": TOKEN,
        }).start()
        try:
            eq(proxy.uid(), [[str(NONROOT)] * 4] * 2, "Uid/Gid lines of the proxy in the container")
            mock.reset()
            with Conn(proxy.port) as c:
                c.send(build_request("POST", "/v1/messages?beta=true", keyed(), STREAM_BODY))
                r = c.read_response(timeout=15)
            eq(r.status, 200, f"streaming status through the container ({r.body[:300]!r})")
            ok(r.complete, f"stream not complete: {r!r}")
            names = [e for e, _ in parse_sse(r.body.decode("utf-8", "replace"))]
            eq((names[:1], names[-1:]), (["message_start"], ["message_stop"]), "first and last SSE events")
            recs = mock.requests()
            eq(len(recs), 1, "requests the mock saw")
            eq(bearer_of(recs[0]), TOKEN, "bearer the mock saw")
            eq([k for k, _ in recs[0]["headers"] if k.lower() == "x-api-key"], [], "x-api-key reaching the mock")

            r = api_request(proxy.port)  # the harness's placeholder key, not the container's
            eq(r.status, 401, f"status with a wrong client key ({r.body[:200]!r})")
            eq(len(mock.requests()), 1, "requests the mock saw after the refused one")

            rc, err = healthcheck(root, cfg, proxy.port, proxy.overrides)
            eq(rc, 0, f"exit status of the HEALTHCHECK command (stderr {err!r})")
            rc, err = healthcheck(root, cfg, free_port(), proxy.overrides)
            eq(rc, 1, f"exit status of the HEALTHCHECK command against a closed port (stderr {err!r})")
        finally:
            stop_checked(proxy)
    state = os.path.join(root, "var/lib/anthropic-proxy/state.json")
    ok(os.path.isfile(state), f"no state file written as uid {NONROOT} in /var/lib/anthropic-proxy: "
       f"{os.listdir(os.path.dirname(state))}")
    st = os.stat(state)
    eq((st.st_uid, file_mode(state)), (NONROOT, 0o600), "state file owner and mode")
    os.unlink(state)


def test_container_refuses_to_start_without_client_key():
    # The image listens on 0.0.0.0: with neither a key nor ANTHROPIC_PROXY_ALLOW_UNAUTHENTICATED it must not start.
    root, cfg = image()
    p = subprocess.run(chroot_cmd(root, cfg, cfg["entrypoint"]),
                       env=container_env(cfg, CLAUDE_CODE_OAUTH_TOKEN=TOKEN), capture_output=True, text=True,
                       errors="replace", timeout=10)
    eq(p.returncode, 2, f"exit status of the image without a client key (stderr {p.stderr!r})")
    contains(p.stderr, "--allow-unauthenticated", "its message")


def test_container_credentials_dir_written_back_as_nonroot():
    # The reason the credentials are a writable DIRECTORY: a refresh rotates the refresh token, and the proxy
    # writes both back with a temp file + rename next to the file (and keeps a lock file there).
    root, cfg = image()
    creds_dir = os.path.join(root, "home/nonroot/.claude")
    access0, refresh0 = new_token_pair("ctr")
    with Mock(expect_token=None, oauth_validate=True, refresh_token=refresh0) as mock:
        mock.oauth(access_tokens=[{"token": access0, "expires_in": -60}], expires_in=7200)
        path = os.path.join(creds_dir, ".credentials.json")
        write_credentials(path, credentials_doc(access0, refresh0, now_ms() - 60000))
        os.chown(path, NONROOT, NONROOT)
        proxy = ContainerProxy(root, cfg, {
            # no ANTHROPIC_PROXY_CREDENTIALS: HOME=/home/nonroot finds ~/.claude/.credentials.json
            "ANTHROPIC_PROXY_UPSTREAM": mock.url,
            "ANTHROPIC_PROXY_TOKEN_URL": mock.token_url,
            "ANTHROPIC_PROXY_POLL_INTERVAL": "off",
            "ANTHROPIC_PROXY_CLIENT_KEY": KEY,
        }).start()
        try:
            r = api_request(proxy.port, headers=keyed(), timeout=20)
            eq(r.status, 200, f"request with an expired token in the mounted file ({r.body[:300]!r})")
            iss = mock.oauth_state()["issued"]
            ok(iss, "the mock issued no tokens")
            a1, r1 = iss[0]["access_token"], iss[0]["refresh_token"]
            eq(bearer_of(mock.last_request()), a1, "bearer after the refresh")
            doc = wait_until(lambda: (d := read_credentials(path))["claudeAiOauth"]["accessToken"] == a1 and d,
                             5, "the rotated tokens written back into /home/nonroot/.claude/.credentials.json")
            eq(doc["claudeAiOauth"]["refreshToken"], r1, "refresh token in the file")
            st = os.stat(path)
            eq((st.st_uid, file_mode(path)), (NONROOT, 0o600), "credentials file owner and mode after write-back")
            assert_no_secrets(proxy.log_text(), [access0, refresh0, a1, r1], "container proxy log")
        finally:
            stop_checked(proxy)
            for n in os.listdir(creds_dir):
                os.unlink(os.path.join(creds_dir, n))


def test_container_deploy_files_consistent():
    # No YAML parser in the standard library: these are line-level checks of what would break silently.
    deploy = os.path.join(ROOT, "deploy")
    files = [DOCKERFILE, os.path.join(deploy, "compose.yaml"), os.path.join(deploy, "CONTAINERS.md"),
             os.path.join(deploy, "compose.fleet.yaml")]
    kdir = os.path.join(deploy, "kubernetes")
    files += sorted(os.path.join(kdir, n) for n in os.listdir(kdir) if n.endswith((".yaml", ".yml")))
    texts = {}
    for p in files:
        with open(p) as f:
            texts[p] = f.read()
    # Every ANTHROPIC_PROXY_* variable named anywhere is the twin of a real flag (a typo would be ignored silently).
    p = run_binary(["--help"])
    flags = set(re.findall(r"^  --([a-z0-9-]+)", p.stdout, re.M))
    ok({"listen", "client-key", "client-keys-file", "state-file", "credentials", "check"} <= flags,
       f"flags in --help: {sorted(flags)}")
    twins = {"ANTHROPIC_PROXY_" + f.upper().replace("-", "_") for f in flags}
    twins.add("ANTHROPIC_PROXY_REDIS_PASSWORD")  # --redis's password, read on its own (README "A fleet of proxies")
    for path, text in texts.items():
        for name in sorted(set(re.findall(r"\bANTHROPIC_PROXY_[A-Z0-9_]+\b", text))):
            ok(name in twins, f"{os.path.relpath(path, ROOT)} names {name}, which is no flag's variable")
    # compose.yaml: the files it mounts exist (paths are relative to deploy/), the build context has the Dockerfile,
    # the credentials are a read-write directory, the proxy's port is published on loopback only.
    compose = texts[os.path.join(deploy, "compose.yaml")]
    for rel in re.findall(r"^\s*-\s*(\./[^:\s]+):", compose, re.M):
        ok(os.path.exists(os.path.join(deploy, rel)), f"compose.yaml mounts {rel}, which does not exist in deploy/")
    ok(re.search(r"^\s*context:\s*\.\.\s*$", compose, re.M), "compose.yaml: build context .. (the repository)")
    ok(re.search(r"^\s*-\s*\$\{HOME\}/\.claude:/home/nonroot/\.claude\s*$", compose, re.M),
       "compose.yaml: ${HOME}/.claude mounted read-write at /home/nonroot/.claude")
    ok("${ANTHROPIC_PROXY_CLIENT_KEY:?" in compose, "compose.yaml: a client key is required")
    ok(re.search(r'"127\.0\.0\.1:8080:8080"', compose), "compose.yaml: the proxy's port on 127.0.0.1 only")
    with open(os.path.join(deploy, "prometheus", "prometheus.yml")) as f:
        contains(f.read(), "anthropic-proxy:8080", "the Prometheus scrape target (the compose service)")
    # Kubernetes: never a single-file (subPath) mount of the credentials, probes on the proxy's own endpoints.
    for path in files[4:]:
        text = texts[path]
        ok(not re.search(r"^\s*subPath:.*credentials", text, re.M),
           f"{os.path.relpath(path, ROOT)} mounts the credentials file alone (subPath): rename would fail")
        contains(text, "/healthz", f"{os.path.relpath(path, ROOT)}: liveness on /healthz")
        contains(text, "/readyz", f"{os.path.relpath(path, ROOT)}: readiness on /readyz")
        contains(text, "runAsUser: 65532", f"{os.path.relpath(path, ROOT)}: the image's uid")


# ---------------------------------------------------------------------------------------------------------------
# Client keys (the normal build)
# ---------------------------------------------------------------------------------------------------------------

def recorded_values(mock):
    return [v for rec in mock.requests(kind=None) for _, v in rec.get("headers", [])]


def test_client_key_missing_or_wrong_is_401():
    with Env(proxy_args=["--client-key", KEY]) as env:
        no_key = [h for h in CLIENT_HEADERS if h[0] != "x-api-key"]
        for what, hs in (("no key", no_key), ("wrong x-api-key", keyed(OTHER_KEY)),
                         ("wrong bearer", no_key + [("authorization", f"Bearer {OTHER_KEY}")]),
                         ("key prefix", keyed(KEY[:-1])), ("key plus a character", keyed(KEY + "x")),
                         ("key as a non-Bearer authorization", no_key + [("authorization", KEY)])):
            r = api_request(env.proxy.port, headers=hs)
            eq(r.status, 401, f"status with {what} ({r.body[:200]!r})")
            eq(api_error(r, f"401 body with {what}")[0], "authentication_error", f"error type with {what}")
            r = api_request(env.proxy.port, headers=hs, body=STREAM_BODY)
            eq(r.status, 401, f"streaming request status with {what}")
        eq(env.mock.requests(), [], "requests that reached the mock")


def test_client_key_in_x_api_key_is_stripped():
    with Env(proxy_args=["--client-key", KEY]) as env:
        r = api_request(env.proxy.port, headers=keyed())
        eq(r.status, 200, f"status ({r.body[:200]!r})")
        eq(r.body, env.mock.response_body(env.mock.last_request()), "body")
        hs = env.mock.last_request()["headers"]
        eq([v for k, v in hs if k.lower() == "x-api-key"], [], "upstream x-api-key")
        eq([v for k, v in hs if k.lower() == "authorization"], [f"Bearer {TOKEN}"], "upstream authorization")
        ok(not any(KEY in v for v in recorded_values(env.mock)), "the client key reached the mock")
        assert_no_secrets(env.proxy.log_text(), [KEY], "proxy log")


def test_client_key_as_bearer_never_reaches_upstream():
    with Env(proxy_args=["--client-key", f"{OTHER_KEY},{KEY}"]) as env:
        hs = [h for h in CLIENT_HEADERS if h[0] != "x-api-key"] + [("Authorization", f"Bearer {KEY}")]
        r = api_request(env.proxy.port, headers=hs)
        eq(r.status, 200, f"status with the key as a bearer ({r.body[:200]!r})")
        with Conn(env.proxy.port) as c:
            c.send(build_request("POST", "/v1/messages", hs, STREAM_BODY))
            r = c.read_response(timeout=15)
        eq(r.status, 200, f"streaming status with the key as a bearer ({r.body[:200]!r})")
        eq([e for e, _ in parse_sse(r.body.decode())][-1:], ["message_stop"], "last SSE event")
        recs = env.mock.requests()
        eq(len(recs), 2, "requests the mock saw")
        for rec in recs:
            eq([v for k, v in rec["headers"] if k.lower() == "authorization"], [f"Bearer {TOKEN}"],
               "upstream authorization")
        leaked = [v for v in recorded_values(env.mock) if KEY in v or OTHER_KEY in v]
        eq(leaked, [], "recorded upstream header values holding a client key")
        assert_no_secrets(env.proxy.log_text(), [KEY, OTHER_KEY], "proxy log")


def test_client_keys_from_env_and_file():
    d = CTX.tmpdir("keys-")
    path = os.path.join(d, "client-keys")
    k1, k2 = "file-key-" + "1" * 16, "file-key-" + "2" * 16
    with open(path, "w") as f:
        f.write(f"# client keys of the team\n\n{k1}\n   {k2}  \r\n\n# the end\n")
    with Env(proxy_args=["--client-keys-file", path], proxy_env={"ANTHROPIC_PROXY_CLIENT_KEY": KEY}) as env:
        for k in (k1, k2, KEY):
            r = api_request(env.proxy.port, headers=keyed(k))
            eq(r.status, 200, f"status with key {k[:12]}... ({r.body[:200]!r})")
        for k in ("# client keys of the team", "# the end", "file-key-", OTHER_KEY):
            eq(api_request(env.proxy.port, headers=keyed(k)).status, 401, f"status with key {k!r}")
        eq(len(env.mock.requests()), 3, "requests that reached the mock")


def test_client_keys_file_without_keys_exits_2():
    d = CTX.tmpdir("keys-")
    path = os.path.join(d, "client-keys")
    with open(path, "w") as f:
        f.write("# nothing but a comment\n\n")
    p = run_binary(["--listen", f"0.0.0.0:{free_port()}", "--client-keys-file", path])
    eq(p.returncode, 2, f"exit status with an empty keys file (stderr {p.stderr!r})")
    eq(len([l for l in p.stderr.splitlines() if l.strip()]), 1, f"stderr lines ({p.stderr!r})")


def test_client_key_not_needed_for_healthz():
    with Env(proxy_args=["--client-key", KEY]) as env:
        r = http_request(env.proxy.port, "GET", "/healthz")
        eq(r.status, 200, f"/healthz without a key ({r.body[:200]!r})")


# ---------------------------------------------------------------------------------------------------------------
# Listening beyond loopback
# ---------------------------------------------------------------------------------------------------------------

class AllInterfacesProxy(Proxy):
    def command(self):
        cmd = super().command()
        cmd[cmd.index("--listen") + 1] = f"0.0.0.0:{self.port}"
        return cmd


def test_non_loopback_listen_without_keys_exits_2():
    for listen in (f"0.0.0.0:{free_port()}", f"[::]:{free_port()}"):
        p = run_binary(["--listen", listen])
        eq(p.returncode, 2, f"exit status of --listen {listen} without client keys (stderr {p.stderr!r})")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        eq(len(lines), 1, f"stderr lines ({p.stderr!r})")
        contains(lines[0], "client key", "the message")
        contains(lines[0], "--allow-unauthenticated", "the message")
    p = run_binary([], env={"ANTHROPIC_PROXY_LISTEN": f"0.0.0.0:{free_port()}"})
    eq(p.returncode, 2, f"exit status of ANTHROPIC_PROXY_LISTEN=0.0.0.0:... without keys (stderr {p.stderr!r})")


def test_non_loopback_listen_allow_unauthenticated_starts():
    with Mock() as mock:
        proxy = AllInterfacesProxy(mock.url, ["--allow-unauthenticated"]).start()
        try:
            eq(http_request(proxy.port, "GET", "/healthz").status, 200, "/healthz")
            r = api_request(proxy.port)
            eq(r.status, 200, f"an API request with no key needed ({r.body[:200]!r})")
            ok(any(o.get("event") == "unauthenticated" and o.get("level") == "warn" for o in proxy.log_json()),
               "no warning (event unauthenticated) about listening without client keys in the log")
        finally:
            stop_checked(proxy)


# ---------------------------------------------------------------------------------------------------------------
# Measurements (printed, not asserted)
# ---------------------------------------------------------------------------------------------------------------

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
    return int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0])


def test_container_measure_size_and_rss():
    root, cfg = image()
    stripped = os.path.join(CTX.tmpdir("strip-"), "anthropic-proxy")
    subprocess.run(["strip", "-o", stripped, STATIC], capture_output=True, timeout=30)
    sizes = {"static": os.path.getsize(STATIC)}
    if os.path.exists(stripped):
        sizes["static, stripped"] = os.path.getsize(stripped)
    dyn = os.path.join(ROOT, "build", "anthropic-proxy")
    if os.path.exists(dyn):
        sizes["dynamic build"] = os.path.getsize(dyn)
    ca = "/etc/ssl/certs/ca-certificates.crt"
    image_bytes = sizes["static"] + (os.path.getsize(ca) if os.path.exists(ca) else 0) + 200
    print("    measure: binary sizes: " + ", ".join(f"{k} {v} B ({v / 1048576:.2f} MiB)" for k, v in sizes.items()))
    print(f"    measure: image content ~ {image_bytes} B ({image_bytes / 1048576:.2f} MiB: static binary + Debian's "
          f"CA bundle + passwd/group)")

    with Mock() as mock:
        proxy = ContainerProxy(root, cfg, {"ANTHROPIC_PROXY_UPSTREAM": mock.url, "ANTHROPIC_PROXY_CLIENT_KEY": KEY,
                                           "CLAUDE_CODE_OAUTH_TOKEN": TOKEN,
                                           "ANTHROPIC_PROXY_ACCESS_LOG": "false"}).start()
        try:
            time.sleep(0.5)
            idle, _ = rss_kib(proxy.proc.pid)
            reqs = (build_request("POST", "/v1/messages", keyed(), MSG_BODY),
                    build_request("POST", "/v1/messages", keyed(), STREAM_BODY))

            def client(i):
                with Conn(proxy.port) as c:
                    for j in range(50):
                        c.send(reqs[(i + j) % 2])
                        r = c.read_response(timeout=15)
                        if r.status != 200:
                            return r.status
                return 200

            t0 = time.monotonic()
            results = parallel(client, 10, timeout=50)
            dt = time.monotonic() - t0
            eq(results, [200] * 10, "results of 10 clients x 50 requests")
            eq(mock.stats()["requests"], 500, "requests the mock saw")
            after, peak = rss_kib(proxy.proc.pid)
            print(f"    measure: proxy RSS (static binary in the container tree): idle {idle} KiB, after 500 requests "
                  f"(10 keep-alive clients x 50, half streaming; {dt:.1f}s) {after} KiB, peak {peak} KiB")
        finally:
            stop_checked(proxy)
