#include "json.h"

#include <stdlib.h>
#include <string.h>

yajl_val json_parse(const char *p, size_t n)
{
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
