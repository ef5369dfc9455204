#ifndef CLIENTREG_COMMON_TLS_FILES_H_
#define CLIENTREG_COMMON_TLS_FILES_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// The PEM files and bearer credential files that TLS settings name, read once and checked, so that a wrong path or
// a file of the wrong kind is reported at start-up (and by --check-config), naming the file, rather than as a failed
// handshake later. Contents are never put in a message: a key or a token must not reach a log.
namespace clientreg::common {

// The text of `path`, which must hold at least one PEM certificate. FailedPrecondition naming the file when it
// cannot be read or holds none.
[[nodiscard]] absl::StatusOr<std::string> ReadPemCertificates(const std::string& path);

// The text of `path`, which must hold a PEM private key. FailedPrecondition naming the file when it cannot be read
// or holds none.
[[nodiscard]] absl::StatusOr<std::string> ReadPemPrivateKey(const std::string& path);

// For config validation: OK when ReadPemCertificates (or ReadPemPrivateKey) of `path` succeeds, else
// InvalidArgument "<field>: <reason>".
[[nodiscard]] absl::Status CheckPemCertificatesFile(std::string_view field, const std::string& path);
[[nodiscard]] absl::Status CheckPemPrivateKeyFile(std::string_view field, const std::string& path);

// The bearer credential in `path`: the file's one line without its line end. FailedPrecondition naming the file when
// it cannot be read, is empty, or holds more than one line or a character outside visible ASCII (the credential
// travels as a header value).
[[nodiscard]] absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_TLS_FILES_H_
