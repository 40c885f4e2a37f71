// The GDB remote protocol session (src/lib/gdb_rsp.cpp) against a fake target, packet by packet
// as gdb sends them.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "gdb_fake_target.h"

namespace {

using namespace klib::gdb;
using gdbtest::FakeTarget;

void append(void* ctx, char c) { static_cast<std::string*>(ctx)->push_back(c); }

std::string frame(const std::string& payload, int checksum_delta = 0) {
  unsigned sum = 0;
  for (unsigned char c : payload) sum += c;
  char tail[4];
  snprintf(tail, sizeof tail, "#%02x", (sum + unsigned(checksum_delta)) & 0xff);
  return "$" + payload + tail;
}

class GdbSession : public ::testing::Test {
 protected:
  GdbSession() : session(target, klib::Sink{append, &out, nullptr}) { session.stopped({5, 1}); }

  // Feeds raw bytes; returns what the session wrote.
  std::string feed(const std::string& bytes) {
    out.clear();
    for (char c : bytes) session.feed(c);
    return out;
  }
  // Sends one packet, checks its acknowledgement and the reply's framing; returns the reply's
  // payload with escapes undone (or "<none>" when nothing but the ack came back).
  std::string send(const std::string& payload, bool expect_ack = true) {
    std::string got = feed(frame(payload));
    if (expect_ack) {
      EXPECT_FALSE(got.empty());
      if (got.empty()) return "";
      EXPECT_EQ(got[0], '+') << payload;
      got.erase(0, 1);
    }
    if (got.empty()) return "<none>";
    return payload_of(got);
  }
  static std::string payload_of(const std::string& packet) {
    EXPECT_EQ(packet[0], '$') << packet;
    const size_t hash = packet.rfind('#');
    EXPECT_NE(hash, std::string::npos);
    EXPECT_EQ(hash + 3, packet.size()) << packet;
    unsigned sum = 0;
    std::string payload;
    for (size_t i = 1; i < hash; ++i) {
      sum += static_cast<unsigned char>(packet[i]);
      if (packet[i] == '}') {
        sum += static_cast<unsigned char>(packet[++i]);
        payload.push_back(char(packet[i] ^ 0x20));
      } else {
        payload.push_back(packet[i]);
      }
    }
    EXPECT_EQ(std::stoul(packet.substr(hash + 1), nullptr, 16), sum & 0xff) << packet;
    return payload;
  }
  static std::string hex64(uint64_t v) {
    std::string s;
    char b[3];
    for (int i = 0; i < 8; ++i) {
      snprintf(b, sizeof b, "%02x", unsigned((v >> (8 * i)) & 0xff));
      s += b;
    }
    return s;
  }

