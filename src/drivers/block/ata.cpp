#include <drivers/block/ata.h>
#include <drivers/device.h>

#include <cstring>

namespace drivers {
namespace ata {
namespace {

// ATA8-ACS: the status is valid 400 ns after a command or a drive selection; four reads of the
// alternate status (which acknowledges nothing) take at least that long.
void delay_400ns(Io& io) {
  for (int i = 0; i < 4; ++i) (void)io.read8(kAltStatus);
}

// Polls the alternate status until BSY is clear; false after `timeout_us`.
bool wait_not_busy(Io& io, Clock clock, uint64_t timeout_us, uint8_t* status) {
  const uint64_t start = clock();
  for (;;) {
    *status = io.read8(kAltStatus);
    if ((*status & kStatusBsy) == 0) return true;
    if (clock() - start > timeout_us) return false;
  }
}

bool identify(Io& io, uint8_t unit, Clock clock, uint64_t timeout_us, Identity* out) {
  io.write8(kDevice, kDeviceObsolete | kDeviceLba | (unit != 0 ? kDeviceSlave : 0));
  delay_400ns(io);
  uint8_t status = io.read8(kStatus);
  if (status == 0 || status == 0xFF) return false;  // nothing in this place (or no channel)
  if (!wait_not_busy(io, clock, timeout_us, &status)) return false;
  io.write8(kSectorCount, 0);
  io.write8(kLbaLow, 0);
  io.write8(kLbaMid, 0);
  io.write8(kLbaHigh, 0);
  io.write8(kCommand, kCmdIdentify);
  delay_400ns(io);
  if (io.read8(kStatus) == 0) return false;
  if (!wait_not_busy(io, clock, timeout_us, &status)) return false;
  // A packet device aborts IDENTIFY DEVICE and leaves its signature (14h EBh; SATA 3Ch C3h).
  if (io.read8(kLbaMid) != 0 || io.read8(kLbaHigh) != 0) return false;
  const uint64_t start = clock();
  while ((status & (kStatusDrq | kStatusErr | kStatusDf)) == 0) {
    if (clock() - start > timeout_us) return false;
    status = io.read8(kAltStatus);
  }
  if ((status & (kStatusErr | kStatusDf)) != 0) return false;
  uint16_t words[256];
  io.read16_repeat(kData, words, 256);
  (void)io.read8(kStatus);  // acknowledges the (masked) interrupt
  return parse_identify(words, out);
}

}  // namespace

bool parse_identify(const uint16_t w[256], Identity* out) {
  if ((w[0] & 0x8000) != 0 || (w[49] & (1u << 9)) == 0) return false;  // ATAPI, or no LBA
  Identity id = {};
  const bool w83_valid = (w[83] & 0xC000) == 0x4000;
  id.lba48 = w83_valid && (w[83] & (1u << 10)) != 0;
  id.flush = (w83_valid && (w[83] & (1u << 12)) != 0) || ((w[82] & 0xC000) == 0x4000 && (w[82] & (1u << 5)) != 0);
  id.flush_ext = id.lba48 && (w[83] & (1u << 13)) != 0;
  const uint64_t sectors28 = uint64_t(w[60]) | uint64_t(w[61]) << 16;
  const uint64_t sectors48 =
      uint64_t(w[100]) | uint64_t(w[101]) << 16 | uint64_t(w[102]) << 32 | uint64_t(w[103]) << 48;
  id.sectors = id.lba48 && sectors48 != 0 ? sectors48 : sectors28;
  if (id.sectors == 0) return false;
  for (int i = 0; i < 20; ++i) {
    id.model[2 * i] = char(w[27 + i] >> 8);
    id.model[2 * i + 1] = char(w[27 + i] & 0xFF);
  }
  int n = 40;
  while (n > 0 && (id.model[n - 1] == ' ' || id.model[n - 1] == '\0')) --n;
  id.model[n] = '\0';
  *out = id;
  return true;
}

uint8_t probe(Io& io, Clock clock, uint64_t timeout_us, Identity* ids) {
  if (clock == nullptr || io.read8(kStatus) == 0xFF) return 0;  // floating bus: no channel here
  io.write8(kControl, kControlNien);                            // polled: no interrupt
  uint8_t found = 0;
  for (uint8_t unit = 0; unit < 2; ++unit) {
    Identity id = {};
    if (identify(io, unit, clock, timeout_us, &id)) {
      found |= uint8_t(1u << unit);
      if (ids != nullptr) ids[unit] = id;
    }
  }
  return found;
}

}  // namespace ata

using namespace ata;

klib::Status AtaDrive::submit(BlockRequest& r) { return channel_->submit(*this, r); }

size_t AtaDrive::complete(DoneFn done, void* ctx) { return channel_->complete(done, ctx); }

BlockDevice* AtaDrive::drive(uint32_t i) { return channel_->drive(i); }

BlockDevice::Counters AtaDrive::counters() const {
  Counters c = counters_;
  c.interrupts = channel_->interrupts();
  return c;
}

klib::Status AtaChannel::init(Io& io, Clock clock, uint64_t timeout_us) {
  if (clock == nullptr) return klib::Error::kInvalidArgument;
  io_ = &io;
  clock_ = clock;
  timeout_us_ = timeout_us;
  Identity ids[2] = {};
  const uint8_t found = probe(io, clock, timeout_us, ids);
  for (uint8_t unit = 0; unit < 2; ++unit) {
    AtaDrive& d = drives_[unit];
    d.channel_ = this;
    d.unit_ = unit;
    d.present_ = (found >> unit & 1) != 0;
    d.id_ = ids[unit];
  }
  if (found == 0) return klib::Error::kNoDevice;
  io.write8(kControl, 0);  // nIEN clear: the drives interrupt from now on
  return {};
}

klib::Status AtaChannel::submit(AtaDrive& d, BlockRequest& r) {
  switch (r.op) {
    case BlockOp::kRead:
    case BlockOp::kWrite:
      if (r.count == 0 || r.count > d.max_sectors() || r.buffer == nullptr || r.lba >= d.sectors() ||
          r.count > d.sectors() - r.lba) {
        return klib::Error::kInvalidArgument;
      }
      break;
    case BlockOp::kFlush:
      break;
    default:
      return klib::Error::kInvalidArgument;
  }
  r.error = klib::Error::kNone;
  r.next = nullptr;
  r.driver_tag = d.unit_;
  if (tail_ == nullptr) {
    head_ = &r;
  } else {
    tail_->next = &r;
  }
  tail_ = &r;
  if (phase_ == Phase::kIdle) {
    start_next();
    // No interrupt announces a write's first DRQ: its first sector goes now. Whatever
    // happens, complete() hands the request back.
    if (phase_ == Phase::kData && active_->op == BlockOp::kWrite) (void)advance();
  }
  return {};
}

uint8_t* AtaChannel::sector_buffer(uint32_t index) const {
  return static_cast<uint8_t*>(active_->buffer) + size_t(index) * kSectorSize;
}

// Takes the next queued request and selects its drive; the command goes out at once if the
// channel is ready (else complete() issues it once BSY and DRQ are clear).
void AtaChannel::start_next() {
  if (head_ == nullptr) return;
  active_ = head_;
  head_ = head_->next;
  if (head_ == nullptr) tail_ = nullptr;
  active_->next = nullptr;
  sectors_done_ = 0;
  sectors_sent_ = 0;
  error_ = klib::Error::kNone;
  since_ = clock_();
  const AtaDrive& d = drives_[active_->driver_tag];
  if (active_->op == BlockOp::kFlush && !d.id_.flush) {  // no cache to flush: done
    phase_ = Phase::kEnded;
    return;
  }
  const bool lba48 = active_->op != BlockOp::kFlush ? d.id_.lba48 && (active_->lba + active_->count > kLba28Sectors ||
                                                                      active_->count > kMaxSectors28)
                                                    : d.id_.flush_ext;
  uint8_t device = kDeviceObsolete | kDeviceLba | (d.unit_ != 0 ? kDeviceSlave : 0);
  if (!lba48 && active_->op != BlockOp::kFlush) device |= uint8_t(active_->lba >> 24 & 0x0F);
  lba48_ = lba48;
  io_->write8(kDevice, device);
  delay_400ns(*io_);
  phase_ = Phase::kWaitReady;
  if ((io_->read8(kAltStatus) & (kStatusBsy | kStatusDrq)) == 0) issue();
}

void AtaChannel::issue() {
  const BlockRequest& r = *active_;
  uint8_t command;
  if (r.op == BlockOp::kFlush) {
    command = lba48_ ? kCmdFlushCacheExt : kCmdFlushCache;
  } else {
    // A count of 0 is 256 sectors (28-bit) or 65536 (48-bit): the low bits are what is written.
    if (lba48_) {  // the registers are two deep: the high bytes first
      io_->write8(kSectorCount, uint8_t(r.count >> 8));
      io_->write8(kLbaLow, uint8_t(r.lba >> 24));
      io_->write8(kLbaMid, uint8_t(r.lba >> 32));
      io_->write8(kLbaHigh, uint8_t(r.lba >> 40));
    }
    io_->write8(kSectorCount, uint8_t(r.count));
    io_->write8(kLbaLow, uint8_t(r.lba));
    io_->write8(kLbaMid, uint8_t(r.lba >> 8));
    io_->write8(kLbaHigh, uint8_t(r.lba >> 16));
    if (r.op == BlockOp::kRead) {
      command = lba48_ ? kCmdReadSectorsExt : kCmdReadSectors;
    } else {
      command = lba48_ ? kCmdWriteSectorsExt : kCmdWriteSectors;
    }
  }
  io_->write8(kCommand, command);
  delay_400ns(*io_);
  phase_ = Phase::kData;
  since_ = clock_();
  if (r.op != BlockOp::kWrite) return;
  // A write's first DRQ comes without an interrupt, usually at once: wait a little for it, so
  // that the caller (submit, complete) hands over the first sector at once.
  for (uint32_t i = 0; i < kFirstDrqPolls && clock_() - since_ <= kFirstDrqWaitUs; ++i) {
    const uint8_t status = io_->read8(kAltStatus);
    if ((status & kStatusBsy) == 0 && (status & (kStatusDrq | kStatusErr | kStatusDf)) != 0) break;
  }
}

// Reads or writes the active request's next sector through the data port.
void AtaChannel::transfer_sector(uint32_t index) {
  uint8_t* p = sector_buffer(index);
  uint16_t bounce[kSectorSize / 2];
  const bool aligned = (reinterpret_cast<uintptr_t>(p) & 1) == 0;
  uint16_t* words = aligned ? reinterpret_cast<uint16_t*>(p) : bounce;
  if (active_->op == BlockOp::kRead) {
    io_->read16_repeat(kData, words, kSectorSize / 2);
    if (!aligned) memcpy(p, bounce, kSectorSize);
  } else {
    if (!aligned) memcpy(bounce, p, kSectorSize);
    io_->write16_repeat(kData, words, kSectorSize / 2);
  }
  delay_400ns(*io_);  // the drive drops DRQ (or raises BSY) before the status is looked at again
}

void AtaChannel::reset_channel() {
  ++resets_;
  io_->write8(kControl, kControlSrst | kControlNien);
  for (int i = 0; i < 16; ++i) (void)io_->read8(kAltStatus);  // SRST held for at least 5 us
  io_->write8(kControl, 0);
}

AtaChannel::Step AtaChannel::step() {
  const uint8_t status = io_->read8(kStatus);  // acknowledges the interrupt
  const auto wait = [&] {
    if (!timed_out()) return Step::kWait;
    ++timeouts_;
    reset_channel();
    error_ = klib::Error::kTimeout;
    return Step::kEnded;
  };
  if (phase_ == Phase::kWaitReady) {
    if ((status & (kStatusBsy | kStatusDrq)) != 0) return wait();
    issue();
    return Step::kProgress;
  }
  if ((status & kStatusBsy) != 0) return wait();
  if ((status & (kStatusErr | kStatusDf)) != 0) {
    error_ = klib::Error::kIoError;
    return Step::kEnded;
  }
  const BlockRequest& r = *active_;
  if (r.op == BlockOp::kFlush) {
    if ((status & kStatusDrq) != 0) error_ = klib::Error::kIoError;
    return Step::kEnded;
  }
  if (r.op == BlockOp::kWrite && sectors_sent_ > sectors_done_) {
    sectors_done_ = sectors_sent_;  // not busy, no error: the drive has written what it was given
    since_ = clock_();
  }
  if (sectors_done_ == r.count) {
    if ((status & kStatusDrq) != 0) error_ = klib::Error::kIoError;  // it wants more than we asked
    return Step::kEnded;
  }
  if ((status & kStatusDrq) == 0) return wait();  // the next sector is not ready yet
  if (r.op == BlockOp::kRead) {
    transfer_sector(sectors_done_++);
  } else {
    transfer_sector(sectors_sent_++);
  }
  since_ = clock_();
  return Step::kProgress;
}

bool AtaChannel::advance() {
  for (;;) {
    if (phase_ == Phase::kEnded) return true;
    switch (step()) {
      case Step::kWait:
        return false;
      case Step::kProgress:
        progress_ = true;
        break;
      case Step::kEnded:
        progress_ = true;
        phase_ = Phase::kEnded;
        return true;
    }
  }
}

size_t AtaChannel::complete(BlockDevice::DoneFn done, void* ctx) {
  size_t finished = 0;
  progress_ = false;
  for (;;) {
    if (phase_ == Phase::kIdle) {
      if (head_ == nullptr) break;
      start_next();
      continue;
    }
    if (phase_ != Phase::kEnded && !advance()) break;
    BlockRequest& r = *active_;
    AtaDrive& d = drives_[r.driver_tag];
    r.error = error_;
    if (error_ != klib::Error::kNone) {
      ++d.counters_.errors;
    } else if (r.op == BlockOp::kRead) {
      ++d.counters_.reads;
      d.counters_.sectors_read += r.count;
    } else if (r.op == BlockOp::kWrite) {
      ++d.counters_.writes;
      d.counters_.sectors_written += r.count;
    } else {
      ++d.counters_.flushes;
    }
    active_ = nullptr;
    phase_ = Phase::kIdle;
    ++finished;
    done(r, ctx);  // may submit: the loop starts what it queued
  }
  if (finished == 0 && !progress_ && phase_ == Phase::kIdle) (void)io_->read8(kStatus);  // a stray interrupt
  if (progress_ || finished != 0) ++interrupts_;
  return finished;
}

// The legacy channels at boot: a floating bus fails the probe at the first port read.
namespace {

bool present(Io& io, Clock clock) { return probe(io, clock) != 0; }

klib::Result<BlockDevice*> start(Device& d, const StartContext& c) {
  if (c.clock == nullptr) return klib::Error::kNotSupported;
  Io* io = c.io(c, d.driver->isa_port, true);
  auto* channel = c.make<AtaChannel>();
  if (io == nullptr || channel == nullptr) return klib::Error::kNoMemory;
  const klib::Status s = channel->init(*io, c.clock);
  if (!s) return s.error();
  return static_cast<BlockDevice*>(channel->first_drive());
}

// Toro's names; DedicateBlockDriver('ATA0', ...) finds them by "name starts with".
constexpr Driver channel_driver(const char* name, uint16_t port, uint8_t irq) {
  return {.name = name,
          .label = name,
          .device_class = DeviceClass::kBlock,
          .isa_port = port,
          .isa_irq = irq,
          .present = present};
}

}  // namespace

TORO_DRIVER(ata0) = channel_driver("ATA0", 0x1F0, 14);  // primary: 0x1F0-0x1F7, 0x3F6
TORO_DRIVER_START(ata0, start)
TORO_DRIVER(ata1) = channel_driver("ATA1", 0x170, 15);  // secondary: 0x170-0x177, 0x376
TORO_DRIVER_START(ata1, start)

}  // namespace drivers
