// The block layer in a VM (tests/vm/blocktest.py prepares the disk and checks it afterwards):
// DedicateBlockDriver('virtioblk', core) on a disk with an MBR of two partitions whose every
// other sector is filled with a pattern naming its LBA; reads of one and many sectors checked
// against the pattern, readers on several threads at once (requests in flight together), range
// checks, then a pattern written and flushed (the host checks the image), or, on a read-only
// disk, the write refused. The kernel parameter blockcore=N dedicates the disk to core N from
// core 0 and runs the checks there. The disk is 'virtioblk', else an IDE disk ('ATA': the
// checks use the slave's partitions, minors 6 and 7, when it has them, as on QEMU with
// --disk-if ide and on Bochs, whose master is the boot disk; else the master's, 1 and 2).
// blockdev=NAME and blockminor=N choose the device and the first of the two minors.
#include <fs/kernel.h>
#include <kernel/boot.h>
#include <kernel/percpu.h>
#include <sched/scheduler.h>
#include <toro.h>

#include <atomic>

namespace {

constexpr uint64_t kMagic = 0x544F524F00000000;  // "TORO" in the high half
constexpr uint32_t kWords = 512 / 8;
uint64_t word(uint64_t lba, uint32_t i) { return kMagic | lba << 8 | i; }  // blocktest.py's pattern

std::atomic<int> g_failed{0};

void Report(const char* name, bool ok) {
  WriteConsoleF("BlockDevice: %p: %p\n", name, ok ? "PASSED" : "FAILED");
  if (!ok) g_failed.fetch_add(1);
}

// Whether `count` sectors from absolute `lba` hold the pattern (or its complement: `written`).
bool holds(const void* buffer, uint64_t lba, uint32_t count, bool written) {
  const auto* w = static_cast<const uint64_t*>(buffer);
  for (uint32_t s = 0; s < count; ++s) {
    for (uint32_t i = 0; i < kWords; ++i) {
      const uint64_t want = written ? ~word(lba + s, i) : word(lba + s, i);
      if (w[s * kWords + i] != want) return false;
    }
  }
  return true;
}

void fill(void* buffer, uint64_t lba, uint32_t count) {
  auto* w = static_cast<uint64_t*>(buffer);
  for (uint32_t s = 0; s < count; ++s) {
    for (uint32_t i = 0; i < kWords; ++i) w[s * kWords + i] = ~word(lba + s, i);
  }
}

// The absolute LBA of a partition's first sector, as the pattern names it.
uint64_t first_lba(fs::BlockIo& f, void* buffer) {
  if (!f.read(0, 1, buffer)) return ~0ull;
  return (*static_cast<const uint64_t*>(buffer) >> 8) & 0xFFFFFF;
}

// Several threads read at once: each 40 rounds of 64 sectors at its own offsets.
struct Readers {
  fs::BlockIo* file;
  uint64_t base;
  std::atomic<int> next{0}, finished{0}, good{0};
};
constexpr int kReaders = 4;

intptr_t reader(void* arg) {
  auto* r = static_cast<Readers*>(arg);
  const int k = r->next.fetch_add(1);
  void* buffer = ToroGetMem(64 * 512);
  bool ok = buffer != nullptr;
  for (int round = 0; ok && round < 40; ++round) {
    const uint64_t sector = 1 + uint64_t(k) * 3000 + uint64_t(round) * 64;
    ok = r->file->read(sector, 64, buffer) && holds(buffer, r->base + sector, 64, false);
  }
  ToroFreeMem(buffer);
  if (ok) r->good.fetch_add(1);
  r->finished.fetch_add(1);
  return 0;
}

// The dedicated device's name, a shorter prefix of it, and the other driver's name.
const char* g_name = "virtioblk";
const char* g_prefix = "virtio";
const char* g_other = "ATA";
uint32_t g_minor = 0;  // the first of the two partitions' minors

uint32_t number(const char* v) {
  uint32_t n = 0;
  while (*v >= '0' && *v <= '9') n = n * 10 + uint32_t(*v++ - '0');
  return n;
}

bool zero(const uint8_t* p, uint32_t bytes) {
  for (uint32_t i = 0; i < bytes; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// A disk past 2^28 sectors (blocktest.py makes the IDE disks so, sparse): 4 sectors written
// across the boundary of 28-bit LBA through the whole disk's minor (ATA: 48-bit commands), and
// single sectors read on either side of it.
void check_far(uint8_t* buffer) {
  klib::Result<fs::BlockIo*> whole = fs::find_block_file(g_name, g_minor - 1);
  constexpr uint64_t kBoundary = 1ull << 28;
  if (g_minor == 0 || !whole || whole.value()->sectors() < kBoundary + 8) return;
  fs::BlockIo& w = *whole.value();
  fill(buffer, kBoundary - 2, 4);
  bool ok = w.write(kBoundary - 2, 4, buffer) && w.flush();
  for (uint32_t i = 0; i < 6 * 512; ++i) buffer[i] = 0xEE;
  ok = ok && w.read(kBoundary - 3, 6, buffer) && zero(buffer, 512) && holds(buffer + 512, kBoundary - 2, 4, true) &&
       zero(buffer + 5 * 512, 512);
  ok = ok && w.read(kBoundary - 1, 1, buffer) && holds(buffer, kBoundary - 1, 1, true);
  ok = ok && w.read(kBoundary, 1, buffer) && holds(buffer, kBoundary, 1, true);
  Report("BeyondLba28", ok);
  WriteConsoleF("BlockDevice: wrote 4 sectors at LBA %d, across the 28-bit boundary\n", kBoundary - 2);
}

void run_checks() {
  if (g_name[0] == 'A' && kernel::kernel_params().value("blockminor") == nullptr) {
    g_minor = fs::find_block_file(g_name, 6).ok() ? 6 : 1;
  }
  klib::Result<fs::BlockIo*> m0 = fs::find_block_file(g_name, g_minor);
  klib::Result<fs::BlockIo*> m1 = fs::find_block_file(g_prefix, g_minor + 1);  // Toro's "starts with" lookup
  Report("FindBlockFile", m0.ok() && m1.ok() && !fs::find_block_file(g_name, g_minor + 2).ok() &&
                              !fs::find_block_file(g_other, g_minor).ok());
  if (!m0 || !m1) return;
  fs::BlockIo& f0 = *m0.value();
  fs::BlockIo& f1 = *m1.value();
  auto* buffer = static_cast<uint8_t*>(ToroGetMem(600 * 512));
  if (buffer == nullptr) return;
  const uint64_t base0 = first_lba(f0, buffer), base1 = first_lba(f1, buffer);
  WriteConsoleF("BlockDevice: minor %d: %d sectors from LBA %d, minor %d: %d sectors from LBA %d\n", g_minor,
                f0.sectors(), base0, g_minor + 1, f1.sectors(), base1);

  Report("ReadOneSector", f0.read(5, 1, buffer) && holds(buffer, base0 + 5, 1, false));
  // 600 sectors: three requests of the device's size at most, in flight together.
  Report("ReadManySectors", f0.read(1, 600, buffer) && holds(buffer, base0 + 1, 600, false));
  Report("ReadLastSector", f1.read(f1.sectors() - 1, 1, buffer) && holds(buffer, base1 + f1.sectors() - 1, 1, false));
  Report("OutOfRangeRefused", f0.read(f0.sectors(), 1, buffer).error() == klib::Error::kInvalidArgument &&
                                  f0.read(f0.sectors() - 1, 2, buffer).error() == klib::Error::kInvalidArgument);

  Readers readers{&f0, base0};
  const uint32_t core = kernel::current_core();
  for (int k = 0; k < kReaders; ++k) {
    if (sched::create_thread(core, 32 * 1024, reader, &readers) == nullptr) readers.finished.fetch_add(1);
  }
  while (readers.finished.load() < kReaders) Sleep(1);
  Report("ConcurrentReaders", readers.good.load() == kReaders);

  if (f0.read_only()) {
    fill(buffer, base0 + 100, 1);
    const klib::Status s = f0.write(100, 1, buffer);
    WriteConsoleF("BlockDevice: write on a read-only disk: %p\n", klib::error_text(s.error()));
    Report("WriteRefusedReadOnly",
           s.error() == klib::Error::kReadOnly && f0.read(100, 1, buffer) && holds(buffer, base0 + 100, 1, false));
  } else {
    fill(buffer, base0 + 100, 300);
    bool ok = f0.write(100, 300, buffer).ok();
    fill(buffer + 300 * 512, base1 + f1.sectors() - 1, 1);
    ok = ok && f1.write(f1.sectors() - 1, 1, buffer + 300 * 512);
    ok = ok && f0.flush() && f1.flush();
    for (uint32_t i = 0; i < 301 * 512; ++i) buffer[i] = 0;
    ok = ok && f0.read(99, 302, buffer) && holds(buffer, base0 + 99, 1, false) &&
         holds(buffer + 512, base0 + 100, 300, true) && holds(buffer + 301 * 512, base0 + 400, 1, false);
    Report("WriteFlushReadBack", ok);
    WriteConsoleF("BlockDevice: wrote 300 sectors at LBA %d and 1 at LBA %d, flushed\n", base0 + 100,
                  base1 + f1.sectors() - 1);
    check_far(buffer);
  }
  ToroFreeMem(buffer);
}

struct OnCore {
  std::atomic<bool> done{false};
};

intptr_t checks_thread(void* arg) {
  run_checks();
  static_cast<OnCore*>(arg)->done.store(true);
  return 0;
}

}  // namespace

int main() {
  uint32_t core = 0;
  if (const char* v = kernel::kernel_params().value("blockcore")) core = uint32_t(*v - '0');
  if (const char* v = kernel::kernel_params().value("blockminor")) g_minor = number(v);
  const char* asked = kernel::kernel_params().value("blockdev");
  if (asked != nullptr) {
    g_name = g_prefix = asked;
    if (asked[0] == 'A') g_other = "virtio";
  }
  klib::Status s = fs::dedicate_block_driver(asked != nullptr ? asked : g_name, core);
  if (asked == nullptr && s.error() == klib::Error::kNoDevice) {  // no virtio-blk: an IDE disk
    g_name = "ATA0";
    g_prefix = "ATA";
    g_other = "virtio";
    s = fs::dedicate_block_driver(g_prefix, core);
  }
  WriteConsoleF("BlockDevice: DedicateBlockDriver on Core#%d: %p\n", core, klib::error_text(s.error()));
  Report("DedicateBlockDriver", s.ok());
  if (!s) return 1;
  if (core == kernel::current_core()) {
    run_checks();
  } else {
    // The block files are the dedicated core's: the checks run there.
    OnCore on;
    if (sched::create_thread(core, 64 * 1024, checks_thread, &on) == nullptr) return 1;
    while (!on.done.load()) Sleep(5);
  }
  return g_failed.load();
}
