#include "common/tls_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clientreg::common {
namespace {

// Far above any certificate chain or token; keeps a path mistakenly naming a large file from being read whole.
constexpr std::size_t kMaxFileBytes = 1 << 20;

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::string text;
  text.resize(kMaxFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is larger than ", kMaxFileBytes, " bytes"));
  }
  return text;
}

// Refuses to decrypt: OpenSSL's default callback would prompt for a password on the terminal.
int NoPassword(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return -1; }

// Whether OpenSSL's PEM reader finds an object of the kind `read` reads in `text`. The parse is a check only: gRPC
// parses the text again itself. OpenSSL's error queue is emptied, so a failure here cannot surface in a later,
// unrelated TLS call on this thread.
template <typename Object>
bool PemHolds(const std::string& text, Object* (*read)(BIO*, Object**, pem_password_cb*, void*),
              void (*free)(Object*)) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (bio == nullptr) return false;
  Object* object = read(bio, nullptr, &NoPassword, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (object == nullptr) return false;
  free(object);
  return true;
}

absl::Status NameField(const absl::Status& status, std::string_view field) {
  if (status.ok()) return status;
  return absl::InvalidArgumentError(
      absl::StrCat(absl::string_view(field.data(), field.size()), ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::string> ReadPemCertificates(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  if (!PemHolds(*text, &PEM_read_bio_X509, &X509_free)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " holds no PEM certificate"));
  }
  return text;
}

absl::StatusOr<std::string> ReadPemPrivateKey(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  // gRPC takes no password either.
  if (!PemHolds(*text, &PEM_read_bio_PrivateKey, &EVP_PKEY_free)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " holds no unencrypted PEM private key"));
  }
  return text;
}

absl::Status CheckPemCertificatesFile(std::string_view field, const std::string& path) {
  return NameField(ReadPemCertificates(path).status(), field);
}

absl::Status CheckPemPrivateKeyFile(std::string_view field, const std::string& path) {
  return NameField(ReadPemPrivateKey(path).status(), field);
}

absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  std::string token = *std::move(text);
  // `echo "$TOKEN" > file` and editors add a line end; the credential is what precedes it.
  if (!token.empty() && token.back() == '\n') token.pop_back();
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.empty()) return absl::FailedPreconditionError(absl::StrCat(path, " holds no bearer credential"));
  for (const char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " must hold the bearer credential alone on one line (visible ASCII, no spaces)"));
    }
  }
  return token;
}

}  // namespace clientreg::common
