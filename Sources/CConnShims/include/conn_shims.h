// GNU-only calls that the Glibc module does not expose to Swift.
#ifndef CONN_SHIMS_H
#define CONN_SHIMS_H
#include <sys/types.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>

/// strerrorname_np where available (glibc 2.32+), else NULL.
const char *conn_errno_name(int err);
/// accept4 on Linux; accept + fcntl elsewhere.
int conn_accept4(int fd, struct sockaddr *addr, socklen_t *len, int nonblock);
/// dup3(fd, target, O_CLOEXEC) on Linux; dup2 + FD_CLOEXEC elsewhere (EINVAL for fd == target).
int conn_dup3_cloexec(int fd, int target);
/// setfsuid/setfsgid on Linux (permission checks on files as another user); -1 elsewhere.
int conn_setfsuid(unsigned uid, unsigned gid);
/// The calling thread's file-system uid and gid (setfsuid(-1) reads without changing).
unsigned conn_current_fsuid(void);
unsigned conn_current_fsgid(void);
/// The sub-process id of the calling thread (gettid), 0 where there is none.
long conn_gettid(void);
/// Sends `sig` to one thread of this process (tgkill), so an interrupt lands on the blocked call.
int conn_tgkill(long tid, int sig);
/// An address that is certainly not mapped: for EFAULT on purpose.
const void *conn_bad_pointer(void);
/* A descriptor (O_PATH) of directory `path` under `dirfd`, resolved without following any
   symbolic link and without leaving `dirfd`; -errno on failure (ELOOP: a link was met). */
int conn_open_beneath(int dirfd, const char *path);
/* fchmodat2(dirfd, name, mode, AT_SYMLINK_NOFOLLOW): 0 or -errno (EOPNOTSUPP on a link). */
int conn_chmod_nofollow(int dirfd, const char *name, unsigned mode);
#endif

#ifndef CONN_SHIMS_TIMER_H
#define CONN_SHIMS_TIMER_H
/// Installs the process-wide handler for the interrupt signal (no SA_RESTART, so a blocked call
/// returns EINTR). Idempotent. Returns 0 or -1.
int conn_interrupt_install(void);
/// Arms a one-shot timer that signals the calling thread after `ns` nanoseconds. The timer is
/// created for the calling thread on first use (timer_create with SIGEV_THREAD_ID).
int conn_interrupt_arm(long long ns);
/// Disarms the calling thread's timer; returns 1 if it fired since it was armed, else 0.
int conn_interrupt_disarm(void);
/// 1 if the calling thread's timer fired since it was last armed, else 0; leaves it armed.
int conn_interrupt_fired(void);
/// ppoll(2) with no signal mask change: poll with a nanosecond timeout (GNU; poll elsewhere).
int conn_ppoll(struct pollfd *fds, unsigned long nfds, long long timeout_ns);
/// Offsets of struct sockaddr_un's path, for address lengths.
int conn_sun_path_offset(void);

/// pipe2(O_CLOEXEC) on Linux; pipe + FD_CLOEXEC elsewhere.
int conn_pipe_cloexec(int fds[2]);

/* The watchdog of blocking calls (watchdog.c). */
/// The signal that interrupts a blocked call (the timers' and the watchdog's).
#ifdef SIGRTMIN
#define CONN_WATCH_SIGNAL (SIGRTMIN + 4)
#else
#define CONN_WATCH_SIGNAL SIGUSR2
#endif
/// Arms the calling thread's limit: `limit_ns` past `start_ns` (CLOCK_MONOTONIC; 0: now), the
/// watchdog signals it. No system call in the common case. Returns 0, or -1 when no watchdog
/// could be had.
int conn_watch_arm(long long limit_ns, long long start_ns);
/// Takes the arming back; returns 1 if the limit had passed (the signal has landed), else 0.
int conn_watch_disarm(void);
/// The calling thread's "the interrupt signal arrived" flag.
volatile int *conn_interrupt_fired_flag(void);
/// Installs the interrupt signal's handler and unblocks it for the calling thread.
int conn_interrupt_prepare(void);

/* Changes to the calling thread's credentials for good (privileges.c). */
/// Makes the calling thread alone user `uid` and group `gid` (real, effective, saved), with only
/// that group, no capabilities and no_new_privs; reads it all back. 0, or the errno.
int conn_drop_privileges(unsigned uid, unsigned gid);
/// Landlock's ABI version, or -errno (EOPNOTSUPP: disabled at boot; ENOSYS: not built in).
int conn_landlock_abi(void);
/// Adds a Landlock layer to the calling thread: TCP connect allowed only to `connect`'s ports
/// (nconnect -1: not restricted), bind likewise, abstract Unix sockets scoped when `abstract`.
/// 0, or the errno.
int conn_landlock_restrict(
  const unsigned short *connect, int nconnect, const unsigned short *bind, int nbind, int abstract);
/// Gives back what the calling thread holds of the watchdog (its slot) and of the interrupt
/// timer, before the thread ends.
void conn_thread_release(void);
/// Stop signals are passed on to thread `tid` from now on; returns the thread they went to.
long conn_stop_retarget(long tid);

