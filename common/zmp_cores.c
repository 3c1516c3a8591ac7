/*  zmp_cores - how many cores this process may use
*/
#define _GNU_SOURCE  //  sched_getaffinity, CPU_COUNT
#include "zmp_cores.h"

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The cgroup v2 directory of this process, from /proc/self/cgroup's
//  "0::/PATH" line, into path; false without cgroup v2.
static bool
s_cgroup_dir (char *path, size_t size)
{
    FILE *file = fopen ("/proc/self/cgroup", "r");
    if (!file)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets (line, sizeof line, file)) {
        if (strncmp (line, "0::", 3) == 0) {
            line[strcspn (line, "\n")] = '\0';
            int length = snprintf (path, size, "/sys/fs/cgroup%s", line + 3);
            found = length > 0 && (size_t) length < size;
        }
    }
    fclose (file);
    return found;
}

int
zmp_cores_cap_by_quota (int cores, const char *cpu_max)
{
    if (cores < 1)
        cores = 1;
    long long quota, period;
    if (cpu_max && sscanf (cpu_max, "%lld %lld", &quota, &period) == 2
        && quota > 0 && period > 0) {
        long long allowed = (quota + period - 1) / period;
        if (allowed < cores)
            cores = (int) allowed;
    }
    return cores;
}

int
zmp_cores_usable (void)
{
    int cores = 0;
    cpu_set_t set;
    if (sched_getaffinity (0, sizeof set, &set) == 0)
        cores = CPU_COUNT (&set);
    if (cores < 1) {
        long online = sysconf (_SC_NPROCESSORS_ONLN);
        cores = online > 0 ? (int) online : 1;
    }
    //  The tightest quota of this cgroup and those above it
    char path[1200];
    if (!s_cgroup_dir (path, sizeof path - 16))
        return cores;
    while (strlen (path) > strlen ("/sys/fs/cgroup")) {
        size_t length = strlen (path);
        strcat (path, "/cpu.max");
        char text[64] = "";
        FILE *file = fopen (path, "r");
        if (file) {
            if (!fgets (text, sizeof text, file))
                text[0] = '\0';
            fclose (file);
        }
        cores = zmp_cores_cap_by_quota (cores, text);
        path[length] = '\0';
        *strrchr (path, '/') = '\0';
    }
    return cores;
}
