#define _GNU_SOURCE
#include "conn_repl.h"
#include "conn_shims.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

/* The interrupt word (stop.c) is the Ctrl-C flag: one word the interpreter looks at. */
/* The thread that runs statements: a blocked call there must see the signal to return EINTR. */
static volatile long conn_sigint_target;

static void conn_sigint_handler(int sig) {
  int saved = errno;
  conn_interrupt_word = 1;
  long target = conn_sigint_target;
  if (target != 0 && conn_gettid() != target) conn_tgkill(target, sig);
  errno = saved;
}

int conn_sigint_install(void) {
  conn_sigint_target = conn_gettid();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = conn_sigint_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked connect must return EINTR */
  if (sigaction(SIGINT, &sa, NULL) != 0) return -1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  return 0;
}

int conn_sigint_take(void) {
  /* One atomic step: a Ctrl-C that lands between a read and a clear would be lost. */
  return __atomic_exchange_n(&conn_interrupt_word, 0, __ATOMIC_SEQ_CST);
}

int conn_sigint_peek(void) { return conn_interrupt_word; }
