/* fuzz_page: the cursor and the name prefix of the keyset job pages
 * (master/job_page.c), read from the query string of any viewer.
 *
 * Input: the bytes up to the first NUL (or all of them) as the text. Beyond
 * "no crash": a cursor that parses gives two valid identifiers that join
 * back into the text; a LIKE pattern that is built ends in one unescaped
 * "%" and unescapes back to the prefix, with no unescaped wildcard in it. */
#include "fuzz_common.h"
#include "job_page.h"

#include <string.h>

static void s_cursor(const char *text)
{
    char ns[HG_JOB_PAGE_NS_MAX + 1], name[HG_JOB_PAGE_NAME_MAX + 1], joined[300];
    if (hg_job_page_cursor_parse(text, ns, sizeof ns, name, sizeof name) != 0) return;
    FUZZ_CHECK(hg_job_page_ident(ns, HG_JOB_PAGE_NS_MAX));
    FUZZ_CHECK(hg_job_page_ident(name, HG_JOB_PAGE_NAME_MAX));
    snprintf(joined, sizeof joined, "%s/%s", ns, name);
    FUZZ_CHECK(strcmp(joined, text) == 0);
}

static void s_like(const char *prefix)
{
    char like[400], back[400];
    /* Small buffers too: a pattern that does not fit is refused, never cut. */
    size_t sizes[] = {sizeof like, 1 + strlen(prefix) % 16, 2 * strlen(prefix) + 2};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        if (sizes[k] > sizeof like || hg_job_page_like(prefix, like, sizes[k]) != 0) continue;
        size_t n = strlen(like), m = 0;
        FUZZ_CHECK(n >= 1 && n < sizes[k] && like[n - 1] == '%');
        for (size_t i = 0; i + 1 < n; i++) {
            FUZZ_CHECK(like[i] != '%' && like[i] != '_'); /* wildcards only escaped */
            if (like[i] == '\\') i++;
            FUZZ_CHECK(i + 1 < n);
            back[m++] = like[i];
        }
        back[m] = '\0';
        FUZZ_CHECK(strcmp(back, prefix) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[512];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    s_cursor(text);
    if (strlen(text) < 190) s_like(text);
    return 0;
}
