// MPI's operations (ToroMPI, toro-spec §1.13) over any point-to-point transport that keeps the
// messages of each ordered pair in order: VirtIOBus between cores in the kernel
// (src/api/mpi.cpp), sched::Channel between host threads in the unit tests and in bench/mpi.
//
//   struct Transport {
//     int32_t rank() const;                                   // 0 .. size()-1
//     int32_t size() const;
//     int32_t send(int32_t to, const void* data, uint32_t len);   // 0, or < 0
//     int64_t recv(int32_t from, void* data, uint32_t cap);       // the length, or < 0 (blocks)
//   };
//   sched::mpi::reduce(t, mine, sums, count, sched::mpi::Op::kSum, 0);
//
// Every rank calls the same operations in the same order (MPI's rule). Vectors move in chunks
// of kChunkBytes, so a length has no limit and no memory is allocated; trees (binomial) keep
// the steps at log2(size). Toro's versions were linear, with a 1020-byte limit (Bcast hung from
// 256 ints on) and a barrier that spun; ours sleeps in the transport's receive.
#pragma once

#include <cstdint>
#include <cstring>

namespace sched::mpi {

enum Error : int32_t {
  kOk = 0,
  kBadRank = -1,    // a root, source or destination outside 0..size-1 (or the caller itself)
  kBadCount = -2,   // a negative count, or a point-to-point message over kMaxMessageInts
  kBadOp = -3,      // not SUM, MIN or MAX
  kBadBuffer = -4,  // a null buffer where data is needed
  kMismatch = -5,   // a message of another length than the operation expects (ranks disagree)
  kTransport = -6,  // the transport failed (its own error is lost)
};

enum class Op : int32_t { kSum = 0, kMin = 1, kMax = 2 };

constexpr uint32_t kChunkBytes = 2048;
constexpr uint32_t kChunkInts = kChunkBytes / 4;
constexpr uint32_t kMaxMessageInts = (1u << 20) / 4;  // Send/Recv: one message of up to 1 MiB

inline bool valid_op(int32_t op) { return op >= 0 && op <= 2; }

// acc[i] = acc[i] op in[i]. SUM wraps around (two's complement) instead of overflowing.
inline void combine(int32_t* acc, const int32_t* in, uint32_t n, Op op) {
  for (uint32_t i = 0; i < n; ++i) {
    switch (op) {
      case Op::kSum:
        acc[i] = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) + static_cast<uint32_t>(in[i]));
        break;
      case Op::kMin:
        if (in[i] < acc[i]) acc[i] = in[i];
        break;
      case Op::kMax:
        if (in[i] > acc[i]) acc[i] = in[i];
        break;
    }
  }
}

namespace detail {

template <class T>
int32_t send(T& t, int32_t to, const void* data, uint32_t len) {
  return t.send(to, data, len) < 0 ? kTransport : kOk;
}

// Receives exactly `len` bytes from `from`.
template <class T>
int32_t recv_exact(T& t, int32_t from, void* data, uint32_t len) {
  const int64_t n = t.recv(from, data, len);
  if (n < 0) return kTransport;  // (a longer message than expected also lands here: it stays queued)
  return n == static_cast<int64_t>(len) ? kOk : kMismatch;
}

inline int32_t to_real(int32_t virt, int32_t root, int32_t n) { return (virt + root) % n; }

}  // namespace detail

// Dissemination barrier: in round k every rank sends a byte to rank+2^k and waits for one from
// rank-2^k; after ceil(log2 n) rounds every rank has heard, indirectly, from all. The pairs of
// one round differ from those of the others (2^k < n), and each pair's messages stay in order,
// so back-to-back barriers cannot take each other's messages.
template <class T>
int32_t barrier(T& t) {
  const int32_t n = t.size(), me = t.rank();
  for (int32_t dist = 1; dist < n; dist <<= 1) {
    char token = 0;
    if (int32_t e = detail::send(t, (me + dist) % n, &token, 1); e != kOk) return e;
    if (int32_t e = detail::recv_exact(t, (me - dist + n) % n, &token, 1); e != kOk) return e;
  }
  return kOk;
}

// Element-wise op of every rank's `send` into `recv` on `root` (recv may equal send; other ranks'
// recv is not touched and may be null). Binomial tree in ranks relative to the root: at step
// 2^k a rank with bit k set sends its partial result to rank - 2^k and is done; the others
// fold in rank + 2^k's. Chunk by chunk, every rank in the same order.
template <class T>
int32_t reduce(T& t, const int32_t* send, int32_t* recv, int32_t count, int32_t op, int32_t root) {
  const int32_t n = t.size(), me = t.rank();
  if (root < 0 || root >= n) return kBadRank;
  if (count < 0) return kBadCount;
  if (!valid_op(op)) return kBadOp;
  if (count > 0 && (send == nullptr || (me == root && recv == nullptr))) return kBadBuffer;
  const int32_t v = (me - root + n) % n;
  int32_t acc[kChunkInts], in[kChunkInts];
  for (int32_t off = 0; off < count; off += int32_t(kChunkInts)) {
    const uint32_t len = uint32_t(count - off) < kChunkInts ? uint32_t(count - off) : kChunkInts;
    int32_t* a = me == root ? recv + off : acc;
    memmove(a, send + off, len * 4);
    for (int32_t mask = 1; mask < n; mask <<= 1) {
      if (v & mask) {
        if (int32_t e = detail::send(t, detail::to_real(v - mask, root, n), a, len * 4); e != kOk) return e;
        break;
      }
      if (v + mask < n) {
        if (int32_t e = detail::recv_exact(t, detail::to_real(v + mask, root, n), in, len * 4); e != kOk) return e;
        combine(a, in, len, static_cast<Op>(op));
      }
    }
  }
  return kOk;
}

