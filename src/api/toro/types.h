// Toro's (FreePascal) type names as C++ aliases, so ported code reads like the original.
//
//   PtrInt Worker(void* param);     // a TThreadFunc
//   PtrUInt address = reinterpret_cast<PtrUInt>(buffer);
#pragma once

#include <cstddef>
#include <cstdint>

using PtrInt = intptr_t;
using PtrUInt = uintptr_t;
using SizeInt = ptrdiff_t;
using SizeUInt = size_t;
using Byte = uint8_t;
using Word = uint16_t;
using DWORD = uint32_t;
using LongWord = uint32_t;
using QWord = uint64_t;
using ShortInt = int8_t;
using SmallInt = int16_t;
using LongInt = int32_t;
using Int64 = int64_t;
using Boolean = bool;
using XChar = char;
using PChar = char*;
using PXChar = char*;
using Pointer = void*;
using TThreadID = PtrUInt;
using TThreadFunc = PtrInt (*)(void* Param);
