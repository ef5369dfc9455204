#include "server/client_admin_service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "clientreg/v1/errors.pb.h"
#include "clientreg/v1/registration.grpc.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "server/authentication_service.h"
#include "server/caller_authorizer.h"
#include "server/client_admin.h"
#include "server/client_authenticator.h"
#include "server/client_reaper.h"
#include "server/server_app.h"
#include "server/server_config.h"
#include "storage/rocksdb_client_store.h"
#include "tests/server/store_fixture.h"
#include "tests/status_matchers.h"

namespace clientreg::server {
namespace {

using ::clientreg::v1::ClientRecord;
using ::clientreg::v1::ListClientsRequest;
using ::clientreg::v1::ListClientsResponse;
using ::clientreg::v1::RotateClientSecretRequest;
using ::clientreg::v1::RotateClientSecretResponse;
using ::clientreg::v1::StoredClient;

using ::clientreg::testing::Digest;
using ::clientreg::testing::kNow;
using ::clientreg::testing::kServerKey;

// client-000, client-001, ...: ids that sort in creation order.
std::string IdOf(int i) {
  char id[32];
  std::snprintf(id, sizeof(id), "client-%03d", i);
  return id;
}

// Lets a concurrent change win the first compare-and-set of Update and Delete: just before forwarding the first
// one, it rewrites the client with version + 1.
class RacingStore final : public testing::ForwardingClientStore {
 public:
  using ForwardingClientStore::ForwardingClientStore;

  int races() const { return races_; }

  absl::Status Update(const StoredClient& client, uint64_t expected_version) override {
    RETURN_IF_ERROR(Interfere(client.client_id()));
    return ForwardingClientStore::Update(client, expected_version);
  }
  absl::Status Delete(std::string_view client_id, uint64_t expected_version) override {
    RETURN_IF_ERROR(Interfere(client_id));
    return ForwardingClientStore::Delete(client_id, expected_version);
  }

 private:
  absl::Status Interfere(std::string_view client_id) {
    if (races_ > 0) return absl::OkStatus();
    ++races_;
    absl::StatusOr<StoredClient> current = store()->Get(client_id);
    if (!current.ok()) return current.status();
    StoredClient changed = *current;
    changed.mutable_metadata()->set_client_name("renamed concurrently");
    changed.set_version(current->version() + 1);
    return store()->Update(changed, current->version());
  }

  int races_ = 0;
};

class ClientAdminTest : public testing::ClientStoreFixture {
 protected:
  void SetUp() override {
    ClientStoreFixture::SetUp();
    if (HasFatalFailure()) return;
    ClientAuthenticator::Options authenticator_options;
    authenticator_options.server_key = kServerKey;
    authenticator_options.flush_interval = std::chrono::hours(1);
    ASSERT_OK_AND_ASSIGN(authenticator_,
                         ClientAuthenticator::Create(store_.get(), &clock_, std::move(authenticator_options)));
    admin_ = NewAdmin(store_.get(), ClientAdmin::Options());
  }

  void TearDown() override {
    admin_.reset();
    authenticator_.reset();
    ClientStoreFixture::TearDown();
  }

  std::unique_ptr<ClientAdmin> NewAdmin(storage::ClientStore* store, ClientAdmin::Options options) {
    options.server_key = kServerKey;
    return std::make_unique<ClientAdmin>(store, &clock_, authenticator_.get(), std::move(options));
  }

