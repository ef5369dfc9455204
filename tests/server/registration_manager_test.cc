#include "server/registration_manager.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/registration.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/registration_error.h"
#include "common/secrets.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"
#include "server/caller_authorizer.h"
#include "server/grpc_status.h"
#include "server/metadata_validator.h"
#include "server/registrar.h"
#include "server/registration_policy.h"
#include "server/registration_service.h"
#include "server/server_config.h"
#include "server/server_metadata.h"
#include "storage/rocksdb_client_store.h"
#include "tests/server/status_details.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::clientreg::testing::ErrorCode;
using ::clientreg::testing::ErrorField;
using ::clientreg::testing::WireForm;
using ::clientreg::v1::ClientInformation;
using ::clientreg::v1::ClientMetadata;
using ::clientreg::v1::DeleteRegistrationRequest;
using ::clientreg::v1::GetRegistrationRequest;
using ::clientreg::v1::StoredClient;
using ::clientreg::v1::UpdateRegistrationRequest;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int64_t kNow = 1'700'000'000;
constexpr char kIssuer[] = "https://auth.example.com/t1";

ClientMetadata AppMetadata() {
  ClientMetadata metadata;
  metadata.mutable_redirect_uris()->add_values("https://app.example/cb");
  metadata.set_client_name("App");
  metadata.set_logo_uri("https://app.example/logo.png");
  return metadata;
}

class RegistrationManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/clientreg-manager-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    ASSERT_OK_AND_ASSIGN(store_, storage::OpenRocksDbClientStore(dir_ + "/clients"));
    config_ = DefaultServerConfig();
    config_.set_issuer(kIssuer);
    ASSERT_OK_AND_ASSIGN(server_key_, common::RandomBytes(common::kServerKeyBytes));
    Build();
  }

  void TearDown() override {
    manager_.reset();
    registrar_.reset();
    store_.reset();
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
  }

  // (Re)builds the Registrar and the manager from config_, as ServerApp does.
  void Build() {
    ASSERT_OK(ValidateServerConfig(config_));
    registrar_ =
        std::make_unique<Registrar>(store_.get(), &clock_, MetadataValidator(config_.limits(), config_.registration()),
                                    RegistrarOptions(config_, server_key_));
    manager_ = std::make_unique<RegistrationManager>(store_.get(), &clock_,
                                                     MetadataValidator(config_.limits(), config_.registration()),
                                                     RegistrationManagerOptions(config_, server_key_));
  }

  ClientInformation Register(const ClientMetadata& metadata = AppMetadata()) {
    absl::StatusOr<ClientInformation> info = registrar_->Register(metadata);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *std::move(info) : ClientInformation();
  }

  StoredClient Stored(const std::string& client_id) {
    absl::StatusOr<StoredClient> stored = store_->Get(client_id);
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? *std::move(stored) : StoredClient();
  }

  absl::StatusOr<ClientInformation> Get(const std::string& client_id, const std::string& token) {
    GetRegistrationRequest request;
    request.set_client_id(client_id);
    request.set_registration_access_token(token);
    return manager_->Get(request);
  }

  absl::Status Delete(const std::string& client_id, const std::string& token) {
    DeleteRegistrationRequest request;
    request.set_client_id(client_id);
    request.set_registration_access_token(token);
    return manager_->Delete(request);
  }

  // A well-formed PUT of `metadata` on `info`'s client, authenticated with its token.
  static UpdateRegistrationRequest Put(const ClientInformation& info, const ClientMetadata& metadata) {
    UpdateRegistrationRequest request;
    request.set_client_id(info.client_id());
    request.set_registration_access_token(info.registration_access_token());
    *request.mutable_metadata() = metadata;
    request.set_body_client_id(info.client_id());
    return request;
  }

  std::string Digest(const std::string& plaintext) {
    absl::StatusOr<std::string> digest = common::HmacSha256(server_key_, plaintext);
    EXPECT_TRUE(digest.ok());
    return digest.ok() ? *digest : std::string();
  }

  void SetState(const std::string& client_id, StoredClient::State state) {
    StoredClient client = Stored(client_id);
    const uint64_t version = client.version();
    client.set_state(state);
    client.set_version(version + 1);
    ASSERT_OK(store_->Update(client, version));
  }

  std::string dir_;
  std::unique_ptr<storage::ClientStore> store_;
  common::FakeClock clock_{kNow};
  clientreg::config::v1::ServerConfig config_;
  std::string server_key_;
  std::unique_ptr<Registrar> registrar_;
  std::unique_ptr<RegistrationManager> manager_;
};

