// A host gdb server over TCP on the fake target (gdb_fake_target.h), so that the real gdb checks
// the session: tests/unit/lib/gdb_real_test.py connects gdb to it in batch mode.
// Usage: gdb_rsp_server PORTFILE   (listens on 127.0.0.1, an ephemeral port written to PORTFILE)
// A resume stops again at once: a step moves rip by one byte, a continue stops with SIGTRAP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "gdb_fake_target.h"

namespace {

struct Server final : gdbtest::FakeTarget {
  void resume(const klib::gdb::ResumeRequest& request) override {
    FakeTarget::resume(request);
    if (request.step != 0) regs[request.step - 1].value[klib::gdb::kRip] += 1;
    resumed = true;
  }
  klib::gdb::Status set_breakpoint(klib::gdb::BreakKind kind, uint64_t address, size_t length, bool insert) override {
    const klib::gdb::Status s = FakeTarget::set_breakpoint(kind, address, length, insert);
    if (insert && s == klib::gdb::Status::kOk) ++inserted[unsigned(kind)];
    return s;
  }
  void detach() override {
    FakeTarget::detach();
    done = true;
  }
  void kill() override {
    FakeTarget::kill();
    done = true;
  }
  int inserted[5] = {};  // by BreakKind
  bool resumed = false;
  bool done = false;
};

void put(void* ctx, char c) {
  const int fd = *static_cast<int*>(ctx);
  if (write(fd, &c, 1) != 1) _exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 1;
  }
  FILE* f = fopen(argv[1], "w");
  if (f == nullptr) return 1;
  fprintf(f, "%d\n", ntohs(addr.sin_port));
  fclose(f);
  int fd = accept(listener, nullptr, nullptr);
  if (fd < 0) return 1;
  static Server target;
  // The fake's memory stands at 0x1000; gdb reads code at rip for its frame: put rip there.
  for (auto& r : target.regs) r.value[klib::gdb::kRip] = 0x1000;
  static klib::gdb::Session session(target, klib::Sink{put, &fd, nullptr});
  session.stopped({5, 1});
  char c;
  while (!target.done && read(fd, &c, 1) == 1) {
    session.feed(c);
    if (target.resumed) {
      target.resumed = false;
      session.stopped({5, 1});
    }
  }
  close(fd);
  printf("packets %llu, bad checksums %llu, detaches %d, kills %d, hardware breakpoints %d, write watchpoints %d\n",
         (unsigned long long)session.packets(), (unsigned long long)session.bad_checksums(), target.detaches,
         target.kills, target.inserted[1], target.inserted[2]);
  return 0;
}
