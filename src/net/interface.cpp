#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>
#include <drivers/io.h>
#include <drivers/net/e1000.h>
#include <drivers/net/virtio_net.h>
#include <drivers/port_io.h>
#include <drivers/virtio/transport.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/devices.h>
#include <kernel/irq.h>
#include <arch/x86_64/apic.h>
#include <arch/x86_64/spinlock.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <net/dhcp.h>
#include <net/interface.h>
#include <net/socket/kernel.h>
#include <sched/scheduler.h>

#include <atomic>
#include <cstring>
#include <new>

namespace net {
namespace {

constexpr size_t kMaxInterfaces = 8;

enum class Kind { kE1000, kVirtioPci, kVirtioModern, kVirtioMmio };
struct Slot {
  Interface iface;
  Kind kind;
  const drivers::PciDevice* pci;  // PCI devices
  uint64_t mmio_base;             // virtio-mmio
  sched::Thread* packet_thread;
  std::atomic<bool> pending;      // set by the interrupt handler, taken by the packet thread
  std::atomic<uint64_t> interrupts_seen;
  bool interrupts;                // routed: the thread sleeps instead of polling
  bool ignore_interrupts;         // fault injection (kernel parameter netirq=ignore): tests the fallback
};
Slot g_slots[kMaxInterfaces];
size_t g_count = 0;
Interface* g_by_core[arch::kMaxCpus] = {};

void* dma_alloc(size_t size, size_t align, void*) { return kernel::allocate(size, align); }  // the caller's core

// A T in the calling core's memory, or nullptr when there is none.
template <class T, class... Args>
T* make(Args&&... args) {
  const size_t align = alignof(T) > 64 ? alignof(T) : sizeof(T) >= 64 ? 64 : 16;  // big ones on their own lines
  void* memory = kernel::allocate(sizeof(T), align);
  return memory == nullptr ? nullptr : new (memory) T(static_cast<Args&&>(args)...);
}

bool send_frame(void* ctx, const uint8_t* frame, size_t length) {
  return static_cast<drivers::Nic*>(ctx)->send(frame, length);
}

using sched::now_ms;
using sched::now_us;
void* tcp_allocate(size_t size) { return kernel::allocate(size, 64); }
// The block the heap hands out for tcp_allocate(size): its size class (all classes from 64 bytes
// up that tcp_allocate gets are multiples of 64), or whole pages.
size_t tcp_footprint(size_t size) {
  if (size > mm::kMaxSmallSize) return (size + mm::kPageSize - 1) & ~(mm::kPageSize - 1);
  uint32_t c = mm::size_class(size);
  while (mm::class_size(c) % 64 != 0) ++c;
  return mm::class_size(c);
}
bool tcp_send(void* ctx, Ipv4 to, const tcp::Segment& s) { return static_cast<Stack*>(ctx)->send_tcp(to, s); }

// The ISN secret (RFC 6528 §3): the TSC at this moment, the MAC and the stack's address mixed
// through SipHash. Without RDRAND in the guest this is guessable by someone who knows the
// boot timing to the cycle; it still gives every connection identity its own sequence space.
klib::SipKey isn_key(const Mac& mac) {
  uint8_t seed[14];
  const uint64_t tsc = arch::rdtsc();
  memcpy(seed, &tsc, 8);
  memcpy(seed + 8, mac.b, 6);
  const klib::SipKey mix{tsc * 0x9E3779B97F4A7C15ULL, reinterpret_cast<uint64_t>(&mix)};
  return {klib::siphash24(mix, seed, sizeof seed), klib::siphash24(mix, seed, 8) ^ arch::rdtsc()};
}

// The core's TCP budget (tcp.h, src/net/README.md "Memory"): the kernel parameter
// tcpmem=AMOUNT (bytes, K, M, G, or a percentage of what the core has free now, when its card's
// rings and its packet thread already hold their memory), by default half of that free memory,
// so the application keeps the other half whatever its clients do.
constexpr uint64_t kDefaultTcpPercent = 50;
uint64_t tcp_budget() {
  const uint32_t core = kernel::current_core();
  const uint64_t free = kernel::heap().stats(core, core).bytes_free;
  uint64_t budget = free / 100 * kDefaultTcpPercent;
  const char* setting = kernel::kernel_params().value("tcpmem");
  if (setting != nullptr && !klib::parse_amount(setting, free, &budget)) {
    kernel::printk("DedicateNetwork: tcpmem=%p is not an amount (bytes, K, M, G or %%); using %d%%\n", setting,
                   kDefaultTcpPercent);
  }
  return budget;
}

// netstat=SECONDS: the packet thread prints the core's memory and TCP state every SECONDS
// (tests and soak runs read it; off by default).
uint64_t netstat_interval_ms() {
  uint64_t seconds = 0;
  const char* setting = kernel::kernel_params().value("netstat");
  return setting != nullptr && klib::parse_amount(setting, 0, &seconds) ? seconds * 1000 : 0;
}

void print_netstat(const Interface& iface) {
  const mm::HeapStats h = kernel::heap().stats(iface.core, iface.core);
  const tcp::TcpMemory m = iface.tcp.memory();
  const tcp::TcpCounters& c = iface.tcp.counters();
  kernel::printk("netstat: Core#%d heap in use %d free %d; tcp %d of %d bytes (buffers %d), %d connections, %d orphans, "
                 "%d time-wait, pressure %d; refused %d, reclaimed %d/%d/%d, orphans expired %d\n",
                 iface.core, h.bytes_in_use, h.bytes_free, m.used, m.limit, m.buffers, m.connections, m.orphans,
                 m.time_wait, m.pressure ? 1 : 0, c.memory_refused, c.reclaimed_orphans, c.reclaimed_time_wait,
                 c.reclaimed_idle, c.orphans_expired);
}

// How long the packet thread may sleep before TCP has work (delayed ACKs, retransmissions).
uint64_t tcp_sleep_ms(const tcp::Tcp& t, uint64_t cap) {
  const uint64_t d = t.next_deadline();
  if (d == UINT64_MAX) return cap;
  const uint64_t now = now_us();
  if (d <= now) return 0;
  const uint64_t ms = (d - now + 999) / 1000;
  return ms < cap ? ms : cap;
}

// The core's packet thread: takes every frame the NIC has and hands it to the stack, runs TCP's
// timers, and wakes the core's services; with nothing to do it sleeps until the card's
// interrupt (or, without one, a millisecond), so an idle core halts most of the time.
intptr_t packet_thread(void* arg) {
  auto* slot = static_cast<Slot*>(arg);
  Interface* iface = &slot->iface;
  auto to_stack = [](void* ctx, const uint8_t* frame, size_t length) {
    static_cast<Stack*>(ctx)->receive_frame(frame, length);  // in the device's buffer: no copy
  };
  // Frames found after a sleep that no interrupt ended: three in a row and the line is taken
  // for dead (a routing the firmware misreported, an interrupt lost before the handler was in
  // place) and the thread polls instead, rather than serving a frame every 50 ms forever.
  uint64_t seen_before_sleep = 0;
  bool timed_wake = false;
  int missed = 0;
  const uint64_t netstat_ms = netstat_interval_ms();
  uint64_t next_netstat = netstat_ms == 0 ? UINT64_MAX : now_ms();
  for (;;) {
    if (now_ms() >= next_netstat) {
      print_netstat(*iface);
      next_netstat += netstat_ms;
    }
    // A burst of connections can fill a listener's accept queue before its service runs; the
    // SYNs after that would be dropped and the clients would retry only seconds later. So a
    // batch stops as soon as a queue is full and the rest waits in the ring (the card, or QEMU,
    // holds it) while the services accept. If the queue was already full when the batch
    // started, the services had their turn and did not accept: the batch goes on (and the
    // listener drops SYNs) so a stuck application cannot stall the core's other connections.
    const bool full_before = iface->tcp.accept_queue_full();
    size_t taken = 0;
    while (taken < 64) {
      if (iface->nic->poll(to_stack, &iface->stack, 1) == 0) break;
      ++taken;
      if (!full_before && iface->tcp.accept_queue_full()) break;
    }
    const bool any = taken != 0;
    if (timed_wake && slot->interrupts) {
      const bool silent = slot->interrupts_seen.load(std::memory_order_relaxed) == seen_before_sleep;
      if (!silent) {
        missed = 0;
      } else if (any) {
        ++missed;
      }
      if (missed == 3) {
        slot->interrupts = false;
        kernel::printk("%p: frames arrive without interrupts; polling every millisecond\n", iface->name);
      }
    }
    timed_wake = false;
    if (iface->tcp.next_deadline() <= now_us()) iface->tcp.tick();
    if (any) {
      // Let the core's services take what arrived before the next batch.
      socket::wake_services(iface->sockets);
      sched::yield();
      continue;
    }
    // With the interrupt routed here the thread sleeps until the handler resumes it (the long
    // sleep only bounds a wake-up lost between the check and the sleep, and TCP's next timer
    // shortens it); without, it polls.
    if (!slot->interrupts) {
      sched::sleep_ms(1);
    } else if (!slot->pending.exchange(false, std::memory_order_acquire)) {
      uint64_t ms = tcp_sleep_ms(iface->tcp, 50);
      if (next_netstat != UINT64_MAX) {
        const uint64_t now = now_ms();
        const uint64_t until = next_netstat > now ? next_netstat - now : 0;
        if (until < ms) ms = until;
      }
      seen_before_sleep = slot->interrupts_seen.load(std::memory_order_relaxed);
      if (ms != 0) sched::sleep_ms(ms);
      // Woken by the handler (pending set) or by the clock; only the latter counts above.
      timed_wake = !slot->pending.load(std::memory_order_acquire);
    }
  }
}

// On the dedicated core, interrupts off: acknowledge the card, wake its packet thread.
void on_nic_interrupt(void* ctx) {
  auto* slot = static_cast<Slot*>(ctx);
  slot->iface.nic->ack_interrupt();
  if (slot->ignore_interrupts) return;  // as if the interrupt had gone elsewhere
  const uint64_t seen = slot->interrupts_seen.load(std::memory_order_relaxed) + 1;
  slot->interrupts_seen.store(seen, std::memory_order_relaxed);
  if (seen == 1) kernel::printk("%p: first interrupt on Core#%d\n", slot->iface.name, kernel::current_core());
  slot->pending.store(true, std::memory_order_release);
  sched::resume(slot->packet_thread);  // ends its sleep
}

bool g_line_taken[64] = {};  // one card per input: a shared input is polled (no handler lists yet)
arch::SpinLock g_claim_lock;   // dedicate() from several cores: one claims a card, one an input

// The I/O APIC input of a PCI card's INTx line, or -1 if this chipset's routing is not known.
//  - i440FX (QEMU pc, Bochs): the firmware's interrupt-line register is the input (ISA IRQ),
//    level-triggered, active high (QEMU's DSDT declares the PCI links so).
//  - q35 (ICH9) in APIC mode: bus-0 slot s, pin p (INTA = 0) goes through link E-H to input
//    20 + (s + p) % 4 (QEMU's q35 _PRT for slots 0-24).
int interrupt_input(const drivers::PciDevice& d) {
  if (d.irq_pin == 0 || d.bus != 0) return -1;
  const drivers::PciBus& bus = kernel::pci_bus();
  const drivers::PciDevice* host = nullptr;
  for (size_t i = 0; i < bus.size(); ++i) {
    if (bus[i].bus == 0 && bus[i].dev == 0 && bus[i].fn == 0) host = &bus[i];
  }
  if (host == nullptr || host->vendor != 0x8086) return -1;
  if (host->device == 0x1237) return drivers::piix_irq(kernel::pci_config(), d);
  if (host->device == 0x29C0 && d.dev < 25) return 20 + (d.dev + d.irq_pin - 1) % 4;
  return -1;
}

// QEMU's microvm wires virtio-mmio transport i to GSI 24 + i (the second I/O APIC's inputs) in
// its default configuration. Measured: transport 23 on GSI 47 with QEMU 7.2.
int mmio_input(uint64_t base) {
  if (base < 0xFEB00000 || base >= 0xFEB00000 + 24 * 0x200) return -1;
  const int index = int((base - 0xFEB00000) / 0x200);
  // Without the second I/O APIC (microvm,ioapic2=off) the inputs would be 5 + i, but no
  // interrupt arrived there in our measurements: that configuration polls.
  return kernel::ioapic_count() > 1 ? 24 + index : -1;
}

int input_of(const Slot& s) {
  if (s.pci != nullptr) return interrupt_input(*s.pci);
  return s.kind == Kind::kVirtioMmio ? mmio_input(s.mmio_base) : -1;
}

bool route_interrupt(Slot& s, uint32_t core, int* input) {
  *input = input_of(s);
  if (*input < 0 || *input >= 64) return false;
  for (size_t i = 0; i < g_count; ++i) {  // another card on the same input: neither may own it
    if (&g_slots[i] != &s && input_of(g_slots[i]) == *input) return false;
  }
  {
    arch::IrqSaveGuard guard(g_claim_lock);
    if (g_line_taken[*input]) return false;
    g_line_taken[*input] = true;
  }
  uint64_t ioapic;
  uint32_t pin;
  if (!kernel::ioapic_for_gsi(uint32_t(*input), &ioapic, &pin)) return false;
  const uint8_t vector = kernel::register_irq(on_nic_interrupt, &s);
  if (vector == 0) return false;
  return arch::ioapic_route(ioapic, pin, vector, kernel::g_percpu[core].apic_id, true, false);
}

Slot* new_slot(const char* name, Kind kind) {
  if (g_count == kMaxInterfaces) return nullptr;
  Slot& s = g_slots[g_count++];
  s.kind = kind;
  s.pci = nullptr;
  s.mmio_base = 0;
  s.iface.name = name;
  s.iface.nic = nullptr;
  s.iface.dedicated = false;
  return &s;
}

// QEMU's microvm appends one "virtio_mmio.device=<size>@<base>:<irq>" per virtio-mmio device to
// the kernel command line (Linux's format; toro-spec §1.4 GetKernelParam [HEAD]).
bool parse_mmio_token(const char* t, uint64_t* base) {
  const char prefix[] = "virtio_mmio.device=";
  if (strncmp(t, prefix, sizeof prefix - 1) != 0) return false;
  const char* at = strchr(t, '@');
  if (at == nullptr || at[1] != '0' || (at[2] != 'x' && at[2] != 'X')) return false;
  uint64_t v = 0;
  for (const char* p = at + 3; *p && *p != ':'; ++p) {
    const char c = *p;
    const int digit = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
    if (digit < 0) return false;
    v = v * 16 + uint64_t(digit);
  }
  *base = v;
  return v != 0;
}

}  // namespace

// The PCI network drivers: which devices each takes, and Toro's name for it (what
// DedicateNetwork asks for). Adding a driver is one row here and a case in bring_up().
struct PciNicDriver {
  const char* name;
  Kind kind;
  uint16_t vendor, device;
  bool (*usable)(const drivers::PciDevice& d);
  const char* found;  // console line prefix
};
constexpr PciNicDriver kPciNicDrivers[] = {
    {"e1000", Kind::kE1000, 0x8086, 0x100E, [](const drivers::PciDevice& d) { return d.bar[0].size != 0 && !d.bar[0].io && d.bar[0].base != 0; },
     "e1000: found"},
    // Transitional virtio-net: its legacy interface in I/O BAR 0.
    {"virtionet", Kind::kVirtioPci, 0x1AF4, 0x1000, [](const drivers::PciDevice& d) { return d.bar[0].io && d.bar[0].base != 0; },
     "VirtIONet: found"},
    // virtio 1.x only (legacy disabled): found through its capabilities at bring-up.
    {"virtionet", Kind::kVirtioModern, 0x1AF4, 0x1041, [](const drivers::PciDevice&) { return true; },
     "VirtIONet: found modern device"},
};

void register_nics() {
  const drivers::PciBus& bus = kernel::pci_bus();
  for (size_t i = 0; i < bus.size(); ++i) {
    const drivers::PciDevice& d = bus[i];
    for (const PciNicDriver& drv : kPciNicDrivers) {
      if (d.vendor != drv.vendor || d.device != drv.device || !drv.usable(d)) continue;
      if (Slot* s = new_slot(drv.name, drv.kind)) s->pci = &d;
      kernel::printk("%p at PCI %d:%d.%d, irq %d\n", drv.found, d.bus, d.dev, d.fn, d.irq_line);
      break;
    }
  }
  // virtio-mmio devices: the kernel command line tokens QEMU's microvm can append, or else, on
  // a machine without PCI (microvm), its fixed transport slots 0xFEB00000 + 512 * i (QEMU
  // hw/i386/microvm.c: 24 slots). QEMU 7.2 does not pass the tokens to a PVH kernel.
  uint64_t bases[32];
  size_t n = 0;
  const klib::KernelParams& params = kernel::kernel_params();
  for (size_t i = 0; i < params.count() && n < 32; ++i) {
    if (parse_mmio_token(params.get(i), &bases[n])) ++n;
  }
  if (n == 0 && bus.size() == 0) {
    for (uint64_t i = 0; i < 24; ++i) bases[n++] = 0xFEB00000 + 0x200 * i;
  }
  for (size_t i = 0; i < n; ++i) {
    drivers::MmioIo io(bases[i]);
    drivers::LegacyMmioTransport probe(io);
    uint32_t id = 0;
    if (!probe.probe(&id)) continue;  // no device (id 0) or not a legacy virtio-mmio transport
    kernel::printk("VirtIO: found device at %h, type %d\n", bases[i], id);
    if (id == 1) {  // network card
      if (Slot* s = new_slot("virtionet", Kind::kVirtioMmio)) s->mmio_base = bases[i];
    }
  }
}

namespace {

drivers::Nic* bring_up(Slot& s) {
  const drivers::DmaAllocator dma{dma_alloc, nullptr};
  const uint32_t core = kernel::current_core();
  const uint64_t region = kernel::heap().stats(core, core).region_bytes;
  if (s.kind == Kind::kE1000) {
    drivers::pci_enable(kernel::pci_config(), *s.pci);
    auto* io = make<drivers::MmioIo>(s.pci->bar[0].base);
    auto* nic = make<drivers::E1000>();
    if (io == nullptr || nic == nullptr) return nullptr;
    // Receive buffers by the memory the core has: 4096 (8 MiB of buffers) from 64 MiB, 1024
    // from 32 MiB, else 256 (512 KiB), so a VM of a few MiB still serves. Under a thousand
    // clients at once 1024 still overran (ab -c 1000 stalled); 4096 did not.
    const uint32_t descs = region >= (64u << 20)   ? drivers::E1000::kMaxRxDescs
                           : region >= (32u << 20) ? 1024
                                                   : drivers::E1000::kMinRxDescs;
    return nic->init(*io, dma, descs) ? nic : nullptr;
  }
  drivers::VirtioTransport* transport;
  if (s.kind == Kind::kVirtioModern) {
    drivers::pci_enable(kernel::pci_config(), *s.pci);
    drivers::VirtioPciCaps caps;
    if (!drivers::find_virtio_caps(kernel::pci_config(), *s.pci, &caps)) {
      kernel::printk("VirtIONet: the device's virtio capabilities are incomplete\n");
      return nullptr;
    }
    drivers::MmioIo* common = make<drivers::MmioIo>(caps.common);
    drivers::MmioIo* notify = make<drivers::MmioIo>(caps.notify);
    drivers::MmioIo* isr = make<drivers::MmioIo>(caps.isr);
    drivers::MmioIo* device = make<drivers::MmioIo>(caps.device);
    if (common == nullptr || notify == nullptr || isr == nullptr || device == nullptr) return nullptr;
    transport = make<drivers::ModernPciTransport>(*common, *notify, *isr, *device, caps.notify_multiplier);
  } else if (s.kind == Kind::kVirtioPci) {
    drivers::pci_enable(kernel::pci_config(), *s.pci);
    auto* io = make<drivers::PortIo>(uint16_t(s.pci->bar[0].base));
    transport = io == nullptr ? nullptr : make<drivers::LegacyPciTransport>(*io);
  } else {
    auto* io = make<drivers::MmioIo>(s.mmio_base);
    auto* mmio = io == nullptr ? nullptr : make<drivers::LegacyMmioTransport>(*io);
    uint32_t id;
    if (mmio == nullptr || !mmio->probe(&id)) return nullptr;
    transport = mmio;
  }
  auto* nic = transport == nullptr ? nullptr : make<drivers::VirtioNet>();
  if (nic == nullptr) return nullptr;
  // Frames waiting for a transmit descriptor (2 KiB each): a ring's worth from 32 MiB, else 32.
  const uint16_t backlog = region >= (32u << 20) ? drivers::virtio_net::kBacklog : 32;
  return nic->init(*transport, dma, backlog) ? nic : nullptr;
}

}  // namespace

namespace {

// Waits up to `ms` for a DHCP reply of `type` to transaction `xid` on `port`.
bool wait_dhcp(UdpPort& port, uint32_t xid, uint8_t type, DhcpReply* reply, int ms) {
  Datagram d;
  for (int t = 0; t < ms; ++t) {
    while (port.pop(&d)) {
      if (dhcp_parse(d.data, d.length, xid, reply) && (reply->type == type || reply->type == kDhcpNak)) return true;
    }
    sched::sleep_ms(1);
  }
  return false;
}

// RFC 2131 §3.1: DISCOVER, OFFER, REQUEST, ACK, broadcast both ways (we have no address yet).
bool run_dhcp(Interface& iface) {
  auto* port = make<UdpPort>();
  if (port == nullptr) return false;
  port->port = kDhcpClientPort;
  port->any_destination = true;
  if (!iface.stack.bind_udp(port)) return false;
  const Ipv4 broadcast{0xFFFFFFFF};
  uint8_t msg[548];
  bool ok = false;
  for (int attempt = 0; attempt < 4 && !ok; ++attempt) {
    const uint32_t xid = uint32_t(arch::rdtsc()) ^ 0x746F726F;
    DhcpReply offer, ack;
    size_t n = dhcp_build(msg, sizeof msg, kDhcpDiscover, xid, iface.stack.mac(), {}, {});
    iface.stack.send_udp(kDhcpClientPort, broadcast, kDhcpServerPort, msg, n);
    if (!wait_dhcp(*port, xid, kDhcpOffer, &offer, 2000) || offer.type != kDhcpOffer) continue;
    n = dhcp_build(msg, sizeof msg, kDhcpRequest, xid, iface.stack.mac(), offer.your_ip, offer.server);
    iface.stack.send_udp(kDhcpClientPort, broadcast, kDhcpServerPort, msg, n);
    if (!wait_dhcp(*port, xid, kDhcpAck, &ack, 2000) || ack.type != kDhcpAck) continue;
    const Ipv4 mask = ack.mask.value != 0 ? ack.mask : Ipv4::from_bytes(255, 255, 255, 0);
    iface.stack.set_address(ack.your_ip, ack.router, mask);
    kernel::printk("DHCP: address %d.%d.%d.%d from server %d.%d.%d.%d, lease %d s\n", ack.your_ip.octet(0),
                   ack.your_ip.octet(1), ack.your_ip.octet(2), ack.your_ip.octet(3), ack.server.octet(0),
                   ack.server.octet(1), ack.server.octet(2), ack.server.octet(3), ack.lease_seconds);
    ok = true;
  }
  iface.stack.unbind_udp(port);
  kernel::release(port);
  return ok;
}

}  // namespace

Interface* dedicate(const char* name, Ipv4 ip, Ipv4 gateway, Ipv4 mask) {
  const uint32_t core = kernel::current_core();
  if (g_by_core[core] != nullptr) {
    kernel::printk("DedicateNetwork: Core#%d already has a network interface\n", core);
    return nullptr;
  }
  for (size_t i = 0; i < g_count; ++i) {
    Slot& s = g_slots[i];
    {
      // Claim the card before the (slow) bring-up, so no other core programs it meanwhile.
      arch::IrqSaveGuard guard(g_claim_lock);
      if (s.iface.dedicated || strcmp(s.iface.name, name) != 0) continue;
      s.iface.dedicated = true;
    }
    // Driver state, rings and buffers come from the owning core's memory.
    drivers::Nic* nic = bring_up(s);
    if (nic == nullptr) {
      kernel::printk("DedicateNetwork: %p did not come up\n", name);
      s.iface.dedicated = false;
      return nullptr;
    }
    // Auto-negotiation takes a while (QEMU's e1000: ~0.5 s); frames sent before are lost.
    const uint64_t start = now_ms();
    while (!nic->link_up() && now_ms() - start < 5000) sched::sleep_ms(1);
    if (!nic->link_up()) kernel::printk("DedicateNetwork: %p: no link after 5 s\n", name);
    s.iface.nic = nic;
    s.iface.core = core;
    const drivers::MacAddress& m = nic->mac();
    Mac mac;
    memcpy(mac.b, m.b, 6);
    s.iface.stack.configure(mac, ip, gateway, mask, {send_frame, nic}, now_ms);
    tcp::Tcp::Config tc;
    tc.allocate = tcp_allocate;
    tc.release = kernel::release;
    tc.footprint = tcp_footprint;
    tc.now_us = now_us;
    tc.send = tcp_send;
    tc.ctx = &s.iface.stack;
    tc.isn_key = isn_key(mac);
    sched::Thread* t = sched::create_thread(core, 64 * 1024, packet_thread, &s);
    if (t == nullptr) {
      kernel::printk("DedicateNetwork: %p: no memory for the packet thread\n", name);
      return nullptr;  // the card stays claimed (it is programmed) but unused
    }
    tc.memory_limit = tcp_budget();
    s.iface.tcp.init(tc, ip);
    s.iface.stack.attach_tcp(&s.iface.tcp);
    s.iface.sockets.attach(&s.iface.stack, &s.iface.tcp, core);
    s.packet_thread = t;
    g_by_core[core] = &s.iface;
    int input = -1;
    const klib::KernelParams& params = kernel::kernel_params();
    s.ignore_interrupts = false;
    for (size_t k = 0; k < params.count(); ++k) {
      if (strcmp(params.get(k), "netirq=ignore") == 0) s.ignore_interrupts = true;
    }
    s.interrupts = t != nullptr && route_interrupt(s, core, &input);
    if (s.interrupts) {
      nic->enable_interrupts();
      // A frame may have raised the card's (level) line while the I/O APIC entry was still
      // masked and edge-triggered, as it is after reset: that rise was ignored, and a line
      // that stays high never rises again, so no interrupt would ever come (QEMU's virtio-net
      // keeps its line up until the ISR is read). Acknowledge whatever is pending, which
      // lowers the line, and let the packet thread look at the ring itself once.
      nic->ack_interrupt();
      s.pending.store(true, std::memory_order_release);
      sched::resume(t);
      kernel::printk("%p: interrupt %d routed to Core#%d\n", name, input, core);
    }
    kernel::printk("Network Packets Service .... Thread: %h\n", t);
    char mac_text[18];
    for (int k = 0; k < 6; ++k) {
      mac_text[3 * k] = "0123456789abcdef"[m.b[k] >> 4];
      mac_text[3 * k + 1] = "0123456789abcdef"[m.b[k] & 0xF];
      mac_text[3 * k + 2] = k == 5 ? '\0' : ':';
    }
    kernel::printk("Network configuration: %p on Core#%d, MAC %p\n", name, core, static_cast<const char*>(mac_text));
    if (ip.value == 0 && !run_dhcp(s.iface)) kernel::printk("DHCP: no answer; the interface has no address\n");
    ip = s.iface.stack.ip();
    s.iface.tcp.set_address(ip);
    gateway = s.iface.stack.gateway();
    if (ip.value != 0) {
      s.iface.stack.announce();
      if (gateway.value != 0) s.iface.stack.request(gateway);  // the usual first hop, resolved ahead
    }
    mask = s.iface.stack.mask();
    kernel::printk("Local IP: %d.%d.%d.%d\n", ip.octet(0), ip.octet(1), ip.octet(2), ip.octet(3));
    kernel::printk("Gateway: %d.%d.%d.%d\n", gateway.octet(0), gateway.octet(1), gateway.octet(2), gateway.octet(3));
    kernel::printk("Mask: %d.%d.%d.%d\n", mask.octet(0), mask.octet(1), mask.octet(2), mask.octet(3));
    kernel::printk("TCP memory: up to %d KiB on Core#%d (tcpmem=), %d bytes a connection and its buffers as used\n",
                   s.iface.tcp.memory().limit >> 10, core, s.iface.tcp.memory().record);
    return &s.iface;
  }
  kernel::printk("DedicateNetwork: no free network card called %p\n", name);
  return nullptr;
}

Interface* local() { return g_by_core[kernel::current_core()]; }

}  // namespace net
