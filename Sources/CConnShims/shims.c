#define _GNU_SOURCE
#include "conn_shims.h"
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
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
