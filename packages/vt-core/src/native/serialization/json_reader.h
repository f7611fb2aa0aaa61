// A pull reader for the JSON of a safetensors header. The header is hostile input: the reader
// never reads past its end, validates UTF-8, refuses lone surrogates and out-of-range numbers,
// and reports the byte where the text stops being what the caller asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vt::safetensors {

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  // Skips JSON whitespace (space, tab, newline, carriage return).
  void skip_ws();
  // The next significant character, or '\0' at the end (never consumed).
  char peek();
  // Consumes c if it is the next significant character.
  bool consume(char c);
  // Consumes c or fails with "expected <what>".
  void expect(char c, const char* what);
  // A string value, unescaped to UTF-8.
  std::string read_string(const char* what);
  // A non-negative integer that fits int64 (no sign, fraction or exponent).
  int64_t read_index(const char* what);
  // The literal null.
  bool consume_null();
  // Fails unless only whitespace is left.
  void expect_end();

  size_t position() const { return pos_; }
  [[noreturn]] void error(const std::string& message) const;

 private:
  uint32_t read_hex4();
  void append_utf8_sequence(std::string& out);

  std::string_view text_;
  size_t pos_ = 0;
};

// Appends s as a JSON string literal, escaped exactly as the reference writer (serde_json) does:
// '"', '\\' and control characters only; other bytes, non-ASCII included, are copied.
void append_json_string(std::string& out, std::string_view s);

}  // namespace vt::safetensors
