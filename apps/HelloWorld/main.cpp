// HelloWorld (toro-spec §3.2 / §3.4): the smallest Toro program.
#include <toro.h>

int main() {
  WriteConsoleF("Hello World, I am TORO !!!\n");
  return 0;
}
