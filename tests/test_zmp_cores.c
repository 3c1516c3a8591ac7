/*  test_zmp_cores - the cores a worker may use: affinity set and CPU quota

    A worker in a Slurm step or a container must not start a task process
    per core of the whole machine: these tests pin the test to one CPU and
    read cgroup cpu.max texts as the kernel writes them.
*/
#define _GNU_SOURCE  //  sched_setaffinity, CPU_SET
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_cores.h"

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void
test_cores_quota_max_leaves_the_cores (void **state)
{
    (void) state;
    assert_int_equal (zmp_cores_cap_by_quota (8, "max 100000\n"), 8);
}

static void
test_cores_quota_caps_and_rounds_up (void **state)
{
    (void) state;
    //  Kubernetes' "cpu: 2" and "cpu: 1500m", systemd's CPUQuota=50%
    assert_int_equal (zmp_cores_cap_by_quota (8, "200000 100000\n"), 2);
    assert_int_equal (zmp_cores_cap_by_quota (8, "150000 100000\n"), 2);
    assert_int_equal (zmp_cores_cap_by_quota (8, "50000 100000\n"), 1);
}

static void
test_cores_quota_above_the_cores_leaves_them (void **state)
{
    (void) state;
    assert_int_equal (zmp_cores_cap_by_quota (2, "800000 100000\n"), 2);
}

static void
test_cores_quota_not_understood_is_ignored (void **state)
{
    (void) state;
    assert_int_equal (zmp_cores_cap_by_quota (4, NULL), 4);
    assert_int_equal (zmp_cores_cap_by_quota (4, ""), 4);
    assert_int_equal (zmp_cores_cap_by_quota (4, "garbage"), 4);
    assert_int_equal (zmp_cores_cap_by_quota (4, "0 100000"), 4);
    assert_int_equal (zmp_cores_cap_by_quota (4, "100000 0"), 4);
    assert_int_equal (zmp_cores_cap_by_quota (4, "-1 100000"), 4);
}

static void
test_cores_are_at_least_one (void **state)
{
    (void) state;
    assert_int_equal (zmp_cores_cap_by_quota (0, NULL), 1);
    assert_int_equal (zmp_cores_cap_by_quota (-3, "max 100000"), 1);
}

static void
test_cores_usable_follow_the_affinity_set (void **state)
{
    (void) state;
    cpu_set_t saved;
    assert_int_equal (sched_getaffinity (0, sizeof saved, &saved), 0);
    int all = zmp_cores_usable ();
    assert_true (all >= 1);
    assert_true (all <= CPU_COUNT (&saved));

    //  Pinned to one CPU of the set, as taskset -c or a one-CPU Slurm step
    int first = 0;
    while (!CPU_ISSET (first, &saved))
        first++;
    cpu_set_t one;
    CPU_ZERO (&one);
    CPU_SET (first, &one);
    assert_int_equal (sched_setaffinity (0, sizeof one, &one), 0);
    int pinned = zmp_cores_usable ();
    assert_int_equal (sched_setaffinity (0, sizeof saved, &saved), 0);
    assert_int_equal (pinned, 1);
}

//  Write text to path; true if it took.
static bool
s_write (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return false;
    bool written = fputs (text, file) >= 0;
    return fclose (file) == 0 && written;
}

//  A process in a cgroup of its own with a quota of half a CPU counts one
//  core. Needs root and a cgroup file system it may write (v2 with the cpu
//  controller, or v1's cpu hierarchy); skipped otherwise.
static void
test_cores_usable_follow_a_cgroup_quota (void **state)
{
    (void) state;
    char group[128], file[192];
    bool v2 = access ("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    snprintf (group, sizeof group, "/sys/fs/cgroup%s/zmpool-test-%d",
              v2 ? "" : "/cpu", (int) getpid ());
    if (mkdir (group, 0755) != 0)
        skip ();
    snprintf (file, sizeof file, "%s/%s", group,
              v2 ? "cpu.max" : "cpu.cfs_quota_us");
    bool quota_set = s_write (file, v2 ? "50000 100000" : "50000");
    int channel[2];
    assert_int_equal (pipe (channel), 0);
    pid_t child = quota_set ? fork () : -1;
    if (child == 0) {
        snprintf (file, sizeof file, "%s/cgroup.procs", group);
        char pid[32];
        snprintf (pid, sizeof pid, "%d", (int) getpid ());
        int cores = s_write (file, pid) ? zmp_cores_usable () : -1;
        _exit (write (channel[1], &cores, sizeof cores) == sizeof cores ? 0
                                                                        : 1);
    }
    int cores = 0;
    if (child > 0) {
        if (read (channel[0], &cores, sizeof cores) != sizeof cores)
            cores = -2;
        waitpid (child, NULL, 0);
    }
    close (channel[0]);
    close (channel[1]);
    rmdir (group);
    if (!quota_set)
        skip ();
    assert_int_equal (cores, 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_cores_quota_max_leaves_the_cores),
        cmocka_unit_test (test_cores_quota_caps_and_rounds_up),
        cmocka_unit_test (test_cores_quota_above_the_cores_leaves_them),
        cmocka_unit_test (test_cores_quota_not_understood_is_ignored),
        cmocka_unit_test (test_cores_are_at_least_one),
        cmocka_unit_test (test_cores_usable_follow_the_affinity_set),
        cmocka_unit_test (test_cores_usable_follow_a_cgroup_quota),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
