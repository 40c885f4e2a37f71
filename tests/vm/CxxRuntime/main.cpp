// VM test program: the C++ runtime and console of a freshly booted kernel.
// Without parameters it checks constructors, new/delete, statics and formatting and prints
// "CxxRuntime: PASSED" lines; a parameter picks a failure to provoke instead (tests/vm/meson.build).
#include <toro.h>

#include <cstdlib>
#include <cstring>
#include <new>

// Outside the anonymous namespace so GCC cannot see every override and drop the call.
volatile int g_sink = 0;
// While PureBase's constructor runs, the object's vtable is PureBase's, whose slot for value()
// is __cxa_pure_virtual: calling it must panic with a message, not jump to address 0.
struct PureBase {
  PureBase() { call_value(); }
  virtual ~PureBase() = default;
  virtual int value() = 0;
  [[gnu::noipa]] void call_value() { g_sink = value(); }  // noipa: GCC must not prove it UB
};
struct PureDerived : PureBase {
  int value() override { return g_sink + 1; }
};

namespace {

int g_constructed_value = 0;

struct GlobalCtor {
  GlobalCtor() { g_constructed_value = 0x5A; }
};
GlobalCtor g_global_ctor;  // must run (from .init_array) before main

int g_failures = 0;

void check(bool ok, const char* name) {
  WriteConsoleF("CxxRuntime-%p: %p\n", name, ok ? "PASSED" : "FAILED");
  if (!ok) ++g_failures;
}

int counter() {
  static int calls = 0;  // function-local static
  return ++calls;
}

struct Base {
  virtual ~Base() = default;
  virtual int value() = 0;
};

struct Derived : Base {
  int value() override { return 7; }
};

struct alignas(64) CacheLine {
  char bytes[64];
};

[[gnu::noinline]] void BreakpointHere() { asm volatile("int3"); }

// Recursion with a frame the compiler cannot drop, bounded only by a value GCC cannot see
// (g_depth_limit): runs into the stack's guard page long before.
volatile PtrUInt g_depth_limit = ~PtrUInt(0);
[[gnu::noinline]] PtrUInt Recurse(PtrUInt depth) {
  volatile PtrUInt frame[32];
  frame[depth % 32] = depth;
  if (depth >= g_depth_limit) return frame[0];
  return Recurse(depth + 1) + frame[depth % 32];
}

}  // namespace

int main() {
  const char* mode = GetKernelParam(0);
  if (mode != nullptr) {
    WriteConsoleF("CxxRuntime: mode %p\n", mode);
    if (strcmp(mode, "exit7") == 0) return 7;
    if (strcmp(mode, "exitminus1") == 0) return -1;
    if (strcmp(mode, "purevirtual") == 0) {
      PureDerived c;
      return 0;
    }
    if (strcmp(mode, "panic") == 0) Panic(true, "CxxRuntime asked for a panic, value %d\n", 42);
    if (strcmp(mode, "nullptr") == 0) {
      volatile int* p = nullptr;
      return *p;
    }
    if (strcmp(mode, "ud2") == 0) {
      // Known values in registers, so the test can check the report shows each in its place.
      asm volatile(
          "movabs $0x1111111111111111, %%rbx\n\t"
          "movabs $0x2222222222222222, %%r12\n\t"
          "movabs $0x3333333333333333, %%r13\n\t"
          "movabs $0x4444444444444444, %%r14\n\t"
          "movabs $0x5555555555555555, %%r15\n\t"
          "movabs $0x6666666666666666, %%rsi\n\t"
          "movabs $0x7777777777777777, %%r8\n\t"
          "ud2" ::
              : "rbx", "r12", "r13", "r14", "r15", "rsi", "r8");
    }
    if (strcmp(mode, "int3") == 0) BreakpointHere();
    if (strcmp(mode, "noncanonical") == 0) {
      volatile PtrUInt* p = reinterpret_cast<volatile PtrUInt*>(0x8000000000000000ull);
      return int(*p);
    }
    if (strcmp(mode, "stackoverflow") == 0) return int(Recurse(1));
    if (strcmp(mode, "writecode") == 0) {
      // Code is mapped read-only: this write must fault (error code 3: present page, write).
      volatile Byte* code = reinterpret_cast<volatile Byte*>(reinterpret_cast<PtrUInt>(&BreakpointHere));
      *code = 0xC3;
    }
    if (strcmp(mode, "badstack") == 0) {
      // A stack pointer into unmapped memory: the page fault runs on its own IST stack and must
      // still be reported.
      asm volatile("movabs $0x0000400000001000, %%rsp; pushq $0" ::: "memory");
    }
    if (strcmp(mode, "doublefree") == 0) {
      void* block = ToroGetMem(100);
      ToroFreeMem(block);
      ToroFreeMem(block);
      return 0;
    }
    if (strcmp(mode, "foreignfree") == 0) {
      int on_stack = 0;
      int* volatile not_from_the_heap = &on_stack;  // volatile: keep GCC from refusing to compile it
      free(not_from_the_heap);
      return 0;
    }
    if (strcmp(mode, "params") == 0) {
      WriteConsoleF("KernelParamCount: %d\n", KernelParamCount());
      for (LongInt i = 0; i < KernelParamCount(); ++i) WriteConsoleF("GetKernelParam(%d) = %p\n", i, GetKernelParam(i));
      WriteConsoleF("GetKernelParam(-1) is nil: %d, past the end is nil: %d\n", GetKernelParam(-1) == nullptr,
                    GetKernelParam(KernelParamCount()) == nullptr);
      return 0;
    }
    WriteConsoleF("CxxRuntime: unknown mode\n");
    return 3;
  }

  check(g_constructed_value == 0x5A, "global-constructor");
  check(counter() == 1 && counter() == 2, "local-static");

  Base* d = new Derived;
  check(d != nullptr && d->value() == 7, "new-virtual");
  delete d;

  int* array = new int[100];
  for (int i = 0; i < 100; ++i) array[i] = i;
  check(array[99] == 99, "new-array");
  delete[] array;

  auto* line = new CacheLine;
  check((reinterpret_cast<PtrUInt>(line) & 63) == 0, "aligned-new");
  delete line;

  int* maybe = new (std::nothrow) int(5);
  check(maybe != nullptr && *maybe == 5, "nothrow-new");

  char buf[16] = "abcdefghij";
  memmove(buf + 2, buf, 8);
  check(memcmp(buf, "ababcdefgh", 10) == 0, "memmove-overlap");

  check(KernelParamCount() == 0 && GetKernelParam(0) == nullptr, "no-params");
  check(read_rdtsc() != 0, "rdtsc");

  // Formatting, checked by the harness line by line.
  WriteConsoleF("fmt-d: %d %d %d\n", 0, -42, 18446744073709551615ull);
  WriteConsoleF("fmt-h: %h\n", 0x2A);
  WriteConsoleF("fmt-s: %s %p %c\n", "ab", "cd", 'e');
  WriteConsoleF("fmt-v: [\v]\n");
  WriteConsoleF("fmt-t: \t\n");
  WriteConsoleF("fmt-pct: 100%\n");
  WriteConsoleF("fmt-dec: ");
  PrintDecimal(12345);
  PutCtoSerial('\n');
  return g_failures;
}
