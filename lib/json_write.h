/*
 * json_write.h - small JSON out (request bodies, outbox payloads, status
 * --json, spool records) with yajl's generator: every JSON text refsync
 * writes goes through yajl_gen, none is escaped by hand. The reader of
 * Lever's and Crosschq's pages is jstream.h.
 */
#ifndef REFSYNC_JSON_WRITE_H
#define REFSYNC_JSON_WRITE_H

#include <stdio.h>
#include <yajl/yajl_gen.h>

struct buf;

/* A generator that passes text through as given (inputs are remote data):
 * no UTF-8 validation, no indentation. Aborts when memory runs out. */
yajl_gen json_gen_new(void);
/* Write a string, or null when s is NULL. */
void json_gen_str(yajl_gen g, const char *s);
/* Write "key": string-or-null inside an open map. */
void json_gen_pair(yajl_gen g, const char *key, const char *value);
/* Write "key": v inside an open map. */
void json_gen_int_pair(yajl_gen g, const char *key, long long v);
/* Append the generated text and a newline to b (one record per line);
 * frees g. 0, or -1 when b's maximum was reached. */
int json_gen_line(yajl_gen g, struct buf *b);
/* The generated text (malloc'd, the caller frees it); frees g. */
char *json_gen_finish(yajl_gen g);
/* Write g's document to f and free g. 0, or -1 when f failed. */
int json_gen_print(yajl_gen g, FILE *f);

#endif
