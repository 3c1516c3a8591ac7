/*  cmd_keygen - `zmpool keygen NAME`: a CURVE key pair for a broker, a
    worker or a client
*/
#include "cli.h"

#include "zmp_curve.h"
#include "zmp_error.h"

#include <getopt.h>
#include <stdio.h>

static const char *s_usage =
    "Usage: zmpool keygen [OPTION]... NAME\n"
    "Write a new CURVE key pair: DIR/NAME.key, the public key, to copy\n"
    "where it is needed, and DIR/NAME.key_secret, the secret key, readable\n"
    "by its owner only. Existing files are never replaced.\n"
    "\n"
    "  -r, --role ROLE         client, worker or broker (default client): a\n"
    "                          broker lets a key in only in its role\n"
    "  -d, --dir DIR           where to write the files (default: .)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example, on the broker's host and then each worker's:\n"
    "  zmpool keygen --role broker --dir /etc/zmpool broker\n"
    "  zmpool keygen --role worker --dir /etc/zmpool node1\n"
    "  cp /etc/zmpool/node1.key BROKER:/etc/zmpool/keys/   # let it in\n";

int
cli_keygen (int argc, char **argv)
{
    static const struct option options[] = {
        { "role", required_argument, NULL, 'r' },
        { "dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *role = "client", *dir = ".";
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, ":r:d:h", options, NULL)) != -1) {
        switch (option) {
            case 'r':
                role = optarg;
                break;
            case 'd':
                dir = optarg;
                break;
            case 'h':
                fputs (s_usage, stdout);
                return ZMP_EXIT_OK;
            default:
                return cli_option_error ("keygen", option, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error ("keygen", optind < argc
                                              ? "takes one NAME"
                                              : "a NAME for the key pair");
    zmp_error_t error;
    if (zmp_curve_keygen (dir, argv[optind], role, &error))
        return error.kind == ZMP_ERR_USAGE
                   ? cli_usage_error ("keygen", "%s", error.message)
                   : cli_fail ("keygen", "%s", error.message);
    printf ("%s/%s.key\n%s/%s.key_secret\n", dir, argv[optind], dir,
            argv[optind]);
    return ZMP_EXIT_OK;
}
