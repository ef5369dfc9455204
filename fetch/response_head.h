#ifndef CLIENTREG_FETCH_RESPONSE_HEAD_H_
#define CLIENTREG_FETCH_RESPONSE_HEAD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace clientreg::fetch {

// What the fetcher reads from the head of the final response; values are as received, surrounding space trimmed.
struct ResponseHead {
  int status = 0;
  std::string content_type;
  std::string content_encoding;
  std::string cache_control;  // every occurrence, joined with ", " (RFC 9110 §5.3)
  std::string expires;        // the last occurrence of each of these
  std::string date;
  std::string age;
  std::optional<uint64_t> content_length;
};

// Builds a ResponseHead from the header lines libcurl hands over one at a time (the status line, each field line,
// then the empty line). Interim 1xx responses are dropped, and lines after the final head (trailers) are ignored.
class ResponseHeadReader {
 public:
  // Takes one line, with or without its line ending. Returns true once the final response's head is complete.
  bool Add(std::string_view line);
  const ResponseHead& head() const { return head_; }

 private:
  ResponseHead head_;
  bool complete_ = false;
};

// Whether a Content-Type value names JSON: application/json or application/<subtype>+json (RFC 6839), any case,
// parameters allowed.
bool IsJsonContentType(std::string_view value);

}  // namespace clientreg::fetch

#endif  // CLIENTREG_FETCH_RESPONSE_HEAD_H_
