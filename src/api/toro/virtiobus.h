// Messages between cores (Toro HEAD's VirtIOBus unit, toro-spec §2.15): one lock-free channel
// per ordered pair of cores, set up at the first call (src/sched/channel.h).
//
//   SendTo(1, "ping", 5);                     // to core 1; returns once the message is queued
//   char buf[64]; RecvFrom(1, buf);           // from core 1; sleeps (the core halts) until one comes
//   LongInt n = RecvFromCore(1, buf, sizeof buf, 100);  // the length, or VIRTIOBUS_E_* (-5 after 100 ms)
#pragma once

#include <toro/types.h>

// Toro's constants: the payload limit of its 1024-byte buffers. Ours is VIRTIOBUS_MAX_MESSAGE.
constexpr DWORD VIRTIO_CPU_MAX_PKT_SIZE = 1024;
constexpr DWORD VIRTIO_CPU_MAX_PKT_PAYLOAD_SIZE = 1020;
constexpr DWORD VIRTIOBUS_MAX_MESSAGE = 1u << 20;  // 1 MiB: a message of any size up to this

// Errors of the *Core functions (negative; SendTo/RecvFrom print them instead).
constexpr LongInt VIRTIOBUS_E_BAD_CORE = -1;   // no such core, or it does not run
constexpr LongInt VIRTIOBUS_E_SELF = -2;       // to or from the calling core itself
constexpr LongInt VIRTIOBUS_E_TOO_LARGE = -3;  // Len over VIRTIOBUS_MAX_MESSAGE
constexpr LongInt VIRTIOBUS_E_TOO_SMALL = -4;  // the message does not fit: it stays queued
constexpr LongInt VIRTIOBUS_E_TIMEOUT = -5;    // nothing came within the time
constexpr LongInt VIRTIOBUS_E_EMPTY = -6;      // PollFromCore: nothing waiting
constexpr LongInt VIRTIOBUS_E_NO_MEMORY = -7;  // the channels could not be set up

// Toro's: queues Len bytes for Core (waiting while that channel is full), and wakes Core if it
// sleeps in RecvFrom. Differs: any Len up to VIRTIOBUS_MAX_MESSAGE (Toro dropped more than 1020
// bytes silently); a bad core, the caller's own core or a Len too large prints a console line.
void SendTo(DWORD Core, const void* Buffer, DWORD Len);
// Toro's: the next message from Core into Buffer, which must hold it (as in Toro, its size is
// not given); sleeps until one comes. A bad core prints a console line and returns at once.
void RecvFrom(DWORD Core, void* Buffer);

// Ours, with results: 0, or an error.
LongInt SendToCore(DWORD Core, const void* Buffer, DWORD Len);
// The message's length, or an error; TimeoutMs < 0: no limit.
LongInt RecvFromCore(DWORD Core, void* Buffer, DWORD Capacity, LongInt TimeoutMs);
// Never sleeps: the length, or VIRTIOBUS_E_EMPTY.
LongInt PollFromCore(DWORD Core, void* Buffer, DWORD Capacity);
