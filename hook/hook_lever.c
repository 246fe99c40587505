/*
 * hook_lever.c - Lever's webhooks: POST /lever/stage-change and
 * POST /lever/hired. A delivery is checked in this order, and nothing
 * touches the spool before its signature is verified:
 *   method (405), size (413), content type (415), JSON (400),
 *   token and triggeredAt present (400), signature (401, with the token of
 *   THIS route's webhook), triggeredAt within the window (401),
 *   Lever's test delivery (data: {}) -> 200, nothing queued, but its token
 *   recorded as seen in done/ (a replay of its envelope with data is a no-op),
 *   event and ids (400), then queued in the spool once per token (200).
 * Signature (lever-api.md, section 7):
 *   hex(HMAC-SHA256(key = token of the webhook, body.token + body.triggeredAt))
 * with triggeredAt written in decimal, compared with body.signature.
 */
#include "hook_internal.h"
#include "json_write.h"
#include "log.h"
#include "spool.h"

#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* A Lever token is 48 characters; this leaves room and bounds the HMAC input. */
#define TOKEN_MAX 512
#define ID_MAX 128
#define EVENT_MAX 64
/* how far in the future triggeredAt may be (clock skew) */
#define FUTURE_SKEW_MS (5 * 60 * 1000)

/* 1 when s is a plausible Lever id: [A-Za-z0-9_-], 1 to ID_MAX characters. */
static int id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > ID_MAX)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/*
 * Check signature against hex(HMAC-SHA256(secret, token + triggered_at)),
 * in constant time. Returns 1 when it matches, 0 when not, -1 when HMAC fails.
 */
static int signature_matches(const char *secret, const char *token, long long triggered_at,
			     const char *signature)
{
	char message[TOKEN_MAX + 32], expected[65], given[64];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int n = snprintf(message, sizeof message, "%s%lld", token, triggered_at);
	if (n < 0 || (size_t)n >= sizeof message)
		return 0;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)message, (size_t)n, mac,
		  &maclen) ||
	    maclen != 32)
		return -1;
	for (unsigned int i = 0; i < maclen; i++)
		snprintf(expected + 2 * i, 3, "%02x", mac[i]);
	if (strlen(signature) != 64)
		return 0;
	/* Lever writes lowercase hex; accept uppercase too */
	for (int i = 0; i < 64; i++) {
		char c = signature[i];
		given[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	return CRYPTO_memcmp(expected, given, 64) == 0;
}

/* The Lever event string expected on a route. */
static const char *route_event(const char *route)
{
	return strcmp(route, "hired") == 0 ? "candidateHired" : "candidateStageChange";
}

/*
 * Build the record of a verified event (type "webhook") or of a test
 * delivery (type "webhook-test", event NULL: kept in done/ as a seen
 * envelope) into b. 0, or -1 when the buffer is full (cannot happen within
 * the limits above).
 */
static int lever_record(struct buf *b, const char *event, const char *route, const char *opportunity_id,
			const char *to_stage_id, long long triggered_at, int64_t received_at)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "type", event ? "webhook" : "webhook-test");
	if (event)
		json_gen_pair(g, "event", event);
	json_gen_pair(g, "route", route);
	if (event) {
		json_gen_pair(g, "opportunity_id", opportunity_id);
		json_gen_pair(g, "to_stage_id", to_stage_id);
	}
	json_gen_int_pair(g, "triggered_at", triggered_at);
	json_gen_int_pair(g, "received_at", received_at);
	yajl_gen_map_close(g);
	return json_gen_line(g, b);
}

void hook_lever(const struct config *cfg, const struct hook_request *req, const char *route,
		struct hook_response *resp)
{
	yajl_val tree = NULL, v;
	char *secret = NULL;
	const char *token, *signature, *event, *opportunity_id, *to_stage_id;
	long long triggered_at;
	char err[CONFIG_ERR_MAX];
	struct buf record;
	buf_init(&record, SPOOL_MAX_FILE);

