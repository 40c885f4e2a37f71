// The DHCP exchange of an interface that has no address (RFC 2131 §3.1): DISCOVER, OFFER,
// REQUEST, ACK, broadcast both ways, up to four attempts of 2 s per answer; on an ACK the stack
// gets the address, router and mask. The messages are net/dhcp.h's (portable, host-tested);
// this runs them on the calling core, which owns the stack.
//
//   klib::Status s = net::dhcp_configure(iface.stack);   // prints "DHCP: address ..." on success
//   if (!s) ...                                          // kTimeout: no answer; kNoMemory, kBusy
#pragma once

#include <lib/result.h>
#include <net/stack.h>

namespace net {

klib::Status dhcp_configure(Stack& stack);

}  // namespace net
