#ifndef CLIENTREG_TESTS_SUPPORT_TEST_PKI_H_
#define CLIENTREG_TESTS_SUPPORT_TEST_PKI_H_

// A certificate authority made for one test, with OpenSSL: an ECDSA P-256 CA and leaf certificates it signs, written
// as PEM files into a directory the test owns. For TLS tests only; nothing here is fit for real keys.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace clientreg::testing {

struct TestCertificate {
  std::string certificate_pem;   // the leaf alone
  std::string private_key_pem;   // PKCS#8
  std::string certificate_file;  // certificate_pem
  std::string chain_file;        // certificate_pem followed by the issuing CA's certificate
  std::string private_key_file;  // mode 0600
};

struct LeafOptions {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS
  std::vector<std::string> ip_addresses;  // subjectAltName IP, e.g. "127.0.0.1"
  std::vector<std::string> uris;          // subjectAltName URI, e.g. "spiffe://example.org/gateway"
  // Validity relative to now, in seconds: negative is in the past. An expired certificate: -7200, -3600.
  int64_t not_before_seconds = -3600;
  int64_t not_after_seconds = 86400;
  // Extended key usage: serverAuth, clientAuth, or both (the default).
  bool server_auth = true;
  bool client_auth = true;
  // Files are named <file_stem>.crt, <file_stem>.chain.pem and <file_stem>.key in the CA's directory. Required, and
  // unique per CA.
  std::string file_stem;
};

class TestPki {
 public:
  // A new self-signed CA named `name`, valid for a day, its certificate written to <dir>/<file_stem>.crt (and key
  // to <dir>/<file_stem>.key). `dir` must exist.
  static absl::StatusOr<TestPki> Create(const std::string& dir, const std::string& name = "clientreg test CA",
                                        const std::string& file_stem = "ca");

  TestPki(TestPki&&) noexcept;
  TestPki& operator=(TestPki&&) noexcept;
  ~TestPki();

  // The CA's own certificate (certificate_file is the trust anchor to configure; chain_file is the same file).
  const TestCertificate& ca() const { return ca_; }

  // A leaf certificate signed by this CA, with a fresh key.
  absl::StatusOr<TestCertificate> Issue(const LeafOptions& options) const;

 private:
  struct Key;
  TestPki(std::string dir, TestCertificate ca, std::unique_ptr<Key> key);

  std::string dir_;
  TestCertificate ca_;
  std::unique_ptr<Key> key_;  // the CA's private key and certificate, as OpenSSL objects
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_TEST_PKI_H_
