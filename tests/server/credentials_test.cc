#include "server/credentials.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

TEST(CredentialsTest, SecretExpiry) {
  EXPECT_EQ(SecretExpiresAt(1'700'000'000, 0), 0);
  EXPECT_EQ(SecretExpiresAt(1'700'000'000, 3600), 1'700'003'600);
}

TEST(CredentialsTest, OnlySecretMethodsUseASecret) {
  EXPECT_TRUE(UsesClientSecret("client_secret_basic"));
  EXPECT_TRUE(UsesClientSecret("client_secret_post"));
  for (const char* method : {"none", "private_key_jwt", "client_secret_jwt", ""}) {
    EXPECT_FALSE(UsesClientSecret(method)) << method;
  }
}

TEST(CredentialsTest, IssuesDistinctTokensWithTheirDigests) {
  const std::string key(32, 'k');
  ASSERT_OK_AND_ASSIGN(const IssuedCredential a, IssueCredential(key));
  ASSERT_OK_AND_ASSIGN(const IssuedCredential b, IssueCredential(key));
  EXPECT_EQ(a.plaintext.size(), 43u);
  EXPECT_NE(a.plaintext, b.plaintext);
  EXPECT_EQ(a.digest.size(), 32u);
  EXPECT_NE(a.digest, b.digest);
  EXPECT_NE(a.digest, a.plaintext);
}

}  // namespace
}  // namespace clientreg::server
