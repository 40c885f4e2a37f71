#include <drivers/device.h>
#include <drivers/rtc/cmos_rtc.h>
#include <fs/kernel.h>
#include <fs/mount.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <sched/scheduler.h>

namespace fs {

namespace fat {
extern const FileSystemType kType;
}
namespace ext2 {
extern const FileSystemType kType;
}

namespace {

// The filesystem drivers of the build, in the order a name prefix is tried.
constinit const FileSystemType* const kFileSystems[] = {&fat::kType, &ext2::kType};

constexpr Memory kCoreMemory = {[](size_t size, size_t align) { return kernel::allocate(size, align); },
                                kernel::release};

// Seconds since 1970 from the CMOS clock (0 without one, e.g. microvm with rtc=off). Days from
// the civil date: the proleptic Gregorian count shifted to start years in March.
uint32_t rtc_now() {
  klib::DateTime t;
  if (!drivers::cmos_read_time(&t)) return 0;
  const int y = t.month <= 2 ? t.year - 1 : t.year;
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (t.month + (t.month > 2 ? -3 : 9)) + 2) / 5 + t.day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t(era) * 146097 + doe - 719468;
  return uint32_t(days * 86400 + t.hour * 3600 + t.minute * 60 + t.second);
}

}  // namespace

const FileSystemType* find_filesystem(const char* name) {
  if (name == nullptr || *name == '\0') return nullptr;
  for (const FileSystemType* t : kFileSystems) {
    if (drivers::name_matches(t->name, name, drivers::NameRule::kPrefix)) return t;
  }
  return nullptr;
}

Vfs* this_core_vfs() { return kernel::this_cpu()->vfs; }

klib::Status mount_on_this_core(const char* fs_name, const char* block_name, uint32_t minor) {
  const FileSystemType* type = find_filesystem(fs_name);
  if (type == nullptr) return klib::Error::kNotFound;
  if (block_name == nullptr) return klib::Error::kNoDevice;
  klib::Result<BlockIo*> io = find_block_file(block_name, minor);
  if (!io) return io.error();
  kernel::PerCpu* cpu = kernel::this_cpu();
  if (cpu->vfs == nullptr) {
    Vfs* v = kCoreMemory.make<Vfs>();
    if (v == nullptr) return klib::Error::kNoMemory;
    v->init(kCoreMemory, {.yield = sched::yield});
    cpu->vfs = v;
  }
  MountOptions options;
  // The cache's bound: 1/16 of the core's memory, between 1 and 64 MiB.
  const uint32_t core = kernel::current_core();
  const uint64_t core_bytes = kernel::heap().stats(core, core).region_bytes;
  uint64_t bound = core_bytes / 16;
  if (bound < (1u << 20)) bound = 1u << 20;
  if (bound > (64u << 20)) bound = 64u << 20;
  options.cache_bytes = bound;
  options.now = rtc_now;
  return cpu->vfs->mount(*type, *io.value(), options);
}

}  // namespace fs
