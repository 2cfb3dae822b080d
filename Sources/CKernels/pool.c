// A small persistent thread pool: `threads - 1` workers plus the calling thread take items from
// an atomic counter. Idle workers spin briefly (so back-to-back kernel phases hand off in
// microseconds), then sleep on a condition variable.
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sched.h>

struct pp_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t lock;      // guards generation/stop for sleeping workers
    pthread_cond_t wake;
    pthread_mutex_t runLock;   // one run at a time
    volatile long generation;  // bumped per run
    volatile int stop;
    pp_task_fn fn;
    void *ctx;
    long count;
    uint64_t ticket;           // run id << 32 | next item (atomic); claimed by compare-and-swap
    long done;                 // items finished in this run (atomic)
};

typedef struct { struct pp_pool *pool; int id; } worker_arg;

/// Claims and runs items of run `run` until none are left or a newer run has begun. Claims go
/// through a compare-and-swap on (run, next) so a late worker can never take an item of a run it
/// did not see start; the caller waits for items, not for workers.
static void run_items(struct pp_pool *p, uint32_t run, long worker) {
    for (;;) {
        uint64_t t = __atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE);
        if ((uint32_t)(t >> 32) != run) return;
        long i = (long)(t & 0xFFFFFFFFu);
        if (i >= p->count) return;
        if (!__atomic_compare_exchange_n(&p->ticket, &t, t + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        p->fn(p->ctx, i, worker);
        __atomic_fetch_add(&p->done, 1, __ATOMIC_RELEASE);
    }
}

static void *worker_main(void *a) {
    worker_arg arg = *(worker_arg *)a;
    free(a);
    struct pp_pool *p = arg.pool;
    long seen = 0;
    for (;;) {
        // Spin a while for the next run, then sleep.
        long g = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
        for (int spin = 0; g == seen && spin < 20000 && !p->stop; spin++) {
#if PP_X86
            __builtin_ia32_pause();
#endif
            g = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
        }
        if (g == seen && !p->stop) {
            pthread_mutex_lock(&p->lock);
            while (p->generation == seen && !p->stop) pthread_cond_wait(&p->wake, &p->lock);
            g = p->generation;
            pthread_mutex_unlock(&p->lock);
        }
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) break;
        seen = g;
        run_items(p, (uint32_t)g, arg.id);
    }
    return NULL;
}

pp_pool *pp_pool_create(int threads) {
    struct pp_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->runLock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->workers = calloc((size_t)p->threads, sizeof(pthread_t));
    for (int i = 1; i < p->threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        a->pool = p;
        a->id = i;
        if (pthread_create(&p->workers[i], NULL, worker_main, a) != 0) {
            free(a);
            p->threads = i; // run with the workers that started
            break;
        }
    }
    return p;
}

void pp_pool_destroy(pp_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->threads; i++) pthread_join(p->workers[i], NULL);
    free(p->workers);
    free(p);
}

int pp_pool_threads(const pp_pool *p) { return p ? p->threads : 1; }

void pp_pool_run(pp_pool *p, long count, pp_task_fn fn, void *ctx) {
    if (count <= 0) return;
    if (!p || p->threads == 1 || count == 1 || pthread_mutex_trylock(&p->runLock) != 0) {
        // Busy (a concurrent or nested run) or nothing to share: run here.
        for (long i = 0; i < count; i++) fn(ctx, i, 0);
        return;
    }
    uint32_t run = (uint32_t)(p->generation + 1);
    // Close the previous run's ticket before touching the run fields, then open the new one.
    __atomic_store_n(&p->ticket, (uint64_t)0xFFFFFFFFu << 32, __ATOMIC_RELEASE);
    p->fn = fn;
    p->ctx = ctx;
    p->count = count;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->ticket, (uint64_t)run << 32, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->generation, (long)run, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    run_items(p, run, 0);
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < count) {
#if PP_X86
        __builtin_ia32_pause();
#else
        sched_yield();
#endif
    }
    pthread_mutex_unlock(&p->runLock);
}
