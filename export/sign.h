/*
 * sign.h - the Ed25519 key that signs export heads (OpenSSL EVP): load the
 * private key from its PEM text, sign, load a public key file, verify, and
 * make a new key (refsync-export --keygen). A key is named by its key id:
 * the first 8 bytes of SHA-256 of the raw 32-byte public key, in hex.
 */
#ifndef REFSYNC_SIGN_H
#define REFSYNC_SIGN_H

#include <stddef.h>

#define SIGN_KEYID_HEX 17   /* 16 hex digits and a NUL */
#define SIGN_B64_MAX 100    /* base64 of a 64-byte signature (88) and a NUL */

struct sign_key {
	void *pkey;                  /* EVP_PKEY (owned) */
	char keyid[SIGN_KEYID_HEX];
};

/* Load an Ed25519 private key from PEM text (not logged, not copied).
 * 0, or -1 with a message in err that never holds the key. */
int sign_load_private(const char *pem, struct sign_key *k, char *err, size_t errlen);

/* Load an Ed25519 public key from a PEM file (as openssl pkey -pubout
 * writes it). 0, or -1 with a message in err. */
int sign_load_public(const char *path, struct sign_key *k, char *err, size_t errlen);

/* Free what k holds; a zeroed k is fine. */
void sign_key_free(struct sign_key *k);

/* Sign msg[0..len) into b64 (base64, NUL-terminated). 0 or -1. */
int sign_message(const struct sign_key *k, const char *msg, size_t len, char b64[SIGN_B64_MAX]);

/* 0 when b64 is a valid signature of msg by k, 1 when not. */
int sign_verify(const struct sign_key *k, const char *msg, size_t len, const char *b64);

/*
 * Make a new key: write the private key as PEM to path (created 0600,
 * never over an existing file), and its public key as PEM into pub (a
 * malloc'd string the caller frees), its id into keyid. 0, or -1 with a
 * message in err (73-class: the file exists or cannot be written).
 */
int sign_keygen(const char *path, char **pub, char keyid[SIGN_KEYID_HEX], char *err, size_t errlen);

#endif
