/*
 * util.h - the basics every refsync program shares, in one include: the exit
 * codes (exit_codes.h), the clock and times (clock.h), buffers, allocation
 * and strings (buf.h), files and the process (files.h). The four include
 * nothing of refsync's but each other's headers, never util.h.
 */
#ifndef REFSYNC_UTIL_H
#define REFSYNC_UTIL_H

#include "buf.h"
#include "clock.h"
#include "exit_codes.h"
#include "files.h"

#endif
