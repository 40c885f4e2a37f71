// The GDB remote serial protocol session (see gdb_rsp.h). Packet and reply formats follow the
// gdb manual's "Remote Protocol" appendix: "Overview" (framing, checksums, escapes), "Packets",
// "Stop Reply Packets", "General Query Packets" and "Target Descriptions".
#include <lib/gdb_rsp.h>

#include <cstring>

namespace klib::gdb {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses hex digits at p (at least one, at most 16) and moves p past them.
bool parse_hex(const char*& p, const char* end, uint64_t* out) {
  uint64_t v = 0;
  int digits = 0;
  for (int d; p < end && (d = hex_value(*p)) >= 0; ++p) {
    if (++digits > 16) return false;
    v = v << 4 | uint64_t(d);
  }
  *out = v;
  return digits > 0;
}

// A thread id: hex, or -1 for all threads.
bool parse_thread(const char*& p, const char* end, ThreadId* out) {
  if (end - p >= 2 && p[0] == '-' && p[1] == '1') {
    p += 2;
    *out = -1;
    return true;
  }
  uint64_t v = 0;
  if (!parse_hex(p, end, &v) || v > uint64_t(INT64_MAX)) return false;
  *out = ThreadId(v);
  return true;
}

bool starts_with(const char* p, size_t length, const char* prefix) {
  const size_t n = strlen(prefix);
  return length >= n && memcmp(p, prefix, n) == 0;
}

// Appends to a reply being built, never past its capacity.
struct Builder {
  char* data;
  size_t capacity;
  size_t length = 0;

  void put(char c) {
    if (length < capacity) data[length++] = c;
  }
  void text(const char* s) {
    while (*s) put(*s++);
  }
  void hex_byte(uint8_t b) {
    put(kHex[b >> 4]);
    put(kHex[b & 15]);
  }
  void hex_number(uint64_t v) {
    int shift = 60;
    while (shift > 0 && (v >> shift) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) put(kHex[(v >> shift) & 15]);
  }
  void decimal(unsigned v) {
    if (v >= 10) decimal(v / 10);
    put(char('0' + v % 10));
  }
  void thread(ThreadId t) {
    if (t < 0) {
      text("-1");
    } else {
      hex_number(uint64_t(t));
    }
  }
};

// The target description: gdb's amd64 core feature (x87 registers included, as gdb requires
// them in it; the stub reports them unavailable), generated from these tables (the document
// itself would be 3.3 KB in every image that carries the stub).
constexpr char kRegisterNames[] =
    "rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags cs ss ds es fs gs "
    "st0 st1 st2 st3 st4 st5 st6 st7 fctrl fstat ftag fiseg fioff foseg fooff fop ";
constexpr char kEflagsFields[] =
    "CF:0 :1 PF:2 AF:4 ZF:6 SF:7 TF:8 IF:9 DF:10 OF:11 NT:14 RF:16 VM:17 AC:18 VIF:19 VIP:20 ID:21 ";

const char* register_type(unsigned r) {
  if (r == kRbp || r == kRsp) return "data_ptr";
  if (r < kRip) return "int64";
  if (r == kRip) return "code_ptr";
  if (r == kEflags) return "i386_eflags";
  if (r < kProvidedRegisters) return "int32";
  if (r < kProvidedRegisters + 8) return "i387_ext";
  return "int\" group=\"float";  // fctrl..fop
}

// Writes the whole document into `b`.
void target_description(Builder& b) {
  b.text(
      "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target version=\"1.0\">"
      "<architecture>i386:x86-64</architecture><feature name=\"org.gnu.gdb.i386.core\">"
      "<flags id=\"i386_eflags\" size=\"4\">");
  for (const char* f = kEflagsFields; *f != 0;) {
    const char* colon = f;
    while (*colon != ':') ++colon;
    const char* space = colon;
    while (*space != ' ') ++space;
    b.text("<field name=\"");
    while (f < colon) b.put(*f++);
    for (int k = 0; k < 2; ++k) {
      b.text(k == 0 ? "\" start=\"" : "\" end=\"");
      for (const char* d = colon + 1; d < space; ++d) b.put(*d);
    }
    b.text("\"/>");
    f = space + 1;
  }
  b.text("</flags>");
  const char* name = kRegisterNames;
  for (unsigned r = 0; r < kRegisterCount; ++r) {
    b.text("<reg name=\"");
    while (*name != ' ') b.put(*name++);
    ++name;
    b.text("\" bitsize=\"");
    b.decimal(unsigned(register_size(r) * 8));
    b.text("\" type=\"");
    b.text(register_type(r));
    b.text("\"/>");
  }
  b.text("</feature></target>");
}

}  // namespace