TEST_F(RegistrationManagerTest, RegisterIssuesTokenAndConfigurationUriFromTheIssuer) {
  const ClientInformation info = Register();
  ASSERT_FALSE(info.client_id().empty());
  EXPECT_EQ(info.registration_client_uri(), std::string(kIssuer) + "/oauth/register/" + info.client_id());
  ASSERT_TRUE(info.has_registration_access_token());
  const std::string& token = info.registration_access_token();
  // 256 bits, base64url without padding.
  EXPECT_EQ(token.size(), 43u);
  EXPECT_TRUE(std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  })) << token;
  EXPECT_NE(Register().registration_access_token(), token);
}

TEST_F(RegistrationManagerTest, RegisterStoresOnlyTheTokenDigest) {
  const ClientInformation info = Register();
  const StoredClient stored = Stored(info.client_id());
  EXPECT_EQ(stored.registration_access_token_digest(), Digest(info.registration_access_token()));
  ASSERT_OK_AND_ASSIGN(const std::string owner, store_->FindByTokenDigest(Digest(info.registration_access_token())));
  EXPECT_EQ(owner, info.client_id());
  EXPECT_TRUE(absl::IsNotFound(store_->FindByTokenDigest(info.registration_access_token()).status()));
  ASSERT_OK(store_->ForEach([&](const StoredClient& client) {
    const std::string bytes = client.SerializeAsString();
    EXPECT_THAT(bytes, Not(HasSubstr(info.registration_access_token())));
    EXPECT_THAT(bytes, Not(HasSubstr(info.client_secret())));
    return absl::OkStatus();
  }));
}

TEST_F(RegistrationManagerTest, GetWithTheTokenReturnsTheRegistrationWithoutSecret) {
  const ClientInformation registered = Register();
  ASSERT_TRUE(registered.has_client_secret());
  const uint64_t version = Stored(registered.client_id()).version();
  clock_.Advance(100);

  ASSERT_OK_AND_ASSIGN(const ClientInformation info,
                       Get(registered.client_id(), registered.registration_access_token()));
  EXPECT_TRUE(MessageDifferencer::Equals(info.metadata(), registered.metadata()));
  EXPECT_EQ(info.client_id(), registered.client_id());
  EXPECT_EQ(info.client_id_issued_at(), kNow);
  EXPECT_FALSE(info.has_client_secret());
  ASSERT_TRUE(info.has_client_secret_expires_at());
  EXPECT_EQ(info.client_secret_expires_at(), registered.client_secret_expires_at());
  EXPECT_EQ(info.registration_client_uri(), registered.registration_client_uri());
  EXPECT_EQ(info.registration_access_token(), registered.registration_access_token());
  EXPECT_EQ(Stored(registered.client_id()).version(), version);
}

TEST_F(RegistrationManagerTest, EveryFailedAuthenticationLooksTheSame) {
  config_.set_revoke_misused_registration_tokens(false);
  Build();
  const ClientInformation a = Register();
  const ClientInformation b = Register();
  const ClientInformation deleted = Register();
  ASSERT_OK(Delete(deleted.client_id(), deleted.registration_access_token()));

  const std::vector<std::pair<std::string, std::string>> attempts = {
      {a.client_id(), "wrong-token"},
      {a.client_id(), ""},
      {a.client_id(), b.registration_access_token()},
      {"0123456789abcdef0123456789abcdef", "wrong-token"},
      {"0123456789abcdef0123456789abcdef", a.registration_access_token()},
      {deleted.client_id(), deleted.registration_access_token()},
      {"", a.registration_access_token()},
  };
  const auto expected = WireForm(InvalidRegistrationTokenError());
  EXPECT_EQ(std::get<0>(expected), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(ErrorCode(InvalidRegistrationTokenError()), "invalid_token");
  EXPECT_FALSE(std::get<2>(expected).empty());
  for (const auto& [client_id, token] : attempts) {
    SCOPED_TRACE(client_id);
    EXPECT_EQ(WireForm(Get(client_id, token).status()), expected);
    UpdateRegistrationRequest put = Put(a, AppMetadata());
    put.set_client_id(client_id);
    put.set_registration_access_token(token);
    EXPECT_EQ(WireForm(manager_->Update(put).status()), expected);
    EXPECT_EQ(WireForm(Delete(client_id, token)), expected);
  }
  EXPECT_OK(Get(a.client_id(), a.registration_access_token()));
  EXPECT_OK(Get(b.client_id(), b.registration_access_token()));
}

TEST_F(RegistrationManagerTest, MisusedTokenIsRevokedAndLogged) {
  const ClientInformation owner = Register();
  const ClientInformation other = Register();
  const ClientInformation bystander = Register();

  common::FlushLogs();  // only this test's lines in the capture
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(WireForm(Get(other.client_id(), owner.registration_access_token()).status()),
            WireForm(InvalidRegistrationTokenError()));
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr(R"("event":"registration_token_misused")"));
  EXPECT_THAT(log, HasSubstr(owner.client_id()));
  EXPECT_THAT(log, HasSubstr(other.client_id()));
  EXPECT_THAT(log, Not(HasSubstr(owner.registration_access_token())));

  EXPECT_EQ(WireForm(Get(owner.client_id(), owner.registration_access_token()).status()),
            WireForm(InvalidRegistrationTokenError()));
  EXPECT_THAT(Stored(owner.client_id()).registration_access_token_digest(), IsEmpty());
  EXPECT_OK(Get(other.client_id(), other.registration_access_token()));

  // A valid token on the URL of a client that does not exist (a typo of its own id, most likely) is refused and
  // logged, but not revoked: its holder keeps its registration.
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(
      absl::IsUnauthenticated(Get("ffffffffffffffffffffffffffffffff", bystander.registration_access_token()).status()));
  common::FlushLogs();
  const std::string typo_log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(typo_log, HasSubstr(R"("presented_on_exists":"false")"));
  EXPECT_THAT(typo_log, HasSubstr(R"("revoked":"false")"));
  EXPECT_OK(Get(bystander.client_id(), bystander.registration_access_token()));
  // A deleted client no longer exists either.
  EXPECT_OK(Delete(other.client_id(), other.registration_access_token()));
  EXPECT_TRUE(absl::IsUnauthenticated(Get(other.client_id(), bystander.registration_access_token()).status()));
  EXPECT_OK(Get(bystander.client_id(), bystander.registration_access_token()));
}

