// Networking (toro-spec §1.10): a NIC is dedicated to a core and its packets stay there.
//
//   const Byte ip[4] = {10, 0, 2, 15}, gw[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
//   DedicateNetwork("e1000", ip, gw, mask, nullptr);
//   TIPAddress to; _IPAddress(gw, to);
//   ICMPSendEcho(to, "ping", 4, 1, 0);
//   if (PICMPReply r = ICMPPoolPackets()) { ...; ToroFreeMem(r); }
#pragma once

#include <toro/types.h>

// An IPv4 address as Toro stores it: the first octet in the lowest byte (network order in
// memory): 192.100.200.100 is $64C864C0.
using TIPAddress = DWORD;
struct THardwareAddress {
  Byte b[6];
};

// Binds the NIC called Name ("e1000") to the calling core with a static address and starts its
// packet thread on this core. Handler must be nullptr (Toro's raw-handler variant is not
// provided). Prints the configuration; on failure prints why and returns false (Toro's is a
// procedure that fails silently; a Toro C++ program can check it, a ported one may ignore it).
// Kernel parameters: tcpmem=AMOUNT sets this core's TCP memory budget (bytes, K, M, G, or N% of
// the core's free memory; default 50%), netstat=SECONDS prints the core's memory and TCP state.
Boolean DedicateNetwork(const char* Name, const Byte IP[4], const Byte Gateway[4], const Byte Mask[4],
                        TThreadFunc Handler);

void _IPAddress(const Byte Ip[4], TIPAddress& Result);
void _IPAddresstoArray(TIPAddress Ip, Byte Result[4]);
// Dotted decimal ("10.0.2.2"), ended by NUL or a space, into four bytes. Bad input (nil, not
// four numbers of 0-255, other characters) gives 0.0.0.0 (Toro: whatever it had parsed).
void IPStrtoArray(const char* Ip, Byte Result[4]);
Word SwapWORD(Word n);
THardwareAddress GetLocalMAC();

// An ARP answer (toro-spec §1.10 GetMacAddress): the MAC that frames to IpAddress go to.
struct TMachine {
  TIPAddress IpAddress;
  THardwareAddress HardAddress;
};
using PMachine = TMachine*;
// The MAC of IP's next hop (IP itself on the local subnet, else the gateway) from this core's
// ARP cache, asking up to 3 times and waiting 500 ms each (Toro: 3 x 50 ms). nil when no answer
// came or the core has no interface. **Changed:** a copy the caller frees with ToroFreeMem
// (Toro returned its table entry).
PMachine GetMacAddress(TIPAddress IP);

// Sends an ICMP echo request from this core's interface. Returns 0 if sent, 1 if not (no
// interface on this core, or the next hop did not answer ARP within 150 ms).
LongInt ICMPSendEcho(TIPAddress IpDest, const void* Data, LongInt len, Word seq, Word id);

struct TICMPReply {
  TIPAddress SourceIP;
  Word Seq, Id;
  LongInt Size;  // payload bytes in Data (at most 64)
  Byte Data[64];
};
using PICMPReply = TICMPReply*;
// The oldest echo reply received on this core's interface (the caller frees it with
// ToroFreeMem), waiting up to 1 s for one; nil if none came.
PICMPReply ICMPPoolPackets();

// Raw Ethernet frames (toro-spec §1.10 SysNetworkRead/SysNetworkSend, §1.11 AllocatePacket):
// for programs that read and write frames themselves beside the stack. A frame is a whole
// Ethernet II frame without FCS: destination, source, EtherType, payload; 14 to 1514 bytes.
//  - SysNetworkRead: the oldest frame that arrived on this core's card with an EtherType the
//    stack does not handle (not IPv4 or ARP), addressed to the card or broadcast; nil if none
//    is waiting (it never blocks) or the core has no card. Frames are kept from the core's first
//    SysNetworkRead or SysNetworkSend on (before, they are dropped as Toro's stack dropped
//    them), at most 64 unread (more are dropped and counted). The packet is the program's: one
//    block with its Data, freed with ToroFreeMem (or handed back to SysNetworkSend with
//    Delete set). Delete is false, Next nil.
//  - SysNetworkSend: sends Packet's Size bytes at Data on this core's card (shorter than 60:
//    padded with zeros). The frame is copied before it returns: afterwards Ready is true and
//    Status says whether the card took it (the result too). False for nil, Data nil, Size
//    outside 14..1514 or no card on this core. If Delete is set the kernel frees Packet
//    (ToroFreeMem) in every case, sent or not, as Toro freed a Delete packet after sending.
//  - AllocatePacket: a packet with Size bytes of Data in the same block (freed with
//    ToroFreeMem); nil for Size outside 0..1514 or no memory.
struct TPacket;
using PPacket = TPacket*;
struct TPacket {
  LongInt Size;
  Pointer Data;
  Boolean Status;  // SysNetworkSend: the card took the frame
  Boolean Ready;   // SysNetworkSend: done with the packet
  Boolean Delete;  // SysNetworkSend: free the packet afterwards
  PPacket Next;
};
PPacket SysNetworkRead();
Boolean SysNetworkSend(PPacket Packet);
PPacket AllocatePacket(LongInt Size);

// Sockets: datagram (UDP) and stream (TCP).
constexpr LongInt SOCKET_DATAGRAM = 1;
constexpr LongInt SOCKET_STREAM = 2;

