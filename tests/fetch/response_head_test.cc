#include "fetch/response_head.h"

#include <string>

#include "gtest/gtest.h"

namespace clientreg::fetch {
namespace {

TEST(IsJsonContentTypeTest, AcceptsJsonAndStructuredJsonInAnyCaseWithParameters) {
  for (const char* value :
       {"application/json", "Application/JSON", "application/json; charset=utf-8", " application/json ;charset=utf-8",
        "application/vnd.foo+json", "application/jwk-set+json", "application/ld+json; profile=x"}) {
    EXPECT_TRUE(IsJsonContentType(value)) << value;
  }
}

TEST(IsJsonContentTypeTest, RefusesEverythingElse) {
  for (const char* value :
       {"", "text/html", "text/json", "application/+json", "application/jsonp", "application/json-seq",
        "application/xml", "application/x json+json", "application/vnd.foo+json+xml", "json", "application/"}) {
    EXPECT_FALSE(IsJsonContentType(value)) << value;
  }
}

TEST(ResponseHeadReaderTest, ReadsTheFinalHeadAfterAnInterimOne) {
  ResponseHeadReader reader;
  EXPECT_FALSE(reader.Add("HTTP/1.1 100 Continue\r\n"));
  EXPECT_FALSE(reader.Add("Content-Type: text/plain\r\n"));
  EXPECT_FALSE(reader.Add("\r\n"));
  EXPECT_FALSE(reader.Add("HTTP/1.1 200 OK\r\n"));
  EXPECT_FALSE(reader.Add("content-type:  application/json \r\n"));
  EXPECT_FALSE(reader.Add("Cache-Control: max-age=60\r\n"));
  EXPECT_FALSE(reader.Add("CACHE-CONTROL: public\r\n"));
  EXPECT_FALSE(reader.Add("Age: 1\r\n"));
  EXPECT_FALSE(reader.Add("Age: 2\r\n"));
  EXPECT_FALSE(reader.Add("Content-Length: 42\r\n"));
  EXPECT_TRUE(reader.Add("\r\n"));
  // A trailer changes nothing.
  EXPECT_TRUE(reader.Add("Age: 99\r\n"));

  const ResponseHead& head = reader.head();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_type, "application/json");
  EXPECT_EQ(head.cache_control, "max-age=60, public");
  EXPECT_EQ(head.age, "2");
  ASSERT_TRUE(head.content_length.has_value());
  EXPECT_EQ(*head.content_length, 42u);
}

TEST(ResponseHeadReaderTest, LeavesAnUnreadableContentLengthUnset) {
  ResponseHeadReader reader;
  reader.Add("HTTP/1.1 200 OK\r\n");
  reader.Add("Content-Length: 12abc\r\n");
  EXPECT_TRUE(reader.Add("\r\n"));
  EXPECT_FALSE(reader.head().content_length.has_value());
}

}  // namespace
}  // namespace clientreg::fetch
