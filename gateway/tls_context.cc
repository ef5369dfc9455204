#include "gateway/tls_context.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/ssl/context.hpp"
#include "common/logging.h"
#include "common/status_macros.h"

namespace clientreg::gateway {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" TLS 1.2 suites (https://wiki.mozilla.org/Security/Server_Side_TLS, version 5.7) minus the
// DHE ones: ECDHE key exchange and AEAD encryption only. TLS 1.3 suites are OpenSSL's default, all of them AEAD.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// Mozilla "intermediate" key exchange groups.
constexpr char kGroups[] = "X25519:P-256:P-384";
constexpr std::string_view kHttp11 = "http/1.1";

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The reason of the latest OpenSSL error on this thread, which clears the thread's queue: a stale entry would be
// blamed on the next call that fails.
std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

// An encrypted key would make OpenSSL's default callback prompt on the terminal; the gateway has none to ask.
int NoPassphrase(char*, int, int, void*) { return -1; }

// RFC 7301 §3.2: pick http/1.1 when the client offers it. Otherwise answer without ALPN rather than with the
// no_application_protocol alert: a client that offers only h2 may still speak HTTP/1.1.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  for (unsigned int i = 0; i < in_length;) {
    const unsigned int length = in[i];
    if (i + 1 + length > in_length) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), length) == kHttp11) {
      *out = in + i + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

absl::Status ConfigureProtocol(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return absl::InternalError(absl::StrCat("cannot limit TLS to 1.2 and 1.3: ", TakeOpenSslError()));
  }
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return absl::InternalError(absl::StrCat("cannot set the TLS 1.2 ciphers: ", TakeOpenSslError()));
  }
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return absl::InternalError(absl::StrCat("cannot set the TLS groups: ", TakeOpenSslError()));
  }
  // Renegotiation is a way to make the server do handshakes on demand, and compression leaks plaintext (CRIME).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // An idle keep-alive connection then holds no OpenSSL record buffers; with max_connections open that adds up.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx, &SelectAlpn, nullptr);
  SSL_CTX_set_default_passwd_cb(ctx, &NoPassphrase);
  return absl::OkStatus();
}

// The chain file's first certificate becomes the leaf, the others its chain, in file order. Returns the leaf.
absl::StatusOr<X509Ptr> UseCertificateChain(SSL_CTX* ctx, const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    const int error = errno;
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read certificate_chain_file ", path, ": ", std::strerror(error)));
  }
  X509Ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate_chain_file ", path, " holds no PEM certificate: ", TakeOpenSslError()));
  }
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate_chain_file ", path, ": the first certificate is unusable: ", TakeOpenSslError()));
  }
  while (X509* issuer = PEM_read_bio_X509(bio.get(), nullptr, &NoPassphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, issuer) != 1) {
      X509_free(issuer);
      return absl::InvalidArgumentError(
          absl::StrCat("certificate_chain_file ", path, ": cannot add a chain certificate: ", TakeOpenSslError()));
    }
  }
  // The loop ends at the end of the file (no further PEM block) or at a block that is not a certificate.
  const unsigned long code = ERR_peek_last_error();
  if (ERR_GET_LIB(code) != ERR_LIB_PEM || ERR_GET_REASON(code) != PEM_R_NO_START_LINE) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate_chain_file ", path, ": a certificate after the first does not parse: ", TakeOpenSslError()));
  }
  ERR_clear_error();
  return leaf;
}

absl::Status UsePrivateKey(SSL_CTX* ctx, const std::string& path, const std::string& chain_path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    const int error = errno;
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("cannot read private_key_file ", path, ": ", std::strerror(error)));
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("private_key_file ", path, " holds no unencrypted PEM private key: ", TakeOpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("private_key_file ", path,
                                                   " does not match the first certificate of certificate_chain_file ",
                                                   chain_path, ": ", TakeOpenSslError()));
  }
  return absl::OkStatus();
}

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string SerialText(const X509* certificate) {
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr);
  char* hex = serial != nullptr ? BN_bn2hex(serial) : nullptr;
  std::string text = hex != nullptr ? hex : "?";
  OPENSSL_free(hex);
  BN_free(serial);
  return text;
}

