/* Parallel loops on POSIX threads started per call (no OpenMP runtime: forked
 * processes are safe), shared by the compiled kernels of urbangrid. */
#ifndef URBANGRID_PARALLEL_H
#define URBANGRID_PARALLEL_H

#include <pthread.h>
#include <sched.h>
#include <unistd.h>
typedef void (*ug_task)(void *ctx, long lo, long hi);
typedef struct { ug_task fn; void *ctx; long n; long chunk; long next; } ug_job;
static void *ug_worker(void *p) {
    ug_job *j = (ug_job *)p;
    for (;;) {
        long lo = __atomic_fetch_add(&j->next, j->chunk, __ATOMIC_RELAXED);
        if (lo >= j->n) break;
        long hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
        j->fn(j->ctx, lo, hi);
    }
    return NULL;
}
/* Cores this process may run on (its affinity mask; else the online count; at least 1):
 * the default thread count of every parallel kernel. */
static int ug_cpus(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
/* fn over [0, n) in chunks, on this thread and up to threads - 1 more. */
static void ug_parallel(ug_task fn, void *ctx, long n, long chunk, int threads) {
    ug_job j;
    j.fn = fn; j.ctx = ctx; j.n = n; j.chunk = chunk > 0 ? chunk : 1; j.next = 0;
    pthread_t t[64];
    int started = 0;
    long nchunks = (n + j.chunk - 1) / j.chunk;
    for (int i = 1; i < threads && i < nchunks && started < 64; i++)
        if (pthread_create(&t[started], NULL, ug_worker, &j) == 0) started++;
    ug_worker(&j);
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
}
static int ug_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
#endif
