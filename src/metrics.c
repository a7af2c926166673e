#include "metrics.h"

#include "http.h"

#include <string.h>

const char *const metrics_stream_error_names[METRICS_STREAM_ERRORS] = {
	"overloaded_error", "api_error", "rate_limit_error", "invalid_request_error", "authentication_error", "other"};

void metrics_init(struct metrics *m, int64_t now_ms)
{
	memset(m, 0, sizeof *m);
	m->started_ms = now_ms;
}

enum metrics_route metrics_route(const char *path, size_t len)
{
	if (http_path_is(path, len, "/v1/messages"))
		return ROUTE_MESSAGES;
	if (http_path_is(path, len, "/v1/messages/count_tokens"))
		return ROUTE_COUNT_TOKENS;
	if (http_path_is(path, len, "/v1/models") || http_path_under(path, len, "/v1/models/"))
		return ROUTE_MODELS;
	return ROUTE_OTHER;
}

enum metrics_class metrics_class(int status)
{
	if (status < 100 || status > 599)
		return CLASS_NONE;
	return (enum metrics_class)(status / 100 - 1);
}

int metrics_stream_error_index(const char *type)
{
	for (int i = 0; i < METRICS_STREAM_ERRORS - 1; i++)
		if (strcmp(type, metrics_stream_error_names[i]) == 0)
			return i;
	return METRICS_STREAM_ERRORS - 1;
}

