/* Calls in the background (`connect s ... background`, later `wait s`).
 *
 * Kernel backend: a background call runs on a thread of its own, really concurrently with the
 * scenario, but the backend's own state (descriptor flags, name cache, trace) is only ever
 * touched by one thread at a time: a scenario with background calls has a lock (the "big
 * backend lock") that a thread holds whenever it runs backend code, and lets go of only around a
 * blocking system call (conn_gil_pause/conn_gil_resume, in CallTimer) and while it waits for a
 * background call. So the kernel does its work in parallel, and conn's bookkeeping stays
 * single-threaded.
 *
 * Simulated backend: a background call is a coroutine. It runs on a thread of its own, but the
 * scenario's thread and it take turns (a semaphore each): exactly one of them runs at any time,
 * so the simulation stays deterministic and needs no lock. */
#define _GNU_SOURCE
#include "conn_shims.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A thread for `fn(arg)` with the stack the interpreter needs, whatever RLIMIT_STACK says. */
static int conn_start_thread(pthread_t *thread, void *(*fn)(void *), void *arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 8 << 20);
  int rc = pthread_create(thread, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  return rc;
}

/* MARK: - The big backend lock */

struct conn_gil {
  pthread_mutex_t mutex;
};

static __thread struct conn_gil *conn_my_gil;
static __thread int conn_gil_held;
static __thread struct conn_bg *conn_bg_self;

int conn_gil_users;

void *conn_gil_create(void) {
  struct conn_gil *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  pthread_mutex_init(&g->mutex, NULL);
  __atomic_add_fetch(&conn_gil_users, 1, __ATOMIC_SEQ_CST);
  return g;
}

