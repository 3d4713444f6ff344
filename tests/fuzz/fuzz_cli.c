/* fuzz_cli: the `hourglass` command line, hg_cli_main (cli/cli.c) with its
 * argument parser (cli/args.c) and every command's flag handling.
 *
 * Input: one command line, one argument per line, without the program
 * name ("job\ncreate\nnightly\n--schedule\n0 3 * * *"). The master is a
 * stand-in that cannot be reached (fuzz_cli_client.c), so a command runs
 * up to its first call. `plugin push` is left out: it loads the file it
 * is given, and the fuzzer must not choose what gets loaded. Beyond "no
 * crash": the exit code is one of the three documented ones. Every call
 * to the stand-in is also a Ctrl-C, so that `runs --follow` ends after
 * its first poll; outside such a command the signal is ignored here. */
#include "cli.h"
#include "fuzz_common.h"

#include <signal.h>
#include <string.h>

#define S_MAX_ARGS 64

static FILE *s_null;

static void s_on_sigint(int sig)
{
    (void) sig;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    s_null = fopen("/dev/null", "w");
    FUZZ_CHECK(s_null != NULL);
    struct sigaction sa = {0};
    sa.sa_handler = s_on_sigint;
    FUZZ_CHECK(sigaction(SIGINT, &sa, NULL) == 0);
    /* The environment is part of the CLI's input; fix it. */
    unsetenv("HOURGLASS_MASTER");
    unsetenv("HOURGLASS_TOKEN");
    unsetenv("HOME");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_null) LLVMFuzzerInitialize(NULL, NULL);
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[S_MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "hourglass";
    char *p = text;
    bool push = false;
    while (argc <= S_MAX_ARGS) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        if (strcmp(p, "push") == 0) push = true;
        argv[argc++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    argv[argc] = NULL;
    if (!push && (size > 0 || argc > 1)) {
        int rc = hg_cli_main(argc, argv, s_null, s_null);
        FUZZ_CHECK(rc == HG_EXIT_OK || rc == HG_EXIT_FAIL || rc == HG_EXIT_USAGE);
    }
    free(text);
    return 0;
}
