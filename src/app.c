/* app: helpers that act on the whole application (state file). */
#include "app.h"

#include "fsutil.h"
#include "log.h"

#include <stdlib.h>

void app_save_state(struct app *app)
{
	if (!app->cfg.state_file)
		return;
	struct buf b;
	buf_init(&b, 0);
	char err[300];
	if (tracker_save_json(&app_default_account(app)->tracker, &b) ||
	    fs_write_atomic(app->cfg.state_file, buf_ptr(&b), buf_size(&b), 0600, err, sizeof err)) {
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
	int rc = tracker_load_json(&app_default_account(app)->tracker, data, len, app_wall_ms());
	free(data);
	log_begin(&l, rc ? AP_WARN : AP_INFO, rc ? "state_unreadable" : "state_loaded");
	log_str(&l, "path", app->cfg.state_file);
	log_int(&l, "windows", app_default_account(app)->tracker.n);
	log_end(&l);
}

