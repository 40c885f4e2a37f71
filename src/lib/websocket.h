// The WebSocket protocol's server side (RFC 6455), portable and allocation-free: the opening
// handshake (§4.2), frames (§5.2), message reassembly (§5.4), control frames (§5.5) and the
// checks whose failure must close the connection (§7.1.7, status codes §7.4).
//
//   klib::ws::Handshake hs;                        // 1. the client's HTTP request
//   if (klib::ws::parse_handshake(req, n, &hs) == klib::ws::HandshakeStatus::kOk) {
//     char reply[klib::ws::kMaxReplySize];  send(reply, klib::ws::handshake_reply(hs, reply));
//   }
//   klib::ws::Receiver rx(kMaxMessage);             // 2. frames: append received bytes to buf,
//   for (klib::ws::Event e = rx.poll(buf, &len); e.kind != klib::ws::EventKind::kNeedMore;
//        e = rx.poll(buf, &len)) { ... }            //    then take events until it needs more
//   uint8_t h[klib::ws::kMaxHeaderSize];  n = klib::ws::encode_header(h, Opcode::kText, size);
#pragma once

#include <cstddef>
#include <cstdint>

namespace klib::ws {

// RFC 6455 §1.3: appended to Sec-WebSocket-Key before SHA-1.
inline constexpr char kAcceptGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// ---- Opening handshake (§4.2.1, §4.2.2) ------------------------------------------------------

enum class HandshakeStatus : uint8_t {
  kIncomplete,  // no empty line yet: read more (the caller bounds how much)
  kOk,          // a valid upgrade request
  kBadRequest,  // not a WebSocket upgrade: answer 400 and close
  kBadVersion,  // Sec-WebSocket-Version other than 13: answer 426 with the version (§4.4)
};

struct Handshake {
  size_t request_length = 0;   // bytes up to and including the empty line
  char key[24] = {};           // Sec-WebSocket-Key: base64 of 16 bytes (§4.2.1 item 5)
  const char* path = nullptr;  // Request-URI inside the caller's buffer (not terminated)
  size_t path_length = 0;
};

// Parses an HTTP/1.1 upgrade request in text[0..length): "GET <uri> HTTP/1.1", Host,
// Upgrade: websocket, Connection: ... Upgrade ..., a Sec-WebSocket-Key that decodes to 16 bytes
// and Sec-WebSocket-Version: 13 (header names and the two tokens case-insensitive, §4.2.1).
HandshakeStatus parse_handshake(const char* text, size_t length, Handshake* out);

// The 28 characters of Sec-WebSocket-Accept: base64(SHA-1(key + kAcceptGuid)) (§4.2.2 item 5.4).
void accept_key(const char* key, size_t key_length, char out[28]);

inline constexpr size_t kMaxReplySize = 160;
// Writes the 101 reply (Toro's exact header lines, toro-spec §3 WebSocketServer) and returns
// its length.
size_t handshake_reply(const Handshake& hs, char out[kMaxReplySize]);
// The reply to a failed handshake: 400, or 426 with Sec-WebSocket-Version: 13.
size_t handshake_error_reply(HandshakeStatus status, char out[kMaxReplySize]);

// ---- Frames (§5.2) ---------------------------------------------------------------------------

enum class Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// Status codes in Close frames (§7.4.1).
enum class CloseCode : uint16_t {
  kNone = 0,  // a Close frame without a body
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kInvalidPayload = 1007,  // text that is not UTF-8
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
};

inline constexpr size_t kMaxHeaderSize = 14;  // 2 + 8 (64-bit length) + 4 (mask)
inline constexpr size_t kMaxControlPayload = 125;

struct FrameHeader {
  bool fin = false;
  uint8_t rsv = 0;  // RSV1-3 (bits 6-4 of the first byte)
  uint8_t opcode = 0;
  bool masked = false;
  uint8_t mask[4] = {};
  uint64_t payload_length = 0;
  size_t header_length = 0;
};

enum class ParseStatus : uint8_t { kOk, kIncomplete, kError };

// Decodes the frame header at data[0..length) without judging it (no mask or opcode rules),
// except a 64-bit length with the top bit set, which §5.2 forbids (kError).
ParseStatus parse_frame_header(const uint8_t* data, size_t length, FrameHeader* out);

// XORs payload[0..length) with the mask, `offset` bytes into the payload (§5.3).
void apply_mask(uint8_t* payload, size_t length, const uint8_t mask[4], uint64_t offset = 0);

// Writes a server frame header (FIN set unless told, never masked: §5.1) and returns its size
// (2, 4 or 10 bytes).
size_t encode_header(uint8_t out[kMaxHeaderSize], Opcode opcode, uint64_t payload_length, bool fin = true);

// A whole Close frame (§5.5.1) with `code` (kNone: no body); returns its size (2 or 4 bytes).
size_t encode_close(uint8_t out[4], CloseCode code);

// Whether a received close code may appear on the wire (§7.4.1, §7.4.2): 1000-1003, 1007-1011,
// 3000-4999.
bool valid_close_code(uint16_t code);

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(const uint8_t* data, size_t length);

// ---- Receiving (server side) -----------------------------------------------------------------

enum class EventKind : uint8_t {
  kNeedMore,  // append more bytes; buffer capacity must reach `needed`
  kMessage,   // a complete text or binary message (fragments joined)
  kPing,
  kPong,
  kClose,  // the peer's Close: close_code (kNone if no body), reason in payload
  kError,  // the connection must fail (§7.1.7): send Close with close_code, then close
};

struct Event {
  EventKind kind = EventKind::kNeedMore;
  Opcode opcode = Opcode::kText;     // kMessage: kText or kBinary
  const uint8_t* payload = nullptr;  // unmasked, inside the caller's buffer, valid until the next poll
  size_t length = 0;
  CloseCode close_code = CloseCode::kNone;
  size_t needed = 0;  // kNeedMore: bytes the buffer must be able to hold for the next frame
};

// Turns the bytes a client sent into events, in place in the caller's buffer: the caller keeps
// buf[0..*len) (appending what arrives) and calls poll() until kNeedMore. poll() unmasks and
// moves data inside buf and lowers *len by what it consumed. Rules (§5.1-§5.5): client frames
// must be masked, RSV bits clear (no extension is negotiated), opcodes known, control frames
// unfragmented and at most 125 bytes, continuations only inside a fragmented message, a Close
// body 0 or >= 2 bytes with a valid code and UTF-8 reason, text UTF-8; a message longer than
// max_message gives kError with kMessageTooBig. After kError every poll returns that error.
class Receiver {
 public:
  explicit Receiver(uint64_t max_message) : max_message_(max_message) {}

  Event poll(uint8_t* buf, size_t* len);
  bool failed() const { return error_ != CloseCode::kNone; }

 private:
  Event fail(CloseCode code);

  uint64_t max_message_;
  size_t assembled_ = 0;  // buf[0..assembled_) holds the unmasked fragments of the current message
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::kText;
  size_t drop_at_ = 0;  // the bytes of the last event, removed at the start of the next poll
  size_t drop_length_ = 0;
  CloseCode error_ = CloseCode::kNone;
};

}  // namespace klib::ws
