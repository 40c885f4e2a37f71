// ShutdownProcedure in an object of its own: naming it links kernel/shutdown_hook.cpp (the hook
// in system_exit and the NMI shutdown); a program that does not carries none of that code.
#include <kernel/shutdown.h>
#include <toro/process.h>

void (*&ShutdownProcedure)() = kernel::g_shutdown_hook;
