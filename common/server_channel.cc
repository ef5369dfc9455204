#include "common/server_channel.h"

#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/status_macros.h"
#include "common/tls_files.h"

namespace clientreg::common {
std::string BearerAuthorization(std::string_view token) {
  return absl::StrCat("Bearer ", absl::string_view(token.data(), token.size()));
}

absl::Status ValidateClientTls(const clientreg::config::v1::GrpcClientTlsConfig& tls, std::string_view field_prefix) {
  const std::string prefix(field_prefix);
  if (!tls.ca_file().empty()) {
    RETURN_IF_ERROR(CheckPemCertificatesFile(prefix + "ca_file", tls.ca_file()));
  }
  if (tls.certificate_chain_file().empty() != tls.private_key_file().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "certificate_chain_file and ", prefix,
                                                   "private_key_file go together: set both, or neither"));
  }
  if (!tls.certificate_chain_file().empty()) {
    RETURN_IF_ERROR(CheckPemCertificatesFile(prefix + "certificate_chain_file", tls.certificate_chain_file()));
    RETURN_IF_ERROR(CheckPemPrivateKeyFile(prefix + "private_key_file", tls.private_key_file()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ServerChannelCredentials(
    const clientreg::config::v1::GrpcClientTlsConfig* tls, grpc::ChannelArguments& arguments) {
  if (tls == nullptr) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  // Empty pem_root_certs: gRPC uses the system's trust store.
  if (!tls->ca_file().empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadPemCertificates(tls->ca_file()));
  }
  if (!tls->certificate_chain_file().empty()) {
    ASSIGN_OR_RETURN(options.pem_cert_chain, ReadPemCertificates(tls->certificate_chain_file()));
    ASSIGN_OR_RETURN(options.pem_private_key, ReadPemPrivateKey(tls->private_key_file()));
  }
  if (!tls->server_name().empty()) arguments.SetSslTargetNameOverride(tls->server_name());
  return grpc::SslCredentials(options);
}

bool MaySendBearer(std::string_view server_address, bool tls) { return tls || IsLocalAddress(server_address); }

}  // namespace clientreg::common
