// A simulated ATA channel behind drivers::Io, for the ATA driver's host tests: the command
// block (registers two deep for 48-bit commands), the control block at +0x206 (nIEN, SRST), a
// status per drive (BSY, DRDY, DRQ, ERR), IDENTIFY data, PIO sectors over a sparse in-memory
// disk, and the interrupt line (raised when a drive asserts INTRQ with nIEN clear, dropped by a
// status read; `irq_edges` counts its rising edges). Every register write is recorded.
//
// Timing: by default a drive does everything at once; with `slow`, what a real drive takes time
// for (fetching a sector, writing one, flushing) waits for tick(), BSY set meanwhile.
#pragma once

#include <drivers/block/ata.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace drivers::test {

struct SimAtaDrive {
  enum class Kind : uint8_t { kAbsent, kDisk, kAtapi };
  enum class Stuck : uint8_t { kNo, kBusy, kNoDrq };  // after a data command: BSY forever, or never DRQ
  Kind kind = Kind::kDisk;
  uint64_t sectors = 1 << 20;
  bool lba48 = true;
  bool cache = true;  // FLUSH CACHE supported
  std::string model = "TORO SIM DISK";
  Stuck stuck = Stuck::kNo;
  bool first_drq_late = false;  // a write's first DRQ comes only at tick(), without an interrupt
  std::set<uint64_t> bad;       // sectors whose read or write fails (ERR, UNC)
  std::map<uint64_t, std::array<uint8_t, 512>> disk;
  uint8_t status = 0x50;  // DRDY | DSC

  std::array<uint8_t, 512>& sector(uint64_t lba) {
    auto it = disk.find(lba);
    if (it == disk.end()) it = disk.emplace(lba, std::array<uint8_t, 512>{}).first;
    return it->second;
  }
  std::array<uint16_t, 256> identify() const {
    std::array<uint16_t, 256> w{};
    w[0] = 0x0040;  // fixed device, ATA
    w[49] = 1u << 9;
    const uint64_t s28 = sectors < 0x0FFFFFFF ? sectors : 0x0FFFFFFF;
    w[60] = uint16_t(s28);
    w[61] = uint16_t(s28 >> 16);
    w[82] = uint16_t(0x4000 | (cache ? 1u << 5 : 0));
    w[83] = uint16_t(0x4000 | (cache ? 1u << 12 : 0) | (lba48 ? 1u << 10 : 0) | (lba48 && cache ? 1u << 13 : 0));
    if (lba48) {
      for (int i = 0; i < 4; ++i) w[100 + i] = uint16_t(sectors >> (16 * i));
    }
    char m[40];
    memset(m, ' ', sizeof m);
    memcpy(m, model.data(), model.size() < 40 ? model.size() : 40);
    for (int i = 0; i < 20; ++i) w[27 + i] = uint16_t(uint8_t(m[2 * i]) << 8 | uint8_t(m[2 * i + 1]));
    return w;
  }
};

class SimAtaChannel : public drivers::Io {
 public:
  struct Command {
    uint8_t unit, command;
    uint64_t lba;
    uint32_t count;
  };

  SimAtaDrive drive[2];
  bool floating = false;  // nothing on the bus: every read is 0xFF
  bool slow = false;
  std::vector<std::pair<uint32_t, uint8_t>> writes;  // register writes (not the data port)
  std::vector<Command> commands;
  uint64_t irq_edges = 0, data_reads = 0, data_writes = 0, resets = 0, flushes = 0, status_reads = 0;
  bool irq = false;

