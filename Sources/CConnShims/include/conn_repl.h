// The REPL's Ctrl-C: a SIGINT handler that only records the key press. It is installed without
// SA_RESTART, so a call blocked in the kernel returns EINTR instead of restarting, and the
// process is never killed by the key.
#ifndef CONN_REPL_H
#define CONN_REPL_H

/// Installs the SIGINT handler (no SA_RESTART) and makes the calling thread the one a SIGINT is
/// forwarded to when the kernel delivers it to another thread. Unblocks SIGINT in the calling
/// thread. Returns 0 or -1.
int conn_sigint_install(void);
/// 1 if SIGINT arrived since the last take, and clears the record.
int conn_sigint_take(void);
/// 1 if SIGINT arrived since the last take, without clearing it.
int conn_sigint_peek(void);
#endif
