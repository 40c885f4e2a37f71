#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>
#include <drivers/io.h>
#include <drivers/net/e1000.h>
#include <kernel/console.h>
#include <kernel/devices.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <net/interface.h>
#include <sched/scheduler.h>

#include <cstring>
#include <new>

namespace net {
namespace {

constexpr size_t kMaxInterfaces = 8;

struct Slot {
  Interface iface;
  const drivers::PciDevice* pci;
};
Slot g_slots[kMaxInterfaces];
size_t g_count = 0;
Interface* g_by_core[arch::kMaxCpus] = {};

void* dma_alloc(size_t size, size_t align, void*) { return kernel::allocate(size, align); }  // the caller's core

bool send_frame(void* ctx, const uint8_t* frame, size_t length) {
  return static_cast<drivers::Nic*>(ctx)->send(frame, length);
}

uint64_t now_ms() { return arch::rdtsc() / (sched::tsc_hz() / 1000); }

// The core's packet thread: takes every frame the NIC has and hands it to the stack; with
// nothing there it sleeps a millisecond, so an idle core still halts most of the time.
// (Interrupt-driven receive comes with the IRQ routing of issue #5.)
intptr_t packet_thread(void* arg) {
  auto* iface = static_cast<Interface*>(arg);
  static_assert(Stack::kMaxFrame <= 2048);
  auto* buffer = static_cast<uint8_t*>(kernel::allocate(2048, 64));
  for (;;) {
    bool any = false;
    while (size_t n = iface->nic->receive(buffer, 2048)) {
      iface->stack.receive_frame(buffer, n);  // processed in place: the one copy out of the ring
      any = true;
    }
    if (!any) sched::sleep_ms(1);
  }
}

}  // namespace

void register_nics() {
  const drivers::PciBus& bus = kernel::pci_bus();
  for (size_t i = 0; i < bus.size() && g_count < kMaxInterfaces; ++i) {
    const drivers::PciDevice& d = bus[i];
    if (d.vendor == 0x8086 && d.device == 0x100E && d.bar[0].size != 0 && !d.bar[0].io) {
      Slot& s = g_slots[g_count++];
      s.pci = &d;
      s.iface.name = "e1000";
      s.iface.nic = nullptr;
      s.iface.dedicated = false;
      kernel::printk("e1000: found at PCI %d:%d.%d, registers at %h, irq %d\n", d.bus, d.dev, d.fn, d.bar[0].base,
                     d.irq_line);
    }
  }
}

Interface* dedicate(const char* name, Ipv4 ip, Ipv4 gateway, Ipv4 mask) {
  const uint32_t core = kernel::current_core();
  if (g_by_core[core] != nullptr) {
    kernel::printk("DedicateNetwork: Core#%d already has a network interface\n", core);
    return nullptr;
  }
  for (size_t i = 0; i < g_count; ++i) {
    Slot& s = g_slots[i];
    if (s.iface.dedicated || strcmp(s.iface.name, name) != 0) continue;
    drivers::pci_enable(kernel::pci_config(), *s.pci);
    // Driver state, rings and buffers come from the owning core's memory.
    auto* io = new (kernel::allocate(sizeof(drivers::MmioIo), 16)) drivers::MmioIo(s.pci->bar[0].base);
    auto* nic = new (kernel::allocate(sizeof(drivers::E1000), 64)) drivers::E1000();
    if (!nic->init(*io, {dma_alloc, nullptr})) {
      kernel::printk("DedicateNetwork: %p did not come up\n", name);
      return nullptr;
    }
    // Auto-negotiation takes a while (QEMU's e1000: ~0.5 s); frames sent before are lost.
    const uint64_t start = now_ms();
    while (!nic->link_up() && now_ms() - start < 5000) sched::sleep_ms(1);
    if (!nic->link_up()) kernel::printk("DedicateNetwork: %p: no link after 5 s\n", name);
    s.iface.nic = nic;
    s.iface.core = core;
    s.iface.dedicated = true;
    const drivers::MacAddress& m = nic->mac();
    Mac mac;
    memcpy(mac.b, m.b, 6);
    s.iface.stack.configure(mac, ip, gateway, mask, {send_frame, nic}, now_ms);
    g_by_core[core] = &s.iface;
    sched::Thread* t = sched::create_thread(core, 64 * 1024, packet_thread, &s.iface);
    kernel::printk("Network Packets Service .... Thread: %h\n", t);
    char mac_text[18];
    for (int k = 0; k < 6; ++k) {
      mac_text[3 * k] = "0123456789abcdef"[m.b[k] >> 4];
      mac_text[3 * k + 1] = "0123456789abcdef"[m.b[k] & 0xF];
      mac_text[3 * k + 2] = k == 5 ? '\0' : ':';
    }
    kernel::printk("Network configuration: %p on Core#%d, MAC %p\n", name, core, static_cast<const char*>(mac_text));
    kernel::printk("Local IP: %d.%d.%d.%d\n", ip.octet(0), ip.octet(1), ip.octet(2), ip.octet(3));
    kernel::printk("Gateway: %d.%d.%d.%d\n", gateway.octet(0), gateway.octet(1), gateway.octet(2), gateway.octet(3));
    kernel::printk("Mask: %d.%d.%d.%d\n", mask.octet(0), mask.octet(1), mask.octet(2), mask.octet(3));
    return &s.iface;
  }
  kernel::printk("DedicateNetwork: no free network card called %p\n", name);
  return nullptr;
}

Interface* local() { return g_by_core[kernel::current_core()]; }

}  // namespace net
