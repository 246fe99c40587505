/*
 * sign.c - Ed25519 signing and verification of export heads with OpenSSL's
 * EVP interface. See sign.h.
 */
#include "sign.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The key id of an Ed25519 key into k->keyid. 0 or -1. */
static int key_id(struct sign_key *k)
{
	unsigned char raw[32], md[32];
	size_t len = sizeof raw;
	unsigned int mdlen = 0;
	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 || len != sizeof raw ||
	    EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	for (int i = 0; i < 8; i++)
		snprintf(k->keyid + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int sign_load_private(const char *pem, struct sign_key *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *p = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!p || !EVP_PKEY_is_a(p, "ED25519")) {
		EVP_PKEY_free(p);
		snprintf(err, errlen, "not an Ed25519 private key in PEM form (make one with refsync-export --keygen)");
		return -1;
	}
	k->pkey = p;
	if (key_id(k)) {
		sign_key_free(k);
		snprintf(err, errlen, "cannot derive the public key");
		return -1;
	}
	return 0;
}

int sign_load_public(const char *path, struct sign_key *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open the public key: %s", path, strerror(errno));
		return -1;
	}
	EVP_PKEY *p = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!p || !EVP_PKEY_is_a(p, "ED25519")) {
		EVP_PKEY_free(p);
		snprintf(err, errlen, "%s: not an Ed25519 public key in PEM form (BEGIN PUBLIC KEY)", path);
		return -1;
	}
	k->pkey = p;
	if (key_id(k)) {
		sign_key_free(k);
		snprintf(err, errlen, "%s: cannot read the public key", path);
		return -1;
	}
	return 0;
}

void sign_key_free(struct sign_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

int sign_message(const struct sign_key *k, const char *msg, size_t len, char b64[SIGN_B64_MAX])
{
	unsigned char sig[64];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		 EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, len) == 1 && siglen == 64;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)b64, sig, 64); /* 88 characters and a NUL */
	return 0;
}

/* Decode 88 characters of base64 into a 64-byte signature. 0 or -1. */
static int decode_signature(const char *b64, unsigned char sig[64])
{
	unsigned char raw[68];
	if (strlen(b64) != 88 || strcmp(b64 + 86, "==") != 0)
		return -1;
	for (int i = 0; i < 86; i++) {
		char c = b64[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		      c == '/'))
			return -1;
	}
	if (EVP_DecodeBlock(raw, (const unsigned char *)b64, 88) != 66)
		return -1;
	memcpy(sig, raw, 64);
	return 0;
}

int sign_verify(const struct sign_key *k, const char *msg, size_t len, const char *b64)
{
	unsigned char sig[64];
	if (decode_signature(b64, sig))
		return 1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		 EVP_DigestVerify(ctx, sig, sizeof sig, (const unsigned char *)msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : 1;
}

/* PEM of p (private when priv) as a malloc'd string, or NULL. */
static char *pem_of(EVP_PKEY *p, int priv)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return NULL;
	int ok = priv ? PEM_write_bio_PrivateKey(b, p, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_PUBKEY(b, p);
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);
	char *s = ok && n > 0 ? xstrndup(data, (size_t)n) : NULL;
	BIO_free(b);
	return s;
}

int sign_keygen(const char *path, char **pub, char keyid[SIGN_KEYID_HEX], char *err, size_t errlen)
{
	*pub = NULL;
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *priv = p ? pem_of(p, 1) : NULL;
	struct sign_key k = { p, "" };
	if (!priv || key_id(&k)) {
		snprintf(err, errlen, "cannot make an Ed25519 key");
		goto fail;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create the signing key: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (a key is there already: refsync-export never replaces one)" : "");
		goto fail;
	}
	size_t len = strlen(priv);
	int bad = write_all(fd, priv, len) != 0 || fsync(fd) != 0;
	int e = errno;
	if (close(fd) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(path);
		snprintf(err, errlen, "%s: cannot write the signing key: %s", path, strerror(e));
		goto fail;
	}
	*pub = pem_of(p, 0);
	if (!*pub) {
		snprintf(err, errlen, "cannot write the public key");
		goto fail;
	}
	memcpy(keyid, k.keyid, SIGN_KEYID_HEX);
	OPENSSL_cleanse(priv, len);
	free(priv);
	EVP_PKEY_free(p);
	return 0;
fail:
	if (priv) {
		OPENSSL_cleanse(priv, strlen(priv));
		free(priv);
	}
	EVP_PKEY_free(p);
	return -1;
}
