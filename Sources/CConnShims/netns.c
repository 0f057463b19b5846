/* Network namespaces for isolated runs (Linux only). unshare(CLONE_NEWNET) moves only the
 * calling thread, which is what a scenario runner wants: the scenario's thread and the tools it
 * starts live in the new namespace, the rest of the process does not. */
#define _GNU_SOURCE
#include "conn_shims.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/stat.h>
#include <fcntl.h>
#ifdef __linux__
#include <sched.h>
#include <sys/ioctl.h>
#include <net/if.h>
#endif

int conn_unshare_net(void) {
#ifdef __linux__
  return unshare(CLONE_NEWNET);
#else
  errno = ENOSYS;
  return -1;
#endif
}

int conn_loopback_up(void) {
#ifdef __linux__
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
#else
  errno = ENOSYS;
  return -1;
#endif
}

unsigned long long conn_netns_inode(void) {
  struct stat st;
  if (stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return (unsigned long long)st.st_ino;
}

#ifdef __linux__
static void *conn_probe(void *arg) {
  int *result = arg;
  *result = unshare(CLONE_NEWNET) == 0 ? 0 : errno;
  return NULL;
}
#endif

int conn_probe_unshare_net(void) {
#ifdef __linux__
  /* Try on a throwaway thread, so the caller's own namespace never changes. */
  pthread_t t;
  int result = ENOSYS;
  if (pthread_create(&t, NULL, conn_probe, &result) != 0) return EAGAIN;
  pthread_join(t, NULL);
  return result;
#else
  return ENOSYS;
#endif
}

int conn_open_netns(void) {
#ifdef __linux__
  return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
#else
  errno = ENOSYS;
  return -1;
#endif
}

int conn_setns_net(int fd) {
#ifdef __linux__
  return setns(fd, CLONE_NEWNET);
#else
  (void)fd;
  errno = ENOSYS;
  return -1;
#endif
}

unsigned long long conn_fd_inode(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  return (unsigned long long)st.st_ino;
}

unsigned long long conn_initial_netns_inode(void) {
  struct stat st;
  if (stat("/proc/1/ns/net", &st) != 0) return 0;
  return (unsigned long long)st.st_ino;
}

int conn_interface_running(const char *name) {
#ifdef __linux__
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  close(fd);
  if (rc != 0) return -1;
  return (ifr.ifr_flags & IFF_RUNNING) ? 1 : 0;
#else
  (void)name;
  return -1;
#endif
}
