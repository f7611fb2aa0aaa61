#include "serialization/json_reader.h"

#include <limits>

#include "core/error.h"

namespace vt::safetensors {

void JsonReader::error(const std::string& message) const {
  fail(VT_ERROR_VALUE, "safetensors: invalid header at byte ", pos_, " of the JSON: ", message);
}

void JsonReader::skip_ws() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++pos_;
  }
}

char JsonReader::peek() {
  skip_ws();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

bool JsonReader::consume(char c) {
  if (peek() != c || pos_ >= text_.size()) return false;
  ++pos_;
  return true;
}

void JsonReader::expect(char c, const char* what) {
  if (!consume(c)) {
    if (pos_ >= text_.size()) error(std::string("the text ends where ") + what + " was expected");
    error(std::string("expected ") + what);
  }
}

bool JsonReader::consume_null() {
  if (peek() != 'n' || text_.substr(pos_, 4) != "null") return false;
  pos_ += 4;
  return true;
}

void JsonReader::expect_end() {
  skip_ws();
  if (pos_ != text_.size()) error("unexpected text after the top-level object");
}

uint32_t JsonReader::read_hex4() {
  if (text_.size() - pos_ < 4) error("truncated \\u escape");
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    char c = text_[pos_++];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
    else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
    else error("invalid hex digit in a \\u escape");
  }
  return v;
}

namespace {

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

}  // namespace

// Copies one multi-byte UTF-8 sequence after checking it is well formed (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
void JsonReader::append_utf8_sequence(std::string& out) {
  auto byte = [&](size_t i) { return uint8_t(text_[pos_ + i]); };
  uint8_t lead = byte(0);
  size_t len = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) len = 2;
  else if (lead == 0xE0) len = 3, lo = 0xA0;
  else if (lead >= 0xE1 && lead <= 0xEC) len = 3;
  else if (lead == 0xED) len = 3, hi = 0x9F;
  else if (lead >= 0xEE && lead <= 0xEF) len = 3;
  else if (lead == 0xF0) len = 4, lo = 0x90;
  else if (lead >= 0xF1 && lead <= 0xF3) len = 4;
  else if (lead == 0xF4) len = 4, hi = 0x8F;
  else error("invalid UTF-8 in a string");
  if (text_.size() - pos_ < len) error("truncated UTF-8 sequence in a string");
  if (byte(1) < lo || byte(1) > hi) error("invalid UTF-8 in a string");
  for (size_t i = 2; i < len; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) error("invalid UTF-8 in a string");
  out.append(text_.substr(pos_, len));
  pos_ += len;
}

std::string JsonReader::read_string(const char* what) {
  if (peek() != '"') error(std::string("expected a string for ") + what);
  ++pos_;
  std::string out;
  while (true) {
    if (pos_ >= text_.size()) error(std::string("unterminated string for ") + what);
    uint8_t c = uint8_t(text_[pos_]);
    if (c == '"') { ++pos_; return out; }
    if (c < 0x20) error("control character inside a string");
    if (c >= 0x80) { append_utf8_sequence(out); continue; }
    ++pos_;
    if (c != '\\') { out += char(c); continue; }
    if (pos_ >= text_.size()) error("truncated escape in a string");
    char e = text_[pos_++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = read_hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) error("lone low surrogate in a \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (text_.substr(pos_, 2) != "\\u") error("lone high surrogate in a \\u escape");
          pos_ += 2;
          uint32_t low = read_hex4();
          if (low < 0xDC00 || low > 0xDFFF) error("lone high surrogate in a \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        put_utf8(out, cp);
        break;
      }
      default: error("invalid escape in a string");
    }
  }
}

int64_t JsonReader::read_index(const char* what) {
  char c = peek();
  if (c == '-') error(std::string(what) + " must be a non-negative integer");
  if (c < '0' || c > '9') error(std::string("expected an integer for ") + what);
  if (c == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
    error("a number with a leading zero is not JSON");
  int64_t v = 0;
  while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
    int digit = text_[pos_] - '0';
    if (v > (std::numeric_limits<int64_t>::max() - digit) / 10)
      error(std::string(what) + " is out of range (larger than 2^63 - 1)");
    v = v * 10 + digit;
    ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
    error(std::string(what) + " must be an integer");
  return v;
}

void append_json_string(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    uint8_t c = uint8_t(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace vt::safetensors
