#include "common/json_string.h"

#include <cstddef>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "simdjson.h"

namespace clientreg::common {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";

std::string Quoted(std::string_view value) {
  std::string out;
  AppendJsonString(out, value);
  return out;
}

std::string Replaced(std::string_view bytes) {
  std::string out;
  AppendJsonStringReplacingInvalidUtf8(out, bytes);
  return out;
}

// simdjson's DOM parser validates the whole literal, UTF-8 included: an oracle independent of the code under test.
::testing::AssertionResult IsJsonString(const std::string& json, std::string* decoded = nullptr) {
  static simdjson::dom::parser parser;
  std::string_view value;
  if (const simdjson::error_code error = parser.parse(json).get(value); error) {
    return ::testing::AssertionFailure() << simdjson::error_message(error) << " in " << json;
  }
  if (decoded != nullptr) *decoded = std::string(value);
  return ::testing::AssertionSuccess();
}

// AppendJsonString skips 8 bytes at a time when none needs an escape: every byte value, at every position around
// those 8-byte steps, must come out as the byte-by-byte rule says.
TEST(JsonStringTest, EscapesEveryByteAtEveryPosition) {
  const auto expected = [](std::string_view value) {
    std::string out = "\"";
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (u < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[u >> 4];
        out += kHex[u & 0xf];
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  for (int byte = 0; byte < 256; ++byte) {
    for (std::size_t position = 0; position < 20; ++position) {
      std::string value(20, 'a');
      value[position] = static_cast<char>(byte);
      std::string out = "prefix";
      AppendJsonString(out, value);
      ASSERT_EQ(out, "prefix" + expected(value)) << "byte " << byte << " at " << position;
      // Below 0x80 a byte is valid UTF-8 by itself, so the replacing variant must agree.
      if (byte < 0x80) {
        ASSERT_EQ(Replaced(value), expected(value)) << "byte " << byte << " at " << position;
      }
    }
  }
  EXPECT_EQ(Quoted(""), "\"\"");
  EXPECT_EQ(Replaced(""), "\"\"");
}

TEST(JsonStringTest, ValidUtf8IsCopiedUnchanged) {
  // One to four bytes, and the edges of each range: U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFD, U+FFFF,
  // U+10000, U+10FFFF, and U+2028 (valid in JSON, though not in JavaScript source).
  for (const std::string_view value :
       {"a", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xe2\x80\xa8",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e"}) {
    SCOPED_TRACE(value);
    const std::string padded = "0123456" + std::string(value) + "89abcdef";
    EXPECT_EQ(Replaced(value), Quoted(value));
    EXPECT_EQ(Replaced(padded), Quoted(padded));
    std::string decoded;
    ASSERT_TRUE(IsJsonString(Replaced(padded), &decoded));
    EXPECT_EQ(decoded, padded);
  }
}

// Each maximal subpart of an ill-formed sequence becomes one U+FFFD (Unicode §3.9, "U+FFFD Substitution of
// Maximal Subparts"); the first case is the standard's own example (Table 3-8).
TEST(JsonStringTest, EachMaximalInvalidSubpartBecomesOneReplacementCharacter) {
  const std::string r(kReplacement);
  const struct {
    std::string_view input;
    std::string expected;
  } cases[] = {
      {"a\xf1\x80\x80\xe1\x80\xc2"
       "b\x80"
       "c\x80\xbf"
       "d",
       "a" + r + r + r + "b" + r + "c" + r + r + "d"},
      {"\xff", r},
      {"\x80", r},
      {"\xc3", r},                          // truncated at the end
      {"\xc3(", r + "("},                   // lead byte without its continuation
      {"\xc0\x80", r + r},                  // overlong NUL
      {"\xc1\xbf", r + r},                  // overlong U+007F
      {"\xe0\x80\x80", r + r + r},          // overlong three-byte form
      {"\xe0\xa0", r},                      // truncated three-byte sequence: one subpart
      {"\xed\xa0\x80", r + r + r},          // surrogate U+D800
      {"\xed\xbf\xbf", r + r + r},          // surrogate U+DFFF
      {"\xf0\x80\x80\x80", r + r + r + r},  // overlong four-byte form
      {"\xf0\x9f\x98", r},                  // truncated four-byte sequence
      {"\xf4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
      {"\xf5\x80\x80\x80", r + r + r + r},  // lead byte that never starts a sequence
      {"\xe2\x82\"", r + "\\\""},           // an escape right after the bad bytes
      {std::string_view("\xc3\0", 2), r + "\\u0000"},
  };
  for (const auto& [input, expected] : cases) {
    SCOPED_TRACE(::testing::PrintToString(std::string(input)));
    EXPECT_EQ(Replaced(input), "\"" + expected + "\"");
    // Also where the 8-byte skip meets it from either side.
    const std::string padded = "01234567" + std::string(input) + "89abcdef";
    EXPECT_EQ(Replaced(padded), "\"01234567" + expected + "89abcdef\"");
  }
}

// Every two-byte string, and a spread of three- and four-byte ones around each range boundary, at several
// positions: the output is always valid JSON (hence valid UTF-8), and input that simdjson calls valid UTF-8 comes
// back unchanged.
TEST(JsonStringTest, ReplacingOutputIsAlwaysValidJson) {
  const auto check = [](const std::string& bytes) {
    const std::string json = Replaced(bytes);
    std::string decoded;
    ASSERT_TRUE(IsJsonString(json, &decoded)) << ::testing::PrintToString(bytes);
    if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
      ASSERT_EQ(decoded, bytes);
    } else {
      ASSERT_NE(decoded.find(kReplacement), std::string::npos) << ::testing::PrintToString(bytes);
    }
  };
  for (int first = 0; first < 256; ++first) {
    for (int second = 0; second < 256; ++second) {
      for (const std::size_t position : {0, 6, 7, 8}) {
        std::string bytes(12, 'x');
        bytes[position] = static_cast<char>(first);
        bytes[position + 1] = static_cast<char>(second);
        check(bytes);
      }
    }
  }
  const unsigned char continuations[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  for (int lead = 0xc0; lead < 0x100; ++lead) {
    for (const unsigned char b1 : continuations) {
      for (const unsigned char b2 : continuations) {
        for (const unsigned char b3 : continuations) {
          const char sequence[] = {static_cast<char>(lead), static_cast<char>(b1), static_cast<char>(b2),
                                   static_cast<char>(b3)};
          check(std::string(sequence, 4));
          check("abcdefg" + std::string(sequence, 4) + "hijklmnop");
        }
      }
    }
  }
}

}  // namespace
}  // namespace clientreg::common
