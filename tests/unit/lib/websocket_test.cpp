// RFC 6455 server side: the §1.3 handshake example, the §5.7 frame examples, and every way a
// client's bytes can be wrong (each must give a defined close code, never a crash or a wait).
#include <gtest/gtest.h>
#include <lib/websocket.h>

#include <string>
#include <vector>

namespace {

using klib::ws::CloseCode;
using klib::ws::EventKind;
using klib::ws::HandshakeStatus;
using klib::ws::Opcode;
using Bytes = std::vector<uint8_t>;

const char kRfcRequest[] =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

HandshakeStatus parse(const std::string& request, klib::ws::Handshake* hs = nullptr) {
  klib::ws::Handshake local;
  return klib::ws::parse_handshake(request.data(), request.size(), hs != nullptr ? hs : &local);
}

TEST(WebSocketHandshake, Rfc6455AcceptKey) {
  char out[28];
  klib::ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
  EXPECT_EQ(std::string(out, 28), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, Rfc6455ExampleGivesTorosExactReply) {
  const std::string req = std::string(kRfcRequest) + "\x81\x85";  // a frame may follow at once
  klib::ws::Handshake hs;
  ASSERT_EQ(parse(req, &hs), HandshakeStatus::kOk);
  EXPECT_EQ(hs.request_length, sizeof kRfcRequest - 1);
  EXPECT_EQ(std::string(hs.path, hs.path_length), "/chat");
  char reply[klib::ws::kMaxReplySize];
  const size_t n = klib::ws::handshake_reply(hs, reply);
  EXPECT_EQ(std::string(reply, n),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST(WebSocketHandshake, IncompleteUntilTheEmptyLine) {
  const std::string req = kRfcRequest;
  for (size_t n = 0; n < req.size(); ++n) EXPECT_EQ(parse(req.substr(0, n)), HandshakeStatus::kIncomplete) << n;
}

TEST(WebSocketHandshake, NamesAndTokensAreCaseInsensitiveAndListsAreSplit) {
  EXPECT_EQ(parse("GET /Smiley HTTP/1.1\r\nhost: x\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
                  "sec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==  \r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n"),
            HandshakeStatus::kOk);
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(WebSocketHandshake, BadRequestsAreRefused) {
  const std::string r = kRfcRequest;
  const std::string bad[] = {
      replace(r, "GET ", "POST "),
      replace(r, "HTTP/1.1", "HTTP/1.0"),
      replace(r, "GET /chat", "GET"),
      replace(r, "Host: server.example.com\r\n", ""),
      replace(r, "Upgrade: websocket", "Upgrade: h2c"),
      replace(r, "Connection: Upgrade", "Connection: keep-alive"),
      replace(r, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
      replace(r, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ="),   // 23 characters
      replace(r, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZXh4"),  // 18 bytes
      replace(r, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZ!=="),  // not base64
      replace(r, "Sec-WebSocket-Version: 13\r\n", ""),
      replace(r, "Origin: http", "Origin http"),                         // a line without ':'
      replace(r, "Origin: http://example.com\r\n", ": x\r\n"),           // an empty name
      replace(r, "Origin: http://example.com\r\n", "Origin: x\ry\r\n"),  // a bare CR
      replace(r, "Origin: http://example.com\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),  // twice
      "GET / HTTP/1.1\r\n\r\n",
      "\r\n\r\n",
      std::string("GET /\0 HTTP/1.1\r\n\r\n", 20),
  };
  for (const std::string& req : bad) EXPECT_EQ(parse(req), HandshakeStatus::kBadRequest) << req;
  char reply[klib::ws::kMaxReplySize];
  size_t n = klib::ws::handshake_error_reply(HandshakeStatus::kBadRequest, reply);
  EXPECT_EQ(std::string(reply, n), "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  // §4.4: another version is answered with the one we speak.
  EXPECT_EQ(parse(replace(r, "Version: 13", "Version: 8")), HandshakeStatus::kBadVersion);
  n = klib::ws::handshake_error_reply(HandshakeStatus::kBadVersion, reply);
  EXPECT_NE(std::string(reply, n).find("426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
}

// A client frame: `first` is FIN/RSV/opcode, the payload masked with `mask`.
Bytes client_frame(uint8_t first, const std::string& payload, bool masked = true,
                   Bytes mask = {0x37, 0xfa, 0x21, 0x3d}) {
  Bytes f{first};
  const size_t n = payload.size();
  const uint8_t m = masked ? 0x80 : 0;
  if (n < 126) {
    f.push_back(uint8_t(m | n));
  } else if (n <= 0xFFFF) {
    f.insert(f.end(), {uint8_t(m | 126), uint8_t(n >> 8), uint8_t(n)});
  } else {
    f.push_back(uint8_t(m | 127));
    for (int i = 7; i >= 0; --i) f.push_back(uint8_t(uint64_t(n) >> (8 * i)));
  }
  if (masked) f.insert(f.end(), mask.begin(), mask.end());
  for (size_t i = 0; i < n; ++i) f.push_back(uint8_t(payload[i]) ^ (masked ? mask[i % 4] : 0));
  return f;
}

struct Seen {
  EventKind kind;
  Opcode opcode;
  std::string payload;
  CloseCode code;
};

// Feeds `bytes` in pieces of `piece` (0: all at once) through a Receiver and records the events.
std::vector<Seen> run(const Bytes& bytes, size_t piece = 0, uint64_t max_message = 1 << 20) {
  klib::ws::Receiver rx(max_message);
  Bytes buf(bytes.size() + klib::ws::kMaxHeaderSize);
  size_t len = 0;
  std::vector<Seen> seen;
  size_t at = 0;
  do {
    const size_t n = piece == 0 ? bytes.size() : std::min(piece, bytes.size() - at);
    std::copy(bytes.begin() + long(at), bytes.begin() + long(at + n), buf.begin() + long(len));
    len += n;
    at += n;
    for (;;) {
      const klib::ws::Event e = rx.poll(buf.data(), &len);
      if (e.kind == EventKind::kNeedMore) {
        EXPECT_GT(e.needed, len);  // what it asks for is more than it has
        break;
      }
      seen.push_back({e.kind, e.opcode, std::string(reinterpret_cast<const char*>(e.payload), e.length), e.close_code});
      if (e.kind == EventKind::kError) return seen;
    }
  } while (at < bytes.size());
  return seen;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes all;
  for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

TEST(WebSocketFrames, Rfc6455MaskedHelloExample) {
  const Bytes frame = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};  // §5.7
  EXPECT_EQ(client_frame(0x81, "Hello"), frame);
  for (size_t piece : {0, 1, 2, 5}) {
    const auto seen = run(frame, piece);
    ASSERT_EQ(seen.size(), 1u) << piece;
    EXPECT_EQ(seen[0].kind, EventKind::kMessage);
    EXPECT_EQ(seen[0].opcode, Opcode::kText);
    EXPECT_EQ(seen[0].payload, "Hello");
  }
}

TEST(WebSocketFrames, ServerHeadersMatchRfc6455Examples) {
  uint8_t h[klib::ws::kMaxHeaderSize];
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kText, 5), 2u);  // §5.7 unmasked "Hello"
  EXPECT_EQ(Bytes(h, h + 2), (Bytes{0x81, 0x05}));
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kPong, 5), 2u);
  EXPECT_EQ(h[0], 0x8a);
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kBinary, 256), 4u);  // 256 bytes: 16-bit length
  EXPECT_EQ(Bytes(h, h + 4), (Bytes{0x82, 0x7E, 0x01, 0x00}));
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kBinary, 65536), 10u);  // 64 KiB: 64-bit length
  EXPECT_EQ(Bytes(h, h + 10), (Bytes{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kText, 125), 2u);
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kText, 126), 4u);
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kText, 65535), 4u);
  ASSERT_EQ(klib::ws::encode_header(h, Opcode::kText, 1, false), 2u);
  EXPECT_EQ(h[0], 0x01);
  uint8_t c[4];
  ASSERT_EQ(klib::ws::encode_close(c, CloseCode::kProtocolError), 4u);
  EXPECT_EQ(Bytes(c, c + 4), (Bytes{0x88, 0x02, 0x03, 0xEA}));
  ASSERT_EQ(klib::ws::encode_close(c, CloseCode::kNone), 2u);
  EXPECT_EQ(Bytes(c, c + 2), (Bytes{0x88, 0x00}));
}

TEST(WebSocketFrames, FragmentsWithInterleavedControlFramesAndManyFramesPerRead) {
  // §5.4: "Hel" + "lo", with a ping between the fragments; then a binary message and a close.
  const Bytes stream = cat({client_frame(0x01, "Hel"), client_frame(0x89, "are you there"), client_frame(0x80, "lo"),
                            client_frame(0x82, std::string("\0\1\2\xff", 4)), client_frame(0x8A, "pong"),
                            client_frame(0x88,
                                         "\x03\xe8"
                                         "bye")});
  for (size_t piece : {0, 1, 3, 7}) {
    const auto seen = run(stream, piece);
    ASSERT_EQ(seen.size(), 5u) << piece;
    EXPECT_EQ(seen[0].kind, EventKind::kPing);
    EXPECT_EQ(seen[0].payload, "are you there");
    EXPECT_EQ(seen[1].kind, EventKind::kMessage);
    EXPECT_EQ(seen[1].payload, "Hello");
    EXPECT_EQ(seen[1].opcode, Opcode::kText);
    EXPECT_EQ(seen[2].opcode, Opcode::kBinary);
    EXPECT_EQ(seen[2].payload, std::string("\0\1\2\xff", 4));
    EXPECT_EQ(seen[3].kind, EventKind::kPong);
    EXPECT_EQ(seen[4].kind, EventKind::kClose);
    EXPECT_EQ(seen[4].code, CloseCode::kNormal);
    EXPECT_EQ(seen[4].payload, "bye");
  }
}

TEST(WebSocketFrames, LongLengthsAndEmptyFrames) {
  std::string big(70000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
  const Bytes frame = client_frame(0x82, big);
  EXPECT_EQ(frame[1], 0xFF);  // masked, 64-bit length
  for (size_t piece : {0, 1000, 65536}) {
    const auto seen = run(frame, piece);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].payload, big);
  }
  const auto mid = run(client_frame(0x81, std::string(300, 'm')));
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].payload.size(), 300u);
  const auto empty = run(cat({client_frame(0x81, ""), client_frame(0x89, ""), client_frame(0x88, "")}));
  ASSERT_EQ(empty.size(), 3u);
  EXPECT_EQ(empty[0].payload, "");
  EXPECT_EQ(empty[1].kind, EventKind::kPing);
  EXPECT_EQ(empty[2].kind, EventKind::kClose);
  EXPECT_EQ(empty[2].code, CloseCode::kNone);
  // A 64-bit length may encode a small payload (the minimal form binds senders only).
  const Bytes loose = {0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 'k'};
  const auto l = run(loose);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].payload, "k");
}