size_t register_size(unsigned r) {
  if (r < kRip + 1) return 8;
  if (r < kProvidedRegisters) return 4;
  if (r < kProvidedRegisters + 8) return 10;  // st0-st7
  return r < kRegisterCount ? 4 : 0;
}

// ---- Framing ("Overview"): $data#cs, '}' escapes, '+'/'-' acknowledgements, 0x03 = Ctrl-C.

void Session::feed(char c) {
  switch (framing_) {
    case Framing::kIdle:
      if (c == '$') {
        framing_ = Framing::kData;
        length_ = 0;
        sum_ = 0;
        too_long_ = false;
      } else if (c == '-' && !no_ack_ && last_length_ != 0) {
        reply(last_, last_length_);  // gdb did not get the last reply intact
      } else if (c == 0x03 && !stopped_) {
        stop_pending_ = true;
        target_.interrupt();  // the target calls stopped() once all cores have stopped
      }
      return;  // '+' and noise between packets need nothing
    case Framing::kData:
    case Framing::kEscape:
      if (c == '$') {  // a new start: gdb gave up on the packet it was sending
        length_ = 0;
        sum_ = 0;
        too_long_ = false;
        framing_ = Framing::kData;
        return;
      }
      if (c == '#' && framing_ == Framing::kData) {
        framing_ = Framing::kSum1;
        return;
      }
      sum_ = uint8_t(sum_ + uint8_t(c));
      if (framing_ == Framing::kData && c == '}') {
        framing_ = Framing::kEscape;
        return;
      }
      if (framing_ == Framing::kEscape) c = char(c ^ 0x20);
      framing_ = Framing::kData;
      if (length_ < kMaxPacket) {
        packet_[length_++] = c;
      } else {
        too_long_ = true;
      }
      return;
    case Framing::kSum1:
    case Framing::kSum2: {
      const int d = hex_value(c);
      if (d < 0) {  // not a checksum: the packet is garbage; wait for the next
        framing_ = Framing::kIdle;
        ++bad_checksums_;
        if (!no_ack_) out_.put(out_.ctx, '-');
        return;
      }
      if (framing_ == Framing::kSum1) {
        sent_sum_ = uint8_t(d << 4);
        framing_ = Framing::kSum2;
        return;
      }
      sent_sum_ = uint8_t(sent_sum_ | d);
      framing_ = Framing::kIdle;
      if (!no_ack_ && sent_sum_ != sum_) {
        ++bad_checksums_;
        out_.put(out_.ctx, '-');  // gdb sends it again
        return;
      }
      if (!no_ack_) out_.put(out_.ctx, '+');
      ++packets_;
      if (too_long_) {
        reply_error(22);  // larger than the PacketSize told to gdb
        return;
      }
      packet_[length_] = '\0';
      on_packet();
      return;
    }
  }
}

void Session::reply(const char* data, size_t length) {
  if (data != last_) {
    if (length > kMaxPacket) length = kMaxPacket;
    memcpy(last_, data, length);
    last_length_ = length;
  }
  uint8_t sum = 0;
  auto put = [&](char c) {
    out_.put(out_.ctx, c);
    sum = uint8_t(sum + uint8_t(c));
  };
  out_.put(out_.ctx, '$');
  for (size_t i = 0; i < length; ++i) {
    const char c = data[i];
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      put('}');
      put(char(c ^ 0x20));
    } else {
      put(c);
    }
  }
  out_.put(out_.ctx, '#');
  out_.put(out_.ctx, kHex[sum >> 4]);
  out_.put(out_.ctx, kHex[sum & 15]);
}

void Session::reply(const char* text) { reply(text, strlen(text)); }

void Session::reply_error(int code) {
  const char e[] = {'E', kHex[(code >> 4) & 15], kHex[code & 15]};
  reply(e, sizeof e);
}

// ---- Stops and resumes ("Stop Reply Packets").

void Session::stopped(const StopReason& reason) {
  stop_ = reason;
  stopped_ = true;
  g_thread_ = 0;
  c_thread_ = 0;
  if (stop_pending_) {
    stop_pending_ = false;
    send_stop_reply();
  }
}

void Session::send_stop_reply() {
  char buf[96];
  Builder b{buf, sizeof buf};
  b.put('T');
  b.hex_byte(stop_.signal);
  if (stop_.watch) {
    b.text(stop_.watch_kind == BreakKind::kRead     ? "rwatch:"
           : stop_.watch_kind == BreakKind::kAccess ? "awatch:"
                                                    : "watch:");
    b.hex_number(stop_.watch_address);
    b.put(';');
  }
  b.text("thread:");
  b.thread(stop_.thread);
  b.put(';');
  reply(buf, b.length);
}

