// virtio as a bus: the one transport factory every virtio device driver starts from (legacy
// PCI, modern PCI, legacy MMIO; virtio 1.2 §4), and where virtio-mmio devices are (QEMU's
// microvm slots, the kernel command line). Portable: the factory reaches registers only through
// the StartContext's windows, so it runs against mocks in tests/unit/drivers/device_test.cpp.
//
//   klib::Result<drivers::VirtioTransport*> t = drivers::virtio::make_transport(device, context);
//   if (t) net->init(*t.value(), context.memory);
//   uint64_t base;  if (drivers::virtio::parse_mmio_param("virtio_mmio.device=512@0xfeb00e00:12", &base)) ...
#pragma once

#include <drivers/device.h>
#include <drivers/virtio/transport.h>

namespace drivers::virtio {

// QEMU's microvm (hw/i386/microvm.c): 24 virtio-mmio transports of 512 bytes from 0xFEB00000;
// transport i is wired to GSI 24 + i (the second I/O APIC) in its default configuration.
constexpr uint64_t kMicrovmMmioBase = 0xFEB00000, kMicrovmMmioStride = 0x200;
constexpr uint32_t kMicrovmMmioSlots = 24;

// The transport of `d` (kVirtioLegacyPci, kVirtioModernPci or kVirtioMmio), in the calling
// core's memory; PCI functions get decoding and bus mastering enabled. kDeviceFailed if a
// modern device's capabilities are incomplete or an MMIO window holds no legacy virtio device,
// kNoMemory.
klib::Result<VirtioTransport*> make_transport(const Device& d, const StartContext& c);

// The base of a "virtio_mmio.device=<size>@0x<base>:<irq>" kernel parameter (Linux's format,
// what QEMU's microvm appends per device; toro-spec §1.4 GetKernelParam [HEAD]); false for any
// other parameter.
bool parse_mmio_param(const char* param, uint64_t* base);

}  // namespace drivers::virtio
