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

//  The first line of a file into text (empty if it cannot be read).
static void
s_read_line (const char *path, char *text, size_t size)
{
    text[0] = '\0';
    FILE *file = fopen (path, "r");
    if (file) {
        if (!fgets (text, (int) size, file))
            text[0] = '\0';
        fclose (file);
    }
}

//  Cap cores by the quota of the cgroup at root + path and of every cgroup
//  above it: cgroup v2's cpu.max, or v1's cpu.cfs_quota_us and
//  cpu.cfs_period_us (-1 quota: none).
static int
s_cap_along (int cores, const char *root, const char *path, bool v1)
{
    char directory[1200];
    int length = snprintf (directory, sizeof directory, "%s%s", root, path);
    if (length <= 0 || (size_t) length >= sizeof directory - 32)
        return cores;
    size_t root_length = strlen (root);
    //  Up to the root, which holds no quota
    while (strlen (directory) > root_length) {
        size_t end = strlen (directory);
        char text[64], file[1300];
        if (v1) {
            char period[32];
            snprintf (file, sizeof file, "%s/cpu.cfs_quota_us", directory);
            s_read_line (file, text, 32);
            snprintf (file, sizeof file, "%s/cpu.cfs_period_us", directory);
            s_read_line (file, period, sizeof period);
            text[strcspn (text, "\n")] = '\0';
            strcat (text, " ");
            strcat (text, period);
        } else {
            snprintf (file, sizeof file, "%s/cpu.max", directory);
            s_read_line (file, text, sizeof text);
        }
        cores = zmp_cores_cap_by_quota (cores, text);
        directory[end] = '\0';
        char *slash = strrchr (directory, '/');
        if (!slash || (size_t) (slash - directory) < root_length)
            break;
        *slash = '\0';
    }
    return cores;
}

//  Cap cores by the CPU quotas of this process's cgroups, v2 and v1,
//  as /proc/self/cgroup names them.
static int
s_cap_by_cgroups (int cores)
{
    FILE *file = fopen ("/proc/self/cgroup", "r");
    if (!file)
        return cores;
    char line[1024];
    while (fgets (line, sizeof line, file)) {
        line[strcspn (line, "\n")] = '\0';
        //  ID:CONTROLLERS:PATH
        char *controllers = strchr (line, ':');
        char *path = controllers ? strchr (controllers + 1, ':') : NULL;
        if (!path)
            continue;
        *path++ = '\0';
        controllers++;
        if (*controllers == '\0')  //  v2
            cores = s_cap_along (cores, "/sys/fs/cgroup", path, false);
        else {
            //  v1: the hierarchy that has the cpu controller, mounted
            //  under its list of controllers (cpu,cpuacct) or as cpu
            bool has_cpu = false;
            char list[256];
            snprintf (list, sizeof list, "%s", controllers);
            for (char *name = strtok (list, ","); name;
                 name = strtok (NULL, ","))
                has_cpu = has_cpu || strcmp (name, "cpu") == 0;
            if (!has_cpu)
                continue;
            char root[300];
            snprintf (root, sizeof root, "/sys/fs/cgroup/%s", controllers);
            if (access (root, F_OK) != 0)
                snprintf (root, sizeof root, "/sys/fs/cgroup/cpu");
            cores = s_cap_along (cores, root, path, true);
        }
    }
    fclose (file);
    return cores;
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
    return s_cap_by_cgroups (cores);
}
