/*  zmp_cores - how many cores this process may use

    A worker's default slot count and the cores it announces. Counting the
    machine's online cores oversubscribes a Slurm step or a container: the
    process may run only on its CPU affinity set (Slurm's and Kubernetes'
    cpusets, taskset), and a cgroup CPU quota (Kubernetes' CPU limit,
    systemd's CPUQuota=: cpu.max in cgroup v2, cpu.cfs_quota_us in v1)
    caps it further. The quota is rounded up: a limit of 1.5 CPUs gives
    two slots.
*/
#ifndef ZMP_CORES_H_INCLUDED
#define ZMP_CORES_H_INCLUDED

//  Cores usable by this process, at least 1: its affinity set, capped by
//  the tightest CPU quota of its cgroups and those above them.
int zmp_cores_usable (void);

//  Cap cores by the text of a cgroup v2 cpu.max file ("max 100000", or
//  "QUOTA PERIOD" in microseconds); text that is NULL or not understood
//  leaves cores as they are. Returns at least 1.
int zmp_cores_cap_by_quota (int cores, const char *cpu_max);

#endif
