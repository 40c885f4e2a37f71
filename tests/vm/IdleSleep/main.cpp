// Sleeps for the number of seconds given as the first kernel parameter (default 10) with every
// core idle: the host measures how much CPU the VM uses meanwhile (tests/vm/idletest.py).
#include <toro.h>

int main() {
  LongInt seconds = 10;
  if (const char* p = GetKernelParam(0)) {
    seconds = 0;
    while (*p >= '0' && *p <= '9') seconds = seconds * 10 + (*p++ - '0');
  }
  WriteConsoleF("IdleSleep: sleeping %d s on %d cores\n", seconds, CPU_COUNT);
  Sleep(seconds * 1000);
  WriteConsoleF("IdleSleep: awake\n");
  return 0;
}