void Session::resume(const ResumeRequest& request) {
  stopped_ = false;
  stop_pending_ = true;  // no reply now: the stop reply comes when the target stops again
  target_.resume(request);
}

// vCont;ACTION[:THREAD];...: for an all-stop target, the thread to step (if any) and whether the
// others run (an action without a thread, or one for -1, applies to all of them).
void Session::vcont(const char* p, const char* end) {
  ResumeRequest request{0, false};
  while (p < end) {
    if (*p++ != ';' || p == end) return reply_error(1);
    const char action = *p++;
    uint64_t signal = 0;
    if (action == 'C' || action == 'S') {  // a signal number follows, for the stopped thread
      if (!parse_hex(p, end, &signal) || signal > 0xFF) return reply_error(1);
    } else if (action != 'c' && action != 's' && action != 't') {
      return reply_error(1);
    }
    ThreadId thread = -1;
    if (p < end && *p == ':') {
      ++p;
      if (!parse_thread(p, end, &thread)) return reply_error(1);
    }
    const bool step = action == 's' || action == 'S';
    if (signal != 0 && (thread == -1 || thread == 0 || thread == stop_.thread)) request.signal = uint8_t(signal);
    if (thread == -1 || thread == 0) {
      if (step) return reply_error(1);  // stepping every thread at once: not supported
      if (action != 't') request.others_run = true;
    } else if (step) {
      if (!target_.thread_alive(thread)) return reply_error(1);
      if (request.step == 0) request.step = thread;
    } else if (action != 't') {
      request.others_run = true;  // continuing one named thread: all-stop runs them all
    }
  }
  if (request.step == 0 && !request.others_run) return reply("OK");  // only stops: nothing to do
  resume(request);
}

// ---- Queries ("General Query Packets").

void Session::thread_list(bool first) {
  if (first) thread_cursor_ = 0;
  ThreadId ids[64];
  const size_t n = target_.list_threads(thread_cursor_, ids, sizeof ids / sizeof ids[0]);
  if (n == 0) return reply("l");
  thread_cursor_ += n;
  char buf[64 * 18 + 2];
  Builder b{buf, sizeof buf};
  b.put('m');
  for (size_t i = 0; i < n; ++i) {
    if (i != 0) b.put(',');
    b.thread(ids[i]);
  }
  reply(buf, b.length);
}

// qXfer:features:read:target.xml:OFFSET,LENGTH
void Session::features(const char* p, const char* end) {
  const char* annex = "target.xml:";
  if (!starts_with(p, size_t(end - p), annex)) return reply_error(0);
  p += strlen(annex);
  uint64_t offset = 0, length = 0;
  if (!parse_hex(p, end, &offset) || p == end || *p++ != ',' || !parse_hex(p, end, &length) || p != end) {
    return reply_error(0);
  }
  // Built in last_ after its first byte, then the window asked for moved to its place.
  Builder b{last_ + 1, kMaxPacket - 1};
  target_description(b);
  const size_t total = b.length;
  if (offset > total) return reply_error(0);
  if (length > kMaxPacket - 1) length = kMaxPacket - 1;
  const size_t n = total - offset < length ? total - offset : size_t(length);
  memmove(last_ + 1, last_ + 1 + offset, n);
  last_[0] = offset + n < total ? 'm' : 'l';
  last_length_ = n + 1;
  reply(last_, last_length_);
}

void Session::query(const char* q, size_t length) {
  const char* end = q + length;
  if (starts_with(q, length, "qSupported")) {
    return reply("PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;vContSupported+");
  }
  static_assert(kMaxPacket == 0x1000, "qSupported's PacketSize");
  if (starts_with(q, length, "qXfer:features:read:")) return features(q + 20, end);
  if (length == 12 && starts_with(q, length, "qfThreadInfo")) return thread_list(true);
  if (length == 12 && starts_with(q, length, "qsThreadInfo")) return thread_list(false);
  if (length == 2 && q[1] == 'C') {
    char buf[24];
    Builder b{buf, sizeof buf};
    b.text("QC");
    b.thread(stop_.thread);
    return reply(buf, b.length);
  }
  if (length == 9 && starts_with(q, length, "qAttached")) return reply("1");
  if (starts_with(q, length, "qThreadExtraInfo,")) {
    const char* p = q + 17;
    ThreadId t = 0;
    if (!parse_thread(p, end, &t) || p != end || !target_.thread_alive(t)) return reply_error(1);
    char text[128];
    const size_t n = target_.describe_thread(t, text, sizeof text);
    char buf[2 * sizeof text];
    Builder b{buf, sizeof buf};
    for (size_t i = 0; i < n && i < sizeof text; ++i) b.hex_byte(uint8_t(text[i]));
    return reply(buf, b.length);
  }
  if (length == 15 && starts_with(q, length, "QStartNoAckMode")) {
    reply("OK");  // acknowledged the old way; from the next packet on there are no acks
    no_ack_ = true;
    return;
  }
  if (starts_with(q, length, "qSymbol")) return reply("OK");  // no symbols wanted
  reply("");                                                  // unknown: empty, as the manual asks
}