// `len` bytes of `data` from `root` to every rank. Binomial tree: a rank receives from the
// rank that differs in its lowest set bit (relative to the root), then sends to rank + 2^k for
// every 2^k below that bit. Chunk by chunk.
template <class T>
int32_t bcast_bytes(T& t, void* data, uint32_t len, int32_t root) {
  const int32_t n = t.size(), me = t.rank();
  if (root < 0 || root >= n) return kBadRank;
  if (len > 0 && data == nullptr) return kBadBuffer;
  const int32_t v = (me - root + n) % n;
  auto* bytes = static_cast<uint8_t*>(data);
  for (uint32_t off = 0; off < len; off += kChunkBytes) {
    const uint32_t part = len - off < kChunkBytes ? len - off : kChunkBytes;
    int32_t mask = 1;
    for (; mask < n; mask <<= 1) {
      if (v & mask) {
        if (int32_t e = detail::recv_exact(t, detail::to_real(v - mask, root, n), bytes + off, part); e != kOk)
          return e;
        break;
      }
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
      if (v + mask < n) {
        if (int32_t e = detail::send(t, detail::to_real(v + mask, root, n), bytes + off, part); e != kOk) return e;
      }
    }
  }
  return kOk;
}

template <class T>
int32_t bcast(T& t, int32_t* data, int32_t count, int32_t root) {
  if (count < 0) return kBadCount;
  return bcast_bytes(t, data, uint32_t(count) * 4, root);
}

// Reduce to `root`, then Bcast of the result from it: every rank's recv holds the result.
template <class T>
int32_t allreduce(T& t, const int32_t* send, int32_t* recv, int32_t count, int32_t op, int32_t root) {
  if (count > 0 && recv == nullptr) return kBadBuffer;
  if (int32_t e = reduce(t, send, recv, count, op, root); e != kOk) return e;
  return bcast(t, recv, count, root);
}

namespace detail {

// Gather (to_root) or Scatter: root exchanges `count` ints with every other rank, one rank after
// the other, chunk by chunk. On root, rank r's block is at r*count in dest (Gather) or in mine
// (Scatter); on the other ranks, their own block is mine (Gather) or dest (Scatter).
template <class T>
int32_t linear(T& t, const int32_t* mine, int32_t* dest, int32_t count, int32_t root, bool to_root) {
  const int32_t n = t.size(), me = t.rank();
  if (root < 0 || root >= n) return kBadRank;
  if (count < 0) return kBadCount;
  // Gather: every rank needs `mine`, root `dest`; Scatter: every rank `dest`, root `mine`.
  const bool need_mine = to_root || me == root, need_dest = !to_root || me == root;
  if (count > 0 && ((need_mine && mine == nullptr) || (need_dest && dest == nullptr))) return kBadBuffer;
  for (int32_t r = 0; r < n; ++r) {
    if (me != root && r != me) continue;
    // Gather: rank r's block lands at dest + r*count on root; Scatter: it comes from mine + r*count.
    const int64_t block = me == root ? int64_t(r) * count : 0;
    const int32_t* from = mine + (to_root ? 0 : block);
    int32_t* to = dest + (to_root ? block : 0);
    for (int32_t off = 0; off < count; off += int32_t(kChunkInts)) {
      const uint32_t len = uint32_t(count - off) < kChunkInts ? uint32_t(count - off) : kChunkInts;
      int32_t e = kOk;
      if (me == root && r == root) {
        memmove(to + off, from + off, len * 4);
      } else if ((me == root) == to_root) {  // root gathering, or a rank receiving its part
        e = recv_exact(t, me == root ? r : root, to + off, len * 4);
      } else {
        e = send(t, me == root ? r : root, from + off, len * 4);
      }
      if (e != kOk) return e;
    }
  }
  return kOk;
}

}  // namespace detail

// `count` ints from every rank into `recv` on root, rank r's at recv + r*count.
template <class T>
int32_t gather(T& t, const int32_t* send, int32_t* recv, int32_t count, int32_t root) {
  return detail::linear(t, send, recv, count, root, true);
}

// The reverse: root's send + r*count goes to rank r's recv.
template <class T>
int32_t scatter(T& t, const int32_t* send, int32_t* recv, int32_t count, int32_t root) {
  return detail::linear(t, send, recv, count, root, false);
}

// Point to point: one message of `count` ints (at most kMaxMessageInts).
template <class T>
int32_t send(T& t, const int32_t* data, int32_t count, int32_t dest) {
  if (dest < 0 || dest >= t.size() || dest == t.rank()) return kBadRank;
  if (count < 0 || uint32_t(count) > kMaxMessageInts) return kBadCount;
  if (count > 0 && data == nullptr) return kBadBuffer;
  return detail::send(t, dest, data, uint32_t(count) * 4);
}

// Receives one message of at most `count` ints from `source`: the number of ints it held, or an
// error (kMismatch: longer than `count`, or not a whole number of ints; it stays queued).
template <class T>
int32_t recv(T& t, int32_t* data, int32_t count, int32_t source) {
  if (source < 0 || source >= t.size() || source == t.rank()) return kBadRank;
  if (count < 0) return kBadCount;
  if (count > 0 && data == nullptr) return kBadBuffer;
  const uint32_t cap = uint32_t(count) > kMaxMessageInts ? kMaxMessageInts * 4 : uint32_t(count) * 4;
  const int64_t n = t.recv(source, data, cap);
  if (n < 0) return kMismatch;
  if (n % 4 != 0) return kMismatch;
  return int32_t(n / 4);
}

}  // namespace sched::mpi
