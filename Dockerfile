# anthropic-proxy container image: one static binary on an empty (scratch) root, running as a non-root user.
#
#   docker build -t anthropic-proxy .
#   docker run --rm -p 127.0.0.1:8080:8080 -e ANTHROPIC_PROXY_CLIENT_KEY=... \
#       --user "$(id -u):$(id -g)" -v "$HOME/.claude:/home/nonroot/.claude" anthropic-proxy
#
# (--user: your ~/.claude/.credentials.json is yours, mode 0600, and the proxy writes refreshed tokens back into that
# directory; a directory owned by 65532 needs no --user.)
#
# Configuration is by environment variables only (every flag has an ANTHROPIC_PROXY_<FLAG> twin); see
# deploy/CONTAINERS.md. test/integration/test_container.py rebuilds the final stage's file tree from the COPY lines
# below and runs it in a chroot: keep the two in step.

# ---- build stage -------------------------------------------------------------------------------------------------
# Debian 12, the platform the project builds and is tested on; its static archives of libuv, yajl and zlib, the
# vendored Mbed TLS (deps/mbedtls, compiled by `make`) and glibc 2.36's static libc (whose built-in files/dns
# resolvers need no NSS modules) make a fully static binary.
FROM debian:12 AS build
WORKDIR /src

# The project's own package list and installer, copied alone first so that this layer stays cached while only the
# sources change.
COPY deps/install.sh deps/install.sh
RUN deps/install.sh build

# The rest of the tree (.dockerignore keeps build/, .git and node_modules out), then the very same `make static`
# that developers run: build/anthropic-proxy-static.
COPY . .
RUN make static

# The few files the empty final root needs besides the binary: an /etc/passwd and /etc/group that name the non-root
# user (uid/gid 65532, "nonroot", as in distroless images), its home with ~/.claude (where Claude Code's
# .credentials.json is looked for and where rotated tokens are written back, via a temp file + rename in that same
# directory: so it must be a writable directory), and /var/lib/anthropic-proxy for --state-file. Ownership is set by
# COPY --chown below; the modes are set here (0770 on the state directory lets a container run with another uid
# but `--group-add 65532` write there too, see deploy/compose.yaml).
RUN set -eu; root=/rootfs; \
    mkdir -p "$root/etc" "$root/home/nonroot/.claude" "$root/var/lib/anthropic-proxy"; \
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
                  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > "$root/etc/passwd"; \
    printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' > "$root/etc/group"; \
    chmod 0644 "$root/etc/passwd" "$root/etc/group"; \
    chmod 0755 "$root/home/nonroot"; \
    chmod 0700 "$root/home/nonroot/.claude"; \
    chmod 0770 "$root/var/lib/anthropic-proxy"

# ---- final stage -------------------------------------------------------------------------------------------------
# scratch: no shell, no package manager, no libc to patch; the binary is the whole attack surface.
FROM scratch

# The static binary (it needs no loader and no shared libraries).
COPY --from=build /src/build/anthropic-proxy-static /anthropic-proxy
# The CA bundle that --ca-file reads by default, to verify api.anthropic.com and the OAuth token endpoint.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# User and group names for uid/gid 65532 (tools like `ps` and `docker exec id` show names; the proxy needs none).
COPY --from=build /rootfs/etc/passwd /rootfs/etc/group /etc/
# Home and state directories, owned by the non-root user. The parents are copied (not the directories themselves)
# so that --chown applies to nonroot/ and anthropic-proxy/ as copied entries, with the modes set above.
COPY --from=build --chown=65532:65532 /rootfs/home/ /home/
COPY --from=build --chown=65532:65532 /rootfs/var/lib/ /var/lib/

# Never root: the proxy binds 8080 (no privileged port) and only writes under its home and state directories.
USER 65532:65532

# Listen on every interface of the container (the default 127.0.0.1 would be unreachable from outside it). A
# non-loopback listener refuses to start without a client key (ANTHROPIC_PROXY_CLIENT_KEY or
# ANTHROPIC_PROXY_CLIENT_KEYS_FILE) unless ANTHROPIC_PROXY_ALLOW_UNAUTHENTICATED=true: the image is safe by default.
# HOME makes ~/.claude/.credentials.json resolve to the mounted credentials directory.
ENV ANTHROPIC_PROXY_LISTEN=0.0.0.0:8080 HOME=/home/nonroot
EXPOSE 8080

# No curl in an empty image: the binary probes itself (exit 0 iff GET /healthz answers 200). /healthz never touches
# the upstream, so a slow API never marks the container unhealthy. If you change the listen port, override this.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/anthropic-proxy", "--check", "http://127.0.0.1:8080/healthz"]

# Exec form: the proxy is PID 1 and gets SIGTERM directly (it drains in-flight streams, then exits).
ENTRYPOINT ["/anthropic-proxy"]