  FakeTarget target;
  std::string out;
  Session session;
};

TEST_F(GdbSession, AcknowledgesGoodPacketsAndRejectsBadChecksums) {
  EXPECT_EQ(feed(frame("?", 1)), "-");
  EXPECT_EQ(session.bad_checksums(), 1u);
  EXPECT_EQ(feed("$?#zz"), "-");  // not hex: garbage, not a packet
  EXPECT_EQ(send("?"), "T05thread:1;");
  EXPECT_EQ(payload_of(feed("-")), "T05thread:1;");  // gdb asks for the reply again
  EXPECT_EQ(feed("+"), "");
  EXPECT_EQ(feed("garbage between packets"), "");
}

TEST_F(GdbSession, UnknownPacketsAreAnsweredEmpty) {
  EXPECT_EQ(send("vMustReplyEmpty"), "");
  EXPECT_EQ(send("qTStatus"), "");
  EXPECT_EQ(send("!"), "");
  EXPECT_EQ(send("Hz1"), "");
}

TEST_F(GdbSession, SupportedFeaturesAndTargetDescription) {
  const std::string s = send("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
  EXPECT_NE(s.find("PacketSize=1000"), std::string::npos);
  EXPECT_NE(s.find("qXfer:features:read+"), std::string::npos);
  EXPECT_NE(s.find("QStartNoAckMode+"), std::string::npos);
  // gdb reads the description in pieces; the last one starts with 'l'.
  std::string xml;
  for (size_t offset = 0;;) {
    char q[64];
    snprintf(q, sizeof q, "qXfer:features:read:target.xml:%zx,100", offset);
    const std::string r = send(q);
    ASSERT_FALSE(r.empty());
    ASSERT_TRUE(r[0] == 'm' || r[0] == 'l') << r;
    xml += r.substr(1);
    offset += r.size() - 1;
    if (r[0] == 'l') break;
    ASSERT_EQ(r.size(), 0x101u);
  }
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u);
  EXPECT_NE(xml.find("org.gnu.gdb.i386.core"), std::string::npos);
  EXPECT_NE(xml.find("<reg name=\"eflags\" bitsize=\"32\""), std::string::npos);
  EXPECT_EQ(xml.substr(xml.size() - 9), "</target>");
  EXPECT_EQ(send("qXfer:features:read:other.xml:0,100"), "E00");
  EXPECT_EQ(send("qXfer:features:read:target.xml:ffffff,100"), "E00");
}

TEST_F(GdbSession, RegistersInGdbsLayout) {
  const std::string g = send("g");
  // 16 GPRs and rip (8 bytes), eflags and 6 segments (4), st0-7 (10), 8 x87 control (4).
  ASSERT_EQ(g.size(), 2u * (17 * 8 + 7 * 4 + 8 * 10 + 8 * 4));
  EXPECT_EQ(g.substr(0, 16), hex64(0x1000));                              // rax of thread 1
  EXPECT_EQ(g.substr(16 * 16, 16), hex64(0x1000 + kRip));                 // rip
  EXPECT_EQ(g.substr(17 * 16, 8), hex64(0x1000 + kEflags).substr(0, 8));  // eflags: 4 bytes
  EXPECT_EQ(g.substr(17 * 16 + 7 * 8, 20), std::string(20, 'x'));         // st0: unavailable
  EXPECT_EQ(send("p10"), hex64(0x1000 + kRip));                           // rip is register 16
  EXPECT_EQ(send("p18"), "xxxxxxxxxxxxxxxxxxxx");                         // st0
  EXPECT_EQ(send("p28"), "E01");                                          // past the last one
  EXPECT_EQ(send("P10=" + hex64(0x401000)), "OK");
  EXPECT_EQ(target.regs[0].value[kRip], 0x401000u);
  EXPECT_EQ(send("P10=12"), "E01");  // wrong size
  EXPECT_EQ(send("P18=00000000000000000000"), "E01");
  // G writes what it gets, leaving registers sent as "x" alone.
  std::string G = g;
  G.replace(0, 16, hex64(0xabcdef));
  G.replace(16, 16, std::string(16, 'x'));
  EXPECT_EQ(send("G" + G), "OK");
  EXPECT_EQ(target.regs[0].value[kRax], 0xabcdefu);
  EXPECT_EQ(target.regs[0].value[kRbx], 0x1000u + kRbx);
}

TEST_F(GdbSession, ThreadsAreListedDescribedAndSelected) {
  EXPECT_EQ(send("qfThreadInfo"), "m1,2,3");
  EXPECT_EQ(send("qsThreadInfo"), "l");
  target.list_page = 2;  // a target that lists a page at a time
  EXPECT_EQ(send("qfThreadInfo"), "m1,2");
  EXPECT_EQ(send("qsThreadInfo"), "m3");
  EXPECT_EQ(send("qsThreadInfo"), "l");
  EXPECT_EQ(send("qC"), "QC1");
  EXPECT_EQ(send("qAttached"), "1");
  // "Core 1, ready" in hex
  EXPECT_EQ(send("qThreadExtraInfo,2"), "436f726520312c207265616479");
  EXPECT_EQ(send("qThreadExtraInfo,9"), "E01");
  EXPECT_EQ(send("T2"), "OK");
  EXPECT_EQ(send("T9"), "E01");
  EXPECT_EQ(send("Hg9"), "E01");
  EXPECT_EQ(send("Hg2"), "OK");
  EXPECT_EQ(send("g").substr(0, 16), hex64(0x2000));  // thread 2's rax
  EXPECT_EQ(send("Hg0"), "OK");
  EXPECT_EQ(send("g").substr(0, 16), hex64(0x1000));  // back to the stopped thread
  EXPECT_EQ(send("Hc-1"), "OK");
}

TEST_F(GdbSession, MemoryReadAndWrite) {
  EXPECT_EQ(send("m1000,4"), "00010203");
  EXPECT_EQ(send("m1ffe,8"), "feff");  // stops where the memory does
  EXPECT_EQ(send("m0,4"), "E0e");
  EXPECT_EQ(send("m1000"), "E01");
  EXPECT_EQ(send("m1000,zz"), "E01");
  EXPECT_EQ(send("m11111111111111111,1"), "E01");                        // 17 digits
  EXPECT_EQ(send("m1000,100000").size(), 2u * Session::kMaxPacket / 2);  // capped: gdb asks again
  EXPECT_EQ(send("M1010,3:aabbcc"), "OK");
  EXPECT_EQ(target.memory[0x10], 0xaa);
  EXPECT_EQ(target.memory[0x12], 0xcc);
  EXPECT_EQ(send("M1010,3:aabb"), "E01");
  EXPECT_EQ(send("M1010,1:zz"), "E01");
  EXPECT_EQ(send("M0,1:00"), "E0e");
  // X carries binary: '#', '$', '}' and '*' escaped by gdb as '}' + (byte ^ 0x20).
  EXPECT_EQ(send("X1020,0:"), "OK");  // gdb's probe
  EXPECT_EQ(send(std::string("X1020,4:a}\x03}\x04}]")), "OK");
  EXPECT_EQ(target.memory[0x20], 'a');
  EXPECT_EQ(target.memory[0x21], '#');
  EXPECT_EQ(target.memory[0x22], '$');
  EXPECT_EQ(target.memory[0x23], '}');
  EXPECT_EQ(send("X1020,5:ab"), "E01");
}

TEST_F(GdbSession, Breakpoints) {
  EXPECT_EQ(send("Z0,401000,1"), "OK");
  EXPECT_EQ(send("Z1,401010,1"), "OK");
  EXPECT_EQ(send("Z2,1008,8"), "OK");
  EXPECT_EQ(send("Z3,1008,8"), "");  // unsupported kind: empty, gdb falls back
  EXPECT_EQ(send("Z0,dead0000,1"), "E16");
  ASSERT_EQ(target.breakpoints.size(), 3u);
  EXPECT_EQ(target.breakpoints[2].kind, BreakKind::kWrite);
  EXPECT_EQ(target.breakpoints[2].length, 8u);
  EXPECT_EQ(send("z1,401010,1"), "OK");
  EXPECT_EQ(target.breakpoints.size(), 2u);
  EXPECT_EQ(send("Z5,0,1"), "E01");
  EXPECT_EQ(send("Z0,1"), "E01");
}

TEST_F(GdbSession, ContinueStepAndStopReplies) {
  EXPECT_EQ(send("c"), "<none>");  // the reply is the stop, later
  EXPECT_FALSE(session.waiting());
  ASSERT_EQ(target.resumes.size(), 1u);
  EXPECT_EQ(target.resumes[0].step, 0);
  EXPECT_TRUE(target.resumes[0].others_run);
  out.clear();
  session.stopped({5, 2, true, BreakKind::kWrite, 0x1008});
  EXPECT_EQ(payload_of(out), "T05watch:1008;thread:2;");
  EXPECT_TRUE(session.waiting());
  EXPECT_EQ(send("Hc3"), "OK");
  EXPECT_EQ(send("s"), "<none>");
  EXPECT_EQ(target.resumes[1].step, 3);
  EXPECT_FALSE(target.resumes[1].others_run);
  out.clear();
  session.stopped({5, 3});
  EXPECT_EQ(payload_of(out), "T05thread:3;");
  EXPECT_EQ(send("c401000"), "E01");  // resuming elsewhere: not offered
}

TEST_F(GdbSession, VCont) {
  EXPECT_EQ(send("vCont?"), "vCont;c;C;s;S;t");
  EXPECT_EQ(send("vCont;s:2;c"), "<none>");
  ASSERT_EQ(target.resumes.size(), 1u);
  EXPECT_EQ(target.resumes[0].step, 2);
  EXPECT_TRUE(target.resumes[0].others_run);
  session.stopped({5, 2});
  EXPECT_EQ(send("vCont;s:1"), "<none>");
  EXPECT_EQ(target.resumes[1].step, 1);
  EXPECT_FALSE(target.resumes[1].others_run);
  session.stopped({5, 1});
  EXPECT_EQ(send("vCont;C05:1"), "<none>");
  EXPECT_TRUE(target.resumes[2].others_run);
  EXPECT_EQ(target.resumes[2].signal, 5);  // passed on to the stopped thread
  session.stopped({5, 1});
  EXPECT_EQ(send("vCont;s"), "E01");  // every thread stepping at once
  EXPECT_EQ(send("vCont;x"), "E01");
  EXPECT_EQ(send("vCont;s:9"), "E01");
  EXPECT_EQ(send("vCont;"), "E01");
  EXPECT_EQ(send("vCont;t:1"), "OK");
  EXPECT_EQ(target.resumes.size(), 3u);
}

// After a fault's stop (SIGSEGV), `continue` passes the signal on (C0b: the fault takes its
// course), `signal 0` resumes without it (the faulting instruction runs again).
TEST_F(GdbSession, ContinueWithASignal) {
  struct Case {
    const char* packet;
    int signal;
    int64_t step;  // the thread that steps (0: none, all run)
  };
  // The thread stopped is 1; a signal for another thread (2) is not the stop's.
  const Case cases[] = {{"C0b", 11, 0}, {"c", 0, 0}, {"S0b", 11, 1}, {"vCont;C0b:2;c", 0, 0}, {"vCont;C08", 8, 0}};
  for (const Case& c : cases) {
    session.stopped({11, 1});
    const size_t before = target.resumes.size();
    EXPECT_EQ(send(c.packet), "<none>") << c.packet;
    ASSERT_EQ(target.resumes.size(), before + 1) << c.packet;
    EXPECT_EQ(target.resumes.back().signal, c.signal) << c.packet;
    EXPECT_EQ(target.resumes.back().step, c.step) << c.packet;
  }
  session.stopped({11, 1});
  EXPECT_EQ(send("C"), "E01");     // no signal number
  EXPECT_EQ(send("C1ff"), "E01");  // not a signal
}

TEST_F(GdbSession, CtrlCInterruptsARunningTarget) {
  EXPECT_EQ(send("c"), "<none>");
  EXPECT_EQ(feed("\x03"), "");
  EXPECT_EQ(target.interrupts, 1);
  out.clear();
  session.stopped({2, 1});
  EXPECT_EQ(payload_of(out), "T02thread:1;");
  EXPECT_EQ(feed("\x03"), "");  // stopped already: nothing to interrupt
  EXPECT_EQ(target.interrupts, 1);
}

TEST_F(GdbSession, NoAckMode) {
  EXPECT_EQ(send("QStartNoAckMode"), "OK");
  EXPECT_EQ(send("?", false), "T05thread:1;");
  EXPECT_EQ(feed(frame("?", 1)), feed(frame("?")));  // checksums are not checked any more
}

TEST_F(GdbSession, TooLongPacketsGetAnError) {
  EXPECT_EQ(send("M1000,1:" + std::string(Session::kMaxPacket, '0')), "E16");
  EXPECT_EQ(send("?"), "T05thread:1;");  // and the session goes on
}

TEST_F(GdbSession, RestartedPacketReplacesThePartialOne) {
  EXPECT_EQ(payload_of(feed("$m10" + frame("?")).substr(1)), "T05thread:1;");
}

TEST_F(GdbSession, DetachAndKill) {
  EXPECT_EQ(send("D"), "OK");
  EXPECT_EQ(target.detaches, 1);
  EXPECT_FALSE(session.waiting());
  session.stopped({5, 1});
  EXPECT_EQ(send("k"), "<none>");
  EXPECT_EQ(target.kills, 1);
  session.stopped({5, 1});
  EXPECT_EQ(send("vKill;1"), "OK");
  EXPECT_EQ(target.kills, 2);
}

}  // namespace
