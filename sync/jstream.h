/*
 * jstream.h - streaming (yajl callback) reader for the list pages of Lever
 * and Crosschq. It walks {"data": [ {...}, ... ], "next": ..., ...} (or
 * {"data": {...}} for a single object) and reports, for each record, every
 * scalar with its dotted path relative to the record ("id",
 * "stageChanges.updatedAt", "owner.email"); array indices are not part of a
 * path, and the start of each object inside a record is reported so that
 * arrays of objects can be told apart element by element. Memory does not
 * grow with the number of records.
 */
#ifndef REFSYNC_JSTREAM_H
#define REFSYNC_JSTREAM_H

#include <stddef.h>

enum jvalue_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING };

struct jstream_handler {
	void *ctx;
	/* a record starts / ends (return non-0 from end to stop with an error) */
	void (*record_start)(void *ctx);
	int (*record_end)(void *ctx);
	/* an object starts inside a record at path (e.g. "stageChanges") */
	void (*object_start)(void *ctx, const char *path);
	/* a scalar inside a record; text is not NUL-terminated (len bytes);
	 * for JV_BOOL text is "true"/"false" */
	void (*field)(void *ctx, const char *path, enum jvalue_type type, const char *text, size_t len);
	/* a scalar at the top level of the page, e.g. "next", "hasNext" */
	void (*top_field)(void *ctx, const char *key, enum jvalue_type type, const char *text, size_t len);
};

/*
 * Parse a whole page. Returns 0, or -1 with a message in err (malformed
 * JSON, or a record_end that failed).
 */
int jstream_parse(const char *data, size_t len, const struct jstream_handler *h, char *err, size_t errlen);

#endif
