/* hg_error: messages and names for the HG_E* table. */
#include "hg_error.h"

const char *hg_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define HG_ERR_MSG(name, value, msg)                                                               \
    case value:                                                                                    \
        return msg;
        HG_ERRNO_MAP(HG_ERR_MSG)
#undef HG_ERR_MSG
    }
    return "unknown error";
}

const char *hg_err_name(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define HG_ERR_NAME(name, value, msg)                                                              \
    case value:                                                                                    \
        return #name;
        HG_ERRNO_MAP(HG_ERR_NAME)
#undef HG_ERR_NAME
    }
    return "EUNKNOWNCODE";
}
