"""What a user would write instead of a scenario: the benchmark loops of scripts/bench.sh in
Python 3, with the same socket calls as scripts/bench/floor.c. Loopback only, bounded loops.

    python3 floor.py refused|accept|udp N
    python3 floor.py startup
"""
import errno
import socket
import sys


def bound(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    return s


def refused(n):
    p = bound(socket.SOCK_STREAM)
    target = p.getsockname()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        err = s.connect_ex(target)
        if err != errno.ECONNREFUSED:
            sys.exit("connect: expected ECONNREFUSED, got %s" % errno.errorcode.get(err, err))
        s.close()


def accepting(n):
    l = bound(socket.SOCK_STREAM)
    l.listen(128)
    target = l.getsockname()
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        err = c.connect_ex(target)
        if err != errno.EINPROGRESS:
            sys.exit("connect: expected EINPROGRESS, got %s" % errno.errorcode.get(err, err))
        a, _ = l.accept()
        a.close()
        c.close()


def udp(n):
    p = bound(socket.SOCK_DGRAM)
    target = p.getsockname()
    for _ in range(n):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect(target)
        u.close()


def main():
    mode = sys.argv[1]
    if mode == "startup":
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        return
    n = int(sys.argv[2])
    if not 0 <= n <= 100000000:
        sys.exit(2)
    {"refused": refused, "accept": accepting, "udp": udp}[mode](n)


main()
