// The retransmission timer's value, RFC 6298 "Computing TCP's Retransmission Timer".
//
//   net::tcp::RttEstimator rtt;            // RTO = 1 s until the first sample (§2.1)
//   rtt.sample(measured_us);               // a round trip of a segment sent once (Karn, §3)
//   rtt.back_off();                        // the timer expired: RTO doubles (§5.5)
//   uint64_t wait = rtt.rto_us();
//
// Times are microseconds. The clock granularity G is the kernel's timer tick (1 ms).
#pragma once

#include <cstdint>

namespace net::tcp {

class RttEstimator {
 public:
  static constexpr uint64_t kInitialRto = 1'000'000;  // §2.1
  // §2.4 says the RTO SHOULD be rounded up to 1 s. We deviate on purpose and use 200 ms, as
  // Linux does: a microservice's peers are usually a LAN or a host away, where 1 s stalls
  // loss recovery for no gain.
  static constexpr uint64_t kMinRto = 200'000;
  static constexpr uint64_t kMaxRto = 60'000'000;  // §2.5: a maximum of at least 60 s may be placed
  static constexpr uint64_t kGranularity = 1'000;  // G

  // §2.2 (first measurement) and §2.3 (later ones), alpha = 1/8 and beta = 1/4.
  void sample(uint64_t r) {
    if (!has_sample_) {
      srtt_ = r;
      rttvar_ = r / 2;
      has_sample_ = true;
    } else {
      const uint64_t diff = srtt_ > r ? srtt_ - r : r - srtt_;
      rttvar_ = rttvar_ - rttvar_ / 4 + diff / 4;
      srtt_ = srtt_ - srtt_ / 8 + r / 8;
    }
    const uint64_t k_rttvar = 4 * rttvar_;
    base_ = clamp(srtt_ + (k_rttvar > kGranularity ? k_rttvar : kGranularity));
    backoffs_ = 0;
  }

  // §5.5: after a timeout, RTO = RTO * 2 (up to the maximum) until a new sample arrives.
  void back_off() {
    if (backoffs_ < 16) ++backoffs_;
  }

  uint64_t rto_us() const {
    uint64_t rto = base_;
    for (unsigned i = 0; i < backoffs_ && rto < kMaxRto; ++i) rto *= 2;
    return clamp(rto);
  }
  bool has_sample() const { return has_sample_; }
  uint64_t srtt_us() const { return srtt_; }
  uint64_t rttvar_us() const { return rttvar_; }
  unsigned backoffs() const { return backoffs_; }

 private:
  static constexpr uint64_t clamp(uint64_t v) { return v < kMinRto ? kMinRto : v > kMaxRto ? kMaxRto : v; }

  uint64_t srtt_ = 0;
  uint64_t rttvar_ = 0;
  uint64_t base_ = kInitialRto;
  unsigned backoffs_ = 0;
  bool has_sample_ = false;
};

}  // namespace net::tcp
