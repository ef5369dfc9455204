#include "gateway/request_id.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace clientreg::gateway {
namespace {

TEST(RequestIdTest, AcceptsBoundedIdsOfTheAllowedCharacters) {
  EXPECT_TRUE(IsWellFormedRequestId("a"));
  EXPECT_TRUE(IsWellFormedRequestId("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(IsWellFormedRequestId("trace:span.1_A-Z"));
  EXPECT_TRUE(IsWellFormedRequestId(std::string(kMaxRequestIdLength, 'x')));
}

TEST(RequestIdTest, RefusesEmptyLongAndOtherCharacters) {
  EXPECT_FALSE(IsWellFormedRequestId(""));
  EXPECT_FALSE(IsWellFormedRequestId(std::string(kMaxRequestIdLength + 1, 'x')));
  for (const char* id : {"a b", "a\"b", "a\\b", "a/b", "a\nb", "a\rb", "a\tb", "a{b", "\xc3\xa9"}) {
    EXPECT_FALSE(IsWellFormedRequestId(id)) << id;
  }
  EXPECT_FALSE(IsWellFormedRequestId(std::string("a\0b", 3)));
}

TEST(RequestIdTest, NewIdsAreLowerHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ASSERT_TRUE(IsWellFormedRequestId(id));
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
  }
}

TEST(RequestIdTest, KeepsAWellFormedIdAndReplacesAnyOther) {
  EXPECT_EQ(RequestIdFor("abc-123"), "abc-123");
  const std::string replaced = RequestIdFor("not well formed");
  EXPECT_EQ(replaced.size(), 32u);
  EXPECT_NE(RequestIdFor(""), RequestIdFor(""));
}

}  // namespace
}  // namespace clientreg::gateway
