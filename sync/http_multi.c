/*
 * http_multi.c - concurrent GETs on one client (libcurl multi), with the
 * pacing, retries, redirects and caps of http.c.
 */
#include "http.h"
#include "http_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_multi_init(struct http_multi *m, struct http_client *c)
{
	memset(m, 0, sizeof *m);
	m->c = c;
	m->multi = curl_multi_init();
}

void http_multi_free(struct http_multi *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->items[i]->easy)
			curl_multi_remove_handle(m->multi, m->items[i]->easy);
	if (m->multi)
		curl_multi_cleanup(m->multi);
	free(m->items);
	memset(m, 0, sizeof *m);
}

void http_async_free(struct http_async *a)
{
	if (a->easy)
		curl_easy_cleanup(a->easy);
	a->easy = NULL;
	free(a->path);
	a->path = NULL;
	free(a->url);
	a->url = NULL;
	http_response_free(&a->resp);
}

void http_multi_get(struct http_multi *m, struct http_async *a, const char *path)
{
	free(a->path);
	a->path = xstrdup(path);
	if (!a->resp.body.max)
		http_response_init(&a->resp);
	a->attempt = 0;
	a->redirects = 0;
	free(a->url);
	a->url = NULL;
	a->state = 0;
	a->not_before = 0;
	a->err[0] = '\0';
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->items = xrealloc(m->items, m->cap * sizeof *m->items);
	}
	m->items[m->n++] = a;
}

/* Start a waiting transfer: a duplicate of the client's handle (same auth,
 * headers, timeouts and protocol limits). */
static void async_start(struct http_multi *m, struct http_async *a)
{
	struct http_client *c = m->c;
	if (!a->easy) {
		a->easy = curl_easy_duphandle(c->curl);
		if (!a->easy) {
			a->state = 2;
			a->result = HTTP_UNAVAILABLE;
			snprintf(a->err, sizeof a->err, "%s: cannot create a transfer", c->name);
			return;
		}
	}
	if (!a->url) {
		size_t ulen = strlen(c->base_url) + strlen(a->path) + 1;
		a->url = xmalloc(ulen);
		snprintf(a->url, ulen, "%s%s", c->base_url, a->path);
	}
	curl_easy_setopt(a->easy, CURLOPT_URL, a->url);
	curl_easy_setopt(a->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(a->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(a->easy, CURLOPT_TIMEOUT, c->total_timeout_s);
	curl_easy_setopt(a->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(a->easy, CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
	memset(&a->sink, 0, sizeof a->sink);
	a->sink.resp = &a->resp;
	curl_easy_setopt(a->easy, CURLOPT_WRITEFUNCTION, http_on_body);
	curl_easy_setopt(a->easy, CURLOPT_WRITEDATA, &a->sink);
	curl_easy_setopt(a->easy, CURLOPT_HEADERFUNCTION, http_on_header);
	curl_easy_setopt(a->easy, CURLOPT_HEADERDATA, &a->sink);
	curl_easy_setopt(a->easy, CURLOPT_ERRORBUFFER, a->sink.errbuf);
	/* a GET in flight is dropped when the run is interrupted */
	curl_easy_setopt(a->easy, CURLOPT_XFERINFOFUNCTION, http_on_progress);
	curl_easy_setopt(a->easy, CURLOPT_NOPROGRESS, 0L);
	buf_reset(&a->resp.body);
	a->resp.status = 0;
	a->resp.retry_after_ms = -1;
	a->attempt++;
	a->state = 1;
	c->requests++;
	curl_multi_add_handle(m->multi, a->easy);
}

/* A transfer ended: finish it, or schedule its retry. Returns 1 when finished. */
static int async_done(struct http_multi *m, struct http_async *a, CURLcode rc)
{
	struct http_client *c = m->c;
	curl_multi_remove_handle(m->multi, a->easy);
	int64_t wait;
	int j = http_judge_attempt(c, a->easy, "GET", a->path, 1, rc, &a->sink, a->attempt, a->redirects, &a->result,
				   &wait, a->err, sizeof a->err);
	if (j == 2) {
		free(a->url);
		a->url = xstrdup(a->sink.location);
		a->redirects++;
		a->attempt--;
		a->state = 0;
		a->not_before = 0;
		return 0;
	}
	if (j) {
		a->state = 2;
		return 1;
	}
	a->state = 0;
	a->not_before = monotonic_ms() + wait;
	/* 429 and 503 speak of the key (Lever's limit is per key), not of this
	 * one request: no transfer starts before the wait is over */
	if ((a->resp.status == 429 || a->resp.status == 503) && c->next_slot_ms < a->not_before)
		c->next_slot_ms = a->not_before;
	return 0;
}

struct http_async *http_multi_next(struct http_multi *m, int wait)
{
	struct http_client *c = m->c;
	int64_t interval = http_pace_interval(c);
	for (;;) {
		/* hand back a finished transfer first */
		for (size_t i = 0; i < m->n; i++) {
			struct http_async *a = m->items[i];
			if (a->state == 2) {
				m->items[i] = m->items[--m->n];
				return a;
			}
		}
		if (m->n == 0)
			return NULL;
		/* interrupted: nothing more starts; the caller asks interrupted() */
		if (interrupted())
			return NULL;
		/* start what may start: one rate budget for all transfers */
		int64_t now = monotonic_ms(), next_wake = now + 1000;
		for (size_t i = 0; i < m->n; i++) {
			struct http_async *a = m->items[i];
			if (a->state != 0)
				continue;
			if (a->not_before > now) {
				if (a->not_before < next_wake)
					next_wake = a->not_before;
				continue;
			}
			if (c->next_slot_ms > now) {
				if (c->next_slot_ms < next_wake)
					next_wake = c->next_slot_ms;
				break;
			}
			c->next_slot_ms = now + interval;
			async_start(m, a);
			if (a->state == 2)
				break;
		}
		int running = 0;
		curl_multi_perform(m->multi, &running);
		CURLMsg *msg;
		int left;
		int finished = 0;
		while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (size_t i = 0; i < m->n; i++) {
				struct http_async *a = m->items[i];
				if (a->easy == msg->easy_handle && a->state == 1) {
					finished |= async_done(m, a, msg->data.result);
					break;
				}
			}
		}
		if (finished)
			continue;
		if (!wait)
			return NULL;
		now = monotonic_ms();
		int64_t timeout = next_wake - now;
		if (timeout < 0)
			timeout = 0;
		if (timeout > 1000)
			timeout = 1000;
		curl_multi_poll(m->multi, NULL, 0, (int)timeout, NULL);
	}
}