	if (!req->method || strcmp(req->method, "POST") != 0) {
		hook_reply_text(resp, 405, "method not allowed: Lever webhooks are POSTed");
		resp->allow = "POST";
		goto out;
	}
	if (req->body_too_large || req->body_len > HOOK_BODY_MAX) {
		hook_reply_text(resp, 413, "body larger than %d bytes", HOOK_BODY_MAX);
		goto out;
	}
	if (!hook_content_type_is(req->content_type, "application/json")) {
		hook_reply_text(resp, 415, "content type must be application/json");
		goto out;
	}
	tree = hook_body_object(req, resp, "");
	if (!tree)
		goto out;
	if (hook_object_string(tree, "token", &token) != 1 || token[0] == '\0' || strlen(token) > TOKEN_MAX) {
		hook_reply_text(resp, 400, "missing or invalid \"token\"");
		goto out;
	}
	if (hook_object_get(tree, "triggeredAt", &v) != 1 || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) {
		hook_reply_text(resp, 400, "missing or invalid \"triggeredAt\" (epoch milliseconds)");
		goto out;
	}
	triggered_at = YAJL_GET_INTEGER(v);
	if (hook_object_string(tree, "signature", &signature) != 1) {
		hook_reply_text(resp, 401, "missing signature");
		goto out;
	}
	secret = config_read_secret(cfg, strcmp(route, "hired") == 0 ? SECRET_LEVER_HIRED_TOKEN
								 : SECRET_LEVER_STAGE_CHANGE_TOKEN,
				    err, sizeof err);
	if (!secret) {
		log_err("%s", err);
		hook_server_error(resp, "the webhook's signature token cannot be read");
		goto out;
	}
	int match = signature_matches(secret, token, triggered_at, signature);
	if (match < 0) {
		hook_server_error(resp, "HMAC-SHA256 failed");
		goto out;
	}
	if (!match) {
		hook_reply_text(resp, 401, "bad signature");
		goto out;
	}
	int64_t now = now_ms();
	int64_t max_age = (int64_t)cfg->webhook_max_age_hours * 3600 * 1000;
	if (triggered_at < now - max_age || triggered_at > now + FUTURE_SKEW_MS) {
		hook_reply_text(resp, 401, "triggeredAt %lld is outside the accepted window", triggered_at);
		goto out;
	}

	/* From here the delivery is Lever's own. */
	yajl_val data;
	if (hook_object_get(tree, "data", &data) != 1 || !YAJL_IS_OBJECT(data)) {
		hook_reply_text(resp, 400, "missing or invalid \"data\" object");
		goto out;
	}
	char hash[33], name[SPOOL_NAME_MAX + 1];
	hook_sha256_hex32(token, hash);
	snprintf(name, sizeof name, "wh-%s-%s.json", route, hash);
	if (data->u.object.len == 0) {
		/* Nothing to queue, but the envelope is recorded as seen: token,
		 * triggeredAt and signature do not cover data, so a replay of it
		 * with other data must find the name taken. */
		if (lever_record(&record, NULL, route, NULL, NULL, triggered_at, now)) {
			hook_server_error(resp, "spool record too large");
			goto out;
		}
		if (hook_spool_put_seen(cfg, name, &record, resp))
			goto out;
		hook_reply_text(resp, 200, "test delivery accepted (not queued)");
		goto out;
	}
	if (hook_object_string(tree, "event", &event) != 1 || strlen(event) > EVENT_MAX) {
		hook_reply_text(resp, 400, "missing or invalid \"event\"");
		goto out;
	}
	if (strcmp(event, route_event(route)) != 0) {
		hook_reply_text(resp, 400, "event \"%.64s\" does not belong on /lever/%s (expected %s)", event, route,
				route_event(route));
		goto out;
	}
	int r = hook_object_string(data, "opportunityId", &opportunity_id);
	if (r == 0)
		r = hook_object_string(data, "candidateId", &opportunity_id);
	if (r != 1 || !id_valid(opportunity_id)) {
		hook_reply_text(resp, 400, "missing or invalid data.opportunityId");
		goto out;
	}
	if (hook_object_string(data, "toStageId", &to_stage_id) < 0 || (to_stage_id && !id_valid(to_stage_id))) {
		hook_reply_text(resp, 400, "invalid data.toStageId");
		goto out;
	}

	if (lever_record(&record, event, route, opportunity_id, to_stage_id, triggered_at, now)) {
		hook_server_error(resp, "spool record too large");
		goto out;
	}
	hook_queue(cfg, name, &record, "opportunity", opportunity_id, resp);
out:
	secret_free(secret);
	yajl_tree_free(tree);
	buf_free(&record);
}
