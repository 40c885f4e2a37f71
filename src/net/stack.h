// One core's network stack over one NIC (toro-spec §2.9.1: a NIC is dedicated to a core and
// its packets never cross cores): Ethernet II (ethernet.cpp), ARP (RFC 826) with a timed cache
// (arp.cpp), IPv4 (RFC 791: header checks, TTL, fragments dropped; ipv4.cpp), ICMP echo
// (RFC 792, icmp.cpp) and UDP ports (RFC 768, udp.cpp); TCP lives in tcp/ and is handed
// protocol 6. Portable: frames come in through receive_frame(), go out through the send
// callback, time comes from now_ms, so the host tests and the fuzzer drive it without a VM.
//
//   net::Stack s;
//   s.configure(mac, ip, gateway, mask, {send_frame, nic}, now_ms);
//   s.receive_frame(frame, length);               // for every received frame
//   s.send_echo_request(dst, id, seq, data, n);   // false: no ARP entry yet (a request went out)
#pragma once

#include <net/packet.h>
#include <net/tcp/segment.h>

#include <cstddef>
#include <cstdint>

namespace net {

namespace tcp {
class Tcp;
}

struct Counters {
  uint64_t frames_in, frames_out;
  uint64_t dropped_short, dropped_not_for_us, dropped_unknown_type;
  uint64_t dropped_bad_ip, dropped_bad_checksum, dropped_fragment, dropped_unknown_protocol;
  uint64_t dropped_bad_arp, dropped_bad_icmp, arp_requests_answered, echo_requests_answered;
  uint64_t dropped_bad_udp, dropped_no_port, dropped_queue_full, udp_in, udp_out, tcp_out_no_route;
  uint64_t dropped_no_arp;  // held for an ARP reply, pushed out by newer ones
  uint64_t raw_in;          // frames of other EtherTypes handed to the raw sink
};

// A received UDP datagram waiting in a port's queue.
struct Datagram {
  Ipv4 from;
  uint16_t from_port;
  uint16_t length;
  uint8_t data[1472];  // the largest UDP payload of a 1500-byte IPv4 packet
};

// A bound UDP port (RFC 768): a small ring of datagrams, filled by the packet thread and read by
// the application on the same core (no locks: one core).
struct UdpPort {
  static constexpr size_t kQueue = 8;
  uint16_t port = 0;
  bool any_destination = false;  // also take datagrams not addressed to our IP (DHCP before we have one)
  Datagram queue[kQueue];
  size_t head = 0, count = 0;
  bool pop(Datagram* out);
};

struct EchoReply {
  Ipv4 from;
  uint16_t id, seq;
  uint16_t length;  // payload bytes kept (up to kMaxEchoPayload)
  uint8_t data[64];
};

class Stack {
 public:
  static constexpr size_t kArpEntries = 32;
  static constexpr uint64_t kArpTimeoutMs = 60000;
  static constexpr size_t kMaxFrame = 1514;  // Ethernet header + 1500-byte MTU (no FCS)
  static constexpr size_t kEchoQueue = 8;
  static constexpr size_t kUdpPorts = 16;

  struct Sender {
    bool (*send)(void* ctx, const uint8_t* frame, size_t length);
    void* ctx;
    // Optional: holds the card's doorbell across a burst of sends (drivers::Nic::hold).
    void (*hold)(void* ctx, bool on) = nullptr;
  };
  // The frames sent while a Burst lives reach the card with one doorbell when it ends. Only
  // around code that does not sleep: a held frame is not on the wire until then.
  class Burst {
   public:
    explicit Burst(Stack* s) : s_(s) { hold(s_, true); }
    ~Burst() { hold(s_, false); }
    Burst(const Burst&) = delete;
    Burst& operator=(const Burst&) = delete;

   private:
    static void hold(Stack* s, bool on);  // out of line: every Burst is two calls
    Stack* s_;
  };
  using Clock = uint64_t (*)();

  void configure(const Mac& mac, Ipv4 ip, Ipv4 gateway, Ipv4 mask, Sender sender, Clock now_ms);
  // Handles one received frame; never fails (bad frames are counted and dropped).
  void receive_frame(const uint8_t* frame, size_t length);

  // Sends an ICMP echo request; false if the next hop's MAC is not known yet (an ARP request
  // was sent: try again shortly) or the NIC refused the frame.
  bool send_echo_request(Ipv4 dst, uint16_t id, uint16_t seq, const void* data, size_t length);
  // The oldest unread echo reply; false if none.
  bool pop_echo_reply(EchoReply* out);

