#include "tests/support/test_pki.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509_vfy.h"
#include "openssl/x509v3.h"

namespace clientreg::testing {
namespace {

std::unique_ptr<X509, decltype(&X509_free)> Parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return {cert, &X509_free};
}

// The verification error of `leaf` against `ca` as the only trust anchor (X509_V_OK when it verifies).
int Verify(const TestCertificate& leaf, const TestCertificate& ca) {
  auto leaf_cert = Parse(leaf.certificate_pem);
  auto ca_cert = Parse(ca.certificate_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_cert.get());
  X509_STORE_CTX* context = X509_STORE_CTX_new();
  X509_STORE_CTX_init(context, store, leaf_cert.get(), nullptr);
  const int result = X509_verify_cert(context) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(context);
  X509_STORE_CTX_free(context);
  X509_STORE_free(store);
  return result;
}

class TestPkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = ::testing::TempDir() + "clientreg-pki-XXXXXX";
    ASSERT_NE(mkdtemp(path.data()), nullptr);
    dir_ = path;
  }
  std::string dir_;
};

TEST_F(TestPkiTest, IssuesLeavesThatVerifyAgainstTheirCaOnly) {
  absl::StatusOr<TestPki> ca = TestPki::Create(dir_);
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<TestPki> other = TestPki::Create(dir_, "other CA", "other-ca");
  ASSERT_TRUE(other.ok()) << other.status();

  LeafOptions options;
  options.common_name = "gateway";
  options.dns_names = {"localhost"};
  options.ip_addresses = {"127.0.0.1"};
  options.uris = {"spiffe://example.org/gateway"};
  options.file_stem = "gateway";
  absl::StatusOr<TestCertificate> leaf = ca->Issue(options);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(Verify(*leaf, ca->ca()), X509_V_OK);
  EXPECT_NE(Verify(*leaf, other->ca()), X509_V_OK);

  auto cert = Parse(leaf->certificate_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "example.com", 0, 0, nullptr), 0);

  struct stat key_stat {};
  ASSERT_EQ(stat(leaf->private_key_file.c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  struct stat chain_stat {};
  ASSERT_EQ(stat(leaf->chain_file.c_str(), &chain_stat), 0);
  EXPECT_EQ(static_cast<std::size_t>(chain_stat.st_size),
            leaf->certificate_pem.size() + ca->ca().certificate_pem.size());
}

TEST_F(TestPkiTest, ExpiredLeafFailsVerification) {
  absl::StatusOr<TestPki> ca = TestPki::Create(dir_);
  ASSERT_TRUE(ca.ok()) << ca.status();
  LeafOptions options;
  options.common_name = "expired";
  options.not_before_seconds = -7200;
  options.not_after_seconds = -3600;
  options.file_stem = "expired";
  absl::StatusOr<TestCertificate> leaf = ca->Issue(options);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(Verify(*leaf, ca->ca()), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(TestPkiTest, LeavesOfOneCaHaveDistinctSerials) {
  absl::StatusOr<TestPki> ca = TestPki::Create(dir_);
  ASSERT_TRUE(ca.ok()) << ca.status();
  LeafOptions options;
  options.common_name = "a";
  options.file_stem = "a";
  absl::StatusOr<TestCertificate> a = ca->Issue(options);
  options.file_stem = "b";
  absl::StatusOr<TestCertificate> b = ca->Issue(options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(Parse(a->certificate_pem).get()),
                             X509_get0_serialNumber(Parse(b->certificate_pem).get())),
            0);
  EXPECT_FALSE(ca->Issue(LeafOptions{}).ok());  // no file_stem
}

}  // namespace
}  // namespace clientreg::testing