  uint8_t read8(uint32_t o) override {
    if (floating) return 0xFF;
    switch (o) {
      case ata::kStatus:
        ++status_reads;
        irq = false;
        return status();
      case ata::kAltStatus:
        return status();
      case ata::kError:
        return error_;
      case ata::kSectorCount:
        return count_[0];
      case ata::kLbaLow:
        return lba_low_[0];
      case ata::kLbaMid:
        return lba_mid_[0];
      case ata::kLbaHigh:
        return lba_high_[0];
      case ata::kDevice:
        return device_;
      default:
        return 0xFF;
    }
  }
  uint16_t read16(uint32_t o) override {
    if (floating) return 0xFFFF;
    if (o != ata::kData) return read8(o);
    ++data_reads;
    if (op_ != Op::kIdentify && op_ != Op::kRead) return 0xFFFF;
    if ((sel().status & ata::kStatusDrq) == 0) return 0xFFFF;
    const uint16_t v = uint16_t(buffer_[2 * pos_] | buffer_[2 * pos_ + 1] << 8);
    if (++pos_ == 256) sector_read();
    return v;
  }
  uint32_t read32(uint32_t o) override { return read16(o); }
  void write8(uint32_t o, uint8_t v) override {
    if (floating) return;
    writes.push_back({o, v});
    switch (o) {
      case ata::kFeatures:
        break;
      case ata::kSectorCount:
        push(count_, v);
        break;
      case ata::kLbaLow:
        push(lba_low_, v);
        break;
      case ata::kLbaMid:
        push(lba_mid_, v);
        break;
      case ata::kLbaHigh:
        push(lba_high_, v);
        break;
      case ata::kDevice:
        device_ = v;
        break;
      case ata::kCommand:
        command(v);
        break;
      case ata::kControl:
        control(v);
        break;
      default:
        break;
    }
  }
  void write16(uint32_t o, uint16_t v) override {
    if (floating) return;
    if (o != ata::kData) return write8(o, uint8_t(v));
    ++data_writes;
    if (op_ != Op::kWrite || (sel().status & ata::kStatusDrq) == 0) return;
    buffer_[2 * pos_] = uint8_t(v);
    buffer_[2 * pos_ + 1] = uint8_t(v >> 8);
    if (++pos_ == 256) sector_written();
  }
  void write32(uint32_t o, uint32_t v) override { write16(o, uint16_t(v)); }

  // Lets a slow drive do what it was waiting to do; false if it had nothing to do.
  bool tick() {
    if (!later_) return false;
    std::function<void()> f = std::move(later_);
    later_ = nullptr;
    f();
    return true;
  }
  bool busy_later() const { return static_cast<bool>(later_); }
  uint8_t selected() const { return (device_ & ata::kDeviceSlave) != 0 ? 1 : 0; }

