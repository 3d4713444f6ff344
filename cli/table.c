/* table: aligned text tables for people (see table.h). */
#include "table.h"
#include "hg_error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define S_COLUMN_GAP 3 /* spaces between columns */

struct hg_table {
    size_t ncols;  /* columns per row */
    char **cells;  /* header row then data rows, row-major, ncols per row */
    size_t rows;   /* rows stored, header included */
    size_t cap;    /* rows the cells array can hold */
    size_t *width; /* display width of each column */
};

size_t hg_table_text_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if ((*p & 0xC0) != 0x80) /* count lead bytes, not continuation bytes */
            width++;
    return width;
}

/* Copy a cell, turning control characters (newlines in an error text, say)
 * into spaces so that one row stays one line. */
static char *s_cell_dup(const char *text, int upper)
{
    if (!text || !*text) /* an empty cell would leave a hole in the column */
        text = "-";
    char *copy = strdup(text);
    if (!copy) return NULL;
    for (unsigned char *p = (unsigned char *) copy; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            *p = ' ';
        else if (upper)
            *p = (unsigned char) toupper(*p);
    }
    return copy;
}

static int s_append(hg_table_t *table, const char *const *cells, int upper)
{
    if (table->rows == table->cap) {
        size_t cap = table->cap ? table->cap * 2 : 16;
        char **grown = realloc(table->cells, cap * table->ncols * sizeof *grown);
        if (!grown) return HG_ENOMEM;
        table->cells = grown;
        table->cap = cap;
    }
    char **row = table->cells + table->rows * table->ncols;
    for (size_t c = 0; c < table->ncols; c++) {
        row[c] = s_cell_dup(cells[c], upper);
        if (!row[c]) {
            while (c > 0)
                free(row[--c]);
            return HG_ENOMEM;
        }
    }
    for (size_t c = 0; c < table->ncols; c++) {
        size_t w = hg_table_text_width(row[c]);
        if (w > table->width[c]) table->width[c] = w;
    }
    table->rows++;
    return 0;
}

hg_table_t *hg_table_new(const char *const *headers, size_t ncols)
{
    hg_table_t *table = calloc(1, sizeof *table);
    if (!table) return NULL;
    table->ncols = ncols;
    table->width = calloc(ncols ? ncols : 1, sizeof *table->width);
    if (!table->width || s_append(table, headers, 1) != 0) hg_table_destroy(&table);
    return table;
}

void hg_table_destroy(hg_table_t **table)
{
    if (!table || !*table) return;
    hg_table_t *t = *table;
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->width);
    free(t);
    *table = NULL;
}

int hg_table_add_row(hg_table_t *table, const char *const *cells)
{
    return s_append(table, cells, 0);
}

size_t hg_table_rows(const hg_table_t *table)
{
    return table->rows - 1;
}

void hg_table_print(const hg_table_t *table, FILE *out)
{
    for (size_t r = 0; r < table->rows; r++) {
        char **row = table->cells + r * table->ncols;
        for (size_t c = 0; c < table->ncols; c++) {
            fputs(row[c], out);
            if (c + 1 < table->ncols) {
                size_t pad = table->width[c] - hg_table_text_width(row[c]) + S_COLUMN_GAP;
                fprintf(out, "%*s", (int) pad, "");
            }
        }
        fputc('\n', out);
    }
}
