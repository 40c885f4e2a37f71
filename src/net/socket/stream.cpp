// Sockets: what has several callers (the API, accept() and the service dispatcher); the rest is
// inline in socket.h and stream.h.
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

void StreamSocket::apply_options() {
  if (conn_ == nullptr) return;
  here_->tcp->set_options(conn_, nagle_, uint64_t(keepalive_idle_ms_) * 1000, uint64_t(keepalive_interval_ms_) * 1000,
                          keepalive_count_);
}

// Corks the connection and lists it on the core, to be flushed before the thread gives up the
// CPU. False when it cannot be held (no hook, or the core's slot taken by other work).
bool StreamSocket::plug() {
  if (plugged_) return true;
  if (kKernel.run_before_yield == nullptr || !kKernel.run_before_yield(flush_plugged, here_)) return false;
  here_->tcp->set_cork(conn_, true);
  plugged_ = true;
  next_ = here_->plugged;
  here_->plugged = this;
  return true;
}

// Out of the core's list (a few sockets: one per thread that sent since its last yield).
void StreamSocket::unlink_plugged() {
  for (StreamSocket** p = &here_->plugged; *p != nullptr; p = &(*p)->next_) {
    if (*p == this) {
      *p = next_;
      break;
    }
  }
  plugged_ = false;
  next_ = nullptr;
}

void StreamSocket::unplug() {
  if (!plugged_) return;
  unlink_plugged();
  Stack::Burst b(here_->stack);
  here_->tcp->set_cork(conn_, false);
}

void StreamSocket::flush_plugged(void* sockets) {
  auto* here = static_cast<Sockets*>(sockets);
  Stack::Burst b(here->stack);  // the core's held segments reach the card with one doorbell
  // One at a time off the list, each marked unplugged before its output: the list stays
  // consistent whatever the output does (it does not sleep today: send_frame spins for room).
  while (StreamSocket* s = here->plugged) {
    here->plugged = s->next_;
    s->next_ = nullptr;
    s->plugged_ = false;
    here->tcp->set_cork(s->conn_, false);
  }
}

bool StreamSocket::close() {
  if (closed_) return false;
  if (plugged_) unlink_plugged();  // the FIN goes with what was held (Connection::close uncorks)
  if (listener_ != nullptr) {
    here_->tcp->unlisten(listener_);
    listener_ = nullptr;
    if (service_ != nullptr && service_->server_ == this) service_->server_ = nullptr;
  }
  if (conn_ != nullptr) {
    conn_->user = nullptr;
    // What was held or queued leaves with the FIN, its frames with one doorbell.
    Stack::Burst b(here_->stack);
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
