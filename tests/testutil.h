/*
 * testutil.h - helpers for the cmocka unit tests: locating ../shared/testdata
 * (or $HEARTH_TESTDATA) and skipping, with a message, when it is absent.
 */
#ifndef HEARTH_TESTUTIL_H
#define HEARTH_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Returns the testdata directory, or NULL if it does not exist. */
static inline const char *tu_testdata(void)
{
	static char dir[4096];
	const char *env = getenv("HEARTH_TESTDATA");
	struct stat st;
	int n = snprintf(dir, sizeof dir, "%s", env && env[0] ? env : "../shared/testdata");
	if (n < 0 || (size_t)n >= sizeof dir)
		return NULL;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return dir;
}

/* Builds "<testdata>/<rel>" into buf; returns NULL (after printing a skip note)
 * when testdata is absent. */
static inline const char *tu_path(char *buf, size_t len, const char *rel)
{
	const char *d = tu_testdata();
	if (!d)
		return NULL;
	size_t dl = strlen(d), rl = strlen(rel);
	if (dl + 1 + rl + 1 > len)
		return NULL;
	memcpy(buf, d, dl);
	buf[dl] = '/';
	memcpy(buf + dl + 1, rel, rl + 1);
	return buf;
}

/* Skips the current test when testdata is missing. */
#define TU_REQUIRE_TESTDATA()                                                                  \
	do {                                                                                   \
		if (!tu_testdata()) {                                                          \
			print_message("testdata not found (../shared/testdata or $HEARTH_TESTDATA): skipped\n"); \
			skip();                                                                \
		}                                                                              \
	} while (0)

#endif
