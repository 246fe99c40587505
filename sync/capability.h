/*
 * capability.h - the Crosschq features that nothing public documents
 * (crosschq-api.md section 2). Each is used only after a probe, a call that
 * changes nothing, found it present; the verdict is stored (table
 * capabilities) with its evidence. An absent or unknown capability turns its
 * feature off, with one line in `check` and `status` and an audit event when
 * it changes; it never fails a run.
 *
 * capability   probe                                          feature
 * list         GET /partners/reference-request/?updated_since  one list instead of reading open requests by id
 * hire         OPTIONS .../reference-request/<id>/ allows PATCH hires, Lever -> Crosschq (and owners' answers)
 * hired_field  GET .../reference-request/<id>/ has "hired"     hires, Crosschq -> Lever
 * cancel       OPTIONS .../reference-request/<id>/cancel/      cancel on archive
 * prospects    GET /partners/prospects/?updated_since          prospect export
 * The object probes need a request that refsync knows; until one exists
 * those capabilities stay unknown (off).
 */
#ifndef REFSYNC_CAPABILITY_H
#define REFSYNC_CAPABILITY_H

#include <sqlite3.h>
#include <stdint.h>

struct http_client; /* http.h: only the probes call Crosschq; reading a verdict is the database's */

enum cq_capability { CAP_LIST, CAP_HIRE, CAP_HIRED_FIELD, CAP_CANCEL, CAP_PROSPECTS, CAP_COUNT };
enum cap_state { CAP_UNKNOWN = -1, CAP_ABSENT = 0, CAP_PRESENT = 1 };

/* How long a verdict stands before a run probes again. */
#define CAP_PROBE_EVERY_MS (24LL * 3600 * 1000)

const char *capability_name(enum cq_capability c);
/* What the capability is used for, e.g. "cancel on archive". */
const char *capability_feature(enum cq_capability c);

/* The stored verdict (CAP_UNKNOWN when never probed or on a database error). */
enum cap_state capability_get(sqlite3 *db, enum cq_capability c);

/*
 * Probe capabilities: all of them when force, else those never probed,
 * unknown, or probed more than CAP_PROBE_EVERY_MS before now. Each verdict
 * is stored in its own transaction (audited when it changed); lines says
 * whether to print one line per capability ("check" style). A remote that
 * does not answer leaves the earlier verdict. Returns 0, or -1 on a
 * database error.
 */
int capabilities_probe(sqlite3 *db, int64_t run_id, struct http_client *cq, int force, int lines);

/* Record what a Request showed of the hired field (any Request read is a probe of hired_field). */
int capability_saw_request(sqlite3 *db, int64_t run_id, int has_hired);

#endif
