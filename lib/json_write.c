/*
 * json_write.c - JSON written with yajl's generator (see json_write.h).
 */
#include "json_write.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* See json_write.h. */
yajl_gen json_gen_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		abort();
	yajl_gen_config(g, yajl_gen_validate_utf8, 0);
	return g;
}

/* See json_write.h. */
void json_gen_str(yajl_gen g, const char *s)
{
	if (s)
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	else
		yajl_gen_null(g);
}

/* See json_write.h. */
void json_gen_pair(yajl_gen g, const char *key, const char *value)
{
	json_gen_str(g, key);
	json_gen_str(g, value);
}

/* See json_write.h. */
char *json_gen_finish(yajl_gen g)
{
	const unsigned char *out;
	size_t len;
	yajl_gen_get_buf(g, &out, &len);
	char *r = xstrndup((const char *)out, len);
	yajl_gen_free(g);
	return r;
}

/* See json_write.h. */
void json_gen_int_pair(yajl_gen g, const char *key, long long v)
{
	json_gen_str(g, key);
	yajl_gen_integer(g, v);
}

/* See json_write.h. */
int json_gen_line(yajl_gen g, struct buf *b)
{
	const unsigned char *out;
	size_t len;
	yajl_gen_get_buf(g, &out, &len);
	int r = buf_append(b, out, len) || buf_append(b, "\n", 1);
	yajl_gen_free(g);
	return r ? -1 : 0;
}

int json_gen_print(yajl_gen g, FILE *f)
{
	const unsigned char *out;
	size_t len;
	yajl_gen_get_buf(g, &out, &len);
	int r = fwrite(out, 1, len, f) == len ? 0 : -1;
	yajl_gen_free(g);
	return r;
}
