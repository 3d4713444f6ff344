/* table: aligned text tables for people. Columns are as wide as their
 * widest cell, headers are printed in capitals, cells are separated by
 * three spaces and no line carries trailing blanks. */
#ifndef HG_CLI_TABLE_H
#define HG_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

typedef struct hg_table hg_table_t;

/* headers[ncols] are copied (and upper-cased). NULL on allocation failure. */
hg_table_t *hg_table_new(const char *const *headers, size_t ncols);

/* Idempotent; NULLs the caller's pointer. */
void hg_table_destroy(hg_table_t **table);

/* Append a row of ncols cells; cells are copied, a NULL or empty cell prints "-".
 * 0 or HG_ENOMEM. */
int hg_table_add_row(hg_table_t *table, const char *const *cells);

size_t hg_table_rows(const hg_table_t *table);

/* Print header and rows. */
void hg_table_print(const hg_table_t *table, FILE *out);

/* Display width of a UTF-8 string, counted in code points (good enough for
 * the names and URLs a table holds; wide CJK glyphs are not special-cased). */
size_t hg_table_text_width(const char *text);

#endif
