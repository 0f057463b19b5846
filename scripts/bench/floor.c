/* The syscall floor for scripts/bench.sh: the same socket calls that the benchmark scenarios
 * make, with nothing else around them. Loopback only; every loop is bounded by its argument.
 *
 *   floor refused N   socket, connect to a bound port nobody listens on (ECONNREFUSED), close
 *   floor accept N    nonblocking connect to a listener (EINPROGRESS), accept, close both
 *   floor udp N       datagram socket, connect to a bound port, close
 *   floor startup     one socket, then exit (the one-statement scenario)
 *   floor measure LOG PROGRAM ARG...
 *                     runs PROGRAM with stdout and stderr to LOG and prints "WALL_NS MAXRSS_KB
 *                     STATUS": the harness measures every program through this small process,
 *                     so that the child's peak RSS is its own (a child forked from a large
 *                     parent inherits the parent's resident pages into its ru_maxrss)
 *
 * conn makes exactly these calls too (its time limits cost no system call: a watchdog thread
 * signals only a call that overruns), so conn/C is conn's own work. Exits 1 on any unexpected
 * answer. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *what) {
  perror(what);
  exit(1);
}

static void target_of(int fd, struct sockaddr_in *a) {
  socklen_t len = sizeof *a;
  if (getsockname(fd, (struct sockaddr *)a, &len) != 0) fail("getsockname");
}

static int bound(int type) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) fail("bind");
  return fd;
}

static void refused(long n) {
  int p = bound(SOCK_STREAM);
  struct sockaddr_in a;
  target_of(p, &a);
  for (long i = 0; i < n; i++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket");
    int rc = connect(s, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    if (rc == 0 || err != ECONNREFUSED) fail("connect (expected ECONNREFUSED)");
    close(s);
  }
  close(p);
}

static void accepting(long n) {
  int l = bound(SOCK_STREAM);
  if (listen(l, 128) != 0) fail("listen");
  struct sockaddr_in a;
  target_of(l, &a);
  for (long i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c < 0) fail("socket");
    if (connect(c, (struct sockaddr *)&a, sizeof a) == 0 || errno != EINPROGRESS) fail("connect (expected EINPROGRESS)");
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int s = accept4(l, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (s < 0) fail("accept");
    close(s);
    close(c);
  }
  close(l);
}

static void udp(long n) {
  int p = bound(SOCK_DGRAM);
  struct sockaddr_in a;
  target_of(p, &a);
  for (long i = 0; i < n; i++) {
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (u < 0) fail("socket");
    if (connect(u, (struct sockaddr *)&a, sizeof a) != 0) fail("connect");
    close(u);
  }
  close(p);
}

static int measure(int argc, char **argv) {
  if (argc < 4) return 2;
  int log = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) fail("open log");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    dup2(log, 1);
    dup2(log, 2);
    execvp(argv[3], argv + 3);
    perror(argv[3]);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) fail("wait4");
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("%lld %ld %d\n", ns, ru.ru_maxrss, code);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "measure") == 0) return measure(argc, argv);
  if (argc < 2) {
    fprintf(stderr, "usage: floor refused|accept|udp N | floor startup | floor measure LOG PROGRAM ARG...\n");
    return 2;
  }
  if (strcmp(argv[1], "startup") == 0) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket");
    close(s);
    return 0;
  }
  if (argc < 3) return 2;
  long n = atol(argv[2]);
  if (n < 0 || n > 100000000) return 2;
  if (strcmp(argv[1], "refused") == 0) refused(n);
  else if (strcmp(argv[1], "accept") == 0) accepting(n);
  else if (strcmp(argv[1], "udp") == 0) udp(n);
  else return 2;
  return 0;
}
