/* config: command-line flags and ANTHROPIC_PROXY_* environment variables -> struct config, validated.
 *
 * Pure: no I/O but reading the environment passed in. Every flag has an environment twin named
 * ANTHROPIC_PROXY_<FLAG> (upper case, '-' -> '_'); a flag on the command line wins over its variable.
 * The struct is immutable once config_parse returns. Strings point into argv/environ or into the struct. */
#ifndef AP_CONFIG_H
#define AP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum config_result { CONFIG_OK, CONFIG_EXIT_OK, CONFIG_ERROR };

#define CONFIG_MAX_TOKEN_URLS 4
#define CONFIG_MAX_CLIENT_KEYS 64
#define CONFIG_MAX_LIST 16

/* A repeatable flag's values (repeated or comma-separated), in order. */
struct config_list {
	const char *v[CONFIG_MAX_LIST]; /* the values */
	int n;                          /* how many */
	char buf[2048];                 /* storage behind v */
};

struct config {
	const char *listen;          /* "HOST:PORT" as given */
	char listen_host[256];       /* parsed host (brackets removed for IPv6) */
	int listen_port;             /* parsed port */
	const char *admin_listen;    /* --admin-listen as given, or NULL: the admin endpoints are on the client listener */
	char admin_host[256];        /* its parsed host (127.0.0.1 when only a port was given) */
	int admin_port;              /* its parsed port */
	const char *upstream;        /* upstream base URL as given */
	char upstream_host[256];     /* host to dial and to verify the certificate against */
	int upstream_port;           /* port to dial */
	char upstream_authority[300];/* value for the Host header: host, plus ":port" unless 443 */
	const char *ca_file;         /* CA bundle (PEM) that verifies the upstream */
	const char *credentials;     /* credentials file given by flag/env, or NULL for the default search */
	struct config_list accounts; /* --account names, in order (none: one account "default" from credentials) */
	const char *account_paths[CONFIG_MAX_LIST]; /* their credentials files, same order (NULL: from --redis) */
	int allow_overage;           /* accounts drawing on paid extra usage may serve requests */
	double max_utilization;      /* fraction of an applicable window at which an account is not used */
	uint64_t max_retry_after_ms; /* cap on retry-after told to clients */
	uint32_t max_pinned;         /* conversations pinned to an account, at most */
	uint64_t pin_idle_ms;        /* a pin idle this long expires */
	int log_level;               /* enum log_level */
	int log_json;                /* 1: JSON lines, 0: text */
	uint64_t max_body_size;      /* request bodies above this get 413 */
	uint32_t max_header_size;    /* request head above this gets 431 */
	uint32_t max_headers;        /* header lines above this get 431 */
	uint32_t max_url_length;     /* request targets above this get 414 */
	uint32_t max_connections;    /* client connections beyond this get 503 and are closed; 0: not given (main sets
				      * it from the open-file limit) */
	uint64_t drain_timeout_ms;   /* on SIGTERM, answers in flight get this long to finish */
	uint64_t header_timeout_ms;  /* time a client has to send a complete request head */
	uint64_t keepalive_timeout_ms; /* idle time allowed between requests on a client connection */
	uint64_t send_timeout_ms;    /* a client that takes none of its waiting answer bytes for this long is closed */
	uint64_t connect_timeout_ms; /* upstream TCP connect + TLS handshake */
	uint64_t upstream_timeout_ms;/* upstream silence allowed while an answer is awaited or streams */
	uint32_t pool_size;          /* idle upstream connections kept */
	uint64_t pool_idle_ms;       /* an idle pooled connection older than this is closed */
	uint64_t poll_interval_ms;   /* usage endpoint poll period; 0 = off */
	double warn_utilization;     /* fraction of a window that logs a warning */
	const char *state_file;      /* tracker state file, or NULL */
	uint64_t refresh_margin_ms;  /* refresh the access token this long before it expires */
	const char *token_urls[CONFIG_MAX_TOKEN_URLS]; /* OAuth token endpoints, tried in order */
	int n_token_urls;            /* how many */
	const char *client_id;       /* OAuth client id sent with refreshes */
	int follow_credentials;      /* never refresh: follow the credentials file written by Claude Code */
	int access_log;              /* one log line per request (failures are logged regardless) */
	const char *client_keys[CONFIG_MAX_CLIENT_KEYS]; /* keys clients must present; none: no check */
	int n_client_keys;           /* how many */
	char client_key_buf[4096];   /* storage behind client_keys from flags */
	const char *client_keys_file;/* more keys, read at start */
	const char *clients_file;    /* named clients with keys and budgets (clients.h), re-read on SIGHUP */
	int client_keys_in_argv;     /* --client-key was on the command line (visible in /proc/PID/cmdline) */
	int allow_unauthenticated;   /* a non-loopback listener without keys is accepted */
	struct config_list allow_origins;   /* Origin values let in (none by default: any Origin is refused) */
	struct config_list forward_prefixes; /* path prefixes forwarded besides /v1/ and /api/ */
	struct config_list alert_webhooks;  /* URLs that get alert messages (alert.h) */
	int allow_core_dumps;        /* keep core dumps possible (they would hold tokens) */
	const char *check_url;       /* --check: probe this URL and exit */
	const char *redis;           /* the fleet's Redis URL, or NULL (fleet.h) */
	const char *redis_prefix;    /* prefix of its keys */
	uint64_t redis_lease_ms;     /* refresh lease length */
	char token_url_buf[2048];    /* storage behind token_urls */
};

/* Fills cfg from argv and envp. On CONFIG_ERROR, `err` holds one line for the user (exit 2).
 * On CONFIG_EXIT_OK (--help, --version) the text to print is in `err` (exit 0). */
enum config_result config_parse(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t errlen);

/* Splits "HOST:PORT" or "[v6]:PORT". Returns 0 or -1. */
int config_split_hostport(const char *s, char *host, size_t hostlen, int *port);
/* Parses "https://host[:port][/]" into host, port and Host-header authority. Returns 0 or -1. */
int config_parse_upstream(const char *url, char *host, size_t hostlen, int *port, char *auth, size_t authlen);
/* The value of an environment variable in envp, or NULL. */
const char *config_env_get(char **envp, const char *name);
/* Adds a client key (kept as a pointer: the string must outlive cfg). Returns 0, or -1 when invalid or full. */
int config_add_client_key(struct config *cfg, const char *key);
/* Whether `name` is a valid account name: [a-z0-9_-]{1,32}. */
int config_account_name_ok(const char *name);
/* Parses --admin-listen's value: "HOST:PORT", "[v6]:PORT", ":PORT" or "PORT" (both meaning 127.0.0.1:PORT); the
 * host must be an IP address or localhost. Returns 0 or -1. */
int config_parse_admin_listen(const char *s, char *host, size_t hostlen, int *port);
/* Whether a listen host is a loopback address. */
int config_is_loopback(const char *host);
/* Parses "https://host[:port]/path" (a path is required). Returns 0 or -1. */
int config_parse_url(const char *url, char *host, size_t hostlen, int *port, char *auth, size_t authlen, char *path,
		     size_t pathlen);

#endif
