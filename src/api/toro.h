// Toro C++: the whole public API in one header.
//
//   #include <toro.h>
//   int main() { WriteConsoleF("Hello World, I am TORO !!!\n"); return 0; }
//
// Names follow Toro (Pascal) one-to-one; docs/PORTING.md maps Pascal constructs to C++.
#pragma once

#include <toro/arch.h>
#include <toro/console.h>
#include <toro/debug.h>
#include <toro/filesystem.h>
#include <toro/kernel.h>
#include <toro/memory.h>
#include <toro/network.h>
#include <toro/process.h>
#include <toro/types.h>
#include <toro/virtiobus.h>
#if defined(__cpp_exceptions)
#include <toro/exceptions.h>  // programs built with exceptions: faults as C++ exceptions
#endif
