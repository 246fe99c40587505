/*
 * json_read.h - reading members of a parsed yajl tree (json_write.h writes
 * JSON). Every reader of a stored payload, a spool record or a remote's
 * object asks for its members here.
 */
#ifndef REFSYNC_JSON_READ_H
#define REFSYNC_JSON_READ_H

#include <yajl/yajl_tree.h>

/* The member key of object v (the first one), or NULL when v is not an
 * object or has no such member. Owned by v. */
yajl_val json_member(yajl_val v, const char *key);

/* The string member key of object v, or NULL (absent, null, or not a
 * string). Owned by v. */
const char *json_string(yajl_val v, const char *key);

#endif
