// Sockets: what has several callers (the API, accept() and the service dispatcher) and UDP's
// select; the waits of blocking calls are in wait.cpp, the rest inline in socket.h and stream.h.
#include <net/socket/stream.h>

namespace net::socket {

// What a connection costs the socket layer (with the API's TSocket): as before the move, so the
// memory figures of docs/ARCHITECTURE.md ("Limits") hold.
static_assert(sizeof(StreamSocket) <= 80, "a stream socket's record grew");

klib::Result<Socket*> Socket::create(Kind kind, void* handle) {
  // Records on their own cache lines: the packet thread and the application touch them in turn.
  if (kind == Kind::kStream) {
    void* memory = kKernel.allocate(sizeof(StreamSocket), 64);
    if (memory == nullptr) return klib::Error::kNoMemory;
    return static_cast<Socket*>(new (memory) StreamSocket(handle));
  }
  void* memory = kKernel.allocate(sizeof(UdpSocket), 64);
  if (memory == nullptr) return klib::Error::kNoMemory;
  return static_cast<Socket*>(new (memory) UdpSocket());
}

bool UdpSocket::select(int64_t timeout_ms) {
  const uint64_t deadline = kKernel.now_ms() + uint64_t(timeout_ms < 0 ? 0 : timeout_ms);
  while (port_.count == 0) {
    const uint64_t now = kKernel.now_ms();
    if (now >= deadline) return false;
    wait(deadline - now);
  }
  return true;
}

void StreamSocket::apply_options() {
  if (conn_ == nullptr) return;
  here_->tcp->set_options(conn_, nagle_, uint64_t(keepalive_idle_ms_) * 1000, uint64_t(keepalive_interval_ms_) * 1000,
                          keepalive_count_);
}

// Before a send of n bytes. A blocking one that fits in the send buffer is held: the connection
// is corked as the core's plugged socket (one per core: plugging another lets the one held go,
// as a yield would), flushed before the thread gives up the CPU. Otherwise, or when it cannot
// be held (the core's slot taken by other work, or a thread of another core), what this socket
// held goes first.
void StreamSocket::plug_for(uint32_t n, bool blocking) {
  const bool fits = blocking && n <= conn_->conn.writable();
  if (here_->plugged == this) {
    if (!fits) flush_plugged(here_);
    return;
  }
  if (!fits || !kKernel.run_before_yield(flush_plugged, here_)) return;
  if (here_->plugged != nullptr) flush_plugged(here_);
  conn_->conn.set_cork(true, 0);  // corking sends nothing and arms no timer
  here_->plugged = this;
}

void StreamSocket::flush_plugged(void* sockets) {
  auto* here = static_cast<Sockets*>(sockets);
  StreamSocket* s = here->plugged;
  if (s == nullptr) return;
  here->plugged = nullptr;
  Stack::Burst b(here->stack);  // its segments reach the card with one doorbell
  here->tcp->set_cork(s->conn_, false);
}

bool StreamSocket::close() {
  if (closed_) return false;
  if (here_ != nullptr && here_->plugged == this) here_->plugged = nullptr;  // the FIN takes what was held
  if (listener_ != nullptr) {
    here_->tcp->unlisten(listener_);
    listener_ = nullptr;
    if (service_ != nullptr && service_->server_ == this) service_->server_ = nullptr;
  }
  if (conn_ != nullptr) {
    conn_->user = nullptr;
    here_->tcp->release(conn_);  // FIN after the queued data; freed when CLOSED
    conn_ = nullptr;
  }
  if (in_service_) {
    closed_ = true;  // the dispatcher unlinks and frees it
    return false;
  }
  kKernel.release(this);
  return true;
}

}  // namespace net::socket
