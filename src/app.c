/* app: helpers that act on the whole application (state file). */
#include "app.h"

#include "fsutil.h"
#include "json.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* One account: the tracker's own document, as it always was (older state files stay readable). Several:
 * {"accounts": {"<name>": <that document>, ...}}. */
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
	} else {
		rc = buf_appends(&b, "{\"accounts\":{");
		for (uint32_t i = 0; i < app->n_accounts && !rc; i++)
			rc = buf_appends(&b, i ? ",\"" : "\"") || buf_appends(&b, app->accounts[i].name) ||
			     buf_appends(&b, "\":") || tracker_save_json(&app->accounts[i].tracker, &b);
		rc = rc || buf_appends(&b, "}}");
	}
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
	if (!root) {
		log_begin(&l, AP_WARN, "state_unreadable");
		log_str(&l, "path", app->cfg.state_file);
		log_end(&l);
	}
	yajl_tree_free(root);
}