TEST_F(RegistrationManagerTest, MisusedTokenIsKeptWhenRevocationIsOff) {
  config_.set_revoke_misused_registration_tokens(false);
  Build();
  const ClientInformation owner = Register();
  const ClientInformation other = Register();
  EXPECT_TRUE(absl::IsUnauthenticated(Get(other.client_id(), owner.registration_access_token()).status()));
  EXPECT_OK(Get(owner.client_id(), owner.registration_access_token()));
}

TEST_F(RegistrationManagerTest, DisabledClientIsPermissionDeniedAfterTheTokenCheck) {
  const ClientInformation info = Register();
  SetState(info.client_id(), StoredClient::STATE_DISABLED);
  const StoredClient before = Stored(info.client_id());

  EXPECT_TRUE(absl::IsPermissionDenied(Get(info.client_id(), info.registration_access_token()).status()));
  ClientMetadata renamed = AppMetadata();
  renamed.set_client_name("Renamed");
  EXPECT_TRUE(absl::IsPermissionDenied(manager_->Update(Put(info, renamed)).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(Delete(info.client_id(), info.registration_access_token())));
  EXPECT_EQ(WireForm(Get(info.client_id(), "wrong-token").status()), WireForm(InvalidRegistrationTokenError()));
  EXPECT_TRUE(MessageDifferencer::Equals(Stored(info.client_id()), before));

  SetState(info.client_id(), StoredClient::STATE_ACTIVE);
  EXPECT_OK(Get(info.client_id(), info.registration_access_token()));
}

TEST_F(RegistrationManagerTest, PutReplacesTheMetadataCompletely) {
  ClientMetadata original = AppMetadata();
  original.mutable_grant_types()->add_values("authorization_code");
  original.mutable_grant_types()->add_values("refresh_token");
  const ClientInformation info = Register(original);
  const StoredClient before = Stored(info.client_id());
  ASSERT_THAT(before.metadata().grant_types().values(), ElementsAre("authorization_code", "refresh_token"));
  clock_.Advance(500);

  ClientMetadata replacement;
  replacement.mutable_redirect_uris()->add_values("https://app.example/cb");
  replacement.set_client_name("Renamed");
  ASSERT_OK_AND_ASSIGN(const ClientInformation updated, manager_->Update(Put(info, replacement)));
  EXPECT_EQ(updated.metadata().client_name(), "Renamed");
  EXPECT_FALSE(updated.metadata().has_logo_uri());
  EXPECT_THAT(updated.metadata().grant_types().values(), ElementsAre("authorization_code"));
  EXPECT_EQ(updated.client_id(), info.client_id());
  EXPECT_EQ(updated.client_id_issued_at(), kNow);
  EXPECT_EQ(updated.registration_access_token(), info.registration_access_token());
  EXPECT_EQ(updated.registration_client_uri(), info.registration_client_uri());
  // The secret method is kept, and so is the secret: never shown again.
  EXPECT_FALSE(updated.has_client_secret());
  EXPECT_TRUE(updated.has_client_secret_expires_at());

  const StoredClient after = Stored(info.client_id());
  EXPECT_EQ(after.version(), before.version() + 1);
  EXPECT_EQ(after.updated_at(), kNow + 500);
  EXPECT_EQ(after.client_id_issued_at(), kNow);
  EXPECT_EQ(after.client_secret_digest(), before.client_secret_digest());
  ASSERT_OK_AND_ASSIGN(const ClientInformation read, Get(info.client_id(), info.registration_access_token()));
  EXPECT_TRUE(MessageDifferencer::Equals(read.metadata(), updated.metadata()));
  EXPECT_FALSE(read.metadata().has_logo_uri());
}

// Issue 9: a PUT goes through the same validator, so an agent's own metadata round-trips and the same rules refuse.
TEST_F(RegistrationManagerTest, PutAppliesTheAgentRules) {
  ClientMetadata cursor;
  for (const char* uri :
       {"cursor://anysphere.cursor-mcp/oauth/callback", "https://c.example/cb", "http://localhost:8787/callback"}) {
    cursor.mutable_redirect_uris()->add_values(uri);
  }
  cursor.set_token_endpoint_auth_method("none");
  const ClientInformation info = Register(cursor);
  ASSERT_EQ(info.metadata().application_type(), "native");

  // The 201's metadata sent back as is, with an empty scope: accepted, and the scope is absent.
  ClientMetadata echoed = info.metadata();
  echoed.set_scope("");
  ASSERT_OK_AND_ASSIGN(const ClientInformation updated, manager_->Update(Put(info, echoed)));
  EXPECT_EQ(updated.metadata().application_type(), "native");
  EXPECT_FALSE(updated.metadata().has_scope());
  EXPECT_TRUE(MessageDifferencer::Equals(updated.metadata().redirect_uris(), cursor.redirect_uris()));

  // A repeated URI, a percent-encoded NUL and a web type beside a private-use scheme are refused on PUT too, and
  // the registration stays as it was.
  const StoredClient before = Stored(info.client_id());
  ClientMetadata repeated = echoed;
  repeated.mutable_redirect_uris()->add_values("https://c.example/cb");
  ClientMetadata nul = echoed;
  nul.mutable_redirect_uris()->set_values(1, "https://c.example/cb%00");
  ClientMetadata web = echoed;
  web.set_application_type("web");
  for (const ClientMetadata& bad : {repeated, nul, web}) {
    const absl::StatusOr<ClientInformation> refused = manager_->Update(Put(info, bad));
    ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
    EXPECT_EQ(common::GetRegistrationError(refused.status())->error(), "invalid_redirect_uri");
  }
  EXPECT_TRUE(MessageDifferencer::Equals(Stored(info.client_id()), before));
}

TEST_F(RegistrationManagerTest, PutRejectsForbiddenMembersAndChangesNothing) {
  const ClientInformation info = Register();
  const StoredClient before = Stored(info.client_id());
  UpdateRegistrationRequest put = Put(info, AppMetadata());
  put.add_forbidden_members("client_id_issued_at");
  put.add_forbidden_members("registration_access_token");
  put.clear_body_client_id();
  const absl::Status status = manager_->Update(put).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(ErrorCode(status), "invalid_request");
  EXPECT_EQ(ErrorField(status), "client_id_issued_at");
  EXPECT_TRUE(MessageDifferencer::Equals(Stored(info.client_id()), before));

  // Authentication comes first.
  put.set_registration_access_token("wrong-token");
  EXPECT_EQ(WireForm(manager_->Update(put).status()), WireForm(InvalidRegistrationTokenError()));
}

TEST_F(RegistrationManagerTest, PutRequiresTheSameClientIdInTheBody) {
  const ClientInformation info = Register();
  const ClientInformation other = Register();
  const StoredClient before = Stored(info.client_id());
  UpdateRegistrationRequest absent = Put(info, AppMetadata());
  absent.clear_body_client_id();
  UpdateRegistrationRequest different = Put(info, AppMetadata());
  different.set_body_client_id(other.client_id());
  for (const UpdateRegistrationRequest& put : {absent, different}) {
    const absl::Status status = manager_->Update(put).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_EQ(ErrorCode(status), "invalid_request");
    EXPECT_EQ(ErrorField(status), "client_id");
  }
  EXPECT_TRUE(MessageDifferencer::Equals(Stored(info.client_id()), before));
}

TEST_F(RegistrationManagerTest, PutChecksAPresentClientSecret) {
  const ClientInformation info = Register();
  const StoredClient before = Stored(info.client_id());
  ClientMetadata renamed = AppMetadata();
  renamed.set_client_name("Renamed");

  UpdateRegistrationRequest wrong = Put(info, renamed);
  wrong.set_client_secret("not-the-secret");
  const absl::Status status = manager_->Update(wrong).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(ErrorCode(status), "invalid_request");
  EXPECT_EQ(ErrorField(status), "client_secret");
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("not-the-secret")));
  EXPECT_TRUE(MessageDifferencer::Equals(Stored(info.client_id()), before));

  UpdateRegistrationRequest right = Put(info, renamed);
  right.set_client_secret(info.client_secret());
  ASSERT_OK_AND_ASSIGN(const ClientInformation updated, manager_->Update(right));
  EXPECT_EQ(updated.metadata().client_name(), "Renamed");
  EXPECT_EQ(Stored(info.client_id()).client_secret_digest(), before.client_secret_digest());
}

