/* `drop` and `landlock`: changes to the calling thread's credentials that cannot be undone.
 *
 * Every call here is a raw system call on purpose. glibc's setresuid, setresgid and setgroups
 * change every thread of the process (they signal each one to make the same call); the kernel
 * keeps credentials per thread, and the raw calls change the calling thread alone. conn runs a
 * scenario that uses them on a thread of its own, which ends with the scenario, while the rest of
 * the process keeps its identity to clean up after it. Landlock's restrict_self is per thread
 * too, and so is no_new_privs. */
#define _GNU_SOURCE
#include "conn_shims.h"
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#ifdef __linux__
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* The uapi structures as Linux 6.12 defines them (the system's headers may be older). */
struct conn_landlock_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
struct conn_landlock_net_port_attr {
  uint64_t allowed_access;
  uint64_t port;
};
#define CONN_LANDLOCK_CREATE_RULESET_VERSION 1u
#define CONN_LANDLOCK_RULE_NET_PORT 2
#define CONN_LANDLOCK_ACCESS_NET_BIND_TCP 1ull
#define CONN_LANDLOCK_ACCESS_NET_CONNECT_TCP 2ull
#define CONN_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET 1ull
#endif

int conn_drop_privileges(unsigned uid, unsigned gid) {
#ifdef __linux__
  gid_t groups[1] = {(gid_t)gid};
  if (syscall(SYS_setgroups, 1, groups) != 0) return errno;
  if (syscall(SYS_setresgid, gid, gid, gid) != 0) return errno;
  if (syscall(SYS_setresuid, uid, uid, uid) != 0) return errno;
  /* A change of uid from 0 clears the permitted and effective sets; clear the inheritable set
     too, so nothing is left. */
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) return errno;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  /* Read everything back: a drop that did not fully take is an error, never a half-drop that a
     scenario would take for a whole one. */
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (syscall(SYS_getresuid, &r, &e, &s) != 0 || r != uid || e != uid || s != uid) return EPERM;
  if (syscall(SYS_getresgid, &rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) return EPERM;
  gid_t now[4];
  long n = syscall(SYS_getgroups, 4, now);
  if (n != 1 || now[0] != gid) return EPERM;
  memset(data, 0xff, sizeof data);
  if (syscall(SYS_capget, &header, data) != 0) return errno;
  for (int i = 0; i < 2; i++) {
    if (data[i].effective || data[i].permitted || data[i].inheritable) return EPERM;
  }
  return 0;
#else
  (void)uid;
  (void)gid;
  return ENOSYS;
#endif
}

int conn_landlock_abi(void) {
#ifdef __linux__
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, CONN_LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? -errno : (int)v;
#else
  return -ENOSYS;
#endif
}

int conn_landlock_restrict(
  const unsigned short *connect, int nconnect, const unsigned short *bind, int nbind, int abstract) {
#ifdef __linux__
  int abi = conn_landlock_abi();
  if (abi < 0) return -abi;
  if ((nconnect >= 0 || nbind >= 0) && abi < 4) return EOPNOTSUPP;
  if (abstract && abi < 6) return EOPNOTSUPP;
  struct conn_landlock_ruleset_attr attr;
  memset(&attr, 0, sizeof attr);
  if (nconnect >= 0) attr.handled_access_net |= CONN_LANDLOCK_ACCESS_NET_CONNECT_TCP;
  if (nbind >= 0) attr.handled_access_net |= CONN_LANDLOCK_ACCESS_NET_BIND_TCP;
  if (abstract) attr.scoped |= CONN_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
  /* Before ABI 6 the structure ends before `scoped`. */
  size_t size = abi >= 6 ? sizeof attr : offsetof(struct conn_landlock_ruleset_attr, scoped);
  int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (fd < 0) return errno;
  int err = 0;
  for (int pass = 0; pass < 2 && err == 0; pass++) {
    const unsigned short *ports = pass == 0 ? connect : bind;
    int n = pass == 0 ? nconnect : nbind;
    for (int i = 0; i < n && err == 0; i++) {
      struct conn_landlock_net_port_attr rule = {
        pass == 0 ? CONN_LANDLOCK_ACCESS_NET_CONNECT_TCP : CONN_LANDLOCK_ACCESS_NET_BIND_TCP, ports[i]};
      if (syscall(SYS_landlock_add_rule, fd, CONN_LANDLOCK_RULE_NET_PORT, &rule, 0) != 0) err = errno;
    }
  }
  /* Without CAP_SYS_ADMIN Landlock requires no_new_privs; set it either way (this thread only). */
  if (err == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) err = errno;
  if (err == 0 && syscall(SYS_landlock_restrict_self, fd, 0) != 0) err = errno;
  close(fd);
  return err;
#else
  (void)connect;
  (void)nconnect;
  (void)bind;
  (void)nbind;
  (void)abstract;
  return ENOSYS;
#endif
}
