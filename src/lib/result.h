// Errors as values: what a fallible kernel step returns (driver bring-up, DHCP, sockets).
//
//   klib::Result<Nic*> r = probe(device);
//   if (!r) return r.error();                   // pass it up unchanged
//   Nic* nic = r.value();
//
//   klib::Status s = iface->configure();        // Result<void>: ok or an Error
//   if (!s) printk("DedicateNetwork: %p\n", klib::error_text(s.error()));
//
// The rule that goes with it: a failure is logged once, at the place where it is mapped to
// Toro's nil/false (src/api or the kernel step that gives up), not at every level it passes.
// Portable, header-only, no exceptions; host-tested in tests/unit/lib/result_test.cpp.
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace klib {

enum class Error : uint8_t {
  kNone = 0,
  kNoMemory,         // an allocation failed
  kNoDevice,         // nothing matches the name, or the device is gone
  kBusy,             // already in use (a card dedicated twice, a port already bound)
  kInvalidArgument,  // a bad value from the caller
  kTimeout,          // no answer in time (DHCP, a device reset)
  kDeviceFailed,     // the device refused or misbehaved (feature negotiation, a queue)
  kLimit,            // a fixed table is full
  kNotConnected,     // a socket that is not (or no longer) connected
  kClosed,           // the peer closed or reset the connection
  kWouldBlock,       // nothing to do now; try again later
  kNotSupported,     // not in this mode or context (a non-blocking listen outside a service)
  kIoError,          // the device reported an error for a transfer (a bad sector, a failed request)
  kReadOnly,         // a write to a read-only device or volume
  kNotFound,         // no file or directory of that name
  kExists,           // a file or directory of that name exists already
  kNoSpace,          // the volume is full
  kCorrupt,          // the volume's structures are inconsistent (a cluster chain out of range)
  kNameTooLong,      // a path component or a path over its limit
  kNotDirectory,     // a path goes through something that is not a directory
  kIsDirectory,      // a file operation on a directory
  kLast = kIsDirectory,
};

// A short lowercase text for console lines ("no memory", "timed out", ...).
constexpr const char* error_text(Error e) {
  switch (e) {
    case Error::kNone:
      return "ok";
    case Error::kNoMemory:
      return "no memory";
    case Error::kNoDevice:
      return "no such device";
    case Error::kBusy:
      return "busy";
    case Error::kInvalidArgument:
      return "invalid argument";
    case Error::kTimeout:
      return "timed out";
    case Error::kDeviceFailed:
      return "device failed";
    case Error::kLimit:
      return "limit reached";
    case Error::kNotConnected:
      return "not connected";
    case Error::kClosed:
      return "closed";
    case Error::kWouldBlock:
      return "would block";
    case Error::kNotSupported:
      return "not supported";
    case Error::kIoError:
      return "i/o error";
    case Error::kReadOnly:
      return "read-only";
    case Error::kNotFound:
      return "not found";
    case Error::kExists:
      return "exists";
    case Error::kNoSpace:
      return "no space";
    case Error::kCorrupt:
      return "corrupt";
    case Error::kNameTooLong:
      return "name too long";
    case Error::kNotDirectory:
      return "not a directory";
    case Error::kIsDirectory:
      return "is a directory";
  }
  return "unknown error";
}

// A T or an Error. T must be cheap to copy or move (pointers, small records). For a trivially
// copyable T (a pointer) the Result is trivially copyable too, so a function returns it in
// registers rather than through memory.
template <typename T>
class [[nodiscard]] Result {
  static constexpr bool kTrivial = std::is_trivially_copyable_v<T>;

 public:
  Result(const T& value) : error_(Error::kNone) { new (&storage_) T(value); }  // NOLINT: implicit by design
  Result(T&& value) : error_(Error::kNone) { new (&storage_) T(std::move(value)); }
  Result(Error error) : error_(error == Error::kNone ? Error::kInvalidArgument : error) {}
  // A Result of a trivially copyable T (a pointer, a small record) is itself trivially
  // copyable, so the ABI returns it in registers.
  Result(const Result&) requires kTrivial = default;
  Result(const Result& other) requires(!kTrivial) : error_(other.error_) {
    if (ok()) new (&storage_) T(other.value());
  }
  Result& operator=(const Result&) requires kTrivial = default;
  Result& operator=(const Result& other) requires(!kTrivial) {
    if (this != &other) {
      reset();
      error_ = other.error_;
      if (ok()) new (&storage_) T(other.value());
    }
    return *this;
  }
  ~Result() requires kTrivial = default;
  ~Result() requires(!kTrivial) { reset(); }

  bool ok() const { return error_ == Error::kNone; }
  explicit operator bool() const { return ok(); }
  Error error() const { return error_; }
  // Only when ok().
  T& value() { return *std::launder(reinterpret_cast<T*>(&storage_)); }
  const T& value() const { return *std::launder(reinterpret_cast<const T*>(&storage_)); }
  T value_or(const T& fallback) const { return ok() ? value() : fallback; }

 private:
  void reset() {
    if (ok()) value().~T();
  }
  alignas(T) unsigned char storage_[sizeof(T)];
  Error error_;
};

// Success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(error) {}  // NOLINT: implicit by design
  bool ok() const { return error_ == Error::kNone; }
  explicit operator bool() const { return ok(); }
  Error error() const { return error_; }

 private:
  Error error_ = Error::kNone;
};

using Status = Result<void>;

}  // namespace klib
