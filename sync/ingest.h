/*
 * ingest.h - taking in what refsync-hook left in the spool: Lever webhooks
 * (each names an opportunity, which is fetched again, since webhooks are
 * only hints), Crosschq webhooks (each carries a Request, stored as read;
 * it may also be the evidence that settles a create in doubt) and the
 * owners' answers (recorded in the answers table). A file leaves new/ only
 * after its effect is committed.
 */
#ifndef REFSYNC_INGEST_H
#define REFSYNC_INGEST_H

#include "context.h"

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

/* What one spool file holds, as ingest_parse_record reads it. */
enum ingest_kind { INGEST_DAMAGED, INGEST_WEBHOOK, INGEST_ANSWER, INGEST_CROSSCHQ };

struct ingest_record {
	enum ingest_kind kind;
	char *id;             /* the opportunity (webhook) or request (answer) id; malloc'd, or NULL */
	int hired;            /* answer: 1 for "hired" */
	int64_t answered_at;  /* answer: epoch ms, 0 when absent */
	yajl_val tree;        /* the parsed file, kept for a Crosschq webhook (NULL otherwise) */
	yajl_val request;     /* Crosschq webhook: its Request object, inside tree */
};

/*
 * Read a spool file (data, len bytes, any content) into *rec; the kind is
 * INGEST_DAMAGED (rec->id NULL) when it is not a webhook or an answer with a
 * non-empty id, or a Crosschq webhook (refsync-hook's record {"type":
 * "crosschq", "received_at", "request": {...}}) whose request has an "id".
 * Free with ingest_record_free.
 */
void ingest_parse_record(const char *data, size_t len, struct ingest_record *rec);
void ingest_record_free(struct ingest_record *rec);

/* Returns EXIT_OK or an exit code with ctx->error set. */
int ingest_spool(struct sync_ctx *ctx);

#endif
