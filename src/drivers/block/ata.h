// ATA/IDE disks in PIO mode, one channel with up to two drives (ATA8-ACS; Toro's IdeDisk,
// toro-spec §2.11.2): 'ATA0' is the primary channel (command block 0x1F0, control 0x3F6,
// IRQ 14), 'ATA1' the secondary (0x170, 0x376, IRQ 15). IDENTIFY DEVICE finds the master and
// the slave (ATAPI devices and empty places are left out), then every request is READ/WRITE
// SECTORS (28-bit LBA) or their EXT forms (48-bit, when the drive has them and the range needs
// them), up to 256 / 65536 sectors a command, and FLUSH CACHE (EXT). Portable: the channel is
// one drivers::Io window at the command block (the control block at +0x206), a simulated
// channel in tests/unit/drivers/ata_test.cpp.
//
// Both drives share the channel: one command on the wire at a time, the others queued in
// submission order (whichever drive they are for). Each drive is a drivers::BlockDevice
// (AtaChannel::drive(0) the master, drive(1) the slave, nullptr where there is none), and
// complete() on either one serves the whole channel: the interrupt handler calls it, it reads
// the status register (which acknowledges the interrupt), moves the sector the drive has ready
// (one interrupt per sector), finishes the command and starts the next. Nothing waits for the
// interrupt: polling complete() drives a request just as well, and a drive that stays busy or
// never offers its data fails the request with kTimeout once the driver's clock says so (then
// the channel is reset); an error status fails it with kIoError. submit() and complete() of
// one channel must not run at the same time: the kernel calls both on the dedicated core with
// interrupts off (src/fs/kernel.cpp). submit() itself hands a write its first sector (no
// interrupt announces that DRQ); whatever happens, complete() hands every request back.
//
//   drivers::AtaChannel channel;
//   klib::Status s = channel.init(io, clock);        // IDENTIFY, polled; kNoDevice: no ATA disk
//   drivers::BlockDevice* master = channel.drive(0);
//   master->submit(request);  ... IRQ 14: master->complete(done, ctx);
#pragma once

#include <drivers/block/block.h>
#include <drivers/io.h>

#include <cstddef>
#include <cstdint>

namespace drivers {

namespace ata {
// Command block registers (offsets from the channel's first port) and the control block.
constexpr uint32_t kData = 0, kError = 1, kFeatures = 1, kSectorCount = 2, kLbaLow = 3, kLbaMid = 4, kLbaHigh = 5,
                   kDevice = 6, kStatus = 7, kCommand = 7;
constexpr uint32_t kAltStatus = 0x206, kControl = 0x206;  // 0x3F6 - 0x1F0 = 0x376 - 0x170
constexpr uint8_t kStatusBsy = 0x80, kStatusDrdy = 0x40, kStatusDf = 0x20, kStatusDrq = 0x08, kStatusErr = 0x01;
constexpr uint8_t kControlNien = 0x02, kControlSrst = 0x04;
constexpr uint8_t kDeviceLba = 0x40, kDeviceObsolete = 0xA0, kDeviceSlave = 0x10;
constexpr uint8_t kCmdReadSectors = 0x20, kCmdReadSectorsExt = 0x24, kCmdWriteSectors = 0x30,
                  kCmdWriteSectorsExt = 0x34, kCmdFlushCache = 0xE7, kCmdFlushCacheExt = 0xEA, kCmdIdentify = 0xEC;
constexpr uint64_t kLba28Sectors = 1ull << 28;  // a 28-bit command reaches sectors below this
constexpr uint32_t kMaxSectors28 = 256, kMaxSectors48 = 65536;
constexpr uint32_t kSectorSize = 512;
// How long a drive may stay busy, or keep its data back, before the request fails.
constexpr uint64_t kDefaultTimeoutUs = 5'000'000;

// What IDENTIFY DEVICE says of a drive (the 256 words as read from the data port).
struct Identity {
  uint64_t sectors;  // addressable with the commands the drive has (LBA48 if lba48)
  bool lba48;        // word 83 bit 10: the EXT commands
  bool flush;        // word 83 bit 12 / word 82 bit 5: FLUSH CACHE (else it has no cache to flush)
  bool flush_ext;    // word 83 bit 13
  char model[41];    // words 27-46, trailing spaces cut
};
// False if the data is no ATA disk's (word 0 bit 15: ATAPI) or it has no LBA (CHS only).
bool parse_identify(const uint16_t words[256], Identity* out);

// Which drives of a channel are ATA disks (bit 0 master, bit 1 slave): IDENTIFY DEVICE with
// interrupts off, polled, each wait bounded by `timeout_us`. A floating bus (status 0xFF) or an
// empty place (status 0) answers at once: machines without legacy IDE cost a few port reads.
// Fills `ids` (two entries) if given.
uint8_t probe(Io& io, Clock clock, uint64_t timeout_us = kDefaultTimeoutUs, Identity* ids = nullptr);
}  // namespace ata

class AtaChannel;

// One drive of a channel: the BlockDevice the kernel dedicates. Requests go to the channel.
class AtaDrive final : public BlockDevice {
 public:
  uint32_t sector_size() const override { return ata::kSectorSize; }
  uint64_t sectors() const override { return id_.sectors; }
  bool read_only() const override { return false; }
  klib::Status submit(BlockRequest& r) override;
  size_t complete(DoneFn done, void* ctx) override;
  uint32_t max_sectors() const override { return id_.lba48 ? ata::kMaxSectors48 : ata::kMaxSectors28; }
  Counters counters() const override;  // interrupts: the channel's
  uint32_t drive_places() const override { return 2; }
  BlockDevice* drive(uint32_t i) override;  // the channel's drive i

