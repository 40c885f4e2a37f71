// A bounded HTTP load for the VM tests (issue #10): REQUESTS GETs over CONCURRENCY connections
// at a time, one request per connection (HTTP/1.0, the server closes), each answer compared
// byte for byte with EXPECT (a file). Unlike ab it times every answer (CLOCK_MONOTONIC, µs), so
// it can say how long the server went without completing any request at all ("max gap").
//
//   loadgen HOST PORT REQUESTS CONCURRENCY TIMEOUT_MS EXPECT_FILE
//
// Prints one line: requests, ok, failed (by kind), seconds, requests/s, the slowest request, the
// longest time without an answer (from the start, or from an answer) and when it began, the time
// to the first answer, in ms; then the longest time without an answer while the load was full
// (requests still waiting to start, so every slot busy) and how many requests were in flight
// during the longest gap. Exit status 0 if it ran (judging is the caller's).
//
// Why both gaps: once the last request has started, the slots drain, and the run's tail can be
// a few requests the server deliberately refused (a SYN dropped when it is out of memory, which
// the client's TCP or QEMU's slirp sends again 1-3 s later). A gap there is that retry timer,
// not a stalled server; a gap while all CONCURRENCY requests are waiting is the server's.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kRefused, kReset, kTimeout, kWrong, kKinds };
static const char* const kKindNames[kKinds] = {"connect", "reset", "timeout", "wrong"};

struct Conn {
  int fd;
  uint64_t start;  // µs
  size_t got;
  int sent;
  char buf[1024];
};

static uint64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s HOST PORT REQUESTS CONCURRENCY TIMEOUT_MS EXPECT_FILE\n", argv[0]);
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return 2;
  const long total = atol(argv[3]);
  const int concurrency = atoi(argv[4]);
  const uint64_t timeout = (uint64_t)atol(argv[5]) * 1000u;
  char expect[1024];
  FILE* f = fopen(argv[6], "rb");
  if (f == NULL) return 2;
  const size_t expect_len = fread(expect, 1, sizeof expect, f);
  fclose(f);

  struct Conn* conns = calloc((size_t)concurrency, sizeof *conns);
  const int ep = epoll_create1(0);
  long started = 0, done = 0, ok = 0, failed[kKinds] = {0};
  uint64_t longest = 0, max_gap = 0, max_gap_at = 0, first_answer = 0, loaded_gap = 0;
  long gap_in_flight = 0, in_flight_after_answer = 0;
  const uint64_t begin = now_us();
  uint64_t load_full_until = 0;  // when the last request started (0: not yet)
  uint64_t last_answer = begin;

  for (int i = 0; i < concurrency; ++i) conns[i].fd = -1;
  for (;;) {
    // Keep CONCURRENCY requests going.
    for (int i = 0; i < concurrency && started < total; ++i) {
      struct Conn* c = &conns[i];
      if (c->fd >= 0) continue;
      c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (c->fd < 0) {
        perror("socket");
        return 1;
      }
      c->start = now_us();
      c->got = 0;
      c->sent = 0;
      ++started;
      if (connect(c->fd, (struct sockaddr*)&to, sizeof to) != 0 && errno != EINPROGRESS) {
        ++failed[kRefused];
        ++done;
        close(c->fd);
        c->fd = -1;
        continue;
      }
      struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)i};
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    }
    if (started == total && load_full_until == 0) load_full_until = now_us();
    if (done == total) break;
    struct epoll_event events[256];
    const int n = epoll_wait(ep, events, 256, 10);
    const uint64_t t = now_us();
    for (int k = 0; k < n; ++k) {
      struct Conn* c = &conns[events[k].data.u32];
      int kind = -1;     // a failure, or
      int answered = 0;  // the whole answer, as expected
      if (!c->sent) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          kind = err == ECONNREFUSED ? kRefused : kReset;
        } else {
          char req[64];
          const int m = snprintf(req, sizeof req, "GET /%ld HTTP/1.0\r\n\r\n", started);
          if (send(c->fd, req, (size_t)m, MSG_NOSIGNAL) != m) {
            kind = kReset;
          } else {
            c->sent = 1;
            struct epoll_event e = {.events = EPOLLIN, .data.u32 = events[k].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
          }
        }
      } else {
        const ssize_t r = recv(c->fd, c->buf + c->got, sizeof c->buf - c->got, 0);
        if (r > 0) {
          c->got += (size_t)r;
          if (c->got == sizeof c->buf) kind = kWrong;
        } else if (r == 0) {
          if (c->got == expect_len && memcmp(c->buf, expect, expect_len) == 0) {
            answered = 1;
          } else {
            kind = kWrong;
            if (failed[kWrong] < 3) {  // what came instead, for the log
              fprintf(stderr, "loadgen: wrong answer after %.1f ms, %zu bytes: \"%.*s\"\n",
                      (double)(t - c->start) / 1e3, c->got, (int)(c->got < 60 ? c->got : 60), c->buf);
            }
          }
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
          kind = kReset;
        }
      }
      if (answered) {
        ++ok;
        if (t - c->start > longest) longest = t - c->start;
        if (ok == 1) first_answer = t - begin;
        if (t - last_answer > max_gap) {
          max_gap = t - last_answer;
          max_gap_at = last_answer - begin;
          gap_in_flight = started - done;
        }
        const uint64_t full_end = load_full_until != 0 && load_full_until < t ? load_full_until : t;
        if (full_end > last_answer && full_end - last_answer > loaded_gap) loaded_gap = full_end - last_answer;
        last_answer = t;
        in_flight_after_answer = started - done - 1;  // without this one
      } else if (kind >= 0) {
        ++failed[kind];
      }
      if (answered || kind >= 0) {  // the slot takes the next request
        close(c->fd);
        c->fd = -1;
        ++done;
      }
    }
    for (int i = 0; i < concurrency; ++i) {  // requests that took too long
      struct Conn* c = &conns[i];
      if (c->fd >= 0 && t - c->start > timeout) {
        ++failed[kTimeout];
        close(c->fd);
        c->fd = -1;
        ++done;
      }
    }
  }
  const uint64_t end = now_us();
  if (end - last_answer > max_gap && ok != 0) {
    max_gap = end - last_answer;
    max_gap_at = last_answer - begin;
    gap_in_flight = in_flight_after_answer;  // the run ended in the gap: these ended in failures
  }
  if (load_full_until > last_answer && load_full_until - last_answer > loaded_gap) {
    loaded_gap = load_full_until - last_answer;
  }
  long bad = 0;
  for (int k = 0; k < kKinds; ++k) bad += failed[k];
  printf("loadgen: requests %ld ok %ld failed %ld (", total, ok, bad);
  for (int k = 0; k < kKinds; ++k) printf("%s%s %ld", k ? ", " : "", kKindNames[k], failed[k]);
  printf(
      ") seconds %.2f rps %.0f longest_ms %.1f max_gap_ms %.1f (from %.1f ms on) first_ms %.1f"
      " loaded_gap_ms %.1f in_flight_in_max_gap %ld\n",
      (double)(end - begin) / 1e6, (double)ok / ((double)(end - begin) / 1e6), (double)longest / 1e3,
      (double)max_gap / 1e3, (double)max_gap_at / 1e3, (double)first_answer / 1e3, (double)loaded_gap / 1e3,
      gap_in_flight);
  return 0;
}