TEST_F(RegistrationManagerTest, PutWithInvalidMetadataLeavesTheRecordUnchanged) {
  const ClientInformation info = Register();
  const StoredClient before = Stored(info.client_id());
  ClientMetadata bad = AppMetadata();
  bad.mutable_redirect_uris()->add_values("http://evil.example/cb");
  const absl::Status status = manager_->Update(Put(info, bad)).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(ErrorCode(status), "invalid_redirect_uri");
  EXPECT_TRUE(MessageDifferencer::Equals(Stored(info.client_id()), before));
  ASSERT_OK_AND_ASSIGN(const ClientInformation read, Get(info.client_id(), info.registration_access_token()));
  EXPECT_THAT(read.metadata().redirect_uris().values(), ElementsAre("https://app.example/cb"));
}

TEST_F(RegistrationManagerTest, SwitchingFromNoneToASecretMethodIssuesASecret) {
  config_.mutable_registration()->set_client_secret_lifetime_seconds(3600);
  Build();
  ClientMetadata public_client = AppMetadata();
  public_client.set_token_endpoint_auth_method("none");
  const ClientInformation info = Register(public_client);
  ASSERT_FALSE(info.has_client_secret());
  ASSERT_FALSE(info.has_client_secret_expires_at());
  clock_.Advance(10);

  // A public client has no secret to match.
  UpdateRegistrationRequest guessed = Put(info, AppMetadata());
  guessed.set_client_secret("");
  EXPECT_EQ(ErrorField(manager_->Update(guessed).status()), "client_secret");

  ClientMetadata confidential = AppMetadata();
  confidential.set_token_endpoint_auth_method("client_secret_basic");
  ASSERT_OK_AND_ASSIGN(const ClientInformation updated, manager_->Update(Put(info, confidential)));
  ASSERT_TRUE(updated.has_client_secret());
  EXPECT_EQ(updated.client_secret().size(), 43u);
  EXPECT_EQ(updated.client_secret_expires_at(), kNow + 10 + 3600);
  EXPECT_EQ(Stored(info.client_id()).client_secret_digest(), Digest(updated.client_secret()));

  ASSERT_OK_AND_ASSIGN(const ClientInformation read, Get(info.client_id(), info.registration_access_token()));
  EXPECT_FALSE(read.has_client_secret());
  EXPECT_EQ(read.client_secret_expires_at(), kNow + 10 + 3600);
  UpdateRegistrationRequest with_secret = Put(info, confidential);
  with_secret.set_client_secret(updated.client_secret());
  EXPECT_OK(manager_->Update(with_secret));
}