  const ata::Identity& identity() const { return id_; }
  uint8_t unit() const { return unit_; }  // 0 master, 1 slave
  AtaChannel& channel() const { return *channel_; }

 private:
  friend class AtaChannel;
  AtaChannel* channel_ = nullptr;
  uint8_t unit_ = 0;
  bool present_ = false;
  ata::Identity id_ = {};
  Counters counters_ = {};
};

class AtaChannel {
 public:
  AtaChannel() = default;
  AtaChannel(const AtaChannel&) = delete;
  AtaChannel& operator=(const AtaChannel&) = delete;

  // Finds the drives (ata::probe) and enables the channel's interrupt (nIEN clear).
  // kNoDevice if neither place holds an ATA disk. `clock` (microseconds) bounds every wait.
  klib::Status init(Io& io, Clock clock, uint64_t timeout_us = ata::kDefaultTimeoutUs);

  // Drive `unit` (0 master, 1 slave), nullptr if there is no ATA disk there.
  AtaDrive* drive(uint32_t unit) { return unit < 2 && drives_[unit].present_ ? &drives_[unit] : nullptr; }
  // The master, or the slave when the master place is empty.
  AtaDrive* first_drive() { return drive(0) != nullptr ? drive(0) : drive(1); }

  // What AtaDrive::submit and complete do (the channel's queue and its one command).
  klib::Status submit(AtaDrive& d, BlockRequest& r);
  size_t complete(BlockDevice::DoneFn done, void* ctx);
  bool idle() const { return active_ == nullptr && head_ == nullptr; }

  uint64_t interrupts() const { return interrupts_; }  // complete() calls that found progress
  uint64_t timeouts() const { return timeouts_; }
  uint64_t resets() const { return resets_; }

 private:
  enum class Phase : uint8_t {
    kIdle,       // nothing on the wire
    kWaitReady,  // drive selected, waiting for BSY and DRQ to clear before the command
    kData,       // command issued: a read waits for each sector, a write for each sector taken
    kEnded,      // the active request is over (error_ says how), to be handed to the caller
  };
  enum class Step : uint8_t { kWait, kProgress, kEnded };
  void start_next();
  void issue();
  Step step();
  bool advance();  // steps until the drive must be waited for (false) or the request ended
  void transfer_sector(uint32_t index);
  void reset_channel();
  uint8_t* sector_buffer(uint32_t index) const;
  bool timed_out() const { return clock_() - since_ > timeout_us_; }

  Io* io_ = nullptr;
  Clock clock_ = nullptr;
  uint64_t timeout_us_ = ata::kDefaultTimeoutUs;
  AtaDrive drives_[2];
  BlockRequest* head_ = nullptr;  // queued, not started
  BlockRequest* tail_ = nullptr;
  BlockRequest* active_ = nullptr;
  Phase phase_ = Phase::kIdle;
  bool lba48_ = false;         // the active command is a 48-bit one
  uint32_t sectors_done_ = 0;  // of the active request: read into its buffer / taken by the drive
  uint32_t sectors_sent_ = 0;  // a write: handed to the drive
  klib::Error error_ = klib::Error::kNone;
  uint64_t since_ = 0;     // when the active phase last made progress (clock_)
  bool progress_ = false;  // in this complete() call
  // After a write command, how long to look for the first DRQ before leaving it to complete().
  static constexpr uint32_t kFirstDrqPolls = 10000;
  static constexpr uint64_t kFirstDrqWaitUs = 1000;
  uint64_t interrupts_ = 0, timeouts_ = 0, resets_ = 0;
};

}  // namespace drivers
