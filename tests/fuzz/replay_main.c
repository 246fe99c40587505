/*
 * replay_main.c - runs a fuzz target without libFuzzer: every regular file
 * of the directories (or the files) named on the command line is passed to
 * LLVMFuzzerTestOneInput once, in name order. make check builds each
 * tests/fuzz/fuzz_<name>.c with this file under gcc's ASan+UBSan and replays
 * the seed corpus and the regression inputs, so that an input that once
 * crashed keeps being tried.
 *
 *   build/asan/fuzz/<name> DIR|FILE ...
 *
 * A missing directory is skipped (a target may have no regressions yet).
 * Prints "N inputs" and exits 0 when every input ran; a sanitizer report or
 * a failed check inside the target ends the process with a non-0 status.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* optional in a target, as with libFuzzer */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The inputs are at most this large (make fuzz runs with -max_len=65536;
 * regression inputs found by libFuzzer obey the same bound). */
#define INPUT_MAX (1024 * 1024)

/* Read path and run the target on it. Returns 0, or -1 when unreadable. */
static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* an exact-size copy, so that ASan sees any read past the input */
	uint8_t *data = malloc(INPUT_MAX);
	size_t n = data ? fread(data, 1, INPUT_MAX, fp) : 0;
	int err = !data || ferror(fp) || !feof(fp);
	fclose(fp);
	if (err) {
		fprintf(stderr, "replay: %s: unreadable or larger than %d bytes\n", path, INPUT_MAX);
		free(data);
		return -1;
	}
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(data);
		return -1;
	}
	memcpy(exact, data, n);
	free(data);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of dir in name order; adds to *count.
 * Returns 0, or -1 when an input could not be read. */
static int replay_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **grown = realloc(names, cap * sizeof *names);
			if (!grown)
				abort();
			names = grown;
		}
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		names[n] = malloc(len);
		if (!names[n])
			abort();
		snprintf(names[n++], len, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, compare_names);
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(names[i]))
				ret = -1;
			else
				++*count;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	int count = 0, failed = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE ...\n", argv[0]);
		return 64;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(argv[i]))
				failed = 1;
			else
				count++;
		} else if (replay_dir(argv[i], &count)) {
			failed = 1;
		}
	}
	printf("%d inputs\n", count);
	return failed ? 1 : 0;
}
