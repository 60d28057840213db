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
	if (env && env[0]) {
		snprintf(dir, sizeof dir, "%s", env);
	} else {
		snprintf(dir, sizeof dir, "../shared/testdata");
	}
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
	snprintf(buf, len, "%s/%s", d, rel);
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
