/* main: the `hourglass` admin CLI; everything but process set-up is in
 * hg_cli_main (cli.c) so that tests can run commands in-process. */
#include "cli.h"

#include <curl/curl.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "hourglass: cannot initialise libcurl\n");
        return HG_EXIT_FAIL;
    }
    int rc = hg_cli_main(argc, argv, stdout, stderr);
    curl_global_cleanup();
    if (fflush(stdout) != 0 && rc == HG_EXIT_OK) {
        perror("hourglass: stdout");
        rc = HG_EXIT_FAIL;
    }
    return rc;
}
