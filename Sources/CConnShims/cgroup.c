/* A cgroup BPF connect hook: the one mechanism (besides a local `prohibit` route) that makes
 * connect(2) itself fail with a "local firewall" errno. A cgroup v2 directory gets programs on
 * its connect4/connect6 and UDP sendmsg4/sendmsg6 hooks that deny the call (the kernel then
 * answers EPERM) or deny it with a chosen errno (bpf_set_retval, Linux 5.18+). A socket belongs
 * to the cgroup its creator was in when it was made, for good: conn moves itself into the
 * cgroup only for the socket() call, then back.
 *
 * The programs are four instructions, loaded with the raw bpf(2) system call (no libbpf, no
 * compiler); removing the directory detaches them. */
#define _GNU_SOURCE
#include "conn_shims.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/bpf.h>
#include <sys/syscall.h>
#endif

#ifdef __linux__
static int conn_bpf(int cmd, union bpf_attr *a) { return (int)syscall(__NR_bpf, cmd, a, sizeof *a); }

#define CONN_INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static int conn_load(int attach_type, int err) {
  struct bpf_insn deny[] = {
      CONN_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
      CONN_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  struct bpf_insn with_errno[] = {
      CONN_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, -err),
      CONN_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_set_retval),
      CONN_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
      CONN_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
  a.expected_attach_type = attach_type;
  a.insns = (unsigned long)(err ? with_errno : deny);
  a.insn_cnt = err ? 4 : 2;
  a.license = (unsigned long)"GPL";
  return conn_bpf(BPF_PROG_LOAD, &a);
}
#endif

int conn_connect_hook_create(const char *dir, int err) {
#ifdef __linux__
  if (mkdir(dir, 0700) != 0) return -1;
  int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    int e = errno;
    rmdir(dir);
    errno = e;
    return -1;
  }
  int types[] = {BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_UDP4_SENDMSG,
                 BPF_CGROUP_UDP6_SENDMSG};
  for (int i = 0; i < 4; i++) {
    int prog = conn_load(types[i], err);
    if (prog < 0) goto fail;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.target_fd = cg;
    a.attach_bpf_fd = prog;
    a.attach_type = types[i];
    int rc = conn_bpf(BPF_PROG_ATTACH, &a);
    int e = errno;
    close(prog); /* the attachment holds the program */
    errno = e;
    if (rc != 0) goto fail;
  }
  close(cg);
  return 0;
fail:;
  int e = errno;
  close(cg);
  rmdir(dir);
  errno = e;
  return -1;
#else
  (void)dir;
  (void)err;
  errno = ENOSYS;
  return -1;
#endif
}

/* Moves the whole process into the cgroup whose cgroup.procs is `procs`. */
static int conn_join(const char *procs) {
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, "0", 1);
  int e = errno;
  close(fd);
  errno = e;
  return n == 1 ? 0 : -1;
}

int conn_socket_in_cgroup(const char *inside, const char *back, int domain, int type, int protocol, int *err) {
  if (conn_join(inside) != 0) {
    *err = errno;
    return -2;
  }
  int fd = socket(domain, type, protocol);
  *err = fd < 0 ? errno : 0;
  if (conn_join(back) != 0) {
    /* Still inside: every later socket would be denied. Close this one and say so. */
    if (fd >= 0) close(fd);
    *err = errno;
    return -3;
  }
  return fd;
}
