#include <drivers/device.h>
#include <drivers/net/e1000.h>

#include <atomic>
#include <cstring>

namespace drivers {

using namespace e1000;

namespace {
uint64_t phys(const void* p) { return reinterpret_cast<uintptr_t>(p); }  // identity mapped
}  // namespace

klib::Status E1000::init(Io& io, const DmaAllocator& dma, uint32_t rx_descs) {
  io_ = &io;
  // RDLEN is a multiple of 128 bytes (§13.4.27): 8 descriptors.
  rx_count_ = rx_descs >= kMinRxDescs && rx_descs <= kMaxRxDescs && rx_descs % 8 == 0 ? rx_descs : kMinRxDescs;
  // §14.5: global reset; the bit clears itself when the reset is done.
  io.write32(kImc, 0xFFFFFFFF);
  io.write32(kCtrl, io.read32(kCtrl) | kCtrlRst);
  int polls = 0;
  while ((io.read32(kCtrl) & kCtrlRst) && ++polls < 1000000) {
  }
  if (polls == 1000000) return klib::Error::kTimeout;
  io.write32(kImc, 0xFFFFFFFF);  // interrupts stay off until the kernel routes the line (enable_interrupts)
  (void)io.read32(kIcr);         // clear pending causes
  // Link up, speed detected automatically (§14.3); no PHY reset, no VLAN mode.
  uint32_t ctrl = io.read32(kCtrl);
  ctrl |= kCtrlSlu | kCtrlAsde;
  ctrl &= ~((1u << 3) | (1u << 7) | (1u << 30) | (1u << 31));  // LRST, ILOS, VME, PHY_RST
  io.write32(kCtrl, ctrl);

  // The MAC: RAL0/RAH0 hold the EEPROM's address after reset (§14.8; AV bit 31 of RAH).
  const uint32_t ral = io.read32(kRal), rah = io.read32(kRah);
  if (rah & (1u << 31)) {
    for (int i = 0; i < 4; ++i) mac_.b[i] = uint8_t(ral >> (8 * i));
    mac_.b[4] = uint8_t(rah);
    mac_.b[5] = uint8_t(rah >> 8);
  } else {
    for (uint32_t word = 0; word < 3; ++word) {  // EEPROM read through EERD (§13.4.4)
      io.write32(kEerd, (word << 8) | 1);
      uint32_t v = 0;
      for (int i = 0; i < 100000 && !((v = io.read32(kEerd)) & (1u << 4)); ++i) {
      }
      mac_.b[2 * word] = uint8_t(v >> 16);
      mac_.b[2 * word + 1] = uint8_t(v >> 24);
    }
    io.write32(kRal,
               uint32_t(mac_.b[0]) | uint32_t(mac_.b[1]) << 8 | uint32_t(mac_.b[2]) << 16 | uint32_t(mac_.b[3]) << 24);
    io.write32(kRah, uint32_t(mac_.b[4]) | uint32_t(mac_.b[5]) << 8 | (1u << 31));
  }
  for (uint32_t i = 0; i < 128; ++i) io.write32(kMta + 4 * i, 0);

  // Receive (§14.4): a ring of buffers owned by the device up to RDT.
  rx_ = static_cast<RxDesc*>(dma.alloc(sizeof(RxDesc) * rx_count_, 128, dma.ctx));
  tx_ = static_cast<TxDesc*>(dma.alloc(sizeof(TxDesc) * kTxDescs, 128, dma.ctx));
  rx_buffers_ = static_cast<uint8_t*>(dma.alloc(kBufferSize * rx_count_, 4096, dma.ctx));
  tx_buffers_ = static_cast<uint8_t*>(dma.alloc(kBufferSize * kTxDescs, 4096, dma.ctx));
  if (rx_ == nullptr || tx_ == nullptr || rx_buffers_ == nullptr || tx_buffers_ == nullptr) {
    return klib::Error::kNoMemory;
  }
  memset(rx_, 0, sizeof(RxDesc) * rx_count_);
  memset(tx_, 0, sizeof(TxDesc) * kTxDescs);
  for (uint32_t i = 0; i < rx_count_; ++i) rx_[i].address = phys(rx_buffers_ + i * kBufferSize);
  for (uint32_t i = 0; i < kTxDescs; ++i) {
    tx_[i].address = phys(tx_buffers_ + i * kBufferSize);
    tx_[i].status = kDescDone;  // free
  }
  io.write32(kRdbal, uint32_t(phys(rx_)));
  io.write32(kRdbah, uint32_t(phys(rx_) >> 32));
  io.write32(kRdlen, sizeof(RxDesc) * rx_count_);
  io.write32(kRdh, 0);
  io.write32(kRdt, rx_count_ - 1);
  io.write32(kRctl, kRctlEn | kRctlBam | kRctlSecrc);  // 2048-byte buffers (BSIZE 00)

  // Transmit (§14.5).
  io.write32(kTdbal, uint32_t(phys(tx_)));
  io.write32(kTdbah, uint32_t(phys(tx_) >> 32));
  io.write32(kTdlen, sizeof(TxDesc) * kTxDescs);
  io.write32(kTdh, 0);
  io.write32(kTdt, 0);
  io.write32(kTctl, kTctlEn | kTctlPsp | (0x10u << 4) | (0x40u << 12));  // CT 16, COLD 64 (full duplex)
  io.write32(kTipg, 10 | (8u << 10) | (6u << 20));                       // IEEE 802.3 values, §13.4.34
  rx_next_ = 0;
  tx_next_ = tx_tail_ = 0;
  return {};
}

bool E1000::send(const void* frame, size_t length) {
  if (length == 0 || length > kBufferSize) return false;
  TxDesc& d = tx_[tx_next_];
  // One descriptor always stays unused: with all of them handed over, the tail would come back
  // round to the head and the device would see an empty ring (§3.4: TDT == TDH means empty).
  const TxDesc& after = tx_[(tx_next_ + 1) % kTxDescs];
  if (!(reinterpret_cast<volatile const TxDesc&>(d).status & kDescDone) ||
      !(reinterpret_cast<volatile const TxDesc&>(after).status & kDescDone)) {
    ++counters_.tx_full;
    if (tx_tail_ != tx_next_) io_->write32(kTdt, tx_tail_ = tx_next_);  // held: the card must take some
    return false;
  }
  memcpy(tx_buffers_ + tx_next_ * kBufferSize, frame, length);
  d.length = uint16_t(length);
  d.cmd = kTxCmdEop | kTxCmdIfcs | kTxCmdRs;
  d.status = 0;
  // The descriptor and buffer are in memory before the tail write hands them to the device
  // (x86 keeps stores in order; the fence keeps the compiler from moving them).
  std::atomic_thread_fence(std::memory_order_release);
  tx_next_ = (tx_next_ + 1) % kTxDescs;
  if (holds_ == 0) io_->write32(kTdt, tx_tail_ = tx_next_);
  ++counters_.tx_frames;
  return true;
}

void E1000::hold(bool on) {
  if (on) {
    ++holds_;
  } else if (holds_ != 0 && --holds_ == 0 && tx_tail_ != tx_next_) {
    io_->write32(kTdt, tx_tail_ = tx_next_);
  }
}

size_t E1000::poll(FrameHandler handler, void* ctx, size_t budget) {
  size_t frames = 0;
  while (frames < budget) {
    RxDesc& d = rx_[rx_next_];
    if (!(reinterpret_cast<volatile RxDesc&>(d).status & kDescDone)) break;
    std::atomic_thread_fence(std::memory_order_acquire);  // status before data
    // A frame longer than one buffer spans several descriptors (EOP on the last): we drop all
    // of them, not just the first, so its tail is not taken for a frame.
    const bool last = d.status & kRxEop;
    if (last && !discarding_ && d.errors == 0 && d.length <= kBufferSize) {
      handler(ctx, rx_buffers_ + rx_next_ * kBufferSize, d.length);  // in the DMA buffer itself
      ++counters_.rx_frames;
      ++frames;
    } else if (!discarding_) {
      ++counters_.rx_dropped;  // once per frame, at its first buffer
    }
    discarding_ = !last;
    d.status = 0;
    returned_ = rx_next_;
    ++unreturned_;
    rx_next_ = (rx_next_ + 1) % rx_count_;
    if (unreturned_ >= kGiveBackBatch) give_back();
  }
  // Buffers go back to the device kGiveBackBatch at a time, in one tail write: a tail write is
  // an exit to the hypervisor, and one per poll was one per frame at low rates (issue 16). The
  // device keeps at least rx_count_ - kGiveBackBatch buffers (224 of 256), well above the
  // half-empty mark where it would raise RXDMT0, so it never waits for the rest.
  return frames;
}

void E1000::give_back() {
  std::atomic_thread_fence(std::memory_order_release);  // done with the buffers before the device may refill them
  io_->write32(kRdt, returned_);
  unreturned_ = 0;
}

size_t E1000::receive(void* buffer, size_t capacity) {
  RxDesc& d = rx_[rx_next_];
  if (!(reinterpret_cast<volatile RxDesc&>(d).status & kDescDone)) return 0;
  // The status read happens before the reads of the data it announces.
  std::atomic_thread_fence(std::memory_order_acquire);
  size_t length = d.length;
  const bool last = d.status & kRxEop;
  const bool whole = last && !discarding_ && d.errors == 0 && length <= capacity;
  discarding_ = !last;
  if (whole) {
    memcpy(buffer, rx_buffers_ + rx_next_ * kBufferSize, length);
    ++counters_.rx_frames;
  } else {
    ++counters_.rx_dropped;  // errors, a frame over several buffers (jumbo) or too long
    length = 0;
  }
  d.status = 0;
  std::atomic_thread_fence(std::memory_order_release);
  io_->write32(kRdt, rx_next_);  // give the buffer back (and any poll() still held)
  returned_ = rx_next_;
  unreturned_ = 0;
  rx_next_ = (rx_next_ + 1) % rx_count_;
  return length == 0 ? receive(buffer, capacity) : length;
}

namespace {

klib::Result<Nic*> start(Device& d, const StartContext& c) {
  pci_enable(*c.pci_config, *d.pci);
  Io* io = c.io(c, d.pci->bar[0].base, false);
  auto* nic = c.make<E1000>();
  if (io == nullptr || nic == nullptr) return klib::Error::kNoMemory;
  // Receive buffers by the memory the core has: 4096 (8 MiB of buffers) from 64 MiB, 1024
  // from 32 MiB, else 256 (512 KiB), so a VM of a few MiB still serves. Under a thousand
  // clients at once 1024 still overran (ab -c 1000 stalled); 4096 did not.
  const uint32_t descs = c.core_memory >= (64u << 20)   ? E1000::kMaxRxDescs
                         : c.core_memory >= (32u << 20) ? 1024
                                                        : E1000::kMinRxDescs;
  if (const klib::Status s = nic->init(*io, c.memory, descs); !s) return s.error();
  return static_cast<Nic*>(nic);
}

}  // namespace

// The 82540EM that QEMU and Bochs emulate; its registers in memory BAR 0.
TORO_DRIVER(e1000) = {
    .name = "e1000",
    .label = "e1000",
    .device_class = DeviceClass::kNetwork,
    .vendor = 0x8086,
    .device = 0x100E,
    .usable = [](const PciDevice& d) { return d.bar[0].size != 0 && !d.bar[0].io && d.bar[0].base != 0; },
};
TORO_DRIVER_START(e1000, start)

}  // namespace drivers