std::string NotAfterText(const X509* certificate) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &tm) != 1) return "?";
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

void LogCredentials(std::string_view event, const TlsServerCredentials& credentials, const std::string& chain_file) {
  common::Log(common::LogLevel::kInfo, event,
              {{"certificate_chain_file", chain_file},
               {"subject", credentials.subject},
               {"issuer", credentials.issuer},
               {"serial", credentials.serial},
               {"not_after", credentials.not_after}});
}

}  // namespace

absl::StatusOr<TlsServerCredentials> LoadTlsServerCredentials(const std::string& certificate_chain_file,
                                                              const std::string& private_key_file) {
  if (certificate_chain_file.empty()) return absl::InvalidArgumentError("certificate_chain_file is not set");
  if (private_key_file.empty()) return absl::InvalidArgumentError("private_key_file is not set");
  TlsServerCredentials credentials;
  try {
    credentials.context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot create a TLS context: ", e.what()));
  }
  SSL_CTX* ctx = credentials.context->native_handle();
  RETURN_IF_ERROR(ConfigureProtocol(ctx));
  ASSIGN_OR_RETURN(X509Ptr leaf, UseCertificateChain(ctx, certificate_chain_file));
  RETURN_IF_ERROR(UsePrivateKey(ctx, private_key_file, certificate_chain_file));
  credentials.subject = NameText(X509_get_subject_name(leaf.get()));
  credentials.issuer = NameText(X509_get_issuer_name(leaf.get()));
  credentials.serial = SerialText(leaf.get());
  credentials.not_after = NotAfterText(leaf.get());
  return credentials;
}

TlsContextHolder::TlsContextHolder(std::string certificate_chain_file, std::string private_key_file,
                                   std::shared_ptr<boost::asio::ssl::context> context)
    : certificate_chain_file_(std::move(certificate_chain_file)),
      private_key_file_(std::move(private_key_file)),
      current_(std::move(context)) {}

absl::StatusOr<std::unique_ptr<TlsContextHolder>> TlsContextHolder::Create(std::string certificate_chain_file,
                                                                           std::string private_key_file) {
  ASSIGN_OR_RETURN(TlsServerCredentials credentials,
                   LoadTlsServerCredentials(certificate_chain_file, private_key_file));
  LogCredentials("tls_certificate_loaded", credentials, certificate_chain_file);
  return std::unique_ptr<TlsContextHolder>(new TlsContextHolder(
      std::move(certificate_chain_file), std::move(private_key_file), std::move(credentials.context)));
}

std::shared_ptr<boost::asio::ssl::context> TlsContextHolder::Current() const {
  absl::MutexLock lock(&mutex_);
  return current_;
}

absl::Status TlsContextHolder::Reload() {
  // Loaded outside the lock: connections accepted meanwhile get the old pair without waiting on file reads.
  absl::StatusOr<TlsServerCredentials> credentials =
      LoadTlsServerCredentials(certificate_chain_file_, private_key_file_);
  if (!credentials.ok()) {
    common::Log(
        common::LogLevel::kError, "tls_reload_failed",
        {{"error", std::string(credentials.status().message())}, {"certificate_chain_file", certificate_chain_file_}});
    return credentials.status();
  }
  std::shared_ptr<boost::asio::ssl::context> previous;
  {
    absl::MutexLock lock(&mutex_);
    previous = std::exchange(current_, std::move(credentials->context));
  }
  // `previous` is freed here, outside the lock, unless open connections still hold it.
  LogCredentials("tls_certificate_reloaded", *credentials, certificate_chain_file_);
  return absl::OkStatus();
}

}  // namespace clientreg::gateway