CloseCode error_of(const Bytes& bytes, uint64_t max_message = 1 << 20) {
  const auto seen = run(bytes, 0, max_message);
  if (seen.empty() || seen.back().kind != EventKind::kError) return CloseCode::kNone;
  return seen.back().code;
}

TEST(WebSocketFrames, ProtocolErrorsClose1002) {
  const std::pair<const char*, Bytes> cases[] = {
      {"unmasked text", client_frame(0x81, "Hello", false)},
      {"unmasked close", client_frame(0x88, "", false)},
      {"RSV1", client_frame(0xC1, "x")},
      {"RSV3", client_frame(0x91, "x")},
      {"opcode 3", client_frame(0x83, "x")},
      {"opcode 7", client_frame(0x87, "x")},
      {"opcode 0xB", client_frame(0x8B, "x")},
      {"opcode 0xF", client_frame(0x8F, "x")},
      {"fragmented ping", client_frame(0x09, "x")},
      {"ping of 126 bytes", client_frame(0x89, std::string(126, 'p'))},
      {"continuation first", client_frame(0x80, "x")},
      {"text inside a fragmented message", cat({client_frame(0x01, "a"), client_frame(0x81, "b")})},
      {"close with a 1-byte body", client_frame(0x88, "\x03")},
      {"close code 1005", client_frame(0x88, "\x03\xed")},
      {"close code 999", client_frame(0x88, "\x03\xe7")},
      {"close code 5000", client_frame(0x88, "\x13\x88")},
      {"64-bit length with the top bit", Bytes{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}},
  };
  for (const auto& [name, bytes] : cases) EXPECT_EQ(error_of(bytes), CloseCode::kProtocolError) << name;
}

