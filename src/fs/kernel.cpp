// DedicateBlockDriver and the per-core block files (toro-spec §1.9, §2.11). A dedicated device
// lives on one core: its driver state in that core's memory, its interrupt routed there, its
// minors registered as that core's block files; only threads of that core use them (SysMount's
// lookup is per core), so the driver is touched by that core alone: by its threads with
// interrupts off (submit, and complete when polling) and by its interrupt handler.
#include <arch/x86_64/cpu.h>
#include <drivers/block/block.h>
#include <drivers/block/mbr.h>
#include <fs/kernel.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/devices.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <sched/scheduler.h>

#include <atomic>
#include <new>

namespace fs {

namespace {

// How long a thread waiting for a request sleeps before it looks at the device itself: bounds
// the cost of an interrupt that never comes (a misrouted line) without polling a healthy one.
constexpr uint64_t kInterruptWaitMs = 100;
// Requests one transfer keeps in flight at most (each up to the device's max_sectors()).
constexpr uint32_t kBatch = 8;

// A dedicated device, in its core's memory; never freed (the interrupt handler keeps it).
// `dev` serves the interrupt; a controller with several drives (an ATA channel) has its block
// files submit to their own drive (BlockDevice::drive).
struct Disk {
  drivers::Device* device;
  drivers::BlockDevice* dev;
  bool interrupts;  // routed to this core: waiters sleep; else they poll
  bool reported_missed;
};

// What one transfer waits for: its requests, finished by complete()'s callback (in the
// interrupt handler, or in the waiting thread itself when it polls).
struct Wait {
  std::atomic<bool> done{false};
  uint32_t left = 0;
  klib::Error error = klib::Error::kNone;
  sched::Thread* thread = nullptr;
};

void on_done(drivers::BlockRequest& r, void*) {
  auto* w = static_cast<Wait*>(r.waiter);
  if (r.error != klib::Error::kNone && w->error == klib::Error::kNone) w->error = r.error;
  if (--w->left != 0) return;
  sched::Thread* waiter = w->thread;               // `w` is the waiter's: gone once it sees `done`
  w->done.store(true, std::memory_order_seq_cst);  // before the resume: sched::sleep_unless
  sched::resume(waiter);
}

void poll(Disk& d) {
  arch::InterruptGuard no_interrupts;  // the handler calls complete() too
  d.dev->complete(on_done, nullptr);
}

void on_interrupt(void* ctx) { static_cast<Disk*>(ctx)->dev->complete(on_done, nullptr); }

// Submits `n` requests to `drive` (of `d`) and waits until all are finished; the first error.
klib::Status run(Disk& d, drivers::BlockDevice& drive, drivers::BlockRequest* requests, uint32_t n) {
  Wait w;
  w.thread = sched::current();
  {
    arch::InterruptGuard no_interrupts;
    for (uint32_t i = 0; i < n; ++i) {
      requests[i].waiter = &w;
      const klib::Status s = drive.submit(requests[i]);
      if (!s) {
        if (w.error == klib::Error::kNone) w.error = s.error();
        continue;
      }
      ++w.left;
    }
    if (w.left == 0) return w.error;
  }
  // A flush the device has nothing to do for is finished by the next complete(): look at once.
  if (requests[0].op == drivers::BlockOp::kFlush) poll(d);
  while (!w.done.load(std::memory_order_acquire)) {
    if (!d.interrupts) {
      poll(d);  // no interrupt: look at the device, letting the core's other threads run between
      if (!w.done.load(std::memory_order_acquire)) sched::yield();
    } else if (!sched::sleep_unless(w.done, kInterruptWaitMs)) {
      poll(d);  // the interrupt did not come in time (or another resume): look ourselves
      if (w.done.load(std::memory_order_acquire) && !d.reported_missed) {
        d.reported_missed = true;  // once: the VM tests reject this line
        kernel::printk("%p: a request finished without its interrupt\n", d.device->driver->label);
      }
    }
  }
  if (w.error == klib::Error::kNone) return {};
  return w.error;
}

// One minor: the sectors [first, first + count) of a drive of a dedicated device.
class BlockFile final : public BlockIo {
 public:
  BlockFile(Disk& disk, drivers::BlockDevice& drive, uint32_t minor, uint64_t first, uint64_t count)
      : disk_(disk), drive_(drive), minor_(minor), first_(first), count_(count) {}
  uint64_t sectors() const override { return count_; }
  bool read_only() const override { return drive_.read_only(); }
  klib::Status read(uint64_t sector, uint32_t count, void* buffer) override {
    return transfer(drivers::BlockOp::kRead, sector, count, buffer);
  }
  klib::Status write(uint64_t sector, uint32_t count, const void* buffer) override {
    return transfer(drivers::BlockOp::kWrite, sector, count, const_cast<void*>(buffer));
  }
  klib::Status flush() override {
    drivers::BlockRequest r{};
    r.op = drivers::BlockOp::kFlush;
    return run(disk_, drive_, &r, 1);
  }
  const char* name() const { return disk_.device->name(); }
  uint32_t minor() const { return minor_; }
  BlockFile* next = nullptr;

