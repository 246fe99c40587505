/*
 * mail_address.c - the addresses of the follow-up prompt: is a string a
 * plausible bare address, and the address of a "Name <addr>" From.
 */
#include "mail.h"

#include <string.h>

/* 1 when s (n bytes) looks like local@domain; see mail.h. */
int mail_address_plausible(const char *s, size_t n)
{
	const char *at = NULL;
	if (n == 0 || n > MAIL_ADDRESS_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7F || strchr("<>()[],;:\\\"", c))
			return 0;
		if (c == '@') {
			if (at)
				return 0;
			at = s + i;
		}
	}
	if (!at || at == s || at == s + n - 1)
		return 0;
	const char *domain = at + 1, *end = s + n;
	if (*domain == '.' || end[-1] == '.')
		return 0;
	for (const char *d = domain; d + 1 < end; d++)
		if (d[0] == '.' && d[1] == '.')
			return 0;
	return 1;
}

/*
 * 1 when the text from s to end (before the '<' of an address) can be a
 * display name: empty, a quoted string, or words without '<', '>' or '"'.
 */
static int display_name_plausible(const char *s, const char *end)
{
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (s == end)
		return 1;
	if (*s == '"') {
		if (end - s < 2 || end[-1] != '"')
			return 0;
		const char *p = s + 1;
		while (p < end - 1) {
			if (*p == '"')
				return 0;
			p += *p == '\\' ? 2 : 1;
		}
		/* p passed the closing quote when a backslash escaped it */
		return p == end - 1;
	}
	for (const char *p = s; p < end; p++)
		if (*p == '<' || *p == '>' || *p == '"')
			return 0;
	return 1;
}

int mail_address_of(const char *from, char *out, size_t outlen)
{
	if (out && outlen > 0)
		out[0] = '\0';
	if (!from || !out || outlen == 0)
		return -1;
	const char *start = from, *end = from + strlen(from);
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	const char *lt = NULL;
	for (const char *p = start; p < end; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -1; /* CR, LF and other controls: never part of a mailbox */
		if (*p == '<')
			lt = p;
	}
	if (lt) {
		if (end[-1] != '>' || !display_name_plausible(start, lt))
			return -1;
		start = lt + 1;
		end--;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
	}
	size_t n = (size_t)(end - start);
	if (!mail_address_plausible(start, n) || n >= outlen)
		return -1;
	memcpy(out, start, n);
	out[n] = '\0';
	return 0;
}