TEST_F(RegistrationManagerTest, SwitchingFromASecretMethodToNoneDropsTheSecret) {
  const ClientInformation info = Register();
  ASSERT_TRUE(info.has_client_secret());
  ClientMetadata public_client = AppMetadata();
  public_client.set_token_endpoint_auth_method("none");
  ASSERT_OK_AND_ASSIGN(const ClientInformation updated, manager_->Update(Put(info, public_client)));
  EXPECT_FALSE(updated.has_client_secret());
  EXPECT_FALSE(updated.has_client_secret_expires_at());
  const StoredClient stored = Stored(info.client_id());
  EXPECT_THAT(stored.client_secret_digest(), IsEmpty());
  EXPECT_THAT(stored.previous_client_secret_digest(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(const ClientInformation read, Get(info.client_id(), info.registration_access_token()));
  EXPECT_FALSE(read.has_client_secret_expires_at());

  // Back to a secret method: a new secret, not the old one.
  ASSERT_OK_AND_ASSIGN(const ClientInformation again, manager_->Update(Put(info, AppMetadata())));
  ASSERT_TRUE(again.has_client_secret());
  EXPECT_NE(again.client_secret(), info.client_secret());
}

TEST_F(RegistrationManagerTest, PutRotatesTheTokenWhenConfigured) {
  config_.set_rotate_registration_access_token_on_update(true);
  Build();
  const ClientInformation info = Register();
  ASSERT_OK_AND_ASSIGN(const ClientInformation updated, manager_->Update(Put(info, AppMetadata())));
  ASSERT_TRUE(updated.has_registration_access_token());
  EXPECT_NE(updated.registration_access_token(), info.registration_access_token());
  EXPECT_EQ(WireForm(Get(info.client_id(), info.registration_access_token()).status()),
            WireForm(InvalidRegistrationTokenError()));
  EXPECT_OK(Get(info.client_id(), updated.registration_access_token()));
  EXPECT_EQ(Stored(info.client_id()).registration_access_token_digest(), Digest(updated.registration_access_token()));
  const absl::StatusOr<std::string> old_owner = store_->FindByTokenDigest(Digest(info.registration_access_token()));
  EXPECT_TRUE(absl::IsNotFound(old_owner.status())) << old_owner.status() << " " << old_owner.value_or("");
}

TEST_F(RegistrationManagerTest, PutKeepsTheTokenWhenRotationIsOff) {
  const ClientInformation info = Register();
  ASSERT_OK_AND_ASSIGN(const ClientInformation updated, manager_->Update(Put(info, AppMetadata())));
  EXPECT_EQ(updated.registration_access_token(), info.registration_access_token());
  EXPECT_OK(Get(info.client_id(), info.registration_access_token()));
}

TEST_F(RegistrationManagerTest, AfterDeleteEveryCallIsUnauthenticated) {
  const ClientInformation info = Register();
  const ClientInformation other = Register();
  ASSERT_OK(Delete(info.client_id(), info.registration_access_token()));
  const auto expected = WireForm(InvalidRegistrationTokenError());
  EXPECT_EQ(WireForm(Get(info.client_id(), info.registration_access_token()).status()), expected);
  EXPECT_EQ(WireForm(manager_->Update(Put(info, AppMetadata())).status()), expected);
  EXPECT_EQ(WireForm(Delete(info.client_id(), info.registration_access_token())), expected);
  EXPECT_TRUE(absl::IsNotFound(store_->Get(info.client_id()).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->FindByTokenDigest(Digest(info.registration_access_token())).status()));
  EXPECT_OK(Get(other.client_id(), other.registration_access_token()));
}

TEST_F(RegistrationManagerTest, ConcurrentUpdatesNeverResurrectADeletedClient) {
  const ClientInformation info = Register();
  constexpr int kWriters = 8;
  constexpr int kUpdatesPerWriter = 20;
  std::atomic<bool> deleted{false};
  std::atomic<int> succeeded{0};
  std::atomic<int> after_delete_answered{0};
  std::atomic<int> finished{0};
  std::atomic<int> unexpected{0};

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kUpdatesPerWriter; ++i) {
        ClientMetadata metadata = AppMetadata();
        metadata.set_client_name("writer " + std::to_string(w) + " #" + std::to_string(i));
        const bool started_after_delete = deleted.load();
        const absl::StatusOr<ClientInformation> result = manager_->Update(Put(info, metadata));
        if (result.ok()) {
          ++succeeded;
        } else if (!absl::IsUnauthenticated(result.status()) && !absl::IsUnavailable(result.status())) {
          ++unexpected;
        }
        // Once the DELETE has returned, the client is gone for every later call.
        if (started_after_delete && !absl::IsUnauthenticated(result.status())) ++after_delete_answered;
      }
      ++finished;
    });
  }
  std::thread deleter([&] {
    while (succeeded.load() < kWriters && finished.load() < kWriters) std::this_thread::yield();
    absl::Status status;
    do {
      status = Delete(info.client_id(), info.registration_access_token());
    } while (absl::IsUnavailable(status));
    EXPECT_OK(status);
    deleted.store(true);
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(absl::IsUnauthenticated(Get(info.client_id(), info.registration_access_token()).status()));
    }
  });
  for (std::thread& writer : writers) writer.join();
  deleter.join();

  EXPECT_GE(succeeded.load(), kWriters);
  EXPECT_EQ(after_delete_answered.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_TRUE(absl::IsNotFound(store_->Get(info.client_id()).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(Get(info.client_id(), info.registration_access_token()).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(manager_->Update(Put(info, AppMetadata())).status()));
}

// A store whose next Creates answer the scripted statuses (without writing); later ones reach the real store.
class ScriptedCreateStore final : public testing::ForwardingClientStore {
 public:
  ScriptedCreateStore(storage::ClientStore* store, std::vector<absl::Status> answers)
      : ForwardingClientStore(store), answers_(std::move(answers)) {}

  absl::Status Create(const StoredClient& client) override {
    ids_.push_back(client.client_id());
    if (next_ < answers_.size()) return answers_[next_++];
    return store()->Create(client);
  }
  const std::vector<std::string>& ids() const { return ids_; }

 private:
  std::vector<absl::Status> answers_;
  std::size_t next_ = 0;
  std::vector<std::string> ids_;
};

// An id collision is retried under a fresh id, at most three attempts in all; a full store queue is overload
// (RESOURCE_EXHAUSTED, 503 at the gateway), a failed write UNAVAILABLE; neither ever registers anything.
TEST_F(RegistrationManagerTest, RegisterRetriesIdCollisionsAndReportsOverloadAndFailures) {
  const auto registrar_over = [&](ScriptedCreateStore& store) {
    return Registrar(&store, &clock_, MetadataValidator(config_.limits(), config_.registration()),
                     RegistrarOptions(config_, server_key_));
  };
  {
    ScriptedCreateStore store(store_.get(), {absl::AlreadyExistsError("taken")});
    ASSERT_OK_AND_ASSIGN(const ClientInformation info, registrar_over(store).Register(AppMetadata()));
    ASSERT_EQ(store.ids().size(), 2u);
    EXPECT_NE(store.ids()[0], store.ids()[1]);
    EXPECT_EQ(info.client_id(), store.ids()[1]);
    EXPECT_EQ(Stored(info.client_id()).client_id(), info.client_id());
  }
  {
    ScriptedCreateStore store(store_.get(), std::vector<absl::Status>(3, absl::AlreadyExistsError("taken")));
    EXPECT_TRUE(absl::IsUnavailable(registrar_over(store).Register(AppMetadata()).status()));
    EXPECT_EQ(store.ids().size(), 3u);
  }
  {
    ScriptedCreateStore store(store_.get(), {absl::ResourceExhaustedError("queue full")});
    EXPECT_TRUE(absl::IsResourceExhausted(registrar_over(store).Register(AppMetadata()).status()));
  }
  {
    ScriptedCreateStore store(store_.get(), {absl::UnavailableError("disk")});
    EXPECT_TRUE(absl::IsUnavailable(registrar_over(store).Register(AppMetadata()).status()));
  }
}

TEST_F(RegistrationManagerTest, ServiceAnswersWithGrpcStatusesAndDetails) {
  const CallerAuthorizer open(config_);
  ASSERT_OK_AND_ASSIGN(
      const std::unique_ptr<InitialAccessTokens> tokens,
      InitialAccessTokens::Create(store_.get(), &clock_, config_.initial_access_tokens(), server_key_));
  RegistrationService service(registrar_.get(), tokens.get(), manager_.get(), &open, BuildServerMetadata(config_));
  // Register is a callback method, called over real gRPC in the e2e and ServerApp tests.
  const ClientInformation info = Register();
  grpc::ServerContext context;  // what the open authorizer reads nothing of

  GetRegistrationRequest get;
  get.set_client_id(info.client_id());
  get.set_registration_access_token(info.registration_access_token());
  ClientInformation read;
  ASSERT_TRUE(service.GetRegistration(&context, &get, &read).ok());
  EXPECT_EQ(read.client_id(), info.client_id());

  get.set_registration_access_token("wrong-token");
  const grpc::Status denied = service.GetRegistration(&context, &get, &read);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  clientreg::v1::RegistrationError detail;
  ASSERT_TRUE(detail.ParseFromString(denied.error_details()));
  EXPECT_EQ(detail.error(), "invalid_token");

  UpdateRegistrationRequest put = Put(info, AppMetadata());
  put.add_forbidden_members("registration_client_uri");
  EXPECT_EQ(service.UpdateRegistration(&context, &put, &read).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  DeleteRegistrationRequest del;
  del.set_client_id(info.client_id());
  del.set_registration_access_token(info.registration_access_token());
  clientreg::v1::DeleteRegistrationResponse deleted;
  EXPECT_TRUE(service.DeleteRegistration(&context, &del, &deleted).ok());
  EXPECT_EQ(service.DeleteRegistration(&context, &del, &deleted).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  clientreg::v1::GetServerMetadataRequest metadata_request;
  clientreg::v1::ServerMetadata metadata;
  ASSERT_TRUE(service.GetServerMetadata(&context, &metadata_request, &metadata).ok());
  EXPECT_EQ(metadata.issuer(), kIssuer);
}

TEST(ServerMetadataTest, PublishesTheConfigAndWhatRegistrationAccepts) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  config.set_issuer("https://auth.example.com/t1");
  ASSERT_OK(ValidateServerConfig(config));
  const clientreg::v1::ServerMetadata metadata = BuildServerMetadata(config);
  EXPECT_EQ(metadata.issuer(), "https://auth.example.com/t1");
  EXPECT_EQ(metadata.registration_endpoint(), "https://auth.example.com/t1/oauth/register");
  EXPECT_EQ(metadata.authorization_endpoint(), "https://auth.example.com/t1/authorize");
  EXPECT_EQ(metadata.token_endpoint(), "https://auth.example.com/t1/token");
  EXPECT_EQ(metadata.jwks_uri(), "https://auth.example.com/t1/jwks");
  EXPECT_THAT(metadata.response_types_supported(), ElementsAre("code"));
  EXPECT_THAT(metadata.grant_types_supported(),
              ElementsAre("authorization_code", "refresh_token", "client_credentials"));
  EXPECT_THAT(metadata.token_endpoint_auth_methods_supported(),
              ElementsAre("client_secret_basic", "client_secret_post", "none", "private_key_jwt"));
  EXPECT_THAT(metadata.token_endpoint_auth_signing_alg_values_supported(),
              ElementsAre("RS256", "ES256", "PS256", "EdDSA"));
  EXPECT_THAT(metadata.code_challenge_methods_supported(), ElementsAre("S256"));
  EXPECT_THAT(metadata.scopes_supported(), IsEmpty());
  EXPECT_THAT(metadata.subject_types_supported(), ElementsAre("public"));
  EXPECT_THAT(metadata.id_token_signing_alg_values_supported(), ElementsAre("RS256"));

  // What a minimal registration is given is advertised (checklist 75).
  const auto& methods = metadata.token_endpoint_auth_methods_supported();
  EXPECT_NE(std::find(methods.begin(), methods.end(), config.registration().default_token_endpoint_auth_method()),
            methods.end());
  for (const std::string& grant : config.registration().default_grant_types()) {
    const auto& grants = metadata.grant_types_supported();
    EXPECT_NE(std::find(grants.begin(), grants.end(), grant), grants.end()) << grant;
  }
}

TEST(ServerMetadataTest, FollowsTheConfiguredEndpointsPolicyAndAllowlist) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  config.set_issuer("https://auth.example.com");
  config.mutable_discovery()->set_authorization_endpoint("https://login.example.com/oauth2/authorize");
  config.mutable_discovery()->set_token_endpoint("https://login.example.com/oauth2/token");
  config.mutable_discovery()->set_jwks_uri("https://login.example.com/keys");
  clientreg::config::v1::RegistrationPolicy& policy = *config.mutable_registration();
  policy.clear_allowed_token_endpoint_auth_methods();
  policy.add_allowed_token_endpoint_auth_methods("client_secret_basic");
  policy.add_allowed_token_endpoint_auth_methods("none");
  policy.clear_allowed_grant_types();
  policy.add_allowed_grant_types("authorization_code");
  policy.add_allowed_grant_types("refresh_token");
  policy.add_scope_allowlist("openid");
  policy.add_scope_allowlist("mcp:tools");
  ASSERT_OK(ValidateServerConfig(config));

  const clientreg::v1::ServerMetadata metadata = BuildServerMetadata(config);
  EXPECT_EQ(metadata.issuer(), "https://auth.example.com");
  EXPECT_EQ(metadata.registration_endpoint(), "https://auth.example.com/oauth/register");
  EXPECT_EQ(metadata.authorization_endpoint(), "https://login.example.com/oauth2/authorize");
  EXPECT_EQ(metadata.token_endpoint(), "https://login.example.com/oauth2/token");
  EXPECT_EQ(metadata.jwks_uri(), "https://login.example.com/keys");
  EXPECT_THAT(metadata.grant_types_supported(), ElementsAre("authorization_code", "refresh_token"));
  EXPECT_THAT(metadata.token_endpoint_auth_methods_supported(), ElementsAre("client_secret_basic", "none"));
  // RFC 8414 §2: signing algorithms only with private_key_jwt; an empty list is omitted from the document.
  EXPECT_THAT(metadata.token_endpoint_auth_signing_alg_values_supported(), IsEmpty());
  EXPECT_THAT(metadata.scopes_supported(), ElementsAre("openid", "mcp:tools"));
  EXPECT_THAT(metadata.response_types_supported(), Not(IsEmpty()));
  EXPECT_THAT(metadata.code_challenge_methods_supported(), Not(IsEmpty()));
  EXPECT_THAT(metadata.subject_types_supported(), Not(IsEmpty()));
  EXPECT_THAT(metadata.id_token_signing_alg_values_supported(), Not(IsEmpty()));
}

// Issue 9: grant_types_supported is exactly the enabled set, the URN grants included once a deployment enables them.
TEST(ServerMetadataTest, PublishesEnabledUrnGrantTypes) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  config.mutable_registration()->add_allowed_grant_types(std::string(kDeviceCodeGrant));
  config.mutable_registration()->add_allowed_grant_types(std::string(kJwtBearerGrant));
  ASSERT_OK(ValidateServerConfig(config));
  EXPECT_THAT(
      BuildServerMetadata(config).grant_types_supported(),
      ElementsAre("authorization_code", "refresh_token", "client_credentials",
                  "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"));
}

}  // namespace
}  // namespace clientreg::server
