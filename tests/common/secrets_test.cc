#include "common/secrets.h"

#include <set>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::common {
namespace {

TEST(SecretsTest, TokenIs256BitsOfBase64Url) {
  ASSERT_OK_AND_ASSIGN(const std::string token, RandomToken());
  EXPECT_EQ(token.size(), 43u);  // 32 bytes, base64url without padding
  for (const char c : token) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
  }
}

TEST(SecretsTest, TokensAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK_AND_ASSIGN(const std::string token, RandomToken());
    EXPECT_TRUE(seen.insert(token).second);
  }
}

TEST(SecretsTest, Base64UrlMatchesRfc4648Vectors) {
  // RFC 4648 §10 vectors, in the URL-safe alphabet without padding.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(SecretsTest, HmacSha256MatchesRfc4231TestCase2) {
  ASSERT_OK_AND_ASSIGN(const std::string mac, HmacSha256("Jefe", "what do ya want for nothing?"));
  EXPECT_EQ(Base64UrlEncode(mac), "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");
}

TEST(SecretsTest, Sha256MatchesFips180Vectors) {
  ASSERT_OK_AND_ASSIGN(const std::string abc, Sha256("abc"));
  EXPECT_EQ(absl::BytesToHexString(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_OK_AND_ASSIGN(const std::string empty, Sha256(""));
  EXPECT_EQ(absl::BytesToHexString(empty), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// HmacSha256 keeps a keyed context per thread: switching keys, repeating one, and other threads must not mix them up.
TEST(SecretsTest, HmacSha256KeepsKeysApartAcrossCallsAndThreads) {
  const std::string key1(20, '\x0b');  // RFC 4231 test case 1
  const std::string mac1 = "sDRMYdjbOFNcqK_OrwvxK4gdwgDJgz2nJuk3bC4yz_c";
  const std::string mac2 = "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM";
  const auto check = [&] {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(Base64UrlEncode(HmacSha256(key1, "Hi There").value()), mac1);
      EXPECT_EQ(Base64UrlEncode(HmacSha256(key1, "Hi There").value()), mac1);
      EXPECT_EQ(Base64UrlEncode(HmacSha256("Jefe", "what do ya want for nothing?").value()), mac2);
    }
  };
  check();
  std::thread other(check);
  other.join();
  // A key that is a prefix of the cached one is a different key.
  EXPECT_NE(HmacSha256("Jef", "what do ya want for nothing?").value(),
            HmacSha256("Jefe", "what do ya want for nothing?").value());
  EXPECT_EQ(HmacSha256("", "x").value().size(), 32u);
}

// RandomBytes serves small draws from a per-thread pool: sizes across its block boundary come out right, and no
// bytes are handed out twice.
TEST(SecretsTest, RandomBytesHasTheRightSizeAndNeverRepeats) {
  for (const std::size_t n : {0u, 1u, 16u, 1000u, 1023u, 1024u, 1025u, 5000u}) {
    ASSERT_OK_AND_ASSIGN(const std::string bytes, RandomBytes(n));
    EXPECT_EQ(bytes.size(), n);
  }
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_OK_AND_ASSIGN(const std::string bytes, RandomBytes(16));
    EXPECT_TRUE(seen.insert(bytes).second) << "repeated after " << i << " draws";
  }
}

TEST(SecretsTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(SecretsTest, ServerKeyIsCreatedOnceAndReadBack) {
  char dir_template[] = "/tmp/clientreg-key-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/server.key";
  ASSERT_OK_AND_ASSIGN(const std::string first, LoadOrCreateServerKey(path));
  EXPECT_EQ(first.size(), kServerKeyBytes);
  ASSERT_OK_AND_ASSIGN(const std::string second, LoadOrCreateServerKey(path));
  EXPECT_EQ(first, second);
  std::remove(path.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace clientreg::common
