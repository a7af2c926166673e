/* app: helpers that act on the whole application (state file). */
#include "app.h"

#include "fsutil.h"
#include "json.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int app_trackers(struct app *app, const struct tracker **trackers, const char **names)
{
	int n = 0;
	for (uint32_t i = 0; i < app->n_accounts && n < CLIENTS_MAX_ACCOUNTS; i++, n++) {
		trackers[n] = &app->accounts[i].tracker;
		names[n] = app->accounts[i].name;
	}
	return n;
}

int app_load_clients(struct app *app, char *err, size_t errlen)
{
	const char *path = app->cfg.clients_file;
	if (!path)
		return 0;
	size_t len;
	char *data = fs_read_all(path, 1024 * 1024, &len, err, errlen);
	if (!data)
		return -1;
	struct clients_def *defs = calloc(CLIENTS_MAX, sizeof *defs);
	int n = defs ? clients_parse(data, len, path, defs, CLIENTS_MAX, err, errlen) : -1;
	if (!defs)
		snprintf(err, errlen, "out of memory");
	else if (n == 0)
		snprintf(err, errlen, "%s holds no clients", path);
	int rc = n > 0 ? clients_apply(&app->clients, defs, n, err, errlen) : -1;
	if (rc && n > 0 && !strstr(err, path)) {
		char tmp[300];
		snprintf(tmp, sizeof tmp, "%s: %s", path, err);
		snprintf(err, errlen, "%s", tmp);
	}
	/* The file holds keys: nothing of it is left in freed memory. */
	memset(data, 0, len);
	free(data);
	if (defs) {
		memset(defs, 0, CLIENTS_MAX * sizeof *defs);
		free(defs);
	}
	return rc;
}

/* One account: the tracker's own document, as it always was (older state files stay readable). Several:
 * {"accounts": {"<name>": <that document>, ...}}. The clients' counts go in a "clients" key beside them
 * (clients.h); a reader that does not know the key ignores it. */
void app_save_state(struct app *app)
{
	if (!app->cfg.state_file)
		return;
	struct buf b;
	buf_init(&b, 0);
	char err[300] = "out of memory";
	int rc = 0;
	if (app->n_accounts == 1) {
		rc = tracker_save_json(&app->accounts[0].tracker, &b);
		/* "...]}\n": reopen the document for the clients' key */
		if (!rc && b.len >= 2 && b.data[b.len - 1] == '\n' && b.data[b.len - 2] == '}')
			b.len -= 2;
		else
			rc = -1;
	} else {
		rc = buf_appends(&b, "{\"accounts\":{");
		for (uint32_t i = 0; i < app->n_accounts && !rc; i++)
			rc = buf_appends(&b, i ? ",\"" : "\"") || buf_appends(&b, app->accounts[i].name) ||
			     buf_appends(&b, "\":") || tracker_save_json(&app->accounts[i].tracker, &b);
		rc = rc || buf_appends(&b, "}");
	}
	const struct tracker *ts[CLIENTS_MAX_ACCOUNTS];
	const char *names[CLIENTS_MAX_ACCOUNTS];
	app_trackers(app, ts, names);
	rc = rc || buf_appends(&b, ",\"clients\":") || clients_save_json(&app->clients, ts, names, &b);
	/* The fleet's counters are per replica name: a restart that restores them keeps the name, so Redis holds
	 * them once (a new name would count the restored tokens a second time). */
	if (app->fleet_on)
		rc = rc || buf_printf(&b, ",\"fleet_replica\":\"%s\"", app->fleet.replica);
	rc = rc || buf_appends(&b, "}\n");
	if (rc || fs_write_atomic(app->cfg.state_file, buf_ptr(&b), buf_size(&b), 0600, err, sizeof err)) {
		struct log_line l;
		log_begin(&l, AP_WARN, "state_save_failed");
		log_str(&l, "path", app->cfg.state_file);
		log_str(&l, "msg", err);
		log_end(&l);
	}
	buf_free(&b);
}

void app_load_state(struct app *app)
{
	if (!app->cfg.state_file)
		return;
	char err[300];
	size_t len;
	char *data = fs_read_all(app->cfg.state_file, 1024 * 1024, &len, err, sizeof err);
	struct log_line l;
	if (!data) {
		log_begin(&l, AP_INFO, "state_not_loaded");
		log_str(&l, "msg", err);
		log_end(&l);
		return;
	}
	yajl_val root = json_parse(data, len), accts = json_get(root, "accounts");
	free(data);
	int64_t now = app_wall_ms();
	for (uint32_t i = 0; i < app->n_accounts; i++) {
		struct account *a = &app->accounts[i];
		/* A one-account file belongs to the first account (a pool grown from one login keeps its counts). */
		yajl_val doc = accts ? json_get(accts, a->name) : i == 0 ? root : NULL;
		if (!doc)
			continue;
		int rc = tracker_load_value(&a->tracker, doc, now);
		log_begin(&l, rc ? AP_WARN : AP_INFO, rc ? "state_unreadable" : "state_loaded");
		log_str(&l, "path", app->cfg.state_file);
		log_str(&l, "account", a->name);
		log_int(&l, "windows", a->tracker.n);
		log_end(&l);
	}
	const struct tracker *ts[CLIENTS_MAX_ACCOUNTS];
	const char *names[CLIENTS_MAX_ACCOUNTS];
	int n = app_trackers(app, ts, names);
	clients_load_value(&app->clients, json_get(root, "clients"), ts, names, n);
	const char *replica = json_str(json_get(root, "fleet_replica"));
	if (app->fleet_on && replica)
		fleet_set_replica(&app->fleet, replica);
	if (!root) {
		log_begin(&l, AP_WARN, "state_unreadable");
		log_str(&l, "path", app->cfg.state_file);
		log_end(&l);
	}
	yajl_tree_free(root);
}
