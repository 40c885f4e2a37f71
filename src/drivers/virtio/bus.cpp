#include <drivers/virtio/bus.h>

#include <cstring>

namespace drivers::virtio {

klib::Result<VirtioTransport*> make_transport(const Device& d, const StartContext& c) {
  VirtioTransport* transport = nullptr;
  if (d.transport == Transport::kVirtioModernPci) {
    pci_enable(*c.pci_config, *d.pci);
    VirtioPciCaps caps;
    if (!find_virtio_caps(*c.pci_config, *d.pci, &caps)) return klib::Error::kDeviceFailed;
    Io* common = c.io(c, caps.common, false);
    Io* notify = c.io(c, caps.notify, false);
    Io* isr = c.io(c, caps.isr, false);
    Io* device = c.io(c, caps.device, false);
    if (common == nullptr || notify == nullptr || isr == nullptr || device == nullptr) return klib::Error::kNoMemory;
    transport = c.make<ModernPciTransport>(*common, *notify, *isr, *device, caps.notify_multiplier);
  } else if (d.transport == Transport::kVirtioLegacyPci) {
    pci_enable(*c.pci_config, *d.pci);
    Io* io = c.io(c, d.pci->bar[0].base, true);
    transport = io == nullptr ? nullptr : c.make<LegacyPciTransport>(*io);
  } else if (d.transport == Transport::kVirtioMmio) {
    Io* io = c.io(c, d.mmio_base, false);
    auto* mmio = io == nullptr ? nullptr : c.make<LegacyMmioTransport>(*io);
    uint32_t id;
    if (mmio != nullptr && !mmio->probe(&id)) return klib::Error::kDeviceFailed;
    transport = mmio;
  } else {
    return klib::Error::kInvalidArgument;
  }
  if (transport == nullptr) return klib::Error::kNoMemory;
  return transport;
}

bool parse_mmio_param(const char* param, uint64_t* base) {
  const char prefix[] = "virtio_mmio.device=";
  if (strncmp(param, prefix, sizeof prefix - 1) != 0) return false;
  const char* at = strchr(param, '@');
  if (at == nullptr || at[1] != '0' || (at[2] != 'x' && at[2] != 'X')) return false;
  uint64_t v = 0;
  for (const char* p = at + 3; *p && *p != ':'; ++p) {
    const char ch = char(*p | 0x20);
    const int digit = *p >= '0' && *p <= '9' ? *p - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (digit < 0) return false;
    v = v * 16 + uint64_t(digit);
  }
  *base = v;
  return v != 0;
}

}  // namespace drivers::virtio
