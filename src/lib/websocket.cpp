// RFC 6455 server side: the opening handshake and the frame receiver (see websocket.h).
#include "websocket.h"

#include "base64.h"
#include "sha1.h"

namespace klib::ws {
namespace {

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool equals_nocase(const char* a, size_t n, const char* b) {
  size_t i = 0;
  for (; i < n && b[i] != '\0'; ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return i == n && b[i] == '\0';
}

constexpr bool is_space(char c) { return c == ' ' || c == '\t'; }

// RFC 7230 §3.2.6 tchar: what a header name is made of.
constexpr bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (const char* p = "!#$%&'*+-.^_`|~"; *p != '\0'; ++p) {
    if (c == *p) return true;
  }
  return false;
}

// Whether the comma-separated list value[0..n) holds `token` (case-insensitive, RFC 7230 §7).
bool has_token(const char* value, size_t n, const char* token) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (is_space(value[i]) || value[i] == ',')) ++i;
    size_t end = i;
    while (end < n && value[end] != ',') ++end;
    size_t last = end;
    while (last > i && is_space(value[last - 1])) --last;
    if (last > i && equals_nocase(value + i, last - i, token)) return true;
    i = end;
  }
  return false;
}

size_t append(char* out, size_t at, const char* text) {
  while (*text != '\0') out[at++] = *text++;
  return at;
}

uint16_t load16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

}  // namespace

HandshakeStatus parse_handshake(const char* text, size_t length, Handshake* out) {
  size_t end = 0;  // the request ends with an empty line (RFC 7230 §3)
  for (size_t i = 0; i + 4 <= length; ++i) {
    if (text[i] == '\r' && text[i + 1] == '\n' && text[i + 2] == '\r' && text[i + 3] == '\n') {
      end = i + 4;
      break;
    }
  }
  if (end == 0) return HandshakeStatus::kIncomplete;
  *out = Handshake{};
  out->request_length = end;

  // Request line: "GET <Request-URI> HTTP/1.1" (§4.2.1 item 1).
  size_t line_end = 0;
  while (text[line_end] != '\r') ++line_end;  // stops at the empty line at the latest
  if (text[line_end + 1] != '\n' || line_end < 4 || text[0] != 'G' || text[1] != 'E' || text[2] != 'T' ||
      text[3] != ' ') {
    return HandshakeStatus::kBadRequest;
  }
  size_t p = 4;
  const size_t path_start = p;
  while (p < line_end && text[p] != ' ') ++p;
  if (p == path_start || p == line_end || !equals_nocase(text + p + 1, line_end - p - 1, "HTTP/1.1")) {
    return HandshakeStatus::kBadRequest;
  }
  out->path = text + path_start;
  out->path_length = p - path_start;

  bool host = false, upgrade = false, connection = false, key = false, version = false, version13 = false;
  bool duplicate = false, bad_key = false;
  for (size_t line = line_end + 2; line + 2 < end; line = line_end + 2) {
    line_end = line;
    while (text[line_end] != '\r') ++line_end;
    if (text[line_end + 1] != '\n') return HandshakeStatus::kBadRequest;  // a bare CR
    size_t colon = line;
    while (colon < line_end && is_token_char(text[colon])) ++colon;
    if (colon == line_end || colon == line || text[colon] != ':') return HandshakeStatus::kBadRequest;
    size_t v = colon + 1, v_end = line_end;
    while (v < v_end && is_space(text[v])) ++v;
    while (v_end > v && is_space(text[v_end - 1])) --v_end;
    const char* name = text + line;
    const size_t name_length = colon - line;
    const char* value = text + v;
    const size_t value_length = v_end - v;
    if (equals_nocase(name, name_length, "Host")) {
      duplicate |= host;
      host = true;
    } else if (equals_nocase(name, name_length, "Upgrade")) {
      upgrade |= has_token(value, value_length, "websocket");
    } else if (equals_nocase(name, name_length, "Connection")) {
      connection |= has_token(value, value_length, "Upgrade");
    } else if (equals_nocase(name, name_length, "Sec-WebSocket-Key")) {
      duplicate |= key;
      key = true;
      uint8_t nonce[16];
      size_t n = 0;
      if (value_length != sizeof out->key || !base64_decode(value, value_length, nonce, sizeof nonce, &n) ||
          n != sizeof nonce) {
        bad_key = true;
      } else {
        for (size_t i = 0; i < value_length; ++i) out->key[i] = value[i];
      }
    } else if (equals_nocase(name, name_length, "Sec-WebSocket-Version")) {
      duplicate |= version;
      version = true;
      version13 = value_length == 2 && value[0] == '1' && value[1] == '3';
    }
  }
  if (!host || !upgrade || !connection || !key || bad_key || !version || duplicate) {
    return HandshakeStatus::kBadRequest;
  }
  return version13 ? HandshakeStatus::kOk : HandshakeStatus::kBadVersion;
}