TEST(WebSocketFrames, OversizedMessagesClose1009BeforeThePayloadArrives) {
  // Only the header of a frame claiming 2^40 bytes: refused at once, not waited for.
  const Bytes huge = {0x82, 0xFF, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  EXPECT_EQ(error_of(huge), CloseCode::kMessageTooBig);
  EXPECT_EQ(error_of(client_frame(0x82, std::string(101, 'x')), 100), CloseCode::kMessageTooBig);
  EXPECT_EQ(error_of(client_frame(0x82, std::string(100, 'x')), 100), CloseCode::kNone);
  // Fragments count together.
  EXPECT_EQ(error_of(cat({client_frame(0x02, std::string(60, 'x')), client_frame(0x80, std::string(41, 'y'))}), 100),
            CloseCode::kMessageTooBig);
}

TEST(WebSocketFrames, TextMustBeUtf8) {
  EXPECT_EQ(error_of(client_frame(0x81, "\xff")), CloseCode::kInvalidPayload);
  EXPECT_EQ(error_of(client_frame(0x88, "\x03\xe8\xc0\x80")), CloseCode::kInvalidPayload);  // close reason
  // A character split across fragments is fine: the message is judged whole.
  const auto seen = run(cat({client_frame(0x01, "\xe2\x82"), client_frame(0x80, "\xac")}));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].payload, "\xe2\x82\xac");
  // Binary is not checked.
  EXPECT_EQ(error_of(client_frame(0x82, "\xff")), CloseCode::kNone);
}