 private:
  // Split into requests of the device's largest size, up to kBatch of them in flight at once.
  klib::Status transfer(drivers::BlockOp op, uint64_t sector, uint32_t count, void* buffer) {
    if (sector > count_ || count_ - sector < count) return klib::Error::kInvalidArgument;
    if (op == drivers::BlockOp::kWrite && read_only()) return klib::Error::kReadOnly;
    const uint32_t most = drive_.max_sectors();
    const uint32_t bytes = drive_.sector_size();
    auto* at = static_cast<uint8_t*>(buffer);
    uint64_t lba = first_ + sector;
    while (count != 0) {
      drivers::BlockRequest batch[kBatch];
      uint32_t n = 0;
      for (; n < kBatch && count != 0; ++n) {
        const uint32_t k = count < most ? count : most;
        batch[n] = {};
        batch[n].op = op;
        batch[n].lba = lba;
        batch[n].count = k;
        batch[n].buffer = at;
        lba += k;
        at += uint64_t(k) * bytes;
        count -= k;
      }
      if (const klib::Status s = run(disk_, drive_, batch, n); !s) return s;
    }
    return {};
  }
  Disk& disk_;
  drivers::BlockDevice& drive_;
  uint32_t minor_;
  uint64_t first_, count_;
};

}  // namespace

// A core's block files (Toro's Storages[core].BlockFiles), in that core's memory.
struct Storage {
  BlockFile* files = nullptr;
};

namespace {

Storage* storage_here() {
  kernel::PerCpu* cpu = kernel::this_cpu();
  if (cpu->storage == nullptr) {
    void* memory = kernel::allocate(sizeof(Storage), 64);
    if (memory != nullptr) cpu->storage = new (memory) Storage();
  }
  return cpu->storage;
}

// Reads `drive`'s partition table and appends its minors at `tail`, one console line each.
klib::Status register_minors(Disk& disk, drivers::BlockDevice& drive, drivers::mbr::MinorScheme scheme, uint32_t unit,
                             BlockFile** tail) {
  const char* label = disk.device->driver->label;
  const uint64_t sectors = drive.sectors();
  BlockFile whole(disk, drive, 0, 0, sectors);
  auto* sector0 = static_cast<uint8_t*>(kernel::allocate(512, 512));
  if (sector0 == nullptr) return klib::Error::kNoMemory;
  const klib::Status read = sectors == 0 ? klib::Status(klib::Error::kIoError) : whole.read(0, 1, sector0);
  if (!read) {
    kernel::printk("%p: cannot read sector 0 (%p)\n", label, klib::error_text(read.error()));
    kernel::release(sector0);
    return read;
  }
  const drivers::mbr::Table table = drivers::mbr::parse(sector0, sectors);
  kernel::release(sector0);
  drivers::mbr::Volume volumes[drivers::mbr::kMaxVolumes];
  const uint32_t n = drivers::mbr::volumes(table, scheme, unit, sectors, volumes);
  for (uint32_t i = 0; i < n; ++i) {
    const drivers::mbr::Volume& v = volumes[i];
    void* file = kernel::allocate(sizeof(BlockFile), 64);
    if (file == nullptr) return klib::Error::kNoMemory;
    *tail = new (file) BlockFile(disk, drive, v.minor, v.first_lba, v.sectors);
    tail = &(*tail)->next;
    kernel::printk("%p: Minor: %d, Size: %d Mb, Type: %d\n", label, v.minor, v.sectors / 2048, v.type);
  }
  return {};
}

// Everything of DedicateBlockDriver on the core that will own the device.
klib::Status dedicate_here(const char* name) {
  const uint32_t core = kernel::current_core();
  const klib::Result<drivers::Device*> claimed =
      kernel::claim_device(drivers::DeviceClass::kBlock, name, drivers::NameRule::kPrefix);
  if (!claimed) return claimed.error();
  drivers::Device& device = *claimed.value();
  const char* label = device.driver->label;
  Storage* storage = storage_here();
  void* memory = kernel::allocate(sizeof(Disk), 64);
  const klib::Result<void*> started =
      storage == nullptr || memory == nullptr ? klib::Error::kNoMemory : kernel::start_device(device);
  if (!started) {
    kernel::printk("DedicateBlockDriver: %p did not come up (%p)\n", label, klib::error_text(started.error()));
    if (memory != nullptr) kernel::release(memory);
    kernel::release_device(device);
    return started.error();
  }
  Disk* disk = new (memory) Disk{&device, static_cast<drivers::BlockDevice*>(started.value()), false, false};
  // Without a route of its own (an unknown chipset, an input shared with another device) the
  // waiting threads poll.
  // blockirq=poll (kernel parameter): no interrupt, to test the polling path.
  const char* setting = kernel::kernel_params().value("blockirq");
  const bool no_irq = setting != nullptr && setting[0] == 'p';
  const klib::Result<uint32_t> input =
      no_irq ? klib::Error::kNotSupported : kernel::attach_interrupt(device, on_interrupt, disk);
  disk->interrupts = input.ok();
  // Whatever the device raised while its input was still masked and edge-triggered is
  // acknowledged here, so that its level line can rise again (see net/interface.cpp).
  if (disk->interrupts) poll(*disk);
  const uint64_t sectors = disk->dev->sectors();
  if (disk->interrupts) {
    kernel::printk("%p: found, irq: %d, size: %d MB, read-only: %d, dedicated to Core#%d\n", label, input.value(),
                   sectors / 2048, disk->dev->read_only() ? 1 : 0, core);
  } else {
    kernel::printk("%p: found, no interrupt (%p): polling, size: %d MB, read-only: %d, dedicated to Core#%d\n", label,
                   klib::error_text(input.error()), sectors / 2048, disk->dev->read_only() ? 1 : 0, core);
  }
  // Each drive's sector 0, through the device, for its partition table. A device with several
  // drive places (an ATA channel) numbers its minors per drive: Toro's 5 * drive + ...
  const uint32_t places = disk->dev->drive_places();
  const drivers::mbr::MinorScheme scheme =
      places > 1 ? drivers::mbr::MinorScheme::kAta : drivers::mbr::MinorScheme::kPerSlot;
  BlockFile** tail = &storage->files;
  while (*tail != nullptr) tail = &(*tail)->next;
  for (uint32_t unit = 0; unit < places; ++unit) {
    drivers::BlockDevice* drive = disk->dev->drive(unit);
    if (drive == nullptr) continue;
    if (const klib::Status s = register_minors(*disk, *drive, scheme, unit, tail); !s) return s;
    while (*tail != nullptr) tail = &(*tail)->next;
  }
  return {};
}

// DedicateBlockDriver for another core: runs there, the caller waits.
struct Remote {
  const char* name;
  klib::Status status;
  std::atomic<bool> done{false};
  sched::Thread* waiter;
};

intptr_t remote_dedicate(void* arg) {
  auto* r = static_cast<Remote*>(arg);
  r->status = dedicate_here(r->name);
  sched::Thread* waiter = r->waiter;               // `r` lives on the waiter's stack: gone once it sees `done`
  r->done.store(true, std::memory_order_seq_cst);  // before the resume: sched::sleep_unless
  sched::resume(waiter);
  return 0;
}

}  // namespace

klib::Status dedicate_block_driver(const char* name, uint32_t core) {
  if (core == kernel::current_core()) return dedicate_here(name);
  if (!sched::core_running(core)) return klib::Error::kInvalidArgument;
  // start_device takes the calling core's memory and attach_interrupt routes to the calling
  // core: both must run on `core`, so everything does, in a short-lived thread there.
  Remote r;
  r.name = name;
  r.waiter = sched::current();
  if (sched::create_thread(core, 32 * 1024, remote_dedicate, &r) == nullptr) return klib::Error::kNoMemory;
  while (!sched::sleep_unless(r.done, 1000)) {
  }
  return r.status;
}

klib::Result<BlockIo*> find_block_file(const char* name_prefix, uint32_t minor) {
  const Storage* storage = kernel::this_cpu()->storage;
  for (BlockFile* f = storage == nullptr ? nullptr : storage->files; f != nullptr; f = f->next) {
    if (f->minor() == minor && drivers::name_matches(f->name(), name_prefix, drivers::NameRule::kPrefix)) {
      return static_cast<BlockIo*>(f);
    }
  }
  return klib::Error::kNoDevice;
}

}  // namespace fs
