#include <arch/x86_64/cpu.h>
#include <kernel/console.h>
#include <kernel/memory.h>
#include <net/dhcp.h>
#include <net/dhcp_client.h>
#include <sched/scheduler.h>

#include <new>

namespace net {
namespace {

// Waits up to `ms` for a DHCP reply of `type` (or a NAK) to transaction `xid` on `port`.
bool wait_reply(UdpPort& port, uint32_t xid, uint8_t type, DhcpReply* reply, int ms) {
  Datagram d;
  for (int t = 0; t < ms; ++t) {
    while (port.pop(&d)) {
      if (dhcp_parse(d.data, d.length, xid, reply) && (reply->type == type || reply->type == kDhcpNak)) return true;
    }
    sched::sleep_ms(1);
  }
  return false;
}

}  // namespace

klib::Status dhcp_configure(Stack& stack) {
  void* memory = kernel::allocate(sizeof(UdpPort), 64);
  if (memory == nullptr) return klib::Error::kNoMemory;
  auto* port = new (memory) UdpPort();
  port->port = kDhcpClientPort;
  port->any_destination = true;  // the answers come to an address we do not have yet
  if (!stack.bind_udp(port)) {
    kernel::release(port);
    return klib::Error::kBusy;
  }
  const Ipv4 broadcast{0xFFFFFFFF};
  uint8_t msg[548];
  klib::Status result = klib::Error::kTimeout;
  for (int attempt = 0; attempt < 4 && !result; ++attempt) {
    const uint32_t xid = uint32_t(arch::rdtsc()) ^ 0x746F726F;
    DhcpReply offer, ack;
    size_t n = dhcp_build(msg, sizeof msg, kDhcpDiscover, xid, stack.mac(), {}, {});
    stack.send_udp(kDhcpClientPort, broadcast, kDhcpServerPort, msg, n);
    if (!wait_reply(*port, xid, kDhcpOffer, &offer, 2000) || offer.type != kDhcpOffer) continue;
    n = dhcp_build(msg, sizeof msg, kDhcpRequest, xid, stack.mac(), offer.your_ip, offer.server);
    stack.send_udp(kDhcpClientPort, broadcast, kDhcpServerPort, msg, n);
    if (!wait_reply(*port, xid, kDhcpAck, &ack, 2000) || ack.type != kDhcpAck) continue;
    const Ipv4 mask = ack.mask.value != 0 ? ack.mask : Ipv4::from_bytes(255, 255, 255, 0);
    stack.set_address(ack.your_ip, ack.router, mask);
    kernel::printk("DHCP: address %d.%d.%d.%d from server %d.%d.%d.%d, lease %d s\n", ack.your_ip.octet(0),
                   ack.your_ip.octet(1), ack.your_ip.octet(2), ack.your_ip.octet(3), ack.server.octet(0),
                   ack.server.octet(1), ack.server.octet(2), ack.server.octet(3), ack.lease_seconds);
    result = {};
  }
  stack.unbind_udp(port);
  kernel::release(port);
  return result;
}

}  // namespace net
