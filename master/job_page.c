/* job_page: cursor and prefix of the keyset job pages (job_page.h). */
#include "job_page.h"
#include "hg_error.h"

#include <string.h>

bool hg_job_page_ident(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int hg_job_page_cursor_parse(const char *text, char *ns, size_t ns_size, char *name,
                             size_t name_size)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash || ns_size == 0 || name_size == 0) return HG_EINVAL;
    size_t ns_len = (size_t) (slash - text), name_len = strlen(slash + 1);
    if (ns_len >= ns_size || name_len >= name_size) return HG_EINVAL;
    memcpy(ns, text, ns_len);
    ns[ns_len] = '\0';
    memcpy(name, slash + 1, name_len + 1);
    if (!hg_job_page_ident(ns, HG_JOB_PAGE_NS_MAX) ||
        !hg_job_page_ident(name, HG_JOB_PAGE_NAME_MAX)) {
        ns[0] = name[0] = '\0';
        return HG_EINVAL;
    }
    return 0;
}

int hg_job_page_like(const char *prefix, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = prefix; p && *p; p++) {
        bool special = *p == '_' || *p == '%' || *p == '\\';
        if (n + (special ? 2 : 1) + 2 > size) return HG_EINVAL; /* room for "%" and NUL */
        if (special) out[n++] = '\\';
        out[n++] = *p;
    }
    if (n + 2 > size) return HG_EINVAL;
    out[n++] = '%';
    out[n] = '\0';
    return 0;
}
