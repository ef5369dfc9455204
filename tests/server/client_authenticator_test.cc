#include "server/client_authenticator.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/errors.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/logging.h"
#include "common/registration_error.h"
#include "gtest/gtest.h"
#include "server/grpc_status.h"
#include "tests/server/store_fixture.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::StoredClient;

using ::clientreg::testing::Digest;
using ::clientreg::testing::FailingLastUseStore;
using ::clientreg::testing::kNow;
using ::clientreg::testing::kServerKey;

class ClientAuthenticatorTest : public testing::ClientStoreFixture {
 protected:
  void SetUp() override {
    ClientStoreFixture::SetUp();
    if (HasFatalFailure()) return;
    authenticator_ = NewAuthenticator(std::chrono::hours(1));
    ASSERT_NE(authenticator_, nullptr);
  }

  void TearDown() override {
    authenticator_.reset();
    ClientStoreFixture::TearDown();
  }

  std::unique_ptr<ClientAuthenticator> NewAuthenticator(std::chrono::milliseconds flush_interval) {
    ClientAuthenticator::Options options;
    options.server_key = kServerKey;
    options.flush_interval = flush_interval;
    absl::StatusOr<std::unique_ptr<ClientAuthenticator>> authenticator =
        ClientAuthenticator::Create(store_.get(), &clock_, std::move(options));
    EXPECT_OK(authenticator);
    return authenticator.ok() ? *std::move(authenticator) : nullptr;
  }

  std::unique_ptr<ClientAuthenticator> authenticator_;
};

