#ifndef CLIENTREG_TESTS_SERVER_CALLER_SUPPORT_H_
#define CLIENTREG_TESTS_SERVER_CALLER_SUPPORT_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "common/secrets.h"
#include "common/server_channel.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace clientreg::testing {

// What CallerConfig.bearer_token_sha256 holds for the bearer credential `token`: its SHA-256 in lowercase hex.
inline std::string Sha256Hex(const std::string& token) {
  absl::StatusOr<std::string> digest = common::Sha256(token);
  EXPECT_OK(digest);
  return absl::BytesToHexString(digest.value_or(""));
}

// A call's context with a 10 s deadline, presenting `bearer` as the caller's credential unless it is empty.
inline std::unique_ptr<grpc::ClientContext> NewCallContext(const std::string& bearer = "") {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!bearer.empty()) context->AddMetadata(common::kAuthorizationMetadataKey, common::BearerAuthorization(bearer));
  return context;
}

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SERVER_CALLER_SUPPORT_H_
