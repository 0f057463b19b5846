#define _GNU_SOURCE
#include "conn_shims.h"
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#ifdef __linux__
#include <sys/fsuid.h>
#include <sys/syscall.h>
#endif

const char *conn_errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  return strerrorname_np(err);
#else
  (void)err;
  return NULL;
#endif
}

int conn_accept4(int fd, struct sockaddr *addr, socklen_t *len, int nonblock) {
#ifdef __linux__
  return accept4(fd, addr, len, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
#else
  int c = accept(fd, addr, len);
  if (c >= 0 && nonblock) fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
  return c;
#endif
}

int conn_dup3_cloexec(int fd, int target) {
#ifdef __linux__
  return dup3(fd, target, O_CLOEXEC);
#else
  if (fd == target) { errno = EINVAL; return -1; }
  int d = dup2(fd, target);
  if (d >= 0) fcntl(d, F_SETFD, FD_CLOEXEC);
  return d;
#endif
}

int conn_setfsuid(unsigned uid, unsigned gid) {
#ifdef __linux__
  setfsgid(gid);
  setfsuid(uid);
  /* setfsuid returns the previous id, never an error: read it back to check it took. */
  return (unsigned)setfsuid((uid_t)-1) == uid ? 0 : -1;
#else
  (void)uid; (void)gid;
  return -1;
#endif
}

unsigned conn_current_fsuid(void) {
#ifdef __linux__
  return (unsigned)setfsuid((uid_t)-1);
#else
  return (unsigned)geteuid();
#endif
}

unsigned conn_current_fsgid(void) {
#ifdef __linux__
  return (unsigned)setfsgid((gid_t)-1);
#else
  return (unsigned)getegid();
#endif
}

long conn_gettid(void) {
#ifdef __linux__
  return syscall(SYS_gettid);
#else
  return 0;
#endif
}

int conn_tgkill(long tid, int sig) {
#ifdef __linux__
  return (int)syscall(SYS_tgkill, getpid(), (pid_t)tid, sig);
#else
  (void)tid; (void)sig;
  return -1;
#endif
}

const void *conn_bad_pointer(void) {
  /* The top of the canonical lower half on x86-64 and far outside any mapping elsewhere. */
  return (const void *)(unsigned long)-4096;
}

/* ---- Interrupt timers ------------------------------------------------------------------ */
#include <time.h>
#include <stddef.h>
#include <sys/un.h>
#include <errno.h>

static __thread volatile int conn_fired;
#ifdef __linux__
static __thread int conn_have_timer;
static __thread timer_t conn_timer;
#define CONN_SIG CONN_WATCH_SIGNAL
#else
#define CONN_SIG CONN_WATCH_SIGNAL
#endif

volatile int *conn_interrupt_fired_flag(void) { return &conn_fired; }

static void conn_handler(int sig) {
  (void)sig;
  conn_fired = 1;
}

int conn_interrupt_install(void) {
  static int installed;
  if (installed) return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = conn_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: the blocked call must see EINTR */
  if (sigaction(CONN_SIG, &sa, NULL) != 0) return -1;
  installed = 1;
  return 0;
}

/* A process may start with signals blocked (some process launchers block them all in the
 * child): the interrupt signal must reach the blocked call, so unblock it for each thread that
 * arms a timer. */
static __thread int conn_unblocked;
static void conn_unblock(void) {
  if (conn_unblocked) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, CONN_SIG);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  conn_unblocked = 1;
}

int conn_interrupt_prepare(void) {
  if (conn_interrupt_install() != 0) return -1;
  conn_unblock();
  return 0;
}

int conn_interrupt_arm(long long ns) {
  conn_interrupt_install();
  conn_unblock();
#ifdef __linux__
  if (!conn_have_timer) {
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = CONN_SIG;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_MONOTONIC, &sev, &conn_timer) != 0) return -1;
    conn_have_timer = 1;
  }
  conn_fired = 0;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (ns <= 0) ns = 1;
  its.it_value.tv_sec = ns / 1000000000LL;
  its.it_value.tv_nsec = ns % 1000000000LL;
  return timer_settime(conn_timer, 0, &its, NULL);
#else
  (void)ns;
  conn_fired = 0;
  return -1;
#endif
}

