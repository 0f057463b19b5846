/* Stopping a run on SIGINT, SIGTERM or SIGHUP. The handler only records which signal came and
 * passes it on to the thread that runs statements, so that a call blocked there returns EINTR
 * (the handler is installed without SA_RESTART); the runner then stops between statements,
 * cleans up (private directories, namespaces) and writes what it has. */
#define _GNU_SOURCE
#include "conn_shims.h"
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static volatile sig_atomic_t conn_stop_signo;
static volatile long conn_stop_target;
volatile int conn_interrupt_word;

int conn_interrupt_requested(void) { return __atomic_load_n(&conn_interrupt_word, __ATOMIC_RELAXED); }

static void conn_stop_handler(int sig) {
  int saved = errno;
  if (conn_stop_signo == 0) conn_stop_signo = sig;
  conn_interrupt_word = 1;
  long target = conn_stop_target;
  if (target != 0 && conn_gettid() != target) conn_tgkill(target, sig);
  errno = saved;
}

int conn_stop_install(void) {
  conn_stop_target = conn_gettid();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = conn_stop_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked call must return */
  int signals[] = {SIGINT, SIGTERM, SIGHUP};
  sigset_t set;
  sigemptyset(&set);
  for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    if (sigaction(signals[i], &sa, NULL) != 0) return -1;
    sigaddset(&set, signals[i]);
  }
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  return 0;
}

int conn_stop_signal(void) { return conn_stop_signo; }

long conn_stop_retarget(long tid) { return __atomic_exchange_n(&conn_stop_target, tid, __ATOMIC_SEQ_CST); }

int conn_die_with_parent(int parent) {
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) return -1;
  /* The parent may have gone before the call: then no signal will ever come. */
  if (parent > 0 && getppid() != parent) return 1;
  return 0;
#else
  (void)parent;
  return 0;
#endif
}
