/* The time limit of blocking calls, without a system call per call.
 *
 * Each thread that makes blocking calls has a slot: before a call it writes the call's deadline
 * and an arming number (two stores), after it takes the arming back with one compare-and-swap.
 * A watchdog thread sleeps until the earliest deadline; when one passes while its call is still
 * armed, it claims that arming (compare-and-swap) and signals the thread (tgkill), whose blocked
 * call returns EINTR. A thread whose disarm finds its arming claimed knows the signal is coming,
 * waits for it to land (a yield lets it be delivered), and reports a timeout. A deadline later
 * than the watchdog's next wake needs no wake-up: in a loop with one limit the watchdog wakes once
 * per limit, not once per call.
 *
 * Safe with many interpreter threads (one slot each) and across fork (a forked child starts a
 * watchdog of its own; workers are started with posix_spawn anyway).
 */
#define _GNU_SOURCE
#include "conn_shims.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#define CONN_WATCH_SLOTS 256

struct conn_watch_slot {
  long long deadline; /* CLOCK_MONOTONIC ns */
  unsigned long long arming; /* (number << 1) | claimed; 0: idle */
  long tid;
};

static struct conn_watch_slot conn_slots[CONN_WATCH_SLOTS];
static int conn_slot_count;
static int conn_watch_pid;
/* When the watchdog will look next (ns), and the word it sleeps on. */
static long long conn_watch_next;
static int conn_watch_futex;
static pthread_mutex_t conn_watch_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread struct conn_watch_slot *conn_my_slot;
static __thread unsigned long long conn_my_number;
/* Arming numbers are unique in the process, so a slot a new thread reuses never sees an old
   thread's number again. */
static unsigned long long conn_arming_counter;

/* A forked child has no watchdog thread: it starts one of its own on first use. */
static void conn_watch_after_fork(void) {
  __atomic_store_n(&conn_watch_pid, 0, __ATOMIC_RELEASE);
  conn_my_slot = NULL;
}

