#include "hg_stop.h"

#include <czmq.h>
#include <signal.h>
#include <string.h>

static void s_on_stop(int sig)
{
    (void) sig;
    zsys_interrupted = 1;
}

static void s_set(void (*handler)(int))
{
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
}

void hg_stop_signals_init(void)
{
    zsys_handler_set(NULL); /* czmq neither installs nor restores them */
    s_set(s_on_stop);
}

void hg_stop_signals_hold(void)
{
    s_set(SIG_IGN);
}
