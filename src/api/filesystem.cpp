// Toro's Filesystem names (toro-spec §1.9) on the kernel's: block devices dedicated to cores
// (fs/kernel.h) and the calling core's volume (fs/mount.h, fs/vfs.h). A failure becomes Toro's
// 0 or false, with a console line where Toro printed one (SysMount) or where Toro C++ says why.
#include <fs/kernel.h>
#include <fs/mount.h>
#include <kernel/console.h>
#include <kernel/percpu.h>
#include <toro/filesystem.h>

#include <cstring>

namespace {

fs::Vfs* vfs() { return fs::this_core_vfs(); }

}  // namespace

void DedicateBlockDriver(const char* Name, LongInt CPUID) {
  if (Name == nullptr || CPUID < 0) {
    kernel::printk("DedicateBlockDriver: bad argument\n");
    return;
  }
  klib::Status s = fs::dedicate_block_driver(Name, uint32_t(CPUID));
  if (!s) kernel::printk("DedicateBlockDriver: %p on CPU#%d: %p\n", Name, CPUID, klib::error_text(s.error()));
}

Boolean SysMount(const char* FileSystemName, const char* BlockName, LongInt Minor) {
  const uint32_t core = kernel::current_core();
  if (Minor < 0) {
    kernel::printk("CPU#%d: SysMount Failed, bad minor %d\n", core, Minor);
    return false;
  }
  klib::Status s = fs::mount_on_this_core(FileSystemName, BlockName, uint32_t(Minor));
  if (s) {
    kernel::printk("SysMount: Filesystem mounted on CPU#%d\n", core);
    return true;
  }
  switch (s.error()) {
    case klib::Error::kNotFound:
      kernel::printk("CPU#%d: SysMount Failed, unknown filesystem!\n", core);
      break;
    case klib::Error::kNoDevice:
      kernel::printk("CPU#%d: SysMount Failed, no block device %p minor %d on this core\n", core,
                     BlockName != nullptr ? BlockName : "(nil)", Minor);
      break;
    case klib::Error::kBusy:
      kernel::printk("CPU#%d: SysMount Failed, a filesystem is mounted already\n", core);
      break;
    default:
      kernel::printk("CPU#%d: Fail Reading SuperBlock (%p)\n", core, klib::error_text(s.error()));
      break;
  }
  return false;
}

THandle SysOpenFile(const char* Path, LongInt Flags) {
  if (vfs() == nullptr || Flags < 0) return 0;
  klib::Result<fs::Handle> h = vfs()->open(Path, uint32_t(Flags));
  return h ? THandle(h.value()) : 0;
}

LongInt SysReadFile(THandle FileHandle, LongInt Count, Pointer Buffer) {
  if (vfs() == nullptr || Count <= 0) return 0;
  klib::Result<size_t> n = vfs()->read(FileHandle, Buffer, size_t(Count));
  return n ? LongInt(n.value()) : 0;
}

LongInt SysWriteFile(THandle FileHandle, LongInt Count, const void* Buffer) {
  if (vfs() == nullptr || Count <= 0) return 0;
  klib::Result<size_t> n = vfs()->write(FileHandle, Buffer, size_t(Count));
  return n ? LongInt(n.value()) : 0;
}

LongInt SysSeekFile(THandle FileHandle, LongInt Offset, LongInt Whence) {
  if (vfs() == nullptr || Whence < SeekSet || Whence > SeekEof) return 0;
  klib::Result<uint64_t> p = vfs()->seek(FileHandle, Offset, fs::Whence(Whence));
  return p ? LongInt(p.value() > uint64_t(INT32_MAX) ? INT32_MAX : p.value()) : 0;
}

LongInt SysStatFile(const char* Path, PInode Buffer) {
  if (vfs() == nullptr || Buffer == nullptr) return 0;
  fs::Inode inode;
  if (!vfs()->stat(Path, &inode)) return 0;
  memset(Buffer, 0, sizeof(TInode));
  Buffer->ino = LongInt(inode.ino);
  Buffer->Dirty = inode.dirty;
  Buffer->Count = LongInt(inode.links);
  Buffer->Size = Int64(inode.size);
  Buffer->Mode = LongInt(inode.mode);
  Buffer->ATime = LongInt(inode.atime);
  Buffer->CTime = LongInt(inode.ctime);
  Buffer->MTime = LongInt(inode.mtime);
  Buffer->DTime = LongInt(inode.dtime);
  return 1;
}

void SysCloseFile(THandle FileHandle) {
  if (vfs() == nullptr) return;
  klib::Status s = vfs()->close(FileHandle);
  // A stale handle is the program's mistake, said once here; a failed write-back is the disk's.
  if (!s) kernel::printk("SysCloseFile: %p\n", klib::error_text(s.error()));
}

THandle SysCreateFile(const char* Path) {
  if (vfs() == nullptr) return 0;
  klib::Result<fs::Handle> h = vfs()->create(Path);
  return h ? THandle(h.value()) : 0;
}

LongInt SysCreateDir(const char* Path) {
  if (vfs() == nullptr) return 0;
  return vfs()->mkdir(Path) ? 1 : 0;
}
