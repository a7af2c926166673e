/* json: small helpers over yajl's tree API for the small documents the proxy reads whole (credentials file, token
 * endpoint answer, usage poll, state file). Streaming bodies go through usage.c's incremental reader instead. */
#ifndef AP_JSON_H
#define AP_JSON_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#define JSON_DEPTH_MAX 64 /* deepest nesting accepted: yajl frees a tree recursively, so depth is stack */

/* Parses n bytes (not NUL-terminated). The temporary copy is wiped, since these documents may hold secrets, and
 * yajl's error text is not asked for, since it quotes the input. A document nested deeper than JSON_DEPTH_MAX is
 * refused like invalid JSON. Returns the tree (yajl_tree_free it) or NULL. */
yajl_val json_parse(const char *p, size_t n);
/* A member of an object, or NULL (also when obj is not an object). */
yajl_val json_get(yajl_val obj, const char *key);
/* The string of a string value, or NULL. */
const char *json_str(yajl_val v);

#endif