/* The calling thread's timer is deleted (the thread is about to end). */
void conn_interrupt_release(void) {
#ifdef __linux__
  if (conn_have_timer) {
    timer_delete(conn_timer);
    conn_have_timer = 0;
  }
#endif
}

int conn_interrupt_disarm(void) {
#ifdef __linux__
  if (conn_have_timer) {
    int saved = errno;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    timer_settime(conn_timer, 0, &its, NULL);
    errno = saved;
  }
#endif
  int f = conn_fired;
  conn_fired = 0;
  return f;
}

int conn_interrupt_fired(void) { return conn_fired; }

int conn_sun_path_offset(void) { return (int)offsetof(struct sockaddr_un, sun_path); }

int conn_ppoll(struct pollfd *fds, unsigned long nfds, long long timeout_ns) {
#ifdef __linux__
  struct timespec ts;
  ts.tv_sec = timeout_ns / 1000000000LL;
  ts.tv_nsec = timeout_ns % 1000000000LL;
  return ppoll(fds, (nfds_t)nfds, timeout_ns < 0 ? NULL : &ts, NULL);
#else
  return poll(fds, (nfds_t)nfds, timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000));
#endif
}

int conn_pipe_cloexec(int fds[2]) {
#ifdef __linux__
  return pipe2(fds, O_CLOEXEC);
#else
  if (pipe(fds) != 0) return -1;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  return 0;
#endif
}

#ifdef __GLIBC__
#include <malloc.h>
#endif
void conn_keep_freed_memory(void) {
#ifdef __GLIBC__
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
#endif
}

#include <sys/socket.h>
int conn_msg_flags(unsigned bits) {
  int f = 0;
  if (bits & 1) f |= MSG_DONTWAIT;
  if (bits & 2) f |= MSG_PEEK;
  if (bits & 4) f |= MSG_NOSIGNAL;
#ifdef MSG_FASTOPEN
  if (bits & 8) f |= MSG_FASTOPEN;
#endif
  if (bits & 16) f |= MSG_WAITALL;
  if (bits & 32) f |= MSG_TRUNC;
  if (bits & 64) f |= MSG_OOB;
#ifdef MSG_MORE
  if (bits & 128) f |= MSG_MORE;
#endif
  return f;
}

#include <signal.h>
#include <pthread.h>
#include <time.h>
/* SIGPIPE kept from the calling thread around one call: a scenario's send on a broken
 * connection answers EPIPE and never kills the process, whatever its SIGPIPE disposition (the
 * tests run scenarios in their own process). A SIGPIPE the call raised is taken back. */
static __thread sigset_t conn_saved_mask;
static __thread int conn_sigpipe_was_pending;

void conn_sigpipe_hold(void) {
  sigset_t pipe, pending;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigpending(&pending);
  conn_sigpipe_was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &conn_saved_mask);
}

void conn_sigpipe_release(void) {
  int saved = errno;
  sigset_t pipe, pending;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigpending(&pending);
  if (!conn_sigpipe_was_pending && sigismember(&pending, SIGPIPE)) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &conn_saved_mask, NULL);
  errno = saved;
}

/* ---- File statements: changes inside the private directory, never through a link ---------- */
#include <errno.h>
#include <fcntl.h>

int conn_open_beneath(int dirfd, const char *path) {
#ifdef __linux__
  /* openat2(2): struct open_how, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS. */
  struct { unsigned long long flags, mode, resolve; } how = {
      (unsigned long long)(O_PATH | O_DIRECTORY | O_CLOEXEC), 0, 0x08 | 0x04 | 0x02};
  long r = syscall(437, dirfd, path, &how, sizeof how);
  return r < 0 ? -errno : (int)r;
#else
  (void)dirfd; (void)path;
  return -ENOSYS;
#endif
}

int conn_chmod_nofollow(int dirfd, const char *name, unsigned mode) {
#ifdef __linux__
  /* fchmodat2(2) with AT_SYMLINK_NOFOLLOW: EOPNOTSUPP on a link instead of following it. */
  long r = syscall(452, dirfd, name, mode, AT_SYMLINK_NOFOLLOW);
  return r < 0 ? -errno : 0;
#else
  (void)dirfd; (void)name; (void)mode;
  return -ENOSYS;
#endif
}
