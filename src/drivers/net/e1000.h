// Intel 8254x (82540EM: the e1000 QEMU and Bochs emulate). Register layout and the init
// sequence: "PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual"
// (Intel 8254x SDM), §13 (registers) and §14 (initialisation). Receive and transmit on legacy
// descriptors, zero-copy receive through poll(), the receive interrupt when the kernel routes
// one (else the packet thread polls); portable over drivers::Io, so the register sequence is
// host-tested. Toro's name for it: "e1000" (the descriptor at the end of e1000.cpp).
//
//   drivers::E1000 nic;
//   if (nic.init(mmio, dma)) nic.send(frame, len);   // the kernel: kernel::start_device
#pragma once

#include <drivers/io.h>
#include <drivers/net/nic.h>
#include <lib/result.h>

namespace drivers {

namespace e1000 {
constexpr uint32_t kCtrl = 0x0000, kStatus = 0x0008, kEerd = 0x0014, kIcr = 0x00C0, kIms = 0x00D0, kImc = 0x00D8;
constexpr uint32_t kRctl = 0x0100, kTctl = 0x0400, kTipg = 0x0410;
constexpr uint32_t kRdbal = 0x2800, kRdbah = 0x2804, kRdlen = 0x2808, kRdh = 0x2810, kRdt = 0x2818;
constexpr uint32_t kTdbal = 0x3800, kTdbah = 0x3804, kTdlen = 0x3808, kTdh = 0x3810, kTdt = 0x3818;
constexpr uint32_t kMpc = 0x4010, kMta = 0x5200, kRal = 0x5400, kRah = 0x5404;
constexpr uint32_t kCtrlRst = 1u << 26, kCtrlSlu = 1u << 6, kCtrlAsde = 1u << 5;
constexpr uint32_t kRctlEn = 1u << 1, kRctlBam = 1u << 15, kRctlSecrc = 1u << 26;
constexpr uint32_t kTctlEn = 1u << 1, kTctlPsp = 1u << 3;
constexpr uint8_t kTxCmdEop = 1u << 0, kTxCmdIfcs = 1u << 1, kTxCmdRs = 1u << 3;
constexpr uint8_t kDescDone = 1u << 0, kRxEop = 1u << 1;
}  // namespace e1000

class E1000 final : public Nic {
 public:
  // Receive buffers: a full ring drops what arrives (§3.2.7; QEMU does the same, and under a
  // burst of a thousand connections, three frames each, 256 and even 1024 overran).
  // The owner picks the count by the memory it can spare: 2 KiB each.
  static constexpr uint32_t kMinRxDescs = 256, kMaxRxDescs = 4096, kTxDescs = 64, kBufferSize = 2048;
  static constexpr uint32_t kGiveBackBatch = 32;  // receive buffers handed back per tail write (poll)

  // Resets and brings up the device with `rx_descs` receive buffers (a multiple of 8 between
  // kMinRxDescs and kMaxRxDescs, else kMinRxDescs); kTimeout if the reset never completes,
  // kNoMemory if there is no memory for the rings.
  [[gnu::cold]] klib::Status init(Io& io, const DmaAllocator& dma, uint32_t rx_descs = kMinRxDescs);  // once: for size
  uint32_t rx_descs() const { return rx_count_; }
  const MacAddress& mac() const override { return mac_; }
  bool send(const void* frame, size_t length) override;
  void hold(bool on) override;
  // Copies the next frame out (the tests' way in; the kernel uses poll()); 0 if none.
  size_t receive(void* buffer, size_t capacity);
  size_t poll(FrameHandler handler, void* ctx, size_t budget) override;
  // MPC (§13.7.8, clear on read): frames missed for lack of receive descriptors.
  Counters counters() const override {
    missed_ += io_ != nullptr ? io_->read32(e1000::kMpc) : 0;
    Counters c = counters_;
    c.rx_missed = missed_;
    return c;
  }
  bool link_up() override { return io_->read32(e1000::kStatus) & (1u << 1); }  // STATUS.LU
  // RXT0 (receiver timer), RXDMT0 (ring low), LSC (link change): §13.4.20.
  void enable_interrupts() override { io_->write32(e1000::kIms, (1u << 7) | (1u << 4) | (1u << 2)); }
  void ack_interrupt() override { (void)io_->read32(e1000::kIcr); }  // reading ICR clears it

  struct [[gnu::packed]] RxDesc {
    uint64_t address;
    uint16_t length;
    uint16_t checksum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
  };
  struct [[gnu::packed]] TxDesc {
    uint64_t address;
    uint16_t length;
    uint8_t cso;
    uint8_t cmd;
    uint8_t status;
    uint8_t css;
    uint16_t special;
  };
  static_assert(sizeof(RxDesc) == 16 && sizeof(TxDesc) == 16);

  // For tests: the rings as the device sees them.
  RxDesc* rx_ring() { return rx_; }
  TxDesc* tx_ring() { return tx_; }
  uint8_t* rx_buffer(uint32_t i) { return rx_buffers_ + i * kBufferSize; }

 private:
  Io* io_ = nullptr;
  MacAddress mac_{};
  RxDesc* rx_ = nullptr;
  TxDesc* tx_ = nullptr;
  uint8_t* rx_buffers_ = nullptr;
  uint8_t* tx_buffers_ = nullptr;
  uint32_t rx_count_ = kMinRxDescs;
  uint32_t rx_next_ = 0;
  uint32_t tx_next_ = 0;
  uint32_t tx_tail_ = 0;     // TDT as last written (tx_next_ runs ahead of it while held)
  uint16_t holds_ = 0;       // hold(true) calls not yet ended
  bool discarding_ = false;  // inside a frame that spans buffers: drop up to its last one
  Counters counters_{};
  mutable uint64_t missed_ = 0;
  uint32_t returned_ = 0;    // the last receive buffer handed back (RDT once written)
  uint32_t unreturned_ = 0;  // buffers taken since the last tail write
  void give_back();
};

}  // namespace drivers