 private:
  enum class Op : uint8_t { kNone, kIdentify, kRead, kWrite };
  static void push(uint8_t (&reg)[2], uint8_t v) {
    reg[1] = reg[0];
    reg[0] = v;
  }
  SimAtaDrive& sel() { return drive[selected()]; }
  uint8_t status() {
    const SimAtaDrive& d = drive[selected()];
    if (d.kind == SimAtaDrive::Kind::kAbsent) return 0;  // QEMU and Bochs: an empty place reads 0
    return d.status;
  }
  void raise() {
    if ((control_ & ata::kControlNien) != 0) return;
    if (!irq) ++irq_edges;
    irq = true;
  }
  void later(std::function<void()> f) {
    if (slow) {
      later_ = std::move(f);
    } else {
      f();
    }
  }
  void fail(SimAtaDrive& d, uint8_t error) {
    op_ = Op::kNone;
    error_ = error;
    d.status = ata::kStatusDrdy | ata::kStatusErr;
    raise();
  }
  void command(uint8_t c) {
    SimAtaDrive& d = sel();
    if (d.kind == SimAtaDrive::Kind::kAbsent) return;
    error_ = 0;
    const bool ext = c == ata::kCmdReadSectorsExt || c == ata::kCmdWriteSectorsExt || c == ata::kCmdFlushCacheExt;
    uint64_t lba;
    uint32_t count;
    if (ext) {
      lba = uint64_t(lba_low_[0]) | uint64_t(lba_mid_[0]) << 8 | uint64_t(lba_high_[0]) << 16 |
            uint64_t(lba_low_[1]) << 24 | uint64_t(lba_mid_[1]) << 32 | uint64_t(lba_high_[1]) << 40;
      count = uint32_t(count_[1]) << 8 | count_[0];
      if (count == 0) count = 65536;
    } else {
      lba = uint64_t(lba_low_[0]) | uint64_t(lba_mid_[0]) << 8 | uint64_t(lba_high_[0]) << 16 |
            uint64_t(device_ & 0x0F) << 24;
      count = count_[0] == 0 ? 256 : count_[0];
    }
    commands.push_back({selected(), c, lba, count});
    if (c == ata::kCmdIdentify) {
      if (d.kind == SimAtaDrive::Kind::kAtapi) {
        lba_mid_[0] = 0x14;
        lba_high_[0] = 0xEB;
        return fail(d, 0x04);  // ABRT
      }
      const std::array<uint16_t, 256> w = d.identify();
      memcpy(buffer_, w.data(), 512);
      op_ = Op::kIdentify;
      pos_ = 0;
      d.status = ata::kStatusDrdy | ata::kStatusDrq;
      return raise();
    }
    if (d.kind != SimAtaDrive::Kind::kDisk) return fail(d, 0x04);
    const bool data = c == ata::kCmdReadSectors || c == ata::kCmdReadSectorsExt || c == ata::kCmdWriteSectors ||
                      c == ata::kCmdWriteSectorsExt;
    if (c == ata::kCmdFlushCache || c == ata::kCmdFlushCacheExt) {
      if (!d.cache || (ext && !d.lba48)) return fail(d, 0x04);
      d.status = ata::kStatusBsy;
      return later([this, &d] {
        ++flushes;
        d.status = ata::kStatusDrdy;
        raise();
      });
    }
    if (!data || (ext && !d.lba48) || (device_ & ata::kDeviceLba) == 0) return fail(d, 0x04);
    if (lba + count > d.sectors) return fail(d, 0x10);  // IDNF
    lba_ = lba;
    remaining_ = count;
    pos_ = 0;
    if (d.stuck != SimAtaDrive::Stuck::kNo) {
      d.status = d.stuck == SimAtaDrive::Stuck::kBusy ? ata::kStatusBsy : ata::kStatusDrdy;
      return;
    }
    if (c == ata::kCmdReadSectors || c == ata::kCmdReadSectorsExt) {
      op_ = Op::kRead;
      d.status = ata::kStatusBsy;
      return later([this] { fetch(); });
    }
    op_ = Op::kWrite;
    if (d.first_drq_late) {
      d.status = ata::kStatusBsy;
      later_ = [&d] { d.status = ata::kStatusDrdy | ata::kStatusDrq; };  // no interrupt for the first DRQ
      return;
    }
    d.status = ata::kStatusDrdy | ata::kStatusDrq;
  }
  void fetch() {
    SimAtaDrive& d = sel();
    if (d.bad.count(lba_) != 0) return fail(d, 0x40);  // UNC
    memcpy(buffer_, d.sector(lba_).data(), 512);
    pos_ = 0;
    d.status = ata::kStatusDrdy | ata::kStatusDrq;
    raise();
  }
  void sector_read() {
    SimAtaDrive& d = sel();
    if (op_ == Op::kIdentify) {
      op_ = Op::kNone;
      d.status = ata::kStatusDrdy;
      return;
    }
    ++lba_;
    if (--remaining_ == 0) {
      op_ = Op::kNone;
      d.status = ata::kStatusDrdy;  // no interrupt after the last sector of a read
      return;
    }
    d.status = ata::kStatusBsy;
    later([this] { fetch(); });
  }
  void sector_written() {
    SimAtaDrive& d = sel();
    d.status = ata::kStatusBsy;
    later([this, &d] {
      if (d.bad.count(lba_) != 0) return fail(d, 0x40);
      memcpy(d.sector(lba_).data(), buffer_, 512);
      ++lba_;
      pos_ = 0;
      if (--remaining_ == 0) {
        op_ = Op::kNone;
        d.status = ata::kStatusDrdy;
      } else {
        d.status = ata::kStatusDrdy | ata::kStatusDrq;
      }
      raise();
    });
  }
  void control(uint8_t v) {
    const bool was_reset = (control_ & ata::kControlSrst) != 0;
    control_ = v;
    if ((v & ata::kControlSrst) != 0) {
      for (SimAtaDrive& d : drive) d.status = ata::kStatusBsy;
      op_ = Op::kNone;
      later_ = nullptr;
      irq = false;
    } else if (was_reset) {
      ++resets;
      for (SimAtaDrive& d : drive) d.status = ata::kStatusDrdy;
      device_ = 0xA0;
      error_ = 1;
      count_[0] = lba_low_[0] = 1;
      lba_mid_[0] = lba_high_[0] = 0;
    }
  }

  uint8_t count_[2] = {}, lba_low_[2] = {}, lba_mid_[2] = {}, lba_high_[2] = {};
  uint8_t device_ = 0xA0, control_ = 0, error_ = 0;
  Op op_ = Op::kNone;
  uint64_t lba_ = 0;
  uint32_t remaining_ = 0, pos_ = 0;
  uint8_t buffer_[512] = {};
  std::function<void()> later_;
};

}  // namespace drivers::test
