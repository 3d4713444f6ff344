#ifndef HG_STOP_H
#define HG_STOP_H

/* Stop signals: SIGINT and SIGTERM start a graceful stop, once.
 *
 * The daemons stop in order: actors are told $TERM and waited for. A
 * repeated signal used to interrupt that wait (EINTR), so zactor_destroy
 * freed an actor whose thread still ran and czmq's exit handler closed its
 * sockets under it: a use-after-free, then an abort. And czmq restores the
 * default disposition at exit, so a late repeat killed a process that had
 * stopped cleanly.
 *
 * hg_stop_signals_init (first thing in main) takes the two signals from
 * czmq: the handler sets zsys_interrupted as czmq's would, and czmq no
 * longer touches them. hg_stop_signals_hold (when the stop begins) ignores
 * further ones; the stop is bounded by its own timeouts (leave grace, store
 * write window) and SIGKILL still ends the process at once. */
void hg_stop_signals_init(void);
void hg_stop_signals_hold(void);

#endif
