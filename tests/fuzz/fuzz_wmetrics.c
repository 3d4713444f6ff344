/* fuzz_wmetrics: the request heads the worker's metrics exporter reads
 * (worker/worker_metrics.c, hg_worker_metrics_feed) from whoever connects
 * to metrics.bind: no token guards that port, so anything may come, in
 * any pieces.
 *
 * Input: the first byte picks the size of the pieces (1..32 bytes), the
 * rest is what the peer sends. Promises: the head never outgrows its
 * buffer, stays NUL-terminated, and only a complete head that starts with
 * "GET /metrics" is answered with the figures. */
#include "fuzz_common.h"
#include "worker_metrics.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t piece = (size_t) (data[0] % 32) + 1;
    data++;
    size--;
    static hg_wm_request_t req;
    memset(&req, 0, sizeof req);
    hg_wm_ask_t ask = HG_WM_MORE;
    for (size_t off = 0; off < size && ask == HG_WM_MORE; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        ask = hg_worker_metrics_feed(&req, data + off, n);
        FUZZ_CHECK(req.len < sizeof req.head);
        FUZZ_CHECK(req.head[req.len] == '\0');
    }
    FUZZ_CHECK(ask == HG_WM_MORE || ask == HG_WM_METRICS || ask == HG_WM_NOT_FOUND ||
               ask == HG_WM_TOO_LARGE);
    if (ask == HG_WM_METRICS) FUZZ_CHECK(strncmp(req.head, "GET /metrics", 12) == 0);
    return 0;
}
