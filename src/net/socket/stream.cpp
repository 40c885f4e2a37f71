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

bool StreamSocket::close() {
  if (closed_) return false;
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
