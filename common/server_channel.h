#ifndef CLIENTREG_COMMON_SERVER_CHANNEL_H_
#define CLIENTREG_COMMON_SERVER_CHANNEL_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

// How the gateway and clientreg-admin reach the server's gRPC port: TLS, optionally with a client certificate
// (GrpcClientTlsConfig), or plain text to a local address; and the bearer credential a caller may present.
namespace clientreg::common {

// The metadata key of a caller's bearer credential, whose value is BearerAuthorization(token).
inline constexpr char kAuthorizationMetadataKey[] = "authorization";
std::string BearerAuthorization(std::string_view token);

// Checks the files `tls` names (readable, PEM of the right kind; certificate and key both or neither). The message
// names the config field, prefixed with `field_prefix` (e.g. "server_tls.").
[[nodiscard]] absl::Status ValidateClientTls(const clientreg::config::v1::GrpcClientTlsConfig& tls,
                                             std::string_view field_prefix);

// Channel credentials for the server: TLS as `tls` says when it is non-null (the system's trust store without a
// ca_file; tls->server_name, when set, becomes the name checked against the server's certificate, set on
// `arguments`), plain text otherwise. The files are read now; FailedPrecondition names any that fails.
[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ServerChannelCredentials(
    const clientreg::config::v1::GrpcClientTlsConfig* tls, grpc::ChannelArguments& arguments);

// Whether a bearer credential may be sent to `server_address`: only over TLS or to a local address (IsLocalAddress),
// so that it never crosses a network in clear text.
bool MaySendBearer(std::string_view server_address, bool tls);

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_SERVER_CHANNEL_H_