  // Follows next_page_token from the first page to the last and returns every client_id, in order.
  std::vector<std::string> ListAll(ListClientsRequest request, int* pages = nullptr) {
    std::vector<std::string> ids;
    int count = 0;
    request.clear_page_token();
    do {
      absl::StatusOr<ListClientsResponse> page = admin_->ListClients(request);
      EXPECT_OK(page);
      if (!page.ok() || ++count > 1000) break;
      for (const ClientRecord& record : page->clients()) ids.push_back(record.client_id());
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    if (pages != nullptr) *pages = count;
    return ids;
  }

  absl::Status Authenticate(const std::string& client_id, const std::string& secret) {
    return authenticator_->Authenticate(client_id, secret).status();
  }

  std::unique_ptr<ClientAuthenticator> authenticator_;
  std::unique_ptr<ClientAdmin> admin_;
};

TEST_F(ClientAdminTest, GetClientReturnsTheRecord) {
  StoredClient client = MakeClient("c1");
  client.set_client_secret_expires_at(kNow + 99);
  client.set_version(4);
  Store(client);
  ASSERT_OK_AND_ASSIGN(const ClientRecord record, admin_->GetClient("c1"));
  EXPECT_EQ(record.client_id(), "c1");
  EXPECT_EQ(record.metadata().client_name(), "Client c1");
  EXPECT_EQ(record.client_id_issued_at(), kNow - 1000);
  EXPECT_EQ(record.updated_at(), kNow - 1000);
  EXPECT_EQ(record.last_used_at(), 0);
  EXPECT_EQ(record.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(record.origin(), StoredClient::ORIGIN_DYNAMIC);
  EXPECT_TRUE(record.has_client_secret());
  EXPECT_EQ(record.client_secret_expires_at(), kNow + 99);
  EXPECT_EQ(record.version(), 4u);
  // No digest in any form.
  const std::string bytes = record.SerializeAsString();
  EXPECT_EQ(bytes.find(client.client_secret_digest()), std::string::npos);
  EXPECT_EQ(bytes.find(client.registration_access_token_digest()), std::string::npos);
}

TEST_F(ClientAdminTest, GetClientOfAPublicClientHasNoSecret) {
  Store(MakeClient("pub", "none", ""));
  ASSERT_OK_AND_ASSIGN(const ClientRecord record, admin_->GetClient("pub"));
  EXPECT_FALSE(record.has_client_secret());
  EXPECT_EQ(record.client_secret_expires_at(), 0);
}

TEST_F(ClientAdminTest, GetClientUnknownIsNotFound) {
  EXPECT_EQ(admin_->GetClient("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(admin_->GetClient("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientAdminTest, GetClientMergesUnflushedLastUse) {
  Store(MakeClient("c1"));
  ASSERT_OK(Authenticate("c1", "s3cret"));
  ASSERT_OK_AND_ASSIGN(ClientRecord record, admin_->GetClient("c1"));
  EXPECT_EQ(record.last_used_at(), kNow);

  ASSERT_OK(authenticator_->Flush());
  clock_.Advance(30);
  ASSERT_OK(Authenticate("c1", "s3cret"));
  ASSERT_OK_AND_ASSIGN(record, admin_->GetClient("c1"));
  EXPECT_EQ(record.last_used_at(), kNow + 30);
  ASSERT_OK(authenticator_->Flush());
  ASSERT_OK_AND_ASSIGN(record, admin_->GetClient("c1"));
  EXPECT_EQ(record.last_used_at(), kNow + 30);

  // Without an authenticator only the flushed value is known.
  std::unique_ptr<ClientAdmin> detached =
      std::make_unique<ClientAdmin>(store_.get(), &clock_, nullptr, ClientAdmin::Options());
  ASSERT_OK_AND_ASSIGN(record, detached->GetClient("c1"));
  EXPECT_EQ(record.last_used_at(), kNow + 30);
}

TEST_F(ClientAdminTest, ListPagesThrough250ClientsWithoutGapsOrDuplicates) {
  for (int i = 0; i < 250; ++i) Store(MakeClient(IdOf(i)));
  ListClientsRequest request;
  request.set_page_size(100);

  ASSERT_OK_AND_ASSIGN(const ListClientsResponse first, admin_->ListClients(request));
  EXPECT_EQ(first.clients_size(), 100);
  EXPECT_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  ASSERT_OK_AND_ASSIGN(const ListClientsResponse second, admin_->ListClients(request));
  EXPECT_EQ(second.clients_size(), 100);
  EXPECT_FALSE(second.next_page_token().empty());
  request.set_page_token(second.next_page_token());
  ASSERT_OK_AND_ASSIGN(const ListClientsResponse third, admin_->ListClients(request));
  EXPECT_EQ(third.clients_size(), 50);
  EXPECT_TRUE(third.next_page_token().empty());

  std::vector<std::string> expected;
  for (int i = 0; i < 250; ++i) expected.push_back(IdOf(i));
  EXPECT_EQ(ListAll(request), expected);
}

TEST_F(ClientAdminTest, AnExactlyFullLastPageHasNoToken) {
  for (int i = 0; i < 200; ++i) Store(MakeClient(IdOf(i)));
  ListClientsRequest request;
  request.set_page_size(100);
  int pages = 0;
  EXPECT_EQ(ListAll(request, &pages).size(), 200u);
  EXPECT_EQ(pages, 2);
}

TEST_F(ClientAdminTest, ListOfAnEmptyStoreIsOneEmptyPage) {
  ASSERT_OK_AND_ASSIGN(const ListClientsResponse page, admin_->ListClients(ListClientsRequest()));
  EXPECT_EQ(page.clients_size(), 0);
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(ClientAdminTest, PageSizeDefaultsTo100AndIsCapped) {
  for (int i = 0; i < 150; ++i) Store(MakeClient(IdOf(i)));
  ASSERT_OK_AND_ASSIGN(ListClientsResponse page, admin_->ListClients(ListClientsRequest()));
  EXPECT_EQ(page.clients_size(), 100);

  ClientAdmin::Options options;
  options.max_list_page_size = 30;
  admin_ = NewAdmin(store_.get(), options);
  ListClientsRequest request;
  request.set_page_size(1000);
  ASSERT_OK_AND_ASSIGN(page, admin_->ListClients(request));
  EXPECT_EQ(page.clients_size(), 30);
  ASSERT_OK_AND_ASSIGN(page, admin_->ListClients(ListClientsRequest()));
  EXPECT_EQ(page.clients_size(), 30);
}

TEST_F(ClientAdminTest, ListFilters) {
  for (int i = 0; i < 20; ++i) {
    StoredClient client = MakeClient(IdOf(i));
    client.mutable_metadata()->set_software_id(i % 2 == 0 ? "even" : "odd");
    client.set_client_id_issued_at(kNow - 100 + i);
    if (i % 5 == 0) client.set_state(StoredClient::STATE_DISABLED);
    Store(client);
  }
  for (int i = 11; i < 14; ++i) {
    clock_.Set(kNow + i);
    ASSERT_OK(Authenticate(IdOf(i), "s3cret"));
  }
  ASSERT_OK(authenticator_->Flush());
  clock_.Set(kNow + 50);
  ASSERT_OK(Authenticate(IdOf(14), "s3cret"));  // Still pending: listing must see it too.

  ListClientsRequest request;
  request.set_page_size(3);
  request.set_software_id("odd");
  EXPECT_EQ(ListAll(request), (std::vector<std::string>{IdOf(1), IdOf(3), IdOf(5), IdOf(7), IdOf(9), IdOf(11), IdOf(13),
                                                        IdOf(15), IdOf(17), IdOf(19)}));

  request = ListClientsRequest();
  request.set_created_after(kNow - 100 + 15);
  request.set_created_before(kNow - 100 + 18);
  EXPECT_EQ(ListAll(request), (std::vector<std::string>{IdOf(16), IdOf(17)}));

  request = ListClientsRequest();
  request.set_state(StoredClient::STATE_DISABLED);
  EXPECT_EQ(ListAll(request), (std::vector<std::string>{IdOf(0), IdOf(5), IdOf(10), IdOf(15)}));

  request = ListClientsRequest();
  request.set_state(StoredClient::STATE_ACTIVE);
  EXPECT_EQ(ListAll(request).size(), 16u);

  request = ListClientsRequest();
  request.set_last_used_after(kNow + 11);
  EXPECT_EQ(ListAll(request), (std::vector<std::string>{IdOf(12), IdOf(13), IdOf(14)}));

  request = ListClientsRequest();
  request.set_last_used_after(0);
  request.set_last_used_before(kNow + 13);
  EXPECT_EQ(ListAll(request), (std::vector<std::string>{IdOf(11), IdOf(12)}));

  // Never used counts as 0: "not used since" includes clients never used.
  request = ListClientsRequest();
  request.set_last_used_before(kNow + 12);
  EXPECT_EQ(ListAll(request).size(), 17u);

  request = ListClientsRequest();
  request.set_software_id("even");
  request.set_last_used_after(kNow);
  ASSERT_OK_AND_ASSIGN(const ListClientsResponse page, admin_->ListClients(request));
  ASSERT_EQ(page.clients_size(), 2);
  EXPECT_EQ(page.clients(0).client_id(), IdOf(12));
  EXPECT_EQ(page.clients(0).last_used_at(), kNow + 12);
  EXPECT_EQ(page.clients(1).client_id(), IdOf(14));
  EXPECT_EQ(page.clients(1).last_used_at(), kNow + 50);

  // `list --unused`: never used, the pending use of client 14 included.
  request = ListClientsRequest();
  request.set_never_used(true);
  const std::vector<std::string> unused = ListAll(request);
  EXPECT_EQ(unused.size(), 16u);
  for (int i = 11; i < 15; ++i) EXPECT_EQ(std::count(unused.begin(), unused.end(), IdOf(i)), 0) << i;

  // `list --idle-since`: last used before the time, or never used and registered before it.
  request = ListClientsRequest();
  request.set_idle_since(kNow + 13);
  EXPECT_EQ(ListAll(request).size(), 18u);  // all but 13 (used at kNow + 13) and 14 (kNow + 50)
  request.set_idle_since(kNow - 100 + 3);
  EXPECT_EQ(ListAll(request), (std::vector<std::string>{IdOf(0), IdOf(1), IdOf(2)}));
}

TEST_F(ClientAdminTest, ASelectiveFilterBoundsTheWorkOfOneCall) {
  // page_size 1 allows 10 × 1 + 1000 clients examined per call; the only match is beyond that.
  for (int i = 0; i < 1015; ++i) {
    StoredClient client = MakeClient(absl::StrCat("client-", 10000 + i));
    if (i == 1012) client.mutable_metadata()->set_software_id("needle");
    Store(client);
  }
  ListClientsRequest request;
  request.set_page_size(1);
  request.set_software_id("needle");
  ASSERT_OK_AND_ASSIGN(ListClientsResponse page, admin_->ListClients(request));
  EXPECT_EQ(page.clients_size(), 0);
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  ASSERT_OK_AND_ASSIGN(page, admin_->ListClients(request));
  ASSERT_EQ(page.clients_size(), 1);
  EXPECT_EQ(page.clients(0).client_id(), "client-11012");
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(ClientAdminTest, MalformedPageTokenIsInvalidArgument) {
  for (int i = 0; i < 3; ++i) Store(MakeClient(IdOf(i)));
  for (const std::string token : {"!!!", "Y2xpZW50LTAwMA==", "Y2xpZW50LTAwMA=", "Y", "a b", "Y2xpZW50LTAwMA#"}) {
    ListClientsRequest request;
    request.set_page_token(token);
    EXPECT_EQ(admin_->ListClients(request).status().code(), absl::StatusCode::kInvalidArgument) << token;
  }
  // A well-formed token for an id that is not stored (any more) still resumes after it.
  ListClientsRequest request;
  request.set_page_token(common::Base64UrlEncode("client-0005"));
  ASSERT_OK_AND_ASSIGN(const ListClientsResponse page, admin_->ListClients(request));
  ASSERT_EQ(page.clients_size(), 2);
  EXPECT_EQ(page.clients(0).client_id(), IdOf(1));
}

TEST_F(ClientAdminTest, UnknownStateIsInvalidArgument) {
  ListClientsRequest request;
  request.set_state(static_cast<StoredClient::State>(42));
  EXPECT_EQ(admin_->ListClients(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientAdminTest, DisableAndEnable) {
  Store(MakeClient("c1"));
  clock_.Advance(10);
  ASSERT_OK_AND_ASSIGN(ClientRecord record, admin_->DisableClient("c1"));
  EXPECT_EQ(record.state(), StoredClient::STATE_DISABLED);
  EXPECT_EQ(record.version(), 2u);
  EXPECT_EQ(record.updated_at(), kNow + 10);
  EXPECT_EQ(Authenticate("c1", "s3cret").code(), absl::StatusCode::kUnauthenticated);

  clock_.Advance(10);
  ASSERT_OK_AND_ASSIGN(record, admin_->DisableClient("c1"));
  EXPECT_EQ(record.state(), StoredClient::STATE_DISABLED);
  EXPECT_EQ(record.version(), 2u);
  EXPECT_EQ(record.updated_at(), kNow + 10);

  ASSERT_OK_AND_ASSIGN(record, admin_->EnableClient("c1"));
  EXPECT_EQ(record.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(record.version(), 3u);
  EXPECT_EQ(record.updated_at(), kNow + 20);
  EXPECT_OK(Authenticate("c1", "s3cret"));
  ASSERT_OK_AND_ASSIGN(record, admin_->EnableClient("c1"));
  EXPECT_EQ(record.version(), 3u);

  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store_->Get("c1"));
  EXPECT_EQ(stored.version(), 3u);
  EXPECT_EQ(stored.client_secret_digest(), Digest("s3cret"));
  EXPECT_EQ(stored.registration_access_token_digest(), Digest("rat-c1"));

  EXPECT_EQ(admin_->DisableClient("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(admin_->EnableClient("nobody").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientAdminTest, DisableRetriesWhenAConcurrentChangeWins) {
  Store(MakeClient("c1"));
  RacingStore racing(store_.get());
  std::unique_ptr<ClientAdmin> admin = NewAdmin(&racing, ClientAdmin::Options());
  ASSERT_OK_AND_ASSIGN(const ClientRecord record, admin->DisableClient("c1"));
  EXPECT_EQ(racing.races(), 1);
  EXPECT_EQ(record.state(), StoredClient::STATE_DISABLED);
  EXPECT_EQ(record.version(), 3u);
  // The concurrent change survives: the retry re-read it.
  EXPECT_EQ(record.metadata().client_name(), "renamed concurrently");
}

TEST_F(ClientAdminTest, DeleteClient) {
  Store(MakeClient("c1"));
  ASSERT_OK(Authenticate("c1", "s3cret"));
  ASSERT_OK(authenticator_->Flush());
  ASSERT_OK(admin_->DeleteClient("c1"));
  EXPECT_EQ(admin_->GetClient("c1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("c1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Authenticate("c1", "s3cret").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(admin_->DeleteClient("c1").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(admin_->DeleteClient("").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientAdminTest, DeleteRetriesWhenAConcurrentChangeWins) {
  Store(MakeClient("c1"));
  RacingStore racing(store_.get());
  std::unique_ptr<ClientAdmin> admin = NewAdmin(&racing, ClientAdmin::Options());
  ASSERT_OK(admin->DeleteClient("c1"));
  EXPECT_EQ(racing.races(), 1);
  EXPECT_EQ(store_->Get("c1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientAdminTest, RotateWithOverlapKeepsTheOldSecretUntilItEnds) {
  Store(MakeClient("c1"));
  RotateClientSecretRequest request;
  request.set_client_id("c1");
  request.set_overlap_seconds(60);
  ASSERT_OK_AND_ASSIGN(const RotateClientSecretResponse response, admin_->RotateClientSecret(request));
  EXPECT_EQ(response.client_secret().size(), 43u);
  EXPECT_NE(response.client_secret(), "s3cret");
  EXPECT_EQ(response.previous_client_secret_valid_until(), kNow + 60);
  EXPECT_EQ(response.client_secret_expires_at(), 0);
  EXPECT_EQ(response.client().version(), 2u);
  EXPECT_EQ(response.client().updated_at(), kNow);
  EXPECT_TRUE(response.client().has_client_secret());

  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store_->Get("c1"));
  EXPECT_EQ(stored.client_secret_digest(), Digest(response.client_secret()));
  EXPECT_EQ(stored.previous_client_secret_digest(), Digest("s3cret"));

  EXPECT_OK(Authenticate("c1", response.client_secret()));
  EXPECT_OK(Authenticate("c1", "s3cret"));
  clock_.Advance(59);
  EXPECT_OK(Authenticate("c1", "s3cret"));
  clock_.Advance(1);
  EXPECT_EQ(Authenticate("c1", "s3cret").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_OK(Authenticate("c1", response.client_secret()));
}

TEST_F(ClientAdminTest, RotateWithoutOverlapStopsTheOldSecretAtOnce) {
  Store(MakeClient("c1"));
  RotateClientSecretRequest request;
  request.set_client_id("c1");
  request.set_overlap_seconds(60);
  ASSERT_OK_AND_ASSIGN(const RotateClientSecretResponse first, admin_->RotateClientSecret(request));
  // Zero overlap also ends the previous rotation's overlap.
  request.set_overlap_seconds(0);
  ASSERT_OK_AND_ASSIGN(const RotateClientSecretResponse second, admin_->RotateClientSecret(request));
  EXPECT_EQ(second.previous_client_secret_valid_until(), 0);
  EXPECT_EQ(Authenticate("c1", "s3cret").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Authenticate("c1", first.client_secret()).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_OK(Authenticate("c1", second.client_secret()));
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store_->Get("c1"));
  EXPECT_TRUE(stored.previous_client_secret_digest().empty());
  EXPECT_EQ(stored.previous_client_secret_valid_until(), 0);
}

TEST_F(ClientAdminTest, RotateUsesTheConfiguredOverlapAndLifetime) {
  Store(MakeClient("c1"));
  ClientAdmin::Options options;
  options.secret_rotation_overlap_seconds = 30;
  options.client_secret_lifetime_seconds = 3600;
  admin_ = NewAdmin(store_.get(), options);
  RotateClientSecretRequest request;
  request.set_client_id("c1");
  ASSERT_OK_AND_ASSIGN(const RotateClientSecretResponse response, admin_->RotateClientSecret(request));
  EXPECT_EQ(response.previous_client_secret_valid_until(), kNow + 30);
  EXPECT_EQ(response.client_secret_expires_at(), kNow + 3600);
  EXPECT_EQ(response.client().client_secret_expires_at(), kNow + 3600);
  clock_.Advance(3599);
  EXPECT_OK(Authenticate("c1", response.client_secret()));
  clock_.Advance(1);
  EXPECT_EQ(Authenticate("c1", response.client_secret()).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ClientAdminTest, RotationNeverExtendsTheOldSecret) {
  StoredClient client = MakeClient("c1");
  client.set_client_secret_expires_at(kNow + 20);
  Store(client);
  StoredClient expired = MakeClient("c2");
  expired.set_client_secret_expires_at(kNow - 1);
  Store(expired);

  RotateClientSecretRequest request;
  request.set_client_id("c1");
  request.set_overlap_seconds(60);
  ASSERT_OK_AND_ASSIGN(RotateClientSecretResponse response, admin_->RotateClientSecret(request));
  EXPECT_EQ(response.previous_client_secret_valid_until(), kNow + 20);

  request.set_client_id("c2");
  ASSERT_OK_AND_ASSIGN(response, admin_->RotateClientSecret(request));
  EXPECT_EQ(response.previous_client_secret_valid_until(), 0);
  EXPECT_EQ(Authenticate("c2", "s3cret").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_OK(Authenticate("c2", response.client_secret()));
}

TEST_F(ClientAdminTest, RotateRefusals) {
  Store(MakeClient("pub", "none", ""));
  Store(MakeClient("jwt", "private_key_jwt", ""));
  Store(MakeClient("c1"));
  RotateClientSecretRequest request;
  request.set_client_id("pub");
  EXPECT_EQ(admin_->RotateClientSecret(request).status().code(), absl::StatusCode::kFailedPrecondition);
  request.set_client_id("jwt");
  EXPECT_EQ(admin_->RotateClientSecret(request).status().code(), absl::StatusCode::kFailedPrecondition);
  request.set_client_id("nobody");
  EXPECT_EQ(admin_->RotateClientSecret(request).status().code(), absl::StatusCode::kNotFound);
  request.set_client_id("c1");
  request.set_overlap_seconds(-1);
  EXPECT_EQ(admin_->RotateClientSecret(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_overlap_seconds(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(admin_->RotateClientSecret(request).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store_->Get("c1"));
  EXPECT_EQ(stored.version(), 1u);
}

TEST_F(ClientAdminTest, RotateNeverLogsTheSecret) {
  Store(MakeClient("c1"));
  RotateClientSecretRequest request;
  request.set_client_id("c1");
  common::FlushLogs();  // only this test's lines in the capture
  ::testing::internal::CaptureStderr();
  absl::StatusOr<RotateClientSecretResponse> response = admin_->RotateClientSecret(request);
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_OK(response);
  EXPECT_NE(log.find(R"("event":"client_secret_rotated","client_id":"c1")"), std::string::npos) << log;
  EXPECT_EQ(log.find(response->client_secret()), std::string::npos) << log;
}

// Serves `service` alone on a loopback port, with a stub for it in `stub`; null if it could not listen.
std::unique_ptr<grpc::Server> ServeAdmin(ClientAdminService* service,
                                         std::unique_ptr<clientreg::v1::ClientAdmin::Stub>* stub) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  *stub = clientreg::v1::ClientAdmin::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  return server;
}

// The services over a real gRPC server on a loopback port, called through the generated stubs.
TEST_F(ClientAdminTest, ServicesOverGrpc) {
  Store(MakeClient("c1"));
  const CallerAuthorizer open(DefaultServerConfig());
  AuthenticationService authentication(authenticator_.get(), &open);
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<InitialAccessTokens> tokens,
                       InitialAccessTokens::Create(store_.get(), &clock_, {}, kServerKey));
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<ClientReaper> reaper, ClientReaper::Create(store_.get(), &clock_, {}));
  ClientAdminService administration(admin_.get(), tokens.get(), reaper.get(), &open, 1000);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&authentication);
  builder.RegisterService(&administration);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(port, 0);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  std::unique_ptr<clientreg::v1::ClientAuthentication::Stub> auth_stub =
      clientreg::v1::ClientAuthentication::NewStub(channel);
  std::unique_ptr<clientreg::v1::ClientAdmin::Stub> admin_stub = clientreg::v1::ClientAdmin::NewStub(channel);

  {
    grpc::ClientContext context;
    RotateClientSecretRequest request;
    request.set_client_id("c1");
    RotateClientSecretResponse response;
    ASSERT_TRUE(admin_stub->RotateClientSecret(&context, request, &response).ok());
    grpc::ClientContext auth_context;
    clientreg::v1::AuthenticateClientRequest auth_request;
    auth_request.set_client_id("c1");
    auth_request.set_client_secret(response.client_secret());
    clientreg::v1::AuthenticateClientResponse auth_response;
    const grpc::Status status = auth_stub->AuthenticateClient(&auth_context, auth_request, &auth_response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(auth_response.client().client_id(), "c1");
    EXPECT_EQ(auth_response.client().last_used_at(), kNow);
  }
  std::string unknown_details;
  for (const std::string client_id : {"c1", "nobody"}) {
    grpc::ClientContext context;
    clientreg::v1::AuthenticateClientRequest request;
    request.set_client_id(client_id);
    request.set_client_secret("s3cret");
    clientreg::v1::AuthenticateClientResponse response;
    const grpc::Status status = auth_stub->AuthenticateClient(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(status.error_message(), "client authentication failed");
    clientreg::v1::RegistrationError error;
    ASSERT_TRUE(error.ParseFromString(status.error_details()));
    EXPECT_EQ(error.error(), "invalid_client");
    if (unknown_details.empty()) {
      unknown_details = status.error_details();
    } else {
      EXPECT_EQ(status.error_details(), unknown_details);
    }
  }
  {
    grpc::ClientContext context;
    clientreg::v1::GetClientRequest request;
    request.set_client_id("nobody");
    ClientRecord response;
    EXPECT_EQ(admin_stub->GetClient(&context, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    ListClientsRequest request;
    request.set_page_token("not a token");
    ListClientsResponse response;
    EXPECT_EQ(admin_stub->ListClients(&context, request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    clientreg::v1::ClientIdRequest request;
    request.set_client_id("c1");
    ClientRecord response;
    ASSERT_TRUE(admin_stub->DisableClient(&context, request, &response).ok());
    EXPECT_EQ(response.state(), StoredClient::STATE_DISABLED);
    grpc::ClientContext delete_context;
    clientreg::v1::DeleteClientResponse deleted;
    EXPECT_TRUE(admin_stub->DeleteClient(&delete_context, request, &deleted).ok());
    grpc::ClientContext again_context;
    EXPECT_EQ(admin_stub->DeleteClient(&again_context, request, &deleted).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  server->Shutdown();
}

// Sends one ServerReflectionRequest{list_services: ""} (field 7, hand-encoded: Debian ships no reflection protos)
// through a generic bidi call and returns the raw response bytes, which hold the service names as strings.
std::string ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t expected) {
    EXPECT_TRUE(queue.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  std::string bytes;
  if (step(1)) {
    grpc::Slice slice(std::string("\x3a\x00", 2));
    grpc::ByteBuffer request(&slice, 1);
    call->Write(request, reinterpret_cast<void*>(2));
    EXPECT_TRUE(step(2));
    call->WritesDone(reinterpret_cast<void*>(3));
    EXPECT_TRUE(step(3));
    grpc::ByteBuffer response;
    call->Read(&response, reinterpret_cast<void*>(4));
    if (step(4)) {
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(response.Dump(&slices).ok());
      for (const grpc::Slice& part : slices) bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return bytes;
}

// Backup through the real service on a loopback port: a store that opens and holds the clients, the codes of a
// Reap and ListReapedClients over the wire: a dry run lists, a pass reaps, the tombstones page, and GetClient of a
// reaped client says when and why.
TEST_F(ClientAdminTest, ReapOverGrpc) {
  for (int i = 0; i < 5; ++i) {
    StoredClient client = MakeClient(IdOf(i));
    client.set_client_id_issued_at(kNow - 7200 + i);
    Store(client);
  }
  ASSERT_OK(store_->RecordLastUsed({{IdOf(4), kNow}}));
  const CallerAuthorizer open(DefaultServerConfig());
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<InitialAccessTokens> tokens,
                       InitialAccessTokens::Create(store_.get(), &clock_, {}, kServerKey));
  ClientReaper::Options rules;
  rules.never_used_after_seconds = 3600;
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<ClientReaper> reaper,
                       ClientReaper::Create(store_.get(), &clock_, std::move(rules)));
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<ClientReaper> off, ClientReaper::Create(store_.get(), &clock_, {}));
  ClientAdminService administration(admin_.get(), tokens.get(), reaper.get(), &open, /*max_page_size=*/3);
  ClientAdminService unconfigured(admin_.get(), tokens.get(), off.get(), &open, 1000);
  std::unique_ptr<clientreg::v1::ClientAdmin::Stub> stub;
  const std::unique_ptr<grpc::Server> server = ServeAdmin(&administration, &stub);
  ASSERT_NE(server, nullptr);

  clientreg::v1::ReapRequest request;
  request.set_dry_run(true);
  request.set_limit(10);  // cut to max_page_size
  clientreg::v1::ReapResponse dry;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Reap(&context, request, &dry).ok());
  }
  ASSERT_EQ(dry.clients_size(), 3);
  EXPECT_TRUE(dry.more());
  EXPECT_EQ(dry.clients(0).client_id(), IdOf(0));  // oldest first
  EXPECT_EQ(dry.clients(0).reaped_at(), 0);
  EXPECT_OK(admin_->GetClient(IdOf(0)));  // a dry run deletes nothing

  request.set_dry_run(false);
  for (int pass = 0; pass < 2; ++pass) {
    grpc::ClientContext context;
    clientreg::v1::ReapResponse reaped;
    ASSERT_TRUE(stub->Reap(&context, request, &reaped).ok());
    EXPECT_EQ(reaped.clients_size(), pass == 0 ? 3 : 1);
  }
  const absl::Status gone = admin_->GetClient(IdOf(0)).status();
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(gone.message().find("was reaped at 2023-11-14T22:13:20Z (never used)"), std::string::npos) << gone;
  EXPECT_OK(admin_->GetClient(IdOf(4)));  // used

  std::vector<std::string> listed;
  clientreg::v1::ListReapedClientsRequest list;
  list.set_page_size(3);
  do {
    grpc::ClientContext context;
    clientreg::v1::ListReapedClientsResponse page;
    ASSERT_TRUE(stub->ListReapedClients(&context, list, &page).ok());
    for (const clientreg::v1::StoredTombstone& tombstone : page.clients()) {
      EXPECT_EQ(tombstone.reason(), clientreg::v1::StoredTombstone::REASON_NEVER_USED);
      listed.push_back(tombstone.client_id());
    }
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(listed, (std::vector<std::string>{IdOf(0), IdOf(1), IdOf(2), IdOf(3)}));
  list.set_page_token("not-a-token");
  EXPECT_EQ(admin_->ListReapedClients(list).status().code(), absl::StatusCode::kInvalidArgument);

  // Without a lifecycle rule, Reap is refused, dry or not.
  grpc::ServerContext server_context;
  clientreg::v1::ReapResponse refused;
  EXPECT_EQ(unconfigured.Reap(&server_context, &request, &refused).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  server->Shutdown(std::chrono::system_clock::now());
}

// bad target over the wire, and one log line with the directory and the count.
TEST_F(ClientAdminTest, BackupOverGrpc) {
  Store(MakeClient("c1"));
  Store(MakeClient("c2"));
  ASSERT_OK(admin_->DisableClient("c2").status());
  const CallerAuthorizer open(DefaultServerConfig());
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<InitialAccessTokens> tokens,
                       InitialAccessTokens::Create(store_.get(), &clock_, {}, kServerKey));
  ASSERT_OK_AND_ASSIGN(const std::unique_ptr<ClientReaper> reaper, ClientReaper::Create(store_.get(), &clock_, {}));
  ClientAdminService administration(admin_.get(), tokens.get(), reaper.get(), &open, 1000);
  std::unique_ptr<clientreg::v1::ClientAdmin::Stub> stub;
  const std::unique_ptr<grpc::Server> server = ServeAdmin(&administration, &stub);
  ASSERT_NE(server, nullptr);
  const auto backup = [&](const std::string& dir, clientreg::v1::BackupResponse* response) {
    grpc::ClientContext context;
    clientreg::v1::BackupRequest request;
    request.set_dir(dir);
    return stub->Backup(&context, request, response);
  };

  const std::string dir = dir_ + "/backup";
  clientreg::v1::BackupResponse response;
  common::FlushLogs();  // only this call's lines in the capture
  ::testing::internal::CaptureStderr();
  const grpc::Status written = backup(dir, &response);
  common::FlushLogs();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(written.ok()) << written.error_message();
  EXPECT_EQ(response.dir(), dir);
  EXPECT_EQ(response.clients(), 2);
  EXPECT_EQ(response.created_at(), kNow);
  EXPECT_GE(response.duration_ms(), 0);
  EXPECT_NE(log.find(absl::StrCat(R"("event":"backup_written","path":")", dir, R"(","clients":"2")")),
            std::string::npos)
      << log;

  const std::pair<std::string, grpc::StatusCode> refusals[] = {
      {dir, grpc::StatusCode::ALREADY_EXISTS},
      {"backup", grpc::StatusCode::INVALID_ARGUMENT},
      {dir_ + "/missing/backup", grpc::StatusCode::FAILED_PRECONDITION},
  };
  for (const auto& [target, code] : refusals) {
    SCOPED_TRACE(target);
    clientreg::v1::BackupResponse refused;
    EXPECT_EQ(backup(target, &refused).error_code(), code);
  }
  server->Shutdown();

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::ClientStore> copy, storage::OpenRocksDbClientStore(dir));
  ASSERT_OK_AND_ASSIGN(const StoredClient c1, copy->Get("c1"));
  EXPECT_EQ(c1.client_secret_digest(), Digest("s3cret"));
  ASSERT_OK_AND_ASSIGN(const StoredClient c2, copy->Get("c2"));
  EXPECT_EQ(c2.state(), StoredClient::STATE_DISABLED);
}

// The shipped wiring: ServerApp serves both services and reflection, and its shutdown flushes the last uses.
using ServerAppWiringTest = testing::ClientStoreFixture;

// Every service is served; the directory and AuthenticateClient share one last-use recorder, so an admin sees a use
// ResolveClient recorded before any flush, and the shutdown flush writes it.
TEST_F(ServerAppWiringTest, ServesAuthenticationDirectoryAdminAndReflection) {
  clientreg::config::v1::ServerConfig config = DefaultServerConfig();
  config.set_listen_address("127.0.0.1:0");
  config.set_data_dir(dir_ + "/app");
  std::string client_id;
  {
    ServerApp::Dependencies dependencies;
    dependencies.clock = &clock_;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ServerApp> app, ServerApp::Start(config, std::move(dependencies)));
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(app->port()), grpc::InsecureChannelCredentials());

    clientreg::v1::RegisterRequest register_request;
    register_request.mutable_metadata()->mutable_redirect_uris()->add_values("https://app.example/cb");
    clientreg::v1::ClientInformation info;
    grpc::ClientContext register_context;
    const grpc::Status registered =
        clientreg::v1::ClientRegistration::NewStub(channel)->Register(&register_context, register_request, &info);
    ASSERT_TRUE(registered.ok()) << registered.error_message();
    client_id = info.client_id();
    ASSERT_FALSE(info.client_secret().empty());

    clientreg::v1::AuthenticateClientRequest auth_request;
    auth_request.set_client_id(client_id);
    auth_request.set_client_secret(info.client_secret());
    clientreg::v1::AuthenticateClientResponse auth_response;
    grpc::ClientContext auth_context;
    const grpc::Status authenticated = clientreg::v1::ClientAuthentication::NewStub(channel)->AuthenticateClient(
        &auth_context, auth_request, &auth_response);
    ASSERT_TRUE(authenticated.ok()) << authenticated.error_message();

    clock_.Advance(5);
    const std::unique_ptr<clientreg::v1::ClientDirectory::Stub> directory =
        clientreg::v1::ClientDirectory::NewStub(channel);
    clientreg::v1::ResolveClientRequest resolve_request;
    resolve_request.set_client_id(client_id);
    resolve_request.set_purpose(clientreg::v1::ResolveClientRequest::PURPOSE_AUTHORIZE);
    clientreg::v1::ResolvedClient resolved;
    grpc::ClientContext resolve_context;
    const grpc::Status resolve = directory->ResolveClient(&resolve_context, resolve_request, &resolved);
    ASSERT_TRUE(resolve.ok()) << resolve.error_message();
    EXPECT_EQ(resolved.last_used_at(), kNow + 5);
    EXPECT_EQ(resolved.metadata().application_type(), "web");
    clientreg::v1::CheckRedirectUriRequest check_request;
    check_request.set_client_id(client_id);
    check_request.set_redirect_uri("https://app.example/cb");
    clientreg::v1::CheckRedirectUriResponse check_response;
    grpc::ClientContext check_context;
    ASSERT_TRUE(directory->CheckRedirectUri(&check_context, check_request, &check_response).ok());
    EXPECT_TRUE(check_response.allowed());

    clientreg::v1::GetClientRequest get_request;
    get_request.set_client_id(client_id);
    ClientRecord record;
    grpc::ClientContext get_context;
    ASSERT_TRUE(clientreg::v1::ClientAdmin::NewStub(channel)->GetClient(&get_context, get_request, &record).ok());
    EXPECT_EQ(record.last_used_at(), kNow + 5);
    const std::string metrics = app->metrics().Encode();
    EXPECT_NE(metrics.find(R"(clientreg_directory_calls_total{method="ResolveClient",outcome="active"} 1)"),
              std::string::npos);
    EXPECT_NE(metrics.find(R"(clientreg_rpc_duration_seconds_count{method="CheckRedirectUri"} 1)"), std::string::npos);

    const std::string services = ListServicesByReflection(channel);
    EXPECT_NE(services.find("clientreg.v1.ClientAuthentication"), std::string::npos);
    EXPECT_NE(services.find("clientreg.v1.ClientDirectory"), std::string::npos);
    EXPECT_NE(services.find("clientreg.v1.ClientAdmin"), std::string::npos);
    EXPECT_NE(services.find("clientreg.v1.ClientRegistration"), std::string::npos);
    app->Shutdown(std::chrono::milliseconds(0));
  }
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::ClientStore> store,
                         storage::OpenRocksDbClientStore(dir_ + "/app/clients"));
    ASSERT_OK_AND_ASSIGN(const int64_t last_used, store->GetLastUsed(client_id));
    EXPECT_EQ(last_used, kNow + 5);
  }
}

}  // namespace
}  // namespace clientreg::server
