#include "common/secrets.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clientreg::common {

namespace {

// Per-thread CSPRNG output drawn ahead in blocks. Each RAND_bytes call costs far more than the bytes it returns
// (OpenSSL 3 runs fresh additional input (pid, thread, time) through its DRBG's derivation function every call), and
// a registration draws three small values. The bytes are the DRBG's, unchanged; each is handed out once and wiped
// from the pool as it leaves. Not fork-safe, like any buffered randomness: no clientreg process forks.
class RandomPool {
 public:
  RandomPool() = default;
  ~RandomPool() { OPENSSL_cleanse(bytes_, sizeof(bytes_)); }
  RandomPool(const RandomPool&) = delete;
  RandomPool& operator=(const RandomPool&) = delete;

  // Fills `out` with `n` random bytes; false if the CSPRNG fails.
  bool Take(unsigned char* out, std::size_t n) {
    if (n > sizeof(bytes_)) return RAND_bytes(out, static_cast<int>(n)) == 1;
    if (sizeof(bytes_) - next_ < n) {
      if (RAND_bytes(bytes_, static_cast<int>(sizeof(bytes_))) != 1) return false;
      next_ = 0;
    }
    std::memcpy(out, bytes_ + next_, n);
    OPENSSL_cleanse(bytes_ + next_, n);
    next_ += n;
    return true;
  }

 private:
  unsigned char bytes_[1024];
  std::size_t next_ = sizeof(bytes_);  // empty: the first Take draws
};

}  // namespace

absl::StatusOr<std::string> RandomBytes(std::size_t n) {
  thread_local RandomPool pool;
  std::string out(n, '\0');
  if (!pool.Take(reinterpret_cast<unsigned char*>(out.data()), n)) return absl::InternalError("RAND_bytes failed");
  return out;
}

absl::StatusOr<std::string> RandomToken(std::size_t n) {
  auto bytes = RandomBytes(n);
  if (!bytes.ok()) return bytes.status();
  return Base64UrlEncode(*bytes);
}

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

namespace {

// A per-thread HMAC context holding one key. OpenSSL 3's one-shot HMAC() fetches the algorithm, derives the key's
// pads and allocates three digest contexts on every call; re-initialising a keyed context only resets its state, a
// fraction of the work, and every secret and token digest goes through here.
class KeyedHmac {
 public:
  KeyedHmac() = default;
  ~KeyedHmac() {
    EVP_MAC_CTX_free(ctx_);
    OPENSSL_cleanse(key_.data(), key_.size());
  }
  KeyedHmac(const KeyedHmac&) = delete;
  KeyedHmac& operator=(const KeyedHmac&) = delete;

  // A context ready for EVP_MAC_update under `key`, or null if OpenSSL fails.
  EVP_MAC_CTX* Start(std::string_view key) {
    if (ctx_ != nullptr && key_ == key) {
      // A null key reuses the one already set (EVP_MAC_init(3)).
      if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1) return ctx_;
    }
    EVP_MAC_CTX_free(ctx_);
    OPENSSL_cleanse(key_.data(), key_.size());
    key_.clear();
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // never freed: shared by every thread
    ctx_ = mac == nullptr ? nullptr : EVP_MAC_CTX_new(mac);
    if (ctx_ == nullptr) return nullptr;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
      EVP_MAC_CTX_free(ctx_);
      ctx_ = nullptr;
      return nullptr;
    }
    key_.assign(key);
    return ctx_;
  }

 private:
  std::string key_;
  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace

absl::StatusOr<std::string> HmacSha256(std::string_view key, std::string_view data) {
  thread_local KeyedHmac hmac;
  EVP_MAC_CTX* ctx = hmac.Start(key);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t out_len = 0;
  if (ctx == nullptr || EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &out_len, sizeof(out)) != 1) {
    return absl::InternalError("HMAC-SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

absl::StatusOr<std::string> Sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &out_len, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::string> LoadOrCreateServerKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() != kServerKeyBytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("server key file ", path, " holds ", key.size(), " bytes; expected ", kServerKeyBytes));
    }
    return key;
  }
  auto key = RandomBytes(kServerKeyBytes);
  if (!key.ok()) return key.status();
  // O_EXCL: two processes starting on one data dir must not each write their own key.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create server key file ", path, ": ", std::strerror(errno)));
  }
  const ssize_t written = ::write(fd, key->data(), key->size());
  // fsync: a key lost after a crash would orphan every stored digest.
  const bool ok = written == static_cast<ssize_t>(key->size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write server key file ", path));
  }
  return key;
}

}  // namespace clientreg::common
