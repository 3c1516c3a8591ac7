/*  run_example - run one seed example against a real cluster and check
    what it prints

        run_example EXAMPLE EXPECTED [PROCESSES]

    Starts a broker and a worker agent (PROCESSES task processes, default
    4) that loads the seeds' module, runs EXAMPLE with $ZMPOOL_BROKER
    naming the broker, and compares its stdout with EXPECTED: one POSIX
    extended regular expression per line, matched against the whole
    output line; "@any N" says the next N lines may come in any order (as
    the output of processes running at once does); lines starting with '#'
    are comments. The example must exit 0 and the cluster stop cleanly.
    Exit status 0 when all is as expected; else 1, with what differed.
*/
#include "zmp_testkit.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINES_MAX 512

typedef struct {
    char *items[LINES_MAX];
    size_t count;
} lines_t;

//  Split text into lines (text is changed; items point into it)
static void
s_split (char *text, lines_t *lines)
{
    lines->count = 0;
    char *cursor = text;
    while (*cursor && lines->count < LINES_MAX) {
        char *end = strchr (cursor, '\n');
        lines->items[lines->count++] = cursor;
        if (!end)
            break;
        *end = 0;
        cursor = end + 1;
    }
}

static bool
s_matches (const char *pattern, const char *line)
{
    char anchored[1024];
    snprintf (anchored, sizeof anchored, "^(%s)$", pattern);
    regex_t regex;
    if (regcomp (&regex, anchored, REG_EXTENDED | REG_NOSUB)) {
        fprintf (stderr, "run_example: bad pattern '%s'\n", pattern);
        return false;
    }
    bool match = regexec (&regex, line, 0, NULL, 0) == 0;
    regfree (&regex);
    return match;
}

//  Check output lines against expected patterns. Returns 0 or -1 (said).
static int
s_compare (lines_t *patterns, lines_t *output)
{
    size_t line = 0;
    for (size_t index = 0; index < patterns->count; index++) {
        const char *pattern = patterns->items[index];
        if (pattern[0] == '#' || pattern[0] == 0)
            continue;
        size_t group = 1;
        if (strncmp (pattern, "@any ", 5) == 0) {
            group = (size_t) atoi (pattern + 5);
            index++;
        }
        if (index + group > patterns->count) {
            fprintf (stderr, "run_example: @any %zu runs past the end\n",
                     group);
            return -1;
        }
        //  Each of the next group lines matches one pattern not yet used
        bool used[LINES_MAX] = { false };
        for (size_t taken = 0; taken < group; taken++, line++) {
            if (line >= output->count) {
                fprintf (stderr,
                         "run_example: output ends before line %zu, "
                         "expected /%s/\n",
                         line + 1, patterns->items[index]);
                return -1;
            }
            bool found = false;
            for (size_t which = 0; which < group && !found; which++)
                if (!used[which]
                    && s_matches (patterns->items[index + which],
                                  output->items[line]))
                    used[which] = found = true;
            if (!found) {
                fprintf (stderr,
                         "run_example: line %zu '%s' is not what was "
                         "expected (/%s/%s)\n",
                         line + 1, output->items[line], patterns->items[index],
                         group > 1 ? " or another of its group" : "");
                return -1;
            }
        }
        index += group - 1;
    }
    if (line < output->count) {
        fprintf (stderr, "run_example: unexpected line %zu '%s'\n", line + 1,
                 output->items[line]);
        return -1;
    }
    return 0;
}

static char *
s_read_file (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    char *text = (char *) calloc (1, 64 * 1024);
    size_t size = fread (text, 1, 64 * 1024 - 1, file);
    text[size] = 0;
    fclose (file);
    return text;
}

int
main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: run_example EXAMPLE EXPECTED [PROCESSES]\n");
        return 2;
    }
    char *expected = s_read_file (argv[2]);
    if (!expected) {
        fprintf (stderr, "run_example: cannot read %s\n", argv[2]);
        return 1;
    }
    int processes = argc > 3 ? atoi (argv[3]) : 4;
    char endpoint[256];
    const char *quiet[] = { "--quiet", NULL };
    pid_t broker = testkit_broker_start (endpoint, sizeof endpoint, quiet);
    const char *worker_args[] = { "--quiet", "--module", ZMP_SEEDS_MODULE,
                                  NULL };
    pid_t worker = broker > 0
                       ? testkit_worker_start (endpoint, processes, worker_args)
                       : -1;
    int rc = 1;
    if (worker > 0) {
        testkit_setenv ("ZMPOOL_BROKER", endpoint);
        const char *no_args[] = { NULL };
        char *out = NULL, *err = NULL;
        int status = testkit_run_program (argv[1], no_args, NULL, &out, &err,
                                          testkit_ms (120000));
        fputs (out, stdout);  //  For the test log
        fputs (err, stderr);
        lines_t patterns, output;
        s_split (expected, &patterns);
        s_split (out, &output);
        if (status != 0)
            fprintf (stderr, "run_example: %s exited with %d\n", argv[1],
                     status);
        else if (s_compare (&patterns, &output) == 0)
            rc = 0;
        free (out);
        free (err);
    } else
        fprintf (stderr, "run_example: the cluster did not start\n");
    if (testkit_stop_cleanly (worker) || testkit_stop_cleanly (broker))
        rc = 1;
    free (expected);
    return rc;
}