void conn_gil_destroy(void *gil) {
  if (!gil) return;
  __atomic_sub_fetch(&conn_gil_users, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_destroy(&((struct conn_gil *)gil)->mutex);
  free(gil);
}

void conn_gil_enter(void *gil) {
  conn_my_gil = gil;
  pthread_mutex_lock(&conn_my_gil->mutex);
  conn_gil_held = 1;
}

void conn_gil_leave(void) {
  if (conn_my_gil && conn_gil_held) {
    conn_gil_held = 0;
    pthread_mutex_unlock(&conn_my_gil->mutex);
  }
  conn_my_gil = NULL;
}

struct conn_bg {
  pthread_t thread;
  long tid;
  pthread_mutex_t m;
  pthread_cond_t c;
  /* 0: running its prefix; 1: blocked in (or entering) the system call; 2: finished. */
  int state;
  /* The blocking system call returned (a signal need not be sent again). */
  int returned;
  void (*fn)(void *);
  void *arg;
  void *gil;
};

static void conn_bg_set_state(struct conn_bg *b, int s) {
  pthread_mutex_lock(&b->m);
  if (b->state < s) b->state = s;
  pthread_cond_broadcast(&b->c);
  pthread_mutex_unlock(&b->m);
}

int conn_gil_pause(void) {
  struct conn_bg *b = conn_bg_self;
  if (b) conn_bg_set_state(b, 1);
  if (!conn_my_gil || !conn_gil_held) return 0;
  conn_gil_held = 0;
  pthread_mutex_unlock(&conn_my_gil->mutex);
  return 1;
}

void conn_gil_resume(int paused) {
  if (conn_bg_self) __atomic_store_n(&conn_bg_self->returned, 1, __ATOMIC_RELEASE);
  if (!paused) return;
  pthread_mutex_lock(&conn_my_gil->mutex);
  conn_gil_held = 1;
}

/* MARK: - Background threads (kernel) */

static void *conn_bg_main(void *raw) {
  struct conn_bg *b = raw;
  /* `signal` sends the interrupt signal here: its handler must be installed (else the signal
     would end the process) and the signal unblocked, whatever call the thread makes. */
  conn_interrupt_prepare();
  conn_bg_self = b;
  __atomic_store_n(&b->tid, conn_gettid(), __ATOMIC_RELEASE);
  conn_gil_enter(b->gil);
  b->fn(b->arg);
  __atomic_store_n(&b->returned, 1, __ATOMIC_RELEASE);
  conn_bg_set_state(b, 2);
  conn_gil_leave();
  conn_bg_self = NULL;
  conn_thread_release();
  return NULL;
}

/* State 1 says the thread is about to make its call; the scenario goes on only once the call
   is really waiting in the kernel (the thread sleeps: 'S' or 'D' in its /proc stat) or done,
   so that what the scenario does next meets the call under way. At most about 200 ms. */
static void conn_bg_await_blocked(struct conn_bg *b) {
#ifdef __linux__
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", __atomic_load_n(&b->tid, __ATOMIC_ACQUIRE));
  for (int i = 0; i < 4000; i++) {
    if (__atomic_load_n(&b->returned, __ATOMIC_ACQUIRE)) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    /* "tid (comm) S ...": the state follows the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ') return;
    if (p[2] == 'S' || p[2] == 'D') return;
    if (i < 100) {
      sched_yield();
    } else {
      struct timespec ts = {0, 50000};
      nanosleep(&ts, NULL);
    }
  }
#else
  (void)b;
#endif
}

void *conn_bg_start(void *gil, void (*fn)(void *), void *arg) {
  struct conn_bg *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  pthread_mutex_init(&b->m, NULL);
  pthread_cond_init(&b->c, NULL);
  b->fn = fn;
  b->arg = arg;
  b->gil = gil;
  if (conn_start_thread(&b->thread, conn_bg_main, b) != 0) {
    pthread_mutex_destroy(&b->m);
    pthread_cond_destroy(&b->c);
    free(b);
    return NULL;
  }
  /* Until it is under way (blocked in its call) or done, the thread needs the lock. */
  int paused = conn_gil_pause_main();
  pthread_mutex_lock(&b->m);
  while (b->state == 0) pthread_cond_wait(&b->c, &b->m);
  pthread_mutex_unlock(&b->m);
  conn_bg_await_blocked(b);
  conn_gil_resume_main(paused);
  return b;
}

int conn_bg_done(void *raw) {
  struct conn_bg *b = raw;
  pthread_mutex_lock(&b->m);
  int done = b->state == 2;
  pthread_mutex_unlock(&b->m);
  return done;
}

void conn_bg_join(void *raw) {
  struct conn_bg *b = raw;
  int paused = conn_gil_pause_main();
  pthread_join(b->thread, NULL);
  conn_gil_resume_main(paused);
  pthread_mutex_destroy(&b->m);
  pthread_cond_destroy(&b->c);
  free(b);
}

int conn_bg_signal(void *raw) {
  struct conn_bg *b = raw;
  /* The thread may be about to enter its call: signal until the call has returned (each
     signal that lands outside the call is harmless), at most one second. */
  int sent = 0;
  for (int i = 0; i < 1000 && !__atomic_load_n(&b->returned, __ATOMIC_ACQUIRE); i++) {
    long tid = __atomic_load_n(&b->tid, __ATOMIC_ACQUIRE);
    if (tid != 0 && conn_tgkill(tid, CONN_WATCH_SIGNAL) == 0) sent = 1;
    struct timespec ts = {0, 1000000};
    int paused = conn_gil_pause_main();
    nanosleep(&ts, NULL);
    conn_gil_resume_main(paused);
  }
  return sent;
}

/* The scenario's own thread lets go of the lock without marking anything. */
int conn_gil_pause_main(void) {
  if (!conn_my_gil || !conn_gil_held) return 0;
  conn_gil_held = 0;
  pthread_mutex_unlock(&conn_my_gil->mutex);
  return 1;
}

void conn_gil_resume_main(int paused) {
  if (!paused) return;
  pthread_mutex_lock(&conn_my_gil->mutex);
  conn_gil_held = 1;
}

/* MARK: - Coroutines (simulation) */

struct conn_co {
  pthread_t thread;
  sem_t run;   /* posted by the caller: the body may run */
  sem_t back;  /* posted by the body: the caller may run */
  int done;
  void (*fn)(void *, void *);
  void *arg;
};

static void *conn_co_main(void *raw) {
  struct conn_co *co = raw;
  while (sem_wait(&co->run) != 0) {}
  co->fn(co->arg, co);
  co->done = 1;
  sem_post(&co->back);
  conn_thread_release();
  return NULL;
}

void *conn_co_start(void (*fn)(void *, void *), void *arg) {
  struct conn_co *co = calloc(1, sizeof *co);
  if (!co) return NULL;
  sem_init(&co->run, 0, 0);
  sem_init(&co->back, 0, 0);
  co->fn = fn;
  co->arg = arg;
  if (conn_start_thread(&co->thread, conn_co_main, co) != 0) {
    sem_destroy(&co->run);
    sem_destroy(&co->back);
    free(co);
    return NULL;
  }
  return co;
}

int conn_co_resume(void *raw) {
  struct conn_co *co = raw;
  if (co->done) return 1;
  sem_post(&co->run);
  while (sem_wait(&co->back) != 0) {}
  if (co->done) {
    pthread_join(co->thread, NULL);
    sem_destroy(&co->run);
    sem_destroy(&co->back);
    co->thread = 0;
    return 1;
  }
  return 0;
}

void conn_co_yield(void *raw) {
  struct conn_co *co = raw;
  sem_post(&co->back);
  while (sem_wait(&co->run) != 0) {}
}

void conn_co_free(void *raw) { free(raw); }
