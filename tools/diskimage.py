"""Disk images for Toro C++ from Debian's tools (dosfstools, mtools, e2fsprogs, fdisk): a folder
turned into a FAT or ext2 volume, with an MBR partition table or as a whole disk, and the host's
view of such an image afterwards (fsck, a file's bytes). Used by tools/toro (`run --disk DIR`),
tests/vm/fstest.py and bench/fs.

  diskimage.make("site.img", folder="apps/StaticWebServer/site", fs="fat")   # FAT16/32 by size
  diskimage.make("t.img", folder=d, fs="ext2", block_size=1024, partitioned=False)
  ok, text = diskimage.fsck("t.img")
  data = diskimage.read_file("t.img", "/out/f1.bin")
"""
import os
import shutil
import struct
import subprocess
import tempfile

SECTOR = 512
PARTITION_START = 2048  # sectors: the first partition at 1 MiB, as fdisk puts it
MBR_TYPES = {"fat12": 0x01, "fat16": 0x06, "fat32": 0x0C, "ext2": 0x83}


def _tool(name):
    """The path of a Debian tool (many live in /usr/sbin, which a user's PATH may lack)."""
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/sbin", "/usr/bin"]:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    raise FileNotFoundError(f"{name} not found: tools/setup installs dosfstools, mtools, e2fsprogs and fdisk")


def _run(cmd, **kw):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLS_NO_VFAT="0")
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout.decode(errors='replace')}")
    return r.stdout.decode(errors="replace")


def folder_bytes(folder):
    total = 0
    for base, _, files in os.walk(folder):
        for f in files:
            total += os.path.getsize(os.path.join(base, f))
    return total


def fat_bits_for(size_mb):
    # FAT16 up to 512 MiB (mkfs.fat's choice too), FAT32 above; FAT32 needs >= 65525 clusters.
    return 16 if size_mb <= 512 else 32


def make(out, folder=None, fs="fat", fat=None, size_mb=None, partitioned=True, block_size=None, revision=1,
         label="TORO"):
    """Writes image `out`: one volume of `fs` ("fat" or "ext2"; FAT width `fat` 12, 16, 32 or
    None for by size) holding `folder`'s files, inside an MBR partition starting at 1 MiB unless
    `partitioned` is False. Size: `size_mb`, else the content plus room to write. Returns the
    volume's offset in bytes."""
    content_mb = folder_bytes(folder) // (1 << 20) if folder else 0
    if size_mb is None:
        size_mb = max(32, content_mb * 2 + 16)
    if fs == "fat" and fat is None:
        fat = fat_bits_for(size_mb)
    if fs == "fat" and fat == 32 and size_mb < 40:
        size_mb = 40  # 65525 clusters of 512 bytes at least
    volume_sectors = size_mb * (1 << 20) // SECTOR
    offset_sectors = PARTITION_START if partitioned else 0
    with tempfile.TemporaryDirectory() as tmp:
        vol = os.path.join(tmp, "volume.img")
        with open(vol, "wb") as f:
            f.truncate(volume_sectors * SECTOR)
        if fs == "fat":
            cmd = [_tool("mkfs.fat"), "-F", str(fat), "-n", label[:11].upper(), "-h", str(offset_sectors)]
            if fat == 32:
                cmd += ["-s", "1"]
            _run(cmd + [vol])
            if folder:
                entries = [os.path.join(folder, e) for e in sorted(os.listdir(folder))]
                if entries:
                    _run([_tool("mcopy"), "-s", "-i", vol] + entries + ["::/"])
        elif fs == "ext2":
            cmd = [_tool("mke2fs"), "-q", "-F", "-t", "ext2", "-L", label[:16]]
            if block_size:
                cmd += ["-b", str(block_size)]
            if revision == 0:
                cmd += ["-r", "0"]
            if folder:
                cmd += ["-d", folder]
            _run(cmd + [vol, str(volume_sectors * SECTOR // 1024) + "k"])
        else:
            raise ValueError(f"unknown filesystem {fs}")
        with open(out, "wb") as f:
            if partitioned:
                f.truncate((offset_sectors + volume_sectors) * SECTOR)
        if partitioned:
            ptype = MBR_TYPES["ext2" if fs == "ext2" else f"fat{fat}"]
            _run([_tool("sfdisk"), "-q", out], input=f"label: dos\nstart={offset_sectors}, size={volume_sectors}, "
                                                   f"type={ptype:x}\n".encode())
        with open(vol, "rb") as src, open(out, "r+b" if partitioned else "wb") as dst:
            dst.seek(offset_sectors * SECTOR)
            shutil.copyfileobj(src, dst, 1 << 20)
    return offset_sectors * SECTOR


def volume_offset(img):
    """The byte offset of the first partition of `img`'s MBR, or 0 for a whole-disk volume."""
    with open(img, "rb") as f:
        mbr = f.read(SECTOR)
    if len(mbr) < SECTOR or mbr[510:512] != b"\x55\xaa":
        return 0
    status, ptype = mbr[446], mbr[446 + 4]
    if status not in (0, 0x80) or ptype == 0 or mbr[0:3] in (b"\xeb\x3c\x90", b"\xeb\x58\x90"):
        return 0  # a FAT boot sector, not a partition table
    return struct.unpack_from("<I", mbr, 446 + 8)[0] * SECTOR


def _volume_copy(img, tmp):
    """The volume of `img` as a file of its own (e2fsprogs take no offset)."""
    offset = volume_offset(img)
    if offset == 0:
        return img
    out = os.path.join(tmp, "volume.img")
    with open(img, "rb") as src, open(out, "wb") as dst:
        src.seek(offset)
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


def kind(img):
    with tempfile.TemporaryDirectory() as tmp:
        vol = _volume_copy(img, tmp)
        with open(vol, "rb") as f:
            head = f.read(2048)
    if len(head) >= 1082 and head[1080:1082] == b"\x53\xef":
        return "ext2"
    return "fat"


def fsck(img):
    """(clean, output) of fsck.fat -n or e2fsck -fn on the volume of `img` (nothing is changed)."""
    with tempfile.TemporaryDirectory() as tmp:
        vol = _volume_copy(img, tmp)
        if kind(img) == "ext2":
            cmd = [_tool("e2fsck"), "-fn", vol]
        else:
            cmd = [_tool("fsck.fat"), "-n", vol]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode == 0, r.stdout.decode(errors="replace")


def read_file(img, path):
    """The bytes of `path` in the volume of `img`, None if it is not there."""
    with tempfile.TemporaryDirectory() as tmp:
        vol = _volume_copy(img, tmp)
        out = os.path.join(tmp, "file")
        if kind(img) == "ext2":
            r = subprocess.run([_tool("debugfs"), "-R", f"dump {path} {out}", vol], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        else:
            env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
            r = subprocess.run([_tool("mcopy"), "-n", "-i", vol, "::" + path, out], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env)
        if r.returncode != 0 or not os.path.exists(out):
            return None
        with open(out, "rb") as f:
            return f.read()


def toro_testfiles(folder):
    """Toro's filesystem test data (toro-spec §3.3): zero-filled files of known sizes."""
    os.makedirs(os.path.join(folder, "dir"), exist_ok=True)
    sizes = {"1kfile": 1024, "10kfile": 10240, "100kfile": 102400, "1Mfile": 1048576, "1Mfilezero": 1048576,
             "emptyfile": 0, "filenametooooolong": 0, "dir/1kfile": 1024, "dir/filenametooooolong": 0}
    for name, size in sizes.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(bytes(size))
    return folder
