// GNU-only calls that the Glibc module does not expose to Swift.
#ifndef CONN_SHIMS_H
#define CONN_SHIMS_H
#include <sys/types.h>
#include <sys/socket.h>

/// strerrorname_np where available (glibc 2.32+), else NULL.
const char *conn_errno_name(int err);
/// accept4 on Linux; accept + fcntl elsewhere.
int conn_accept4(int fd, struct sockaddr *addr, socklen_t *len, int nonblock);
/// setfsuid/setfsgid on Linux (permission checks on files as another user); -1 elsewhere.
int conn_setfsuid(unsigned uid, unsigned gid);
/// The sub-process id of the calling thread (gettid), 0 where there is none.
long conn_gettid(void);
/// Sends `sig` to one thread of this process (tgkill), so an interrupt lands on the blocked call.
int conn_tgkill(long tid, int sig);
/// An address that is certainly not mapped: for EFAULT on purpose.
const void *conn_bad_pointer(void);
#endif
