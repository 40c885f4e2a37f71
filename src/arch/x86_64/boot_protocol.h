// Magic values that tell kernel_entry which boot protocol brought the image up.
// Shared by the assembly entry (boot.S), the Bochs boot sector and the C++ parsers.
#pragma once

#define BOOT_MAGIC_PVH 0x336EC578         // our own marker: QEMU's PVH entry leaves EAX undefined
#define BOOT_MAGIC_MULTIBOOT2 0x36D76289  // multiboot2 spec, EAX on entry
#define BOOT_MAGIC_BOCHS 0xB0C45000       // tools/bochs/bootsect.S: EBX -> BochsE820Table

// Layout of the table the Bochs boot sector leaves in low memory: u32 count, u32 the address of
// the kernel command line (0: none), then `count` E820 entries of 24 bytes (base u64, length
// u64, type u32, ACPI attributes u32). The command line lives in the boot sector itself, at
// BOCHS_CMDLINE_OFFSET (tools/mkbochsdisk.py --cmdline writes it), NUL-terminated.
#define BOCHS_E820_TABLE 0x5000
#define BOCHS_E820_MAX 64
#define BOCHS_CMDLINE_OFFSET 0x1B8
#define BOCHS_CMDLINE_SIZE 64