TEST(WebSocketFrames, ErrorsAreSticky) {
  klib::ws::Receiver rx(100);
  Bytes buf = cat({client_frame(0x81, "x", false), client_frame(0x81, "fine")});
  size_t len = buf.size();
  EXPECT_EQ(rx.poll(buf.data(), &len).kind, EventKind::kError);
  EXPECT_TRUE(rx.failed());
  const auto again = rx.poll(buf.data(), &len);
  EXPECT_EQ(again.kind, EventKind::kError);
  EXPECT_EQ(again.close_code, CloseCode::kProtocolError);
}

TEST(WebSocketFrames, Utf8Validator) {
  auto ok = [](const std::string& s) {
    return klib::ws::valid_utf8(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_TRUE(ok(""));
  EXPECT_TRUE(ok("plain ascii"));
  EXPECT_TRUE(ok("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(ok("\xf4\x8f\xbf\xbf"));                      // U+10FFFF
  EXPECT_FALSE(ok("\xc0\x80"));                             // overlong NUL
  EXPECT_FALSE(ok("\xe0\x80\xaf"));                         // overlong '/'
  EXPECT_FALSE(ok("\xed\xa0\x80"));                         // a surrogate
  EXPECT_FALSE(ok("\xf4\x90\x80\x80"));                     // above U+10FFFF
  EXPECT_FALSE(ok("\xe2\x82"));                             // truncated
  EXPECT_FALSE(ok("\x80"));                                 // a lone continuation byte
  EXPECT_FALSE(ok("\xf8\x88\x80\x80\x80"));                 // 5-byte form
  EXPECT_FALSE(ok("\xc3\x28"));                             // bad continuation
}

// Random bytes (biased towards masked frames with small lengths) and random requests: every
// outcome is an event, an error or a request for more, within the buffer (run under ASan too).
TEST(WebSocketFrames, RandomInputGivesDefinedResults) {
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&state] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 3000; ++round) {
    Bytes bytes(next() % 300);
    for (uint8_t& b : bytes) b = uint8_t(next());
    if (bytes.size() > 1 && round % 2 == 0) bytes[1] = uint8_t(0x80 | (bytes[1] % 130));
    for (const auto& e : run(bytes, 1 + next() % 40, 1 + next() % 400)) {
      EXPECT_LE(e.payload.size(), 400u);
      if (e.kind == EventKind::kError) {
        EXPECT_NE(e.code, CloseCode::kNone);
      }
    }
    std::string req(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (round % 3 == 0) req = std::string(kRfcRequest).substr(0, next() % sizeof kRfcRequest) + req + "\r\n\r\n";
    klib::ws::Handshake hs;
    const HandshakeStatus st = klib::ws::parse_handshake(req.data(), req.size(), &hs);
    if (st != HandshakeStatus::kIncomplete) {
      EXPECT_LE(hs.request_length, req.size());
    }
  }
}

TEST(WebSocketFrames, CloseCodes) {
  for (uint16_t c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    EXPECT_TRUE(klib::ws::valid_close_code(c)) << c;
  }
  for (uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    EXPECT_FALSE(klib::ws::valid_close_code(c)) << c;
  }
}

}  // namespace
