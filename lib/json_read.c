/*
 * json_read.c - reading members of a parsed yajl tree. See json_read.h.
 */
#include "json_read.h"

#include <string.h>

yajl_val json_member(yajl_val v, const char *key)
{
	if (!v || !YAJL_IS_OBJECT(v))
		return NULL;
	for (size_t i = 0; i < v->u.object.len; i++)
		if (strcmp(v->u.object.keys[i], key) == 0)
			return v->u.object.values[i];
	return NULL;
}

const char *json_string(yajl_val v, const char *key)
{
	yajl_val s = json_member(v, key);
	return s && YAJL_IS_STRING(s) ? s->u.string : NULL;
}