/* Calls in the background (background.c). */
/// The big backend lock of a scenario with background calls: made, destroyed.
void *conn_gil_create(void);
void conn_gil_destroy(void *gil);
/// How many big backend locks exist in the process: with none, a blocking call needs no step
/// around it (read inline, so the common case costs one load).
extern int conn_gil_users;
static inline int conn_gil_in_use(void) { return __atomic_load_n(&conn_gil_users, __ATOMIC_RELAXED); }
/// The calling thread takes part in `gil` and holds it / lets go of it for good.
void conn_gil_enter(void *gil);
void conn_gil_leave(void);
/// Around a blocking system call: lets go of the lock if this thread holds it (and marks a
/// background call as under way); returns whether it did. Resume takes it back.
int conn_gil_pause(void);
void conn_gil_resume(int paused);
/// The same for the scenario's thread while it waits for a background call.
int conn_gil_pause_main(void);
void conn_gil_resume_main(int paused);
/// Starts `fn(arg)` on a thread of its own that holds `gil` while it runs; returns once the call
/// is blocked in the kernel or done. NULL when no thread could be made.
void *conn_bg_start(void *gil, void (*fn)(void *), void *arg);
/// 1 when the call has finished.
int conn_bg_done(void *bg);
/// Waits for the thread to end (its call is bounded by the watchdog) and frees it.
void conn_bg_join(void *bg);
/// Signals the thread until its blocking call returns (EINTR), at most a second; 1 if sent.
int conn_bg_signal(void *bg);
/// A coroutine: `fn(arg, co)` on a thread of its own; it and its caller take turns.
void *conn_co_start(void (*fn)(void *, void *), void *arg);
/// Lets the body run until it yields or ends; 1 when it has ended (its thread is then joined).
int conn_co_resume(void *co);
/// From the body: hands control back to the caller until the next resume.
void conn_co_yield(void *co);
void conn_co_free(void *co);

/* Stopping on a signal (stop.c). */
/// Installs handlers for SIGINT, SIGTERM and SIGHUP that record the signal (no SA_RESTART) and
/// pass it on to the calling thread, which runs statements. Returns 0 or -1.
int conn_stop_install(void);
/// The first stop signal that arrived, or 0.
int conn_stop_signal(void);
/// Set by every stop signal and by the REPL's Ctrl-C: the one word an interpreter checks.
extern volatile int conn_interrupt_word;
/// The word, read (a function, so that a loop can never keep an old value).
int conn_interrupt_requested(void);
/// Asks for SIGTERM when the parent process ends (Linux), then checks that `parent` is still the
/// parent: 0 when so, 1 when it is already gone, -1 on error.
int conn_die_with_parent(int parent);

/* Network namespaces (netns.c). */
/// unshare(CLONE_NEWNET) for the calling thread; -1 and errno on failure.
int conn_unshare_net(void);
/// Brings the loopback interface up in the calling thread's namespace.
int conn_loopback_up(void);
/// The inode of the calling thread's network namespace (to tell namespaces apart), 0 if unknown.
unsigned long long conn_netns_inode(void);
/// A descriptor for the calling thread's network namespace (keeps it alive while open).
int conn_open_netns(void);
/// Moves the calling thread into the network namespace `fd` refers to.
int conn_setns_net(int fd);
/// 1 if the interface `name` of the calling thread's namespace is running (carrier up), 0 if
/// not, -1 if it cannot be read.
int conn_interface_running(const char *name);
/// The inode of what `fd` refers to (a namespace's identity), 0 on error.
unsigned long long conn_fd_inode(int fd);
/// The inode of the host's own network namespace (that of process 1), 0 if unreadable.
unsigned long long conn_initial_netns_inode(void);
/// 0 if this process may create network namespaces, else the errno that unshare gives.
int conn_probe_unshare_net(void);
/// Lets glibc's allocator keep freed memory instead of returning it to the kernel at once.
void conn_keep_freed_memory(void);
/// Makes the cgroup v2 directory `dir` with connect and UDP sendmsg hooks that deny (err 0:
/// EPERM, else that errno). 0, or -1 with errno.
int conn_connect_hook_create(const char *dir, int err);
/// socket(domain, type, 0) made with the process inside the cgroup whose cgroup.procs is
/// `inside`, then moved back to `back`. The descriptor, or -1 (socket failed, *err), -2 (could
/// not join, *err), -3 (could not go back, *err; nothing was kept).
int conn_socket_in_cgroup(const char *inside, const char *back, int domain, int type, int protocol, int *err);
/// The platform's MSG_* flags for conn's MessageFlags bits (DONTWAIT 1, PEEK 2, NOSIGNAL 4,
/// FASTOPEN 8, WAITALL 16, TRUNC 32, OOB 64, MORE 128).
int conn_msg_flags(unsigned bits);
/// Blocks SIGPIPE in the calling thread for one call, then takes back a SIGPIPE that call raised
/// and restores the mask (errno kept).
void conn_sigpipe_hold(void);
void conn_sigpipe_release(void);
#endif
