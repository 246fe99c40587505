/*
 * records.h - the old name of lever_parse.h, kept only while
 * crosschq_store.c (being edited on another branch) still includes it.
 * Remove it when that include reads "lever_parse.h".
 */
#include "lever_parse.h"
