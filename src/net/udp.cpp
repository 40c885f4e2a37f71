// UDP (RFC 768): checked datagrams go to the queue of the port they are addressed to (a bound
// UdpPort; the socket API and the DHCP client read them), and datagrams go out with a checksum.
#include <net/ipv4.h>
#include <net/stack.h>

namespace net {

void Stack::handle_udp(const uint8_t* ip, const uint8_t* p, size_t length, bool for_us) {
  if (length < 8 || load16(p + 4) < 8 || load16(p + 4) > length) {
    ++counters_.dropped_bad_udp;
    return;
  }
  const uint16_t udp_length = load16(p + 4);
  const Ipv4 src{load32(ip + 12)}, dst{load32(ip + 16)};
  if (load16(p + 6) != 0 && checksum(p, udp_length, pseudo_header_sum(src, dst, kProtoUdp, udp_length)) != 0) {
    ++counters_.dropped_bad_checksum;
    return;
  }
  const uint16_t dst_port = load16(p + 2);
  UdpPort* port = nullptr;
  for (UdpPort* u : udp_) {
    if (u != nullptr && u->port == dst_port) port = u;
  }
  if (port == nullptr || (!for_us && !port->any_destination)) {
    ++counters_.dropped_no_port;
    return;
  }
  if (port->count == UdpPort::kQueue) {
    ++counters_.dropped_queue_full;
    return;
  }
  Datagram& d = port->queue[(port->head + port->count) % UdpPort::kQueue];
  d.from = src;
  d.from_port = load16(p);
  const size_t payload = size_t(udp_length) - 8;
  d.length = uint16_t(payload > sizeof d.data ? sizeof d.data : payload);
  memcpy(d.data, p + 8, d.length);
  ++port->count;
  ++counters_.udp_in;
}

bool UdpPort::pop(Datagram* out) {
  if (count == 0) return false;
  *out = queue[head];
  head = (head + 1) % kQueue;
  --count;
  return true;
}

bool Stack::bind_udp(UdpPort* port) {
  UdpPort** free_slot = nullptr;
  for (UdpPort*& u : udp_) {
    if (u != nullptr && u->port == port->port) return false;
    if (u == nullptr && free_slot == nullptr) free_slot = &u;
  }
  if (free_slot == nullptr) return false;
  port->head = port->count = 0;
  *free_slot = port;
  return true;
}

void Stack::unbind_udp(UdpPort* port) {
  for (UdpPort*& u : udp_) {
    if (u == port) u = nullptr;
  }
}

bool Stack::send_udp(uint16_t from_port, Ipv4 to, uint16_t to_port, const void* data, size_t length) {
  if (length > kMaxFrame - kIpPayload - 8) return false;
  uint8_t frame[kMaxFrame];
  uint8_t* u = frame + kIpPayload;
  store16(u, from_port);
  store16(u + 2, to_port);
  store16(u + 4, uint16_t(8 + length));
  store16(u + 6, 0);
  memcpy(u + 8, data, length);
  uint16_t sum = checksum(u, 8 + length, pseudo_header_sum(ip_, to, kProtoUdp, uint16_t(8 + length)));
  store16(u + 6, sum == 0 ? 0xFFFF : sum);  // 0 means "no checksum": send its complement
  if (!send_ipv4(frame, to, kProtoUdp, 8 + length, nullptr)) return false;
  ++counters_.udp_out;
  return true;
}

}  // namespace net