// ---- Registers and memory.

void Session::read_registers(char* out, size_t* length) {
  RegisterFile regs;
  const ThreadId t = g_thread_ > 0 ? g_thread_ : stop_.thread;
  Builder b{out, kMaxPacket};
  if (!target_.read_registers(t, &regs)) {
    *length = 0;
    return;
  }
  for (unsigned r = 0; r < kRegisterCount; ++r) {
    const size_t size = register_size(r);
    for (size_t i = 0; i < size; ++i) {
      if (r < kProvidedRegisters) {
        b.hex_byte(uint8_t(regs.value[r] >> (8 * i)));  // target byte order: little-endian
      } else {
        b.text("xx");
      }
    }
  }
  *length = b.length;
}

void Session::on_packet() {
  const char* p = packet_ + 1;
  const char* end = packet_ + length_;
  if (length_ == 0) return reply("");
  const ThreadId regs_thread = g_thread_ > 0 ? g_thread_ : stop_.thread;
  switch (packet_[0]) {
    case '?':
      return send_stop_reply();
    case 'q':
    case 'Q':
      return query(packet_, length_);
    case 'H': {  // Hg THREAD / Hc THREAD
      ThreadId t = 0;
      if (p == end || (*p != 'g' && *p != 'c')) return reply("");
      const char which = *p++;
      if (!parse_thread(p, end, &t) || p != end) return reply_error(1);
      if (t > 0 && !target_.thread_alive(t)) return reply_error(1);
      (which == 'g' ? g_thread_ : c_thread_) = t;
      return reply("OK");
    }
    case 'T': {
      ThreadId t = 0;
      if (!parse_thread(p, end, &t) || p != end || t <= 0 || !target_.thread_alive(t)) return reply_error(1);
      return reply("OK");
    }
    case 'g': {
      size_t n = 0;
      read_registers(last_, &n);
      if (n == 0) return reply_error(1);
      last_length_ = n;
      return reply(last_, n);
    }
    case 'G': {
      // Every provided register whose bytes are all hex digits ("xx" leaves one as it is).
      size_t offset = 0;
      for (unsigned r = 0; r < kProvidedRegisters; ++r) {
        const size_t size = register_size(r);
        if (size_t(end - p) < offset + 2 * size) break;
        uint64_t v = 0;
        bool valid = true;
        for (size_t i = 0; i < size; ++i) {
          const int hi = hex_value(p[offset + 2 * i]), lo = hex_value(p[offset + 2 * i + 1]);
          if (hi < 0 || lo < 0) valid = false;
          v |= uint64_t(uint8_t(hi << 4 | lo)) << (8 * i);
        }
        if (valid && !target_.write_register(regs_thread, r, v)) return reply_error(1);
        offset += 2 * size;
      }
      return reply("OK");
    }
    case 'p':
    case 'P': {
      uint64_t r = 0;
      if (!parse_hex(p, end, &r) || r >= kRegisterCount) return reply_error(1);
      const size_t size = register_size(unsigned(r));
      if (packet_[0] == 'p') {
        if (p != end) return reply_error(1);
        RegisterFile regs;
        if (!target_.read_registers(regs_thread, &regs)) return reply_error(1);
        char buf[32];
        Builder b{buf, sizeof buf};
        for (size_t i = 0; i < size; ++i) {
          if (r < kProvidedRegisters) {
            b.hex_byte(uint8_t(regs.value[r] >> (8 * i)));
          } else {
            b.text("xx");
          }
        }
        return reply(buf, b.length);
      }
      if (p == end || *p++ != '=' || size_t(end - p) != 2 * size) return reply_error(1);
      if (r >= kProvidedRegisters) return reply_error(1);  // the x87 registers are not writable here
      uint64_t v = 0;
      for (size_t i = 0; i < size; ++i) {
        const int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);
        if (hi < 0 || lo < 0) return reply_error(1);
        v |= uint64_t(uint8_t(hi << 4 | lo)) << (8 * i);
      }
      return reply(target_.write_register(regs_thread, unsigned(r), v) ? "OK" : "E01");
    }
    case 'm': {
      uint64_t address = 0, length = 0;
      if (!parse_hex(p, end, &address) || p == end || *p++ != ',' || !parse_hex(p, end, &length) || p != end) {
        return reply_error(1);
      }
      if (length > kMaxPacket / 2) length = kMaxPacket / 2;  // gdb asks again for the rest
      uint8_t bytes[kMaxPacket / 2];
      const size_t n = target_.read_memory(address, bytes, size_t(length));
      if (n == 0 && length != 0) return reply_error(14);  // EFAULT
      Builder b{last_, kMaxPacket};
      for (size_t i = 0; i < n; ++i) b.hex_byte(bytes[i]);
      last_length_ = b.length;
      return reply(last_, b.length);
    }
    case 'M':
    case 'X': {
      uint64_t address = 0, length = 0;
      if (!parse_hex(p, end, &address) || p == end || *p++ != ',' || !parse_hex(p, end, &length) || p == end ||
          *p++ != ':') {
        return reply_error(1);
      }
      const size_t data = size_t(end - p);
      uint8_t* bytes = reinterpret_cast<uint8_t*>(const_cast<char*>(p));  // decoded in place
      if (packet_[0] == 'M') {
        if (data != 2 * length) return reply_error(1);
        for (size_t i = 0; i < length; ++i) {
          const int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);
          if (hi < 0 || lo < 0) return reply_error(1);
          bytes[i] = uint8_t(hi << 4 | lo);  // i <= 2i: the hex already read is behind
        }
      } else if (data != length) {
        return reply_error(1);
      }
      if (length == 0) return reply("OK");  // gdb's probe for X support
      return reply(target_.write_memory(address, bytes, size_t(length)) == length ? "OK" : "E0e");
    }
    case 'Z':
    case 'z': {
      uint64_t kind = 0, address = 0, length = 0;
      if (!parse_hex(p, end, &kind) || kind > 4 || p == end || *p++ != ',' || !parse_hex(p, end, &address) ||
          p == end || *p++ != ',' || !parse_hex(p, end, &length)) {
        return reply_error(1);
      }
      // Conditions and commands after ';' (target-side evaluation) are not offered in qSupported.
      switch (target_.set_breakpoint(BreakKind(kind), address, size_t(length), packet_[0] == 'Z')) {
        case Status::kOk:
          return reply("OK");
        case Status::kUnsupported:
          return reply("");
        case Status::kError:
          return reply_error(22);
      }
      return reply_error(22);
    }
    case 'c':
    case 's':
    case 'C':
    case 'S': {
      // An optional address (s/c ADDR) or signal (C/S SIG[;ADDR]): resuming elsewhere is not
      // supported; gdb does not ask for it.
      if (p != end && (packet_[0] == 'c' || packet_[0] == 's')) return reply_error(1);
      uint64_t signal = 0;
      if ((packet_[0] == 'C' || packet_[0] == 'S') && (!parse_hex(p, end, &signal) || signal > 0xFF)) {
        return reply_error(1);
      }
      const bool step = packet_[0] == 's' || packet_[0] == 'S';
      const ThreadId t = c_thread_ > 0 ? c_thread_ : stop_.thread;
      ResumeRequest request = step ? ResumeRequest{t, false} : ResumeRequest{0, true};
      request.signal = uint8_t(signal);
      return resume(request);
    }
    case 'v':
      if (starts_with(packet_, length_, "vCont?")) return reply("vCont;c;C;s;S;t");
      if (starts_with(packet_, length_, "vCont;")) return vcont(packet_ + 5, end);
      if (starts_with(packet_, length_, "vCtrlC")) {  // Ctrl-C in no-ack / non-stop style
        reply("OK");
        if (!stopped_) {
          stop_pending_ = true;
          target_.interrupt();
        }
        return;
      }
      if (starts_with(packet_, length_, "vKill")) {
        reply("OK");
        stopped_ = false;
        return target_.kill();
      }
      return reply("");  // vMustReplyEmpty and everything else unknown
    case 'D':
      reply("OK");
      stopped_ = false;
      stop_pending_ = false;
      return target_.detach();
    case 'k':
      stopped_ = false;
      return target_.kill();  // no reply (the manual: 'k' gets none)
    default:
      return reply("");
  }
}

}  // namespace klib::gdb
