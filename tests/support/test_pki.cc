#include "tests/support/test_pki.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace clientreg::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

absl::Status OpenSslError(const char* step) { return absl::InternalError(absl::StrCat("OpenSSL failed to ", step)); }

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

absl::StatusOr<std::string> CertificatePem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("write a certificate");
  return BioText(bio.get());
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("write a private key");
  }
  return BioText(bio.get());
}

absl::Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", path));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", path));
    }
    written += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);
  return ::close(fd) == 0 ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot close ", path));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return OpenSslError(absl::StrCat("make extension ", OBJ_nid2sn(nid)).c_str());
  const int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  return added == 1 ? absl::OkStatus() : OpenSslError("add an extension");
}

// An unsigned certificate for `key` named `common_name`, issued by `issuer` (by itself when null).
absl::StatusOr<Cert> MakeCertificate(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                                     int64_t not_before_seconds, int64_t not_after_seconds) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return OpenSslError("make a certificate");
  // A random 64-bit serial: certificates of one test never collide, so a reload is visible by serial.
  BIGNUM* serial = BN_new();
  if (serial == nullptr || BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) == nullptr) {
    BN_free(serial);
    return OpenSslError("make a serial number");
  }
  BN_free(serial);
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(not_before_seconds)) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(not_after_seconds)) == nullptr) {
    return OpenSslError("set the validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("clientreg tests"),
                                 -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 -1, -1, 0) != 1) {
    return OpenSslError("set the subject");
  }
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("set the issuer");
  }
  if (absl::Status status = AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"); !status.ok()) {
    return status;
  }
  if (issuer != nullptr) {
    if (absl::Status status = AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
        !status.ok()) {
      return status;
    }
  }
  return cert;
}

absl::Status Sign(X509* cert, EVP_PKEY* key) {
  return X509_sign(cert, key, EVP_sha256()) > 0 ? absl::OkStatus() : OpenSslError("sign a certificate");
}

absl::StatusOr<Pkey> NewKey() {
  Pkey key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generate a P-256 key");
  return key;
}

}  // namespace

struct TestPki::Key {
  Pkey key;
  Cert cert;
};

TestPki::TestPki(std::string dir, TestCertificate ca, std::unique_ptr<Key> key)
    : dir_(std::move(dir)), ca_(std::move(ca)), key_(std::move(key)) {}
TestPki::TestPki(TestPki&&) noexcept = default;
TestPki& TestPki::operator=(TestPki&&) noexcept = default;
TestPki::~TestPki() = default;

absl::StatusOr<TestPki> TestPki::Create(const std::string& dir, const std::string& name, const std::string& file_stem) {
  absl::StatusOr<Pkey> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<Cert> cert = MakeCertificate(key->get(), name, nullptr, -3600, 86400);
  if (!cert.ok()) return cert.status();
  for (const auto& [nid, value] : {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"},
                                   {NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
    if (absl::Status status = AddExtension(cert->get(), cert->get(), nid, value); !status.ok()) return status;
  }
  if (absl::Status status = Sign(cert->get(), key->get()); !status.ok()) return status;

  TestCertificate ca;
  absl::StatusOr<std::string> cert_pem = CertificatePem(cert->get());
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!cert_pem.ok()) return cert_pem.status();
  if (!key_pem.ok()) return key_pem.status();
  ca.certificate_pem = *std::move(cert_pem);
  ca.private_key_pem = *std::move(key_pem);
  ca.certificate_file = absl::StrCat(dir, "/", file_stem, ".crt");
  ca.chain_file = ca.certificate_file;
  ca.private_key_file = absl::StrCat(dir, "/", file_stem, ".key");
  if (absl::Status status = WriteFile(ca.certificate_file, ca.certificate_pem, 0644); !status.ok()) return status;
  if (absl::Status status = WriteFile(ca.private_key_file, ca.private_key_pem, 0600); !status.ok()) return status;
  auto held = std::make_unique<Key>();
  held->key = *std::move(key);
  held->cert = *std::move(cert);
  return TestPki(dir, std::move(ca), std::move(held));
}

absl::StatusOr<TestCertificate> TestPki::Issue(const LeafOptions& options) const {
  if (options.file_stem.empty()) return absl::InvalidArgumentError("LeafOptions.file_stem is required");
  absl::StatusOr<Pkey> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<Cert> cert = MakeCertificate(key->get(), options.common_name, key_->cert.get(),
                                              options.not_before_seconds, options.not_after_seconds);
  if (!cert.ok()) return cert.status();
  std::string names;
  const auto add_names = [&names](const char* type, const std::vector<std::string>& values) {
    for (const std::string& value : values) absl::StrAppend(&names, names.empty() ? "" : ",", type, ":", value);
  };
  add_names("DNS", options.dns_names);
  add_names("IP", options.ip_addresses);
  add_names("URI", options.uris);
  std::string usages;
  if (options.server_auth) usages = "serverAuth";
  if (options.client_auth) absl::StrAppend(&usages, usages.empty() ? "" : ",", "clientAuth");
  std::vector<std::pair<int, std::string>> extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                                                         {NID_key_usage, "critical,digitalSignature"}};
  if (!names.empty()) extensions.emplace_back(NID_subject_alt_name, names);
  if (!usages.empty()) extensions.emplace_back(NID_ext_key_usage, usages);
  for (const auto& [nid, value] : extensions) {
    if (absl::Status status = AddExtension(cert->get(), key_->cert.get(), nid, value); !status.ok()) return status;
  }
  if (absl::Status status = Sign(cert->get(), key_->key.get()); !status.ok()) return status;

  TestCertificate leaf;
  absl::StatusOr<std::string> cert_pem = CertificatePem(cert->get());
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!cert_pem.ok()) return cert_pem.status();
  if (!key_pem.ok()) return key_pem.status();
  leaf.certificate_pem = *std::move(cert_pem);
  leaf.private_key_pem = *std::move(key_pem);
  const std::string stem = absl::StrCat(dir_, "/", options.file_stem);
  leaf.certificate_file = stem + ".crt";
  leaf.chain_file = stem + ".chain.pem";
  leaf.private_key_file = stem + ".key";
  if (absl::Status status = WriteFile(leaf.certificate_file, leaf.certificate_pem, 0644); !status.ok()) return status;
  if (absl::Status status = WriteFile(leaf.chain_file, leaf.certificate_pem + ca_.certificate_pem, 0644);
      !status.ok()) {
    return status;
  }
  if (absl::Status status = WriteFile(leaf.private_key_file, leaf.private_key_pem, 0600); !status.ok()) return status;
  return leaf;
}

}  // namespace clientreg::testing
