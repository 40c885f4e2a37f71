// Network interfaces of the running kernel: a card dedicated to a core, with its stack and its
// packet thread (toro-spec §1.10 DedicateNetwork, §2.9.1). The cards are the kNetwork devices
// the kernel found at boot (kernel/devices.h).
//
//   net::Interface* i = net::dedicate("e1000", ip, gw, mask);   // on the core that will own it
//   net::Interface* mine = net::local();                   // this core's, or nullptr
#pragma once

#include <drivers/net/nic.h>
#include <net/socket/socket.h>
#include <net/stack.h>
#include <net/tcp/tcp.h>

namespace net {

struct Interface {
  const char* name;  // Toro's driver names: "e1000", "virtionet"
  drivers::Nic* nic;
  Stack stack;
  tcp::Tcp tcp;             // this core's TCP over `stack`; used only on `core` (no locks)
  socket::Sockets sockets;  // the sockets and services over them (net/socket; woken after each batch)
  uint32_t core;
};

// Binds the first free card called exactly `name` to the calling core, configures it (DHCP if
// `ip` is 0.0.0.0), and starts the core's packet thread. nullptr (with a console line saying
// why) if there is none, the core already has one, or the device does not come up.
[[gnu::cold]] Interface* dedicate(const char* name, Ipv4 ip, Ipv4 gateway, Ipv4 mask);  // once: for size
Interface* local();

}  // namespace net