  // UDP: bind a port (false if taken or no slot), send a datagram (false: no ARP entry yet, an
  // ARP request went out; or too long). Source address 0.0.0.0 and broadcast work for DHCP.
  bool bind_udp(UdpPort* port);
  void unbind_udp(UdpPort* port);
  bool send_udp(uint16_t from_port, Ipv4 to, uint16_t to_port, const void* data, size_t length);
  // TCP: protocol 6 addressed to us goes to `tcp` (nullptr: dropped as unknown); send_tcp()
  // wraps a segment in IPv4 (false: no ARP entry yet, a request went out; TCP retransmits).
  void attach_tcp(tcp::Tcp* tcp) { tcp_ = tcp; }
  bool send_tcp(Ipv4 to, const tcp::Segment& segment);
  // Reconfigures the addresses (DHCP's result).
  void set_address(Ipv4 ip, Ipv4 gateway, Ipv4 mask) {
    ip_ = ip;
    gateway_ = gateway;
    mask_ = mask;
  }
  Ipv4 gateway() const { return gateway_; }
  Ipv4 mask() const { return mask_; }

  // Frames of an EtherType the stack does not handle (addressed to us or broadcast) go to
  // `take` instead of being dropped (src/api/network_raw.cpp installs it at a program's first
  // SysNetworkRead/SysNetworkSend, so a program that reads no frames links none of that code).
  struct RawSink {
    void (*take)(void* ctx, const uint8_t* frame, size_t length);
    void* ctx;
  };
  void set_raw_sink(RawSink sink) { raw_ = sink; }
  const RawSink& raw_sink() const { return raw_; }
  // A whole frame a program built (destination, source, EtherType, payload; at least 60 bytes),
  // as it is: false if the card did not take it.
  bool send_raw(const uint8_t* frame, size_t length) {
    ++counters_.frames_out;
    return sender_.send != nullptr && sender_.send(sender_.ctx, frame, length);
  }

  // The MAC for `ip` if the cache has a fresh entry.
  bool lookup(Ipv4 ip, Mac* out) const;
  // Sends an ARP request for `ip` (the next hop).
  void request(Ipv4 ip);
  // RFC 5227 §2.3 ARP announcement (a request for our own address): neighbours that already
  // want to reach us (QEMU's user network answering a connection forwarded before we were up
  // retries its ARP only every second) learn our MAC at once.
  void announce() { request(ip_); }
  Ipv4 next_hop(Ipv4 dst) const;

  const Counters& counters() const { return counters_; }
  Ipv4 ip() const { return ip_; }
  const Mac& mac() const { return mac_; }

 private:
  struct ArpEntry {
    Ipv4 ip;
    Mac mac;
    uint64_t stamp;
    bool used;
  };
  void handle_arp(const uint8_t* p, size_t length);
  void handle_ipv4(const uint8_t* frame, const uint8_t* p, size_t length);
  void handle_icmp(const uint8_t* frame, const uint8_t* ip, size_t ip_header, const uint8_t* p, size_t length);
  void handle_udp(const uint8_t* ip, const uint8_t* p, size_t length, bool for_us);
  void learn(Ipv4 ip, const Mac& mac);
  void send_arp(uint16_t op, const Mac& to, const Mac& target_mac, Ipv4 target_ip);
  bool send_ipv4(uint8_t* frame, Ipv4 dst, uint8_t protocol, size_t length, const Mac* known_mac);
  bool transmit(uint8_t* frame, size_t length);

  Mac mac_{};
  Ipv4 ip_, gateway_, mask_;
  Sender sender_{};
  Clock now_ = nullptr;
  ArpEntry arp_[kArpEntries] = {};
  // RFC 1122 §2.3.2.2: frames waiting for their next hop's ARP reply (the latest few; one
  // older than a second is dropped). Without this, the first SYN,ACK to a new peer was lost
  // and the connection waited a full retransmission timeout (1 s).
  struct Pending {
    bool used;
    Ipv4 hop;
    uint64_t stamp;
    uint16_t length;
    uint8_t frame[kMaxFrame];
  };
  static constexpr size_t kPendingFrames = 4;
  static constexpr uint64_t kPendingMs = 1000;
  Pending pending_[kPendingFrames] = {};
  uint32_t pending_count_ = 0;  // slots in use: learn() skips release_pending() when 0
  void hold(const uint8_t* frame, size_t length, Ipv4 hop);
  void release_pending(Ipv4 hop, const Mac& mac);
  EchoReply echo_[kEchoQueue] = {};
  size_t echo_head_ = 0, echo_count_ = 0;
  uint16_t ip_id_ = 1;
  UdpPort* udp_[kUdpPorts] = {};
  tcp::Tcp* tcp_ = nullptr;
  RawSink raw_{};
  Counters counters_{};
};

}  // namespace net
