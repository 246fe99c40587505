/*
 * fuzz.h - what every tests/fuzz/fuzz_<name>.c provides (libFuzzer's entry
 * points), and the one check the targets share. The same sources build as
 * libFuzzer targets (make fuzz, clang) and as replay programs over a corpus
 * (tests/fuzz/replay_main.c, make check, gcc).
 */
#ifndef REFSYNC_FUZZ_H
#define REFSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* One input. Always returns 0 (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Once, before the first input (only in targets that need set-up). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A property the code under test promises was broken: report it and abort,
 * so that libFuzzer saves the input and the replay fails.
 */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
