/*  zmp_testkit - start and stop real zmpool processes from tests

    Every process a test starts is recorded by its PID, dies with the test
    process (PR_SET_PDEATHSIG), and is stopped by testkit_stop: SIGTERM, a
    bounded wait, then SIGKILL. Deadlines stretch by the factor in
    $ZMP_TEST_TIMEOUT_FACTOR (sanitizer and valgrind runs set it). With
    $ZMP_TEST_VALGRIND set, zmpool runs under valgrind memcheck, which
    makes it exit 9 on an error or a leak.
*/
#ifndef ZMP_TESTKIT_H_INCLUDED
#define ZMP_TESTKIT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

//  ms, stretched by $ZMP_TEST_TIMEOUT_FACTOR.
int testkit_ms (int ms);

//  Start `zmpool broker` on tcp://127.0.0.1:* (plus extra arguments, a
//  NULL-terminated list or NULL) and wait for it to bind. Writes the bound
//  endpoint into endpoint. Returns its pid, or -1.
pid_t testkit_broker_start (char *endpoint, size_t size,
                            const char *const *extra);

//  Start `zmpool worker` for endpoint with processes children (plus extra
//  arguments) and wait until the broker has registered it. Returns its
//  pid, or -1.
pid_t testkit_worker_start (const char *endpoint, int processes,
                            const char *const *extra);

//  Start `zmpool ARGS...` (argv without "zmpool", NULL-terminated), its
//  stdin and stdout /dev/null and its stderr ours, without waiting for it.
//  Returns its pid (stop it with testkit_stop), or -1.
pid_t testkit_spawn (const char *const *args);

//  Stop a process the kit started and reap it. Returns its wait status,
//  or -1 if it was not running. Does nothing for pid <= 0.
int testkit_stop (pid_t pid);

//  Stop a broker or worker and return 0 if it exited with status 0 (a
//  sanitizer's leak report or a crash at shutdown gives another), else -1
//  with what happened on stderr. For a fixture's teardown.
int testkit_stop_cleanly (pid_t pid);

//  Run `zmpool ARGS...` (argv without "zmpool", NULL-terminated) with
//  stdin_text (or /dev/null), capture stdout and stderr into new strings
//  the caller frees, and wait up to timeout_ms. Returns the exit status,
//  or -1 if it timed out (it is killed) or could not start.
int testkit_run (const char *const *args, const char *stdin_text, char **out,
                 char **err, int timeout_ms);

//  The same for any program (zmpool if NULL): argv[0] is program, args
//  follow.
int testkit_run_program (const char *program, const char *const *args,
                         const char *stdin_text, char **out, char **err,
                         int timeout_ms);

//  A loopback endpoint with a port below the ephemeral range (20000 +
//  pid-derived): for a broker that a test restarts on the same endpoint,
//  where a wildcard port could be taken in between by another test's
//  broker or connection. Written into endpoint, which is returned.
const char *testkit_fixed_endpoint (char *endpoint, size_t size);

//  Set (or with NULL, unset) an environment variable for the processes
//  the kit starts from now on.
void testkit_setenv (const char *name, const char *value);

#endif