struct TSocket {
  DWORD SourcePort;  // local port (SysSocketBind)
  DWORD DestPort;    // where SysSocketSend sends: set by bind or by the last datagram received
  TIPAddress DestIp;
  Boolean Blocking;     // Recv/Select wait (yielding) when true
  Pointer UserDefined;  // the application's own pointer
  Pointer Internal;     // the kernel's (do not touch)
};
using PSocket = TSocket*;

// A socket of this core's interface; nil when out of memory or for an unknown type.
PSocket SysSocket(LongInt SocketType);
// Datagram: binds LocalPort on this core's interface (IPLocal is ignored) and sets DestIp to
// IPRemote. False if the port is taken or there is no interface.
Boolean SysSocketBind(PSocket Socket, TIPAddress IPLocal, TIPAddress IPRemote, LongInt LocalPort);
// Copies the oldest datagram (at most AddrLen bytes) and makes its sender the socket's
// destination; returns its length, 0 if none (non-blocking) — a blocking socket waits.
LongInt SysSocketRecv(PSocket Socket, PChar Addr, DWORD AddrLen, DWORD Flags);
LongInt SysSocketRecvFrom(PSocket Socket, PChar Addr, DWORD AddrLen, TIPAddress* FromIp, DWORD* FromPort);
// Sends AddrLen bytes to DestIp:DestPort (or the given address); returns AddrLen, 0 on failure.
// Addr is only read: a string literal or a const buffer passes without a cast (Toro: PChar).
LongInt SysSocketSend(PSocket Socket, const char* Addr, DWORD AddrLen, DWORD Flags);
LongInt SysSocketSendTo(PSocket Socket, const void* Addr, DWORD AddrLen, TIPAddress ToIp, DWORD ToPort);
// True as soon as a datagram is waiting; false after TimeOut ms without one.
Boolean SysSocketSelect(PSocket Socket, LongInt TimeOut);
void SysSocketClose(PSocket Socket);

// Stream (TCP) sockets, toro-spec §1.10 and §2.9.7. A stream socket lives on the core whose
// interface it uses (DedicateNetwork on that core first).
//  - SysSocketListen: SourcePort set by the caller (or SysSocketBind). A blocking socket is
//    then used with SysSocketAccept; a non-blocking one must be created in a service's DoInit.
//  - SysSocketAccept: blocking listeners only; waits for a connection, returns it blocking.
//  - SysSocketConnect: DestIp/DestPort set by the caller. Non-blocking (in a service): returns
//    at once and reports DoConnect/DoConnectFail. Blocking: waits for the handshake, true if
//    it completed (Toro returned at once; waiting is what a blocking socket promises).
//  - SysSocketRecv / SysSocketPeek never block; Peek copies what is unread (Toro over-read).
//  - SysSocketSend: queues what fits and returns how much (Toro returned AddrLen even when it
//    dropped data); a blocking socket waits for room until all is queued or the connection ends.
//  - SysSocketSelect: non-blocking: picks the next callback (DoReceive if data is waiting,
//    DoClose if the peer closed, else DoTimeOut after TimeOut ms), returns true. Blocking:
//    waits; true when data is waiting, false on peer close or timeout.
//  - SysSocketClose: FIN after the queued data; the memory is released by the stack. The
//    TSocket stays readable (UserDefined) until the service callback that closed it returns,
//    or, closed elsewhere, until the closing thread's next kernel call returns; closing it
//    again does nothing.
Boolean SysSocketListen(PSocket Socket, LongInt QueueLen);
PSocket SysSocketAccept(PSocket Socket);
Boolean SysSocketConnect(PSocket Socket);
LongInt SysSocketPeek(PSocket Socket, PChar Addr, DWORD AddrLen);

// Not in Toro (Toro C++ extensions): TCP options of a stream socket. On a listening socket they
// apply to the connections it accepts from then on. False for a datagram or unopened socket.
//  - SysSocketSetNagle: Nagle's algorithm (RFC 9293 §3.8.6.2.1); off by default, as services
//    answer in one write and want it on the wire at once.
//  - SysSocketSetKeepAlive: RFC 1122 keep-alive: after IdleMs without a segment from the peer,
//    a probe every IntervalMs; Count unanswered ones close the connection (the service then
//    gets DoClose). IdleMs = 0 turns it off (the default).
Boolean SysSocketSetNagle(PSocket Socket, Boolean On);
Boolean SysSocketSetKeepAlive(PSocket Socket, LongInt IdleMs, LongInt IntervalMs, LongInt Count);

// Network services (toro-spec §2.9.6): one event-loop thread per service on the calling core.
using TInitProc = void (*)();
using TSocketProc = LongInt (*)(PSocket Socket);
struct TNetworkHandler {
  TInitProc DoInit;
  TSocketProc DoAccept;
  TSocketProc DoTimeOut;
  TSocketProc DoReceive;
  TSocketProc DoConnect;
  TSocketProc DoConnectFail;
  TSocketProc DoClose;
};
using PNetworkHandler = TNetworkHandler*;
// Starts the service thread: DoInit once, then dispatcher passes forever. Callbacks may be nil.
// False, with a console line saying why, when it cannot (no network interface on this core,
// no memory for the service or its thread, or the core already runs the most services its
// packet thread wakes, 8: net::socket::Sockets::kMaxServices). Toro's is a procedure that
// fails silently.
Boolean SysRegisterNetworkService(PNetworkHandler Handler);
