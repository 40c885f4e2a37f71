// LD_PRELOAD shim for QEMU user networking's port forwarding. libslirp opens each hostfwd port
// with listen(fd, 1): under a burst of connections the host kernel's accept queue for that
// port overflows and drops the clients' SYNs (`nstat TcpExtListenOverflows` counts them), so
// clients stall 1, 3, 7, 15 s in their SYN retries before QEMU ever sees them, whatever the
// guest does. tools/toro preloads this into QEMU when it forwards ports: it raises every
// listen() backlog to at least 4096 (the kernel caps it at net.core.somaxconn). It changes
// nothing else; `tools/toro run --no-backlog-shim` runs QEMU without it.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

enum { kMinBacklog = 4096 };

int listen(int fd, int backlog) {
  static int (*real_listen)(int, int);
  if (real_listen == 0) real_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
  return real_listen(fd, backlog < kMinBacklog ? kMinBacklog : backlog);
}
