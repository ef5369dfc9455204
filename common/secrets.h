#ifndef CLIENTREG_COMMON_SECRETS_H_
#define CLIENTREG_COMMON_SECRETS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clientreg::common {

// Bytes of CSPRNG output behind every secret and token: 256 bits (spec.md §7).
inline constexpr std::size_t kTokenBytes = 32;
// Length of a server key for HmacSha256.
inline constexpr std::size_t kServerKeyBytes = 32;

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes, drawn ahead per thread in blocks), or Internal if it fails.
[[nodiscard]] absl::StatusOr<std::string> RandomBytes(std::size_t n);

// A token of `n` random bytes, base64url without padding: URL-safe, and within RFC 6750's b64token grammar.
[[nodiscard]] absl::StatusOr<std::string> RandomToken(std::size_t n = kTokenBytes);

// base64url (RFC 4648 §5) without padding.
std::string Base64UrlEncode(std::string_view bytes);

// HMAC-SHA-256 of `data` under `key`: the only form in which secrets and tokens are stored.
[[nodiscard]] absl::StatusOr<std::string> HmacSha256(std::string_view key, std::string_view data);

// SHA-256 of `data` (32 bytes), for credentials configured by their digest, such as a caller's bearer token.
[[nodiscard]] absl::StatusOr<std::string> Sha256(std::string_view data);

// Constant-time equality (CRYPTO_memcmp); differing lengths compare unequal.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Reads the server key from `path`, or creates it there (mode 0600, kServerKeyBytes random bytes) when the file
// does not exist. A file of another length is an error, not a silently weaker key.
[[nodiscard]] absl::StatusOr<std::string> LoadOrCreateServerKey(const std::string& path);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_SECRETS_H_
