/*
 * mail.h - the follow-up prompt: one plain-text email to a candidate's
 * owner asking whether the candidate was hired, composed as an RFC 5322
 * message and delivered over SMTP with libcurl.
 *
 * A prompt left in doubt after a crash is sent again with the same
 * Message-ID (and Date), so mail systems that deduplicate on it show it
 * once: mail_compose_prompt is a pure function of its arguments.
 */
#ifndef REFSYNC_MAIL_H
#define REFSYNC_MAIL_H

#include <stddef.h>
#include <stdint.h>

/* The longest address mail_address_of accepts (RFC 5321 path limit). */
#define MAIL_ADDRESS_MAX 254

/*
 * What one prompt says. Every string is UTF-8 (an invalid byte is shown as
 * U+FFFD); any CR or LF in any of them is replaced by a space before use, so
 * no input can add a header or a line. NULL reads as "".
 */
struct mail_prompt {
	const char *request_id;      /* named in the closing line */
	const char *to_name, *to_email;
	const char *candidate_name;
	const char *job_title;       /* may be NULL: the Job line is left out */
	const char *report_url;
	const char *answer_link;     /* from answer_link_build() */
	int64_t expires_at_ms;       /* when answer_link expires */
	const char *message_id;      /* without <>; the header is left out when empty */
	int64_t date_ms;             /* the Date header */
};

/*
 * Compose the whole message (CRLF line ends, headers then a blank line then
 * the body) into a malloc'd string owned by the caller.
 *
 * Headers, in this order: From (from, "Name <addr>" or "addr", as
 * configured), To ("Name <to_email>"), Subject ("Was <candidate> hired?"),
 * Date (RFC 5322, UTC, from date_ms), Message-ID (<message_id>),
 * MIME-Version, Content-Type (text/plain; charset=UTF-8),
 * Content-Transfer-Encoding (quoted-printable), Auto-Submitted
 * (auto-generated). A display name is an atom sequence when it is plain
 * ASCII, a quoted string when it also holds RFC 5322 specials (","), and
 * RFC 2047 B encoded-words (=?UTF-8?B?...?=, at most 75 characters each)
 * otherwise; the candidate's name in Subject likewise. Header lines are
 * folded to at most 78 characters (only an address longer than that can
 * exceed it).
 *
 * The body (UTF-8, quoted-printable, lines of at most 76 characters) names
 * the candidate, the job, the report link, asks "Was <candidate> hired?
 * Answer here: <answer_link>", gives the link's expiry, and says that the
 * link only opens a page and nothing changes until a button is pressed.
 *
 * Remote text never reaches a header raw: control characters become spaces,
 * names are encoded (RFC 2047) when not plain, the Message-ID is written
 * with %XX for anything that is not atext.
 *
 * Returns NULL when memory runs out, p is NULL, or the recipient address
 * is not plausible (see mail_address_of): refused, never mangled.
 */
char *mail_compose_prompt(const char *from, const struct mail_prompt *p);

/*
 * Copy the bare address of from ("Name <addr>", "\"Name\" <addr>", "<addr>"
 * or "addr") into out. Returns 0, or -1 (out set to "" when outlen > 0) when
 * there is no plausible address (exactly one '@' with text on both sides,
 * printable ASCII without spaces or RFC 5322 specials, a domain without
 * empty labels, at most MAIL_ADDRESS_MAX bytes) or it does not fit outlen.
 */
int mail_address_of(const char *from, char *out, size_t outlen);

/* 1 when s (n bytes) is a plausible bare address by the rules above, else 0. */
int mail_address_plausible(const char *s, size_t n);

/*
 * Send message (as composed above, CRLF line ends) to one recipient over
 * SMTP with libcurl, one connection per call. mail_from and rcpt are bare
 * addresses (a "Name <addr>" form is reduced by mail_address_of).
 *
 * smtp_url: smtp://host[:port][/ehlo-name] or smtps://...; it must not
 * carry a user or password (those come from user and password, which are
 * NULL or "" when the relay needs no AUTH).
 * TLS policy:
 *   smtps://                  implicit TLS (port 465 by default);
 *   smtp:// to a loopback host (127.0.0.0/8 as a dotted quad, localhost,
 *                             [::1]): no TLS at all (a local relay or test sink);
 *   smtp:// to any other host: STARTTLS is REQUIRED (CURLUSESSL_ALL): a relay
 *                             that does not offer it gets no AUTH and no mail.
 * Certificates and host names are always verified. Timeouts: 10 s to
 * connect, 60 s in all, and abort when under 1 byte/s for 30 s.
 *
 * Returns 0 when the relay accepted the message (250 after DATA). On failure
 * returns -1 with a one-line message in err naming the server (scheme, host
 * and port), the SMTP step (connect, greeting, EHLO, STARTTLS, AUTH,
 * MAIL FROM, RCPT TO, DATA, end of data) and the server's reply or curl's
 * error; it never contains the password. *permanent is set to 1 when the
 * recipient was refused for good (a 5xx reply to RCPT TO, or rcpt is not a
 * plausible address) so that retrying is pointless, else 0. permanent may
 * be NULL.
 */
int mail_send(const char *smtp_url, const char *user, const char *password, const char *mail_from,
	      const char *rcpt, const char *message, int *permanent, char *err, size_t errlen);

#endif