static long long conn_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void conn_watch_wake(void) {
#ifdef __linux__
  __atomic_add_fetch(&conn_watch_futex, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &conn_watch_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#endif
}

static void *conn_watch_main(void *arg) {
  (void)arg;
  for (;;) {
    long long now = conn_now();
    long long earliest = now + 1000000000LL; /* look at least once a second */
    int n = __atomic_load_n(&conn_slot_count, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++) {
      struct conn_watch_slot *s = &conn_slots[i];
      unsigned long long a = __atomic_load_n(&s->arming, __ATOMIC_ACQUIRE);
      if (a == 0 || (a & 1)) continue;
      long long d = __atomic_load_n(&s->deadline, __ATOMIC_ACQUIRE);
      /* The deadline read may belong to a newer arming: check the arming again. */
      if (__atomic_load_n(&s->arming, __ATOMIC_ACQUIRE) != a) continue;
      if (d <= now) {
        unsigned long long expected = a;
        if (__atomic_compare_exchange_n(&s->arming, &expected, a | 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
          conn_tgkill(__atomic_load_n(&s->tid, __ATOMIC_ACQUIRE), CONN_WATCH_SIGNAL);
        }
      } else if (d < earliest) {
        earliest = d;
      }
    }
    int seen = __atomic_load_n(&conn_watch_futex, __ATOMIC_ACQUIRE);
    __atomic_store_n(&conn_watch_next, earliest, __ATOMIC_RELEASE);
    long long wait = earliest - conn_now();
    if (wait <= 0) continue;
#ifdef __linux__
    struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
    syscall(SYS_futex, &conn_watch_futex, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
#else
    (void)seen;
    struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
    nanosleep(&ts, NULL);
#endif
  }
  return NULL;
}

/* The calling thread's slot, and the watchdog of this process, made on first use. */
static struct conn_watch_slot *conn_watch_slot(void) {
  if (conn_my_slot && __atomic_load_n(&conn_watch_pid, __ATOMIC_ACQUIRE) != 0) return conn_my_slot;
  pthread_mutex_lock(&conn_watch_lock);
  if (__atomic_load_n(&conn_watch_pid, __ATOMIC_ACQUIRE) == 0) {
    /* First use in this process (or in a forked child): a fresh table and watchdog. */
    static int atfork_registered;
    if (!atfork_registered) {
      pthread_atfork(NULL, NULL, conn_watch_after_fork);
      atfork_registered = 1;
    }
    memset(conn_slots, 0, sizeof conn_slots);
    __atomic_store_n(&conn_slot_count, 0, __ATOMIC_RELEASE);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    /* The watchdog never takes a signal meant for an interpreter thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t t;
    int rc = pthread_create(&t, &attr, conn_watch_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      pthread_mutex_unlock(&conn_watch_lock);
      return NULL;
    }
    __atomic_store_n(&conn_watch_pid, getpid(), __ATOMIC_RELEASE);
    conn_my_slot = NULL;
  }
  struct conn_watch_slot *s = NULL;
  int n = __atomic_load_n(&conn_slot_count, __ATOMIC_ACQUIRE);
  /* A slot that a thread gave back when it ended (conn_thread_release) first. */
  for (int i = 0; i < n && !s; i++) {
    if (__atomic_load_n(&conn_slots[i].tid, __ATOMIC_ACQUIRE) == 0) {
      s = &conn_slots[i];
      __atomic_store_n(&s->arming, 0, __ATOMIC_RELEASE);
      __atomic_store_n(&s->tid, conn_gettid(), __ATOMIC_RELEASE);
    }
  }
  if (!s && n < CONN_WATCH_SLOTS) {
    s = &conn_slots[n];
    __atomic_store_n(&s->tid, conn_gettid(), __ATOMIC_RELEASE);
    __atomic_store_n(&conn_slot_count, n + 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&conn_watch_lock);
  if (s && conn_interrupt_prepare() != 0) s = NULL;
  conn_my_slot = s;
  return s;
}

int conn_watch_arm(long long limit_ns, long long start_ns) {
  struct conn_watch_slot *s = conn_watch_slot();
  if (!s) return -1;
  /* The caller's clock reading when it has a fresh one (the interpreter reads the clock after
     every statement), else ours. */
  long long deadline = (start_ns > 0 ? start_ns : conn_now()) + (limit_ns > 0 ? limit_ns : 1);
  conn_my_number = __atomic_add_fetch(&conn_arming_counter, 1, __ATOMIC_RELAXED);
  /* The fired flag is 0 here: every path that lets the signal land (disarm below, and
     conn_interrupt_disarm) clears it. */
  __atomic_store_n(&s->deadline, deadline, __ATOMIC_RELEASE);
  __atomic_store_n(&s->arming, conn_my_number << 1, __ATOMIC_RELEASE);
  /* Wake the watchdog only if it would otherwise look too late. */
  if (deadline < __atomic_load_n(&conn_watch_next, __ATOMIC_ACQUIRE)) conn_watch_wake();
  return 0;
}

int conn_watch_disarm(void) {
  struct conn_watch_slot *s = conn_my_slot;
  if (!s) return 0;
  unsigned long long expected = conn_my_number << 1;
  if (__atomic_compare_exchange_n(&s->arming, &expected, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 0;
  /* Claimed: the watchdog has sent (or is sending) the signal. Let it land, here, now. */
  volatile int *fired = conn_interrupt_fired_flag();
  for (int i = 0; i < 100000 && !*fired; i++) sched_yield();
  *fired = 0;
  __atomic_store_n(&s->arming, 0, __ATOMIC_RELEASE);
  return 1;
}

void conn_interrupt_release(void);

void conn_thread_release(void) {
  struct conn_watch_slot *s = conn_my_slot;
  if (s) {
    pthread_mutex_lock(&conn_watch_lock);
    /* Idle first, so that the watchdog never signals the slot's old thread. */
    __atomic_store_n(&s->arming, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&s->tid, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&conn_watch_lock);
    conn_my_slot = NULL;
  }
  conn_interrupt_release();
}
