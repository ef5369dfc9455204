// A Client ID Metadata Document reader and the client_id URL rules on arbitrary bytes: never a crash; a refused
// document is INVALID_ARGUMENT saying so; an accepted one is a public or private_key_jwt client whose metadata passes
// the validator again unchanged; an accepted URL is https without fragment, userinfo or dot segment.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_mapping.h"
#include "common/limits.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/cimd_document.h"
#include "server/cimd_url.h"
#include "server/metadata_validator.h"
#include "server/registration_policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr char kUrl[] = "https://client.example/oauth/metadata.json";

void CheckUrl(std::string_view input) {
  const absl::StatusOr<std::string> host = clientreg::server::CheckCimdUrl(input, {});
  if (!host.ok()) {
    FUZZ_CHECK(host.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(input.substr(0, 8) == "https://");
  FUZZ_CHECK(input.find('#') == std::string_view::npos);
  FUZZ_CHECK(input.find('?') == std::string_view::npos);
  FUZZ_CHECK(input.find("/../") == std::string_view::npos && input.find("/./") == std::string_view::npos);
  FUZZ_CHECK(!host->empty());
  FUZZ_CHECK(clientreg::server::IsCimdClientId(input, {}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static clientreg::common::JsonMapper mapper(clientreg::common::DefaultHttpLimits());
  static const clientreg::server::MetadataValidator validator(clientreg::common::DefaultMetadataLimits(),
                                                              clientreg::server::DefaultRegistrationPolicy());
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckUrl(input);

  const auto read = clientreg::server::ReadCimdDocument(input, kUrl, mapper, validator);
  if (!read.ok()) {
    FUZZ_CHECK(read.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(std::string(read.status().message()).rfind("client_id metadata document ", 0) == 0);
    return 0;
  }
  const std::string& method = read->token_endpoint_auth_method();
  FUZZ_CHECK(method != "client_secret_basic" && method != "client_secret_post" && method != "client_secret_jwt");
  FUZZ_CHECK(read->has_client_name());
  FUZZ_CHECK(!read->redirect_uris().values().empty());
  const auto again = validator.Validate(*read);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*again, *read));
  return 0;
}
