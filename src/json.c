#include "json.h"

#include <stdlib.h>
#include <string.h>

/* Whether arrays and objects nest deeper than JSON_DEPTH_MAX (brackets inside strings do not count). */
static int too_deep(const char *p, size_t n)
{
	int depth = 0, in_str = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > JSON_DEPTH_MAX)
				return 1;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 0;
}

yajl_val json_parse(const char *p, size_t n)
{
	if (too_deep(p, n))
		return NULL;
	char *copy = malloc(n + 1);
	if (!copy)
		return NULL;
	memcpy(copy, p, n);
	copy[n] = 0;
	yajl_val root = yajl_tree_parse(copy, NULL, 0);
	explicit_bzero(copy, n); /* credentials and token answers pass through here */
	free(copy);
	return root;
}

yajl_val json_get(yajl_val obj, const char *key)
{
	if (!obj || !YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *json_str(yajl_val v) { return v && YAJL_IS_STRING(v) ? v->u.string : NULL; }