TEST_F(ClientAuthenticatorTest, RightSecretReturnsTheClient) {
  StoredClient client = MakeClient("c1", "client_secret_basic", "s3cret");
  client.set_client_secret_expires_at(kNow + 3600);
  Store(client);

  ASSERT_OK_AND_ASSIGN(const clientreg::v1::ClientRecord record, authenticator_->Authenticate("c1", "s3cret"));
  EXPECT_EQ(record.client_id(), "c1");
  EXPECT_EQ(record.metadata().client_name(), "Client c1");
  EXPECT_TRUE(record.has_client_secret());
  EXPECT_EQ(record.client_secret_expires_at(), kNow + 3600);
  EXPECT_EQ(record.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(record.last_used_at(), kNow);
  EXPECT_EQ(record.version(), 1u);
}

TEST_F(ClientAuthenticatorTest, ClientSecretPostAuthenticatesToo) {
  Store(MakeClient("c1", "client_secret_post", "s3cret"));
  EXPECT_OK(authenticator_->Authenticate("c1", "s3cret"));
}

TEST_F(ClientAuthenticatorTest, LastUseIsWrittenOnlyByAFlush) {
  Store(MakeClient("c1", "client_secret_basic", "s3cret"));
  ASSERT_OK(authenticator_->Authenticate("c1", "s3cret"));
  clock_.Advance(5);
  ASSERT_OK(authenticator_->Authenticate("c1", "s3cret"));

  EXPECT_EQ(StoredLastUse("c1"), 0);
  EXPECT_EQ(authenticator_->PendingLastUsed("c1"), kNow + 5);
  ASSERT_OK(authenticator_->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow + 5);
  EXPECT_EQ(authenticator_->PendingLastUsed("c1"), 0);
  EXPECT_OK(authenticator_->Flush());
}

TEST_F(ClientAuthenticatorTest, BackgroundThreadFlushes) {
  Store(MakeClient("c1", "client_secret_basic", "s3cret"));
  std::unique_ptr<ClientAuthenticator> fast = NewAuthenticator(std::chrono::milliseconds(20));
  ASSERT_NE(fast, nullptr);
  ASSERT_OK(fast->Authenticate("c1", "s3cret"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (StoredLastUse("c1") != kNow && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(StoredLastUse("c1"), kNow);
}

TEST_F(ClientAuthenticatorTest, StopAndDestructionFlush) {
  Store(MakeClient("c1", "client_secret_basic", "s3cret"));
  Store(MakeClient("c2", "client_secret_basic", "other"));
  ASSERT_OK(authenticator_->Authenticate("c1", "s3cret"));
  authenticator_->Stop();
  EXPECT_EQ(StoredLastUse("c1"), kNow);
  authenticator_->Stop();

  std::unique_ptr<ClientAuthenticator> second = NewAuthenticator(std::chrono::hours(1));
  ASSERT_NE(second, nullptr);
  clock_.Advance(1);
  ASSERT_OK(second->Authenticate("c2", "other"));
  second.reset();
  EXPECT_EQ(StoredLastUse("c2"), kNow + 1);
}

TEST_F(ClientAuthenticatorTest, EveryRefusalIsTheSameAnswer) {
  Store(MakeClient("good", "client_secret_basic", "s3cret"));
  StoredClient disabled = MakeClient("disabled", "client_secret_basic", "s3cret");
  disabled.set_state(StoredClient::STATE_DISABLED);
  Store(disabled);
  StoredClient expired = MakeClient("expired", "client_secret_basic", "s3cret");
  expired.set_client_secret_expires_at(kNow);
  Store(expired);
  Store(MakeClient("public", "none", ""));
  Store(MakeClient("jwt", "private_key_jwt", ""));
  // A digest on a client whose method uses none must not make it authenticate with a secret.
  Store(MakeClient("public_with_digest", "none", "s3cret"));

  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"good", "wrong"},     {"good", ""},   {"unknown", "s3cret"}, {"", "s3cret"},    {"disabled", "s3cret"},
      {"expired", "s3cret"}, {"public", ""}, {"public", "s3cret"},  {"jwt", "s3cret"}, {"public_with_digest", "s3cret"},
  };
  std::vector<absl::Status> refusals;
  for (const auto& [client_id, secret] : attempts) {
    absl::StatusOr<clientreg::v1::ClientRecord> result = authenticator_->Authenticate(client_id, secret);
    ASSERT_FALSE(result.ok()) << client_id << " / " << secret;
    refusals.push_back(result.status());
  }

  const absl::Status& first = refusals.front();
  EXPECT_EQ(first.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(first.message(), "client authentication failed");
  const std::optional<clientreg::v1::RegistrationError> error = common::GetRegistrationError(first);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->error(), "invalid_client");
  EXPECT_EQ(error->error_description(), "client authentication failed");
  EXPECT_EQ(error->error_field(), "");
  const grpc::Status first_wire = ToGrpcStatus(first);
  for (std::size_t i = 0; i < refusals.size(); ++i) {
    SCOPED_TRACE(attempts[i].first + " / " + attempts[i].second);
    EXPECT_EQ(refusals[i], first);
    EXPECT_EQ(refusals[i].GetPayload(common::kRegistrationErrorTypeUrl),
              first.GetPayload(common::kRegistrationErrorTypeUrl));
    const grpc::Status wire = ToGrpcStatus(refusals[i]);
    EXPECT_EQ(wire.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(wire.error_message(), first_wire.error_message());
    EXPECT_EQ(wire.error_details(), first_wire.error_details());
  }

  ASSERT_OK(authenticator_->Flush());
  EXPECT_EQ(StoredLastUse("good"), 0);
  EXPECT_EQ(StoredLastUse("disabled"), 0);
}

TEST_F(ClientAuthenticatorTest, SecretStopsWorkingAtItsExpiry) {
  StoredClient client = MakeClient("c1", "client_secret_basic", "s3cret");
  client.set_client_secret_expires_at(kNow + 10);
  Store(client);
  clock_.Advance(9);
  EXPECT_OK(authenticator_->Authenticate("c1", "s3cret"));
  clock_.Advance(1);
  EXPECT_EQ(authenticator_->Authenticate("c1", "s3cret").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ClientAuthenticatorTest, PreviousSecretWorksDuringTheOverlapOnly) {
  StoredClient client = MakeClient("c1", "client_secret_basic", "new");
  client.set_previous_client_secret_digest(Digest("old"));
  client.set_previous_client_secret_valid_until(kNow + 60);
  Store(client);

  EXPECT_OK(authenticator_->Authenticate("c1", "old"));
  EXPECT_OK(authenticator_->Authenticate("c1", "new"));
  clock_.Advance(59);
  EXPECT_OK(authenticator_->Authenticate("c1", "old"));
  clock_.Advance(1);
  EXPECT_EQ(authenticator_->Authenticate("c1", "old").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_OK(authenticator_->Authenticate("c1", "new"));
}

TEST_F(ClientAuthenticatorTest, PreviousSecretDoesNotOpenADisabledClient) {
  StoredClient client = MakeClient("c1", "client_secret_basic", "new");
  client.set_previous_client_secret_digest(Digest("old"));
  client.set_previous_client_secret_valid_until(kNow + 60);
  client.set_state(StoredClient::STATE_DISABLED);
  Store(client);
  EXPECT_EQ(authenticator_->Authenticate("c1", "old").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ClientAuthenticatorTest, SecretsNeverReachTheLog) {
  Store(MakeClient("c1", "client_secret_basic", "correct-horse-battery"));
  common::FlushLogs();  // only this test's lines in the capture
  ::testing::internal::CaptureStderr();
  EXPECT_OK(authenticator_->Authenticate("c1", "correct-horse-battery"));
  EXPECT_FALSE(authenticator_->Authenticate("c1", "wrong-staple-guess").ok());
  EXPECT_FALSE(authenticator_->Authenticate("nobody", "another-guess").ok());
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  // The failures were logged, so the absences below are about lines that exist.
  EXPECT_NE(log.find(R"("event":"client_authentication_failed")"), std::string::npos) << log;
  EXPECT_EQ(log.find("correct-horse-battery"), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong-staple-guess"), std::string::npos) << log;
  EXPECT_EQ(log.find("another-guess"), std::string::npos) << log;
}

TEST_F(ClientAuthenticatorTest, ConcurrentAuthenticationsKeepTheLatestUse) {
  Store(MakeClient("c1", "client_secret_basic", "s3cret"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_OK(authenticator_->Authenticate("c1", "s3cret"));
        if (i % 10 == 0) {
          EXPECT_OK(authenticator_->Flush());
        }
      }
    });
  }
  clock_.Advance(7);
  for (std::thread& thread : threads) thread.join();
  ASSERT_OK(authenticator_->Authenticate("c1", "s3cret"));
  ASSERT_OK(authenticator_->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow + 7);
}

TEST_F(ClientAuthenticatorTest, AFailedFlushKeepsTheBatchForTheNextOne) {
  Store(MakeClient("c1", "client_secret_basic", "s3cret"));
  FailingLastUseStore failing(store_.get());
  ClientAuthenticator::Options options;
  options.server_key = kServerKey;
  options.flush_interval = std::chrono::hours(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ClientAuthenticator> authenticator,
                       ClientAuthenticator::Create(&failing, &clock_, std::move(options)));
  ASSERT_OK(authenticator->Authenticate("c1", "s3cret"));
  EXPECT_EQ(authenticator->Flush().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(authenticator->PendingLastUsed("c1"), kNow);
  EXPECT_EQ(StoredLastUse("c1"), 0);

  failing.fail = false;
  ASSERT_OK(authenticator->Flush());
  EXPECT_EQ(StoredLastUse("c1"), kNow);
  EXPECT_EQ(authenticator->PendingLastUsed("c1"), 0);
}

TEST_F(ClientAuthenticatorTest, NonPositiveFlushIntervalIsRefused) {
  ClientAuthenticator::Options options;
  options.server_key = kServerKey;
  options.flush_interval = std::chrono::milliseconds(0);
  EXPECT_EQ(ClientAuthenticator::Create(store_.get(), &clock_, std::move(options)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace clientreg::server
