// A card dedicated to a core, and its packet thread (toro-spec §1.10 DedicateNetwork, §2.9.1).
// The card comes from the device registry (kernel/devices.h): claimed by Toro's name, started
// by its driver in the core's memory, its interrupt routed to the core.
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>
#include <arch/x86_64/spinlock.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/devices.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <net/dhcp_client.h>
#include <net/interface.h>
#include <net/socket/kernel.h>
#include <net/tcp/isn.h>
#include <sched/scheduler.h>

#include <atomic>
#include <cstring>

namespace net {
namespace {

// A card dedicated to a core: allocated from that core's memory by dedicate() and never freed
// (the card's interrupt handler keeps a pointer to it); kernel::PerCpu::net points at its
// Interface. (Not a global array: Stack, Tcp and Sockets have constructors, and the kernel runs
// no global constructors before boot has used them.)
struct Slot {
  Interface iface;
  drivers::Device* device;  // nullptr: the slot is free
  sched::Thread* packet_thread;
  std::atomic<bool> pending;  // set by the interrupt handler, taken by the packet thread
  std::atomic<uint64_t> interrupts_seen;
  bool interrupts;         // routed: the thread sleeps instead of polling
  bool ignore_interrupts;  // fault injection (kernel parameter netirq=ignore): tests the fallback
  uint64_t frames_lost;    // sends the card did not take even after send_frame's wait (netstat)
  bool tx_stalled;         // the card took nothing for send_frame's whole wait
};
Slot* new_slot(drivers::Device* device) {
  void* memory = kernel::allocate(sizeof(Slot), alignof(Slot) > 64 ? alignof(Slot) : 64);  // this core's
  if (memory == nullptr) return nullptr;
  Slot* s = new (memory) Slot();
  s->device = device;
  return s;
}

using sched::now_ms;
using sched::now_us;

// A full transmit ring (and backlog) is not a reason to lose a frame: the device drains it on
// its own (QEMU's I/O thread runs beside the vCPU; a card sends at line rate), so the sender
// waits for room. Dropping instead cost every connection of a burst a retransmission timeout:
// at 4 MiB under c=1000 a second and more without a single answer. The wait is bounded (a host
// short of CPU may leave QEMU's I/O thread unscheduled for tens of milliseconds), and a device
// that took nothing for that long is taken for stalled: frames are then dropped at once (TCP
// retransmits them) until it takes one again, so a dead card cannot slow every send.
bool send_frame(void* ctx, const uint8_t* frame, size_t length) {
  auto* slot = static_cast<Slot*>(ctx);
  drivers::Nic* nic = slot->iface.nic;
  if (nic->send(frame, length)) {
    slot->tx_stalled = false;
    return true;
  }
  if (!slot->tx_stalled) {
    const uint64_t until = now_us() + 100 * 1000;
    do {
      arch::cpu_relax();
      if (nic->send(frame, length)) return true;
    } while (now_us() < until);
    slot->tx_stalled = true;
  }
  ++slot->frames_lost;
  return false;
}

void hold_doorbell(void* ctx, bool on) { static_cast<Slot*>(ctx)->iface.nic->hold(on); }

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

// The core's TCP budget (tcp.h, src/net/README.md "Memory"): the kernel parameter
// tcpmem=AMOUNT (bytes, K, M, G, or a percentage of what the core has free now, when its card's
// rings and its packet thread already hold their memory), by default half of that free memory,
// so the application keeps the other half whatever its clients do.
constexpr uint64_t kDefaultTcpPercent = 50;
[[gnu::cold]] uint64_t tcp_budget() {  // once: for size
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
[[gnu::cold]] uint64_t netstat_interval_ms() {
  uint64_t seconds = 0;
  const char* setting = kernel::kernel_params().value("netstat");
  return setting != nullptr && klib::parse_amount(setting, 0, &seconds) ? seconds * 1000 : 0;
}

[[gnu::cold]] void print_netstat(const Slot& slot) {  // every few seconds at most: for size
  const Interface& iface = slot.iface;
  const mm::HeapStats h = kernel::heap().stats(iface.core, iface.core);
  const tcp::TcpMemory m = iface.tcp.memory();
  const tcp::TcpCounters& c = iface.tcp.counters();
  kernel::printk(
      "netstat: Core#%d heap in use %d free %d; tcp %d of %d bytes (buffers %d), %d connections, %d orphans, "
      "%d time-wait, pressure %d; refused %d, reclaimed %d/%d/%d, orphans expired %d; frames not sent %d; "
      "interrupts %d\n",
      iface.core, h.bytes_in_use, h.bytes_free, m.used, m.limit, m.buffers, m.connections, m.orphans, m.time_wait,
      m.pressure ? 1 : 0, c.memory_refused, c.reclaimed_orphans, c.reclaimed_time_wait, c.reclaimed_idle,
      c.orphans_expired, slot.frames_lost, slot.interrupts_seen.load(std::memory_order_relaxed));
}

// busypoll=MICROSECONDS: after the last frame the packet thread keeps polling the card, with the
// card's receive interrupts left off, for this long before it turns them on and sleeps (Linux's
// net.core.busy_poll). A client's next frame that arrives within the window then costs no
// interrupt (a delivery, an EOI, and on virtio-net the MSI QEMU sends per frame while the vCPU
// wakes: the exits issue 16 counts); the core spins instead of halting for that long after
// every frame, which a host with CPUs to spare can afford and a crowded one cannot (bench/
// RESULTS.md, "busypoll="). Off by default; at most 100 ms. e1000 keeps its interrupts on
// (masking them per wake cost more exits than the window saved there).
constexpr uint64_t kMaxBusyPollUs = 100 * 1000;
[[gnu::cold]] uint64_t busy_poll_us(const char* card) {
  const char* setting = kernel::kernel_params().value("busypoll");
  uint64_t us = 0;
  if (setting != nullptr && (!klib::parse_amount(setting, 0, &us) || us > kMaxBusyPollUs)) {
    kernel::printk("DedicateNetwork: busypoll=%p is not 0 to %d us; not polling\n", setting, kMaxBusyPollUs);
    us = 0;
  }
  if (us != 0) kernel::printk("%p: busy polling %d us after each frame (busypoll=)\n", card, us);
  return us;
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
  int rearmed_idle = 0;  // rearm() said "frames" but poll took none, this many times in a row
  const uint64_t netstat_ms = netstat_interval_ms();
  const uint64_t busy_us = busy_poll_us(iface->name);
  uint64_t last_frame_us = 0;
  uint64_t next_netstat = netstat_ms == 0 ? UINT64_MAX : now_ms();
  for (;;) {
    if (now_ms() >= next_netstat) {
      print_netstat(*slot);
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
    // What the batch and the timers send (ACKs, answers to SYNs, the next segments of a send
    // that an ACK let out) reaches the card with one doorbell, before anything sleeps or yields.
    bool any, ticked;
    {
      Stack::Burst burst(&iface->stack);
      while (taken < 64) {
        if (iface->nic->poll(to_stack, &iface->stack, 1) == 0) break;
        ++taken;
        if (!full_before && iface->tcp.accept_queue_full()) break;
      }
      any = taken != 0;
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
      ticked = iface->tcp.next_deadline() <= now_us();
      if (ticked) iface->tcp.tick();
    }  // the doorbell rings here
    if (any) {
      rearmed_idle = 0;
      if (busy_us != 0) last_frame_us = now_us();
      // Let the core's services take what arrived before the next batch.
      socket::wake_services(iface->sockets);
      sched::yield();
      continue;
    }
    // A timer may have ended what a blocking call waits for (a connect given up, a connection
    // reset after its retransmissions): its thread looks now, not at its wait's bound.
    if (ticked) socket::wake_services(iface->sockets);
    // With the interrupt routed here the thread sleeps until the handler resumes it (the long
    // sleep only bounds a wake-up lost between the check and the sleep, and TCP's next timer
    // shortens it); without, it polls.
    if (!slot->interrupts) {
      sched::sleep_ms(1);
    } else if (busy_us != 0 && now_us() - last_frame_us < busy_us) {
      // busypoll=: the next poll finds the client's next frame; virtio-net's interrupts stay
      // off (they went off with the last one's ack) and the core's other threads run between
      // polls.
      sched::yield();
    } else if (iface->nic->rearm()) {
      // Frames came while the card's interrupts were off (the handler's ack turned them off,
      // drivers/net/nic.h): take them now, asleep nothing would announce them. After a yield;
      // and when poll keeps taking nothing (virtio-net's receive waits for its transmit backlog,
      // which a stalled device never drains) a millisecond's sleep now and then, so the core
      // still halts.
      if (++rearmed_idle < 64) {
        sched::yield();
      } else {
        rearmed_idle = 0;
        sched::sleep_ms(1);
      }
    } else if (!slot->pending.exchange(false, std::memory_order_acquire)) {
      rearmed_idle = 0;
      uint64_t ms = tcp_sleep_ms(iface->tcp, 50);
      if (next_netstat != UINT64_MAX) {
        const uint64_t now = now_ms();
        const uint64_t until = next_netstat > now ? next_netstat - now : 0;
        if (until < ms) ms = until;
      }
      seen_before_sleep = slot->interrupts_seen.load(std::memory_order_relaxed);
      // Woken by the handler (pending set) or by the clock; only the latter counts above. The
      // flag is looked at after the thread is marked asleep (sched::sleep_unless): an interrupt
      // between the check above and the sleep must not be lost, since the card's receive
      // interrupts stay off until the next rearm().
      timed_wake = !(ms != 0 ? sched::sleep_unless(slot->pending, ms) : slot->pending.load(std::memory_order_acquire));
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
  slot->pending.store(true, std::memory_order_seq_cst);  // before resume(): sched::sleep_unless's contract
  sched::resume(slot->packet_thread);                    // ends its sleep
}

// The card's INTx line through the I/O APIC to this core (dedicate(), when MSI-X is not used).
[[gnu::cold]] void attach_intx(Slot& s, drivers::Device& device, const char* name, uint32_t core) {
  const klib::Result<uint32_t> input = kernel::attach_interrupt(device, on_nic_interrupt, &s);
  s.interrupts = input.ok();
  if (!s.interrupts) return;
  s.iface.nic->enable_interrupts();
  // A frame may have raised the card's (level) line while the I/O APIC entry was still
  // masked and edge-triggered, as it is after reset: that rise was ignored, and a line
  // that stays high never rises again, so no interrupt would ever come (QEMU's virtio-net
  // keeps its line up until the ISR is read). Acknowledge whatever is pending, which
  // lowers the line, and let the packet thread look at the ring itself once.
  s.iface.nic->ack_interrupt();
  s.pending.store(true, std::memory_order_release);
  sched::resume(s.packet_thread);
  kernel::printk("%p: interrupt %d routed to Core#%d\n", name, input.value(), core);
}

}  // namespace

Interface* dedicate(const char* name, Ipv4 ip, Ipv4 gateway, Ipv4 mask) {
  const uint32_t core = kernel::current_core();
  if (kernel::this_cpu()->net != nullptr) {
    kernel::printk("DedicateNetwork: Core#%d already has a network interface\n", core);
    return nullptr;
  }
  // Claim the card before the (slow) bring-up, so no other core programs it meanwhile.
  const klib::Result<drivers::Device*> claimed =
      kernel::claim_device(drivers::DeviceClass::kNetwork, name, drivers::NameRule::kExact);
  if (!claimed) {
    kernel::printk("DedicateNetwork: no free network card called %p\n", name);
    return nullptr;
  }
  drivers::Device& device = *claimed.value();
  name = device.name();
  // Driver state, rings and buffers come from the owning core's memory.
  Slot* slot = new_slot(&device);
  const klib::Result<void*> started =
      slot == nullptr ? klib::Error::kNoMemory : kernel::start_device(device, drivers::start_network_device);
  if (!started) {
    kernel::printk("DedicateNetwork: %p did not come up (%p)\n", name, klib::error_text(started.error()));
    if (slot != nullptr) {
      slot->~Slot();
      kernel::release(slot);
    }
    kernel::release_device(device);
    return nullptr;
  }
  Slot& s = *slot;
  auto* nic = static_cast<drivers::Nic*>(started.value());  // a kNetwork driver's interface
  // Auto-negotiation takes a while (QEMU's e1000: ~0.5 s); frames sent before are lost.
  const uint64_t start = now_ms();
  while (!nic->link_up() && now_ms() - start < 5000) sched::sleep_ms(1);
  if (!nic->link_up()) kernel::printk("DedicateNetwork: %p: no link after 5 s\n", name);
  s.iface.name = name;
  s.iface.nic = nic;
  s.iface.core = core;
  const drivers::MacAddress& m = nic->mac();
  Mac mac;
  memcpy(mac.b, m.b, 6);
  s.iface.stack.configure(mac, ip, gateway, mask, {send_frame, &s, hold_doorbell}, now_ms);
  tcp::Tcp::Config tc;
  tc.allocate = tcp_allocate;
  tc.release = kernel::release;
  tc.footprint = tcp_footprint;
  tc.now_us = now_us;
  tc.send = tcp_send;
  tc.ctx = &s.iface.stack;
  tc.isn_key = tcp::isn_secret([] { return arch::rdtsc(); }, mac);
  sched::Thread* t = sched::create_thread(core, 64 * 1024, packet_thread, &s);
  if (t == nullptr) {
    kernel::printk("DedicateNetwork: %p: no memory for the packet thread\n", name);
    return nullptr;  // the card stays claimed (it is programmed) but unused
  }
  tc.memory_limit = tcp_budget();
  // A connection's send buffer grows to 64 KiB (as it is used; it shrinks when drained, within
  // the core's TCP budget): with Tcp's 16 KiB default a blocking SysSocketSend of a big file
  // waited for an acknowledgement every 16 KiB, and StaticWebServer sent 1 MiB at 15 MB/s
  // (ab -c 1) against 26 MB/s now; 256 KiB was no faster through QEMU's user networking.
  tc.tx_buffer = 64 * 1024;
  s.iface.tcp.init(tc, ip);
  s.iface.stack.attach_tcp(&s.iface.tcp);
  s.iface.sockets.attach(&s.iface.stack, &s.iface.tcp, core);
  s.packet_thread = t;
  kernel::this_cpu()->net = &s.iface;
  const klib::KernelParams& params = kernel::kernel_params();
  s.ignore_interrupts = false;
  for (size_t k = 0; k < params.count(); ++k) {
    if (strcmp(params.get(k), "netirq=ignore") == 0) s.ignore_interrupts = true;
  }
  // MSI-X where the card has it and its driver can use it (virtio-pci): the interrupt is a
  // write straight to this core, with no I/O APIC line to share or lower and no status register
  // to read (an exit to the hypervisor each). Else the INTx line through the I/O APIC; without
  // a route of its own (an unknown chipset, an input shared with another card) the packet
  // thread polls.
  const klib::Result<uint16_t> msix = kernel::attach_msix(device, on_nic_interrupt, &s);
  if (msix && nic->route_msix(msix.value())) {
    s.interrupts = true;
    nic->enable_interrupts();
    kernel::printk("%p: MSI-X routed to Core#%d\n", name, core);
    s.pending.store(true, std::memory_order_release);  // the packet thread looks at the ring once
    sched::resume(t);
  } else {
    if (msix) kernel::detach_msix(device);
    attach_intx(s, device, name, core);
  }
  kernel::printk("Network Packets Service .... Thread: %h\n", t);
  char mac_text[18];
  for (int k = 0; k < 6; ++k) {
    mac_text[3 * k] = "0123456789abcdef"[m.b[k] >> 4];
    mac_text[3 * k + 1] = "0123456789abcdef"[m.b[k] & 0xF];
    mac_text[3 * k + 2] = k == 5 ? '\0' : ':';
  }
  kernel::printk("Network configuration: %p on Core#%d, MAC %p\n", name, core, static_cast<const char*>(mac_text));
  if (ip.value == 0) {
    const klib::Status dhcp = dhcp_configure(s.iface.stack);
    if (dhcp.error() == klib::Error::kTimeout) {
      kernel::printk("DHCP: no answer; the interface has no address\n");
    } else if (!dhcp) {
      kernel::printk("DHCP: %p; the interface has no address\n", klib::error_text(dhcp.error()));
    }
  }
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

Interface* local() { return kernel::this_cpu()->net; }

}  // namespace net