void accept_key(const char* key, size_t key_length, char out[28]) {
  Sha1 h;
  h.update(key, key_length);
  h.update(kAcceptGuid, sizeof kAcceptGuid - 1);
  uint8_t digest[Sha1::kDigestSize];
  h.finish(digest);
  base64_encode(digest, sizeof digest, out);
}

size_t handshake_reply(const Handshake& hs, char out[kMaxReplySize]) {
  size_t n = append(out, 0,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: ");
  accept_key(hs.key, sizeof hs.key, out + n);
  n += 28;
  return append(out, n, "\r\n\r\n");
}

size_t handshake_error_reply(HandshakeStatus status, char out[kMaxReplySize]) {
  if (status == HandshakeStatus::kBadVersion) {
    return append(out, 0,
                  "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n"
                  "Connection: close\r\n\r\n");
  }
  return append(out, 0, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

ParseStatus parse_frame_header(const uint8_t* data, size_t length, FrameHeader* out) {
  if (length < 2) return ParseStatus::kIncomplete;
  FrameHeader h;
  h.fin = (data[0] & 0x80) != 0;
  h.rsv = uint8_t(data[0] >> 4 & 7);
  h.opcode = uint8_t(data[0] & 0x0F);
  h.masked = (data[1] & 0x80) != 0;
  const uint8_t len7 = data[1] & 0x7F;
  size_t at = 2;
  if (len7 == 126) {
    if (length < 4) return ParseStatus::kIncomplete;
    h.payload_length = load16(data + 2);
    at = 4;
  } else if (len7 == 127) {
    if (length < 10) return ParseStatus::kIncomplete;
    for (int i = 0; i < 8; ++i) h.payload_length = h.payload_length << 8 | data[2 + i];
    if (h.payload_length >> 63 != 0) return ParseStatus::kError;  // §5.2: the top bit MUST be 0
    at = 10;
  } else {
    h.payload_length = len7;
  }
  if (h.masked) {
    if (length < at + 4) return ParseStatus::kIncomplete;
    for (int i = 0; i < 4; ++i) h.mask[i] = data[at + i];
    at += 4;
  }
  h.header_length = at;
  *out = h;
  return ParseStatus::kOk;
}

void apply_mask(uint8_t* payload, size_t length, const uint8_t mask[4], uint64_t offset) {
  for (size_t i = 0; i < length; ++i) payload[i] ^= mask[(offset + i) & 3];
}

size_t encode_header(uint8_t out[kMaxHeaderSize], Opcode opcode, uint64_t payload_length, bool fin) {
  out[0] = uint8_t((fin ? 0x80 : 0) | uint8_t(opcode));
  if (payload_length < 126) {
    out[1] = uint8_t(payload_length);
    return 2;
  }
  if (payload_length <= 0xFFFF) {
    out[1] = 126;
    out[2] = uint8_t(payload_length >> 8);
    out[3] = uint8_t(payload_length);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = uint8_t(payload_length >> (56 - 8 * i));
  return 10;
}

size_t encode_close(uint8_t out[4], CloseCode code) {
  if (code == CloseCode::kNone) return encode_header(out, Opcode::kClose, 0);
  const size_t n = encode_header(out, Opcode::kClose, 2);
  out[n] = uint8_t(uint16_t(code) >> 8);
  out[n + 1] = uint8_t(code);
  return n + 2;
}

bool valid_close_code(uint16_t code) {
  // 1004-1006 and 1015 are reserved and never sent; 1012-1014 are IANA-registered since the RFC.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

bool valid_utf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // a continuation byte first, or 0xF8..0xFF
    }
    if (n - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

Event Receiver::fail(CloseCode code) {
  error_ = code;
  Event e;
  e.kind = EventKind::kError;
  e.close_code = code;
  return e;
}

Event Receiver::poll(uint8_t* buf, size_t* len) {
  if (error_ != CloseCode::kNone) return fail(error_);
  if (drop_length_ != 0) {  // the previous event's bytes
    __builtin_memmove(buf + drop_at_, buf + drop_at_ + drop_length_, *len - drop_at_ - drop_length_);
    *len -= drop_length_;
    drop_length_ = 0;
  }
  for (;;) {
    uint8_t* frame = buf + assembled_;
    const size_t available = *len - assembled_;
    FrameHeader h;
    const ParseStatus status = parse_frame_header(frame, available, &h);
    if (status == ParseStatus::kError) return fail(CloseCode::kProtocolError);
    if (status == ParseStatus::kIncomplete) {
      Event e;
      e.needed = assembled_ + kMaxHeaderSize;
      return e;
    }
    // §5.2: RSV bits need a negotiated extension (none is); §5.1: a client masks every frame.
    if (h.rsv != 0 || !h.masked) return fail(CloseCode::kProtocolError);
    const bool control = (h.opcode & 8) != 0;
    if (control) {
      // §5.5: control frames are 8, 9, 10, never fragmented, at most 125 bytes.
      if (h.opcode > uint8_t(Opcode::kPong) || !h.fin || h.payload_length > kMaxControlPayload) {
        return fail(CloseCode::kProtocolError);
      }
    } else {
      // §5.4: a continuation only inside a fragmented message, a new message only outside one.
      if (h.opcode > uint8_t(Opcode::kBinary) || (h.opcode == uint8_t(Opcode::kContinuation)) != in_message_) {
        return fail(CloseCode::kProtocolError);
      }
      if (h.payload_length > max_message_ - assembled_) return fail(CloseCode::kMessageTooBig);
    }
    const size_t total = h.header_length + size_t(h.payload_length);
    if (available < total) {
      Event e;
      e.needed = assembled_ + total;
      return e;
    }
    uint8_t* payload = frame + h.header_length;
    const size_t plen = size_t(h.payload_length);
    apply_mask(payload, plen, h.mask);
    if (control) {
      Event e;
      e.payload = payload;
      e.length = plen;
      drop_at_ = assembled_;
      drop_length_ = total;
      if (h.opcode == uint8_t(Opcode::kPing)) {
        e.kind = EventKind::kPing;
      } else if (h.opcode == uint8_t(Opcode::kPong)) {
        e.kind = EventKind::kPong;
      } else {  // §5.5.1: no body, or a 2-byte code and a UTF-8 reason
        e.kind = EventKind::kClose;
        if (plen == 1 || (plen >= 2 && !valid_close_code(load16(payload)))) return fail(CloseCode::kProtocolError);
        if (plen >= 2) {
          e.close_code = CloseCode(load16(payload));
          e.payload = payload + 2;
          e.length = plen - 2;
          if (!valid_utf8(e.payload, e.length)) return fail(CloseCode::kInvalidPayload);
        }
      }
      return e;
    }
    // A data frame: its payload joins the message at buf[assembled_], over its own header.
    __builtin_memmove(frame, payload, available - h.header_length);
    *len -= h.header_length;
    if (!in_message_) message_opcode_ = Opcode(h.opcode);
    assembled_ += plen;
    in_message_ = !h.fin;
    if (in_message_) continue;
    if (message_opcode_ == Opcode::kText && !valid_utf8(buf, assembled_)) return fail(CloseCode::kInvalidPayload);
    Event e;
    e.kind = EventKind::kMessage;
    e.opcode = message_opcode_;
    e.payload = buf;
    e.length = assembled_;
    drop_at_ = 0;
    drop_length_ = assembled_;
    assembled_ = 0;
    return e;
  }
}

}  // namespace klib::ws
