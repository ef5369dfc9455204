// Google Benchmarks of the RocksDB client store (issue 5): Create (every write synced; alone and with concurrent
// writers, which share one WAL sync through RocksDB's group commit), Get of a stored and of a missing client, and
// FindByTokenDigest; and (issue 12) a reaper's page of ListByLifecycle, with nothing due and with a full page due.
// The store lives in a fresh directory under $TMPDIR (default /tmp), removed at exit, and is pre-populated with
// --clients typical registrations first, issued one a second up to now, every other one used since.
//
//   clientreg-store-bench [--clients=N] [--benchmark_filter=REGEX] [--benchmark_min_time=SECONDS] ...

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <semaphore>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/benchmark_support.h"
#include "benchmark/benchmark.h"
#include "clientreg/v1/metadata.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "storage/client_store.h"
#include "storage/rocksdb_client_store.h"
#include "tests/support/writable_file_wrapping_fs.h"

namespace clientreg::bench {
namespace {

using clientreg::v1::StoredClient;

constexpr int kDefaultClients = 100'000;
// Ids looked up by the missing-client benchmark, drawn once so that the loop measures the store, not the CSPRNG.
constexpr int kMissingIds = 10'000;
// Same sizes as the server's: 128-bit client ids (registrar.cc), 256-bit secrets and tokens (common/secrets.h).
constexpr std::size_t kClientIdBytes = 16;
constexpr std::size_t kDigestBytes = 32;

// The store under test and what the lookups draw from. Set up by main before any benchmark runs.
struct StoreFixture {
  std::unique_ptr<storage::ClientStore> store;
  std::vector<std::string> client_ids;
  std::vector<std::string> token_digests;
  std::vector<std::string> missing_ids;
  // Earlier than every client's issue time and last use.
  int64_t before_every_client = 0;
  // Later than every client's issue time and last use.
  int64_t after_every_client = 0;
  // Every client issued before this and never used was reaped by the fill.
  int64_t reaped_before = 0;
  // How many clients the fill left never used.
  std::size_t never_used = 0;
};
StoreFixture* fixture = nullptr;

absl::StatusOr<std::string> NewClientId() {
  ASSIGN_OR_RETURN(const std::string bytes, common::RandomBytes(kClientIdBytes));
  return absl::BytesToHexString(bytes);
}

// The metadata MetadataValidator returns for bench/register.lua's body (defaults applied), so that records have
// the size and shape of the ones a benchmark run over HTTP leaves behind.
clientreg::v1::ClientMetadata TypicalMetadata(std::string client_name) {
  clientreg::v1::ClientMetadata metadata;
  metadata.mutable_redirect_uris()->add_values("https://bench.example.net/oauth/callback");
  metadata.mutable_redirect_uris()->add_values("https://bench.example.net/cb/2");
  metadata.set_client_name(std::move(client_name));
  metadata.mutable_grant_types()->add_values("authorization_code");
  metadata.mutable_grant_types()->add_values("refresh_token");
  metadata.mutable_response_types()->add_values("code");
  metadata.set_token_endpoint_auth_method("client_secret_basic");
  metadata.mutable_contacts()->add_values("bench@example.net");
  metadata.set_application_type("web");
  return metadata;
}

// A client as Registrar::Register stores it: typical metadata, a secret digest and a registration access token
// digest (HMACs of fresh CSPRNG tokens), version 1. The plaintexts are thrown away, as the server does.
absl::StatusOr<StoredClient> NewTypicalClient(std::string_view server_key, int64_t now, int n) {
  StoredClient client;
  ASSIGN_OR_RETURN(*client.mutable_client_id(), NewClientId());
  *client.mutable_metadata() = TypicalMetadata(absl::StrCat("bench 0-", n));
  ASSIGN_OR_RETURN(const std::string secret, common::RandomToken());
  ASSIGN_OR_RETURN(*client.mutable_client_secret_digest(), common::HmacSha256(server_key, secret));
  ASSIGN_OR_RETURN(const std::string token, common::RandomToken());
  ASSIGN_OR_RETURN(*client.mutable_registration_access_token_digest(), common::HmacSha256(server_key, token));
  client.set_client_id_issued_at(now);
  client.set_updated_at(now);
  client.set_client_secret_expires_at(0);
  client.set_state(StoredClient::STATE_ACTIVE);
  client.set_origin(StoredClient::ORIGIN_DYNAMIC);
  client.set_version(1);
  return client;
}

// Syncs nothing. Pre-populating 100,000 clients with a sync per Create would take minutes of set-up; the data
// reaches the page cache all the same, and the measured store is reopened on the default file system, which syncs.
class NoSyncWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;

  rocksdb::IOStatus Sync(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus RangeSync(uint64_t /*offset*/, uint64_t /*nbytes*/, const rocksdb::IOOptions& /*options*/,
                              rocksdb::IODebugContext* /*dbg*/) override {
    return rocksdb::IOStatus::OK();
  }
};

class NoSyncFileSystem : public testing::WritableFileWrappingFileSystem {
 public:
  explicit NoSyncFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
      : WritableFileWrappingFileSystem(target) {}

  const char* Name() const override { return "NoSyncFileSystem"; }

 protected:
  std::unique_ptr<rocksdb::FSWritableFile> Wrap(std::unique_ptr<rocksdb::FSWritableFile> file) override {
    return std::make_unique<NoSyncWritableFile>(std::move(file));
  }
};

// Creates waiting for the store at once during the fill: enough to fill the store's groups, well below the number
// it refuses beyond (kMaxPendingCreates in rocksdb_client_store.cc).
constexpr int kFillInFlight = 1024;
// Clients per RecordLastUsed call of the fill.
constexpr int kFillUsesPerBatch = 1000;

// Writes `count` typical clients into a new store at `path`, client n issued at now - count + n, records a use at now
// of every even one, and reaps the odd ones of the oldest quarter (never used); closes the store and reopens it for
// the benchmarks. The client ids and digests that `out` lists are those of the clients left.
absl::Status Populate(const std::string& path, int count, StoreFixture& out) {
  const std::string server_key(common::kServerKeyBytes, 'k');
  const int64_t now = common::SystemClock().NowSeconds();
  const int64_t first_issued_at = now - count;
  {
    const std::unique_ptr<rocksdb::Env> no_sync_env =
        rocksdb::NewCompositeEnv(std::make_shared<NoSyncFileSystem>(rocksdb::FileSystem::Default()));
    ASSIGN_OR_RETURN(const std::unique_ptr<storage::ClientStore> store,
                     storage::OpenRocksDbClientStore(path, no_sync_env.get()));
    out.client_ids.reserve(count);
    out.token_digests.reserve(count);
    // Asynchronous Creates, many in flight: the store commits them in groups, as it does a loaded server's, so that a
    // million take a minute rather than one round trip each.
    std::counting_semaphore<kFillInFlight> in_flight(kFillInFlight);
    absl::Mutex mu;
    absl::Status failed;
    for (int n = 0; n < count; ++n) {
      ASSIGN_OR_RETURN(const StoredClient client, NewTypicalClient(server_key, first_issued_at + n, n));
      out.client_ids.push_back(client.client_id());
      out.token_digests.push_back(client.registration_access_token_digest());
      in_flight.acquire();
      store->CreateAsync(client, [&](absl::Status status) {
        if (!status.ok()) {
          absl::MutexLock lock(&mu);
          failed.Update(status);
        }
        in_flight.release();
      });
    }
    for (int i = 0; i < kFillInFlight; ++i) in_flight.acquire();
    RETURN_IF_ERROR(failed);
    std::vector<std::pair<std::string, int64_t>> uses;
    for (int n = 0; n < count; n += 2) {
      uses.emplace_back(out.client_ids[n], now);
      if (uses.size() == kFillUsesPerBatch || n + 2 >= count) {
        RETURN_IF_ERROR(store->RecordLastUsed(uses));
        uses.clear();
      }
    }
    // What a reaper leaves: the deletions of what it reaped, in both indexes, where the next pass starts.
    const int64_t reaped_before = first_issued_at + count / 4;
    std::optional<storage::LifecycleEntry> start_after;
    for (;;) {
      ASSIGN_OR_RETURN(const std::vector<storage::LifecycleEntry> page,
                       store->ListByLifecycle(storage::LifecycleIndex::kNeverUsed, reaped_before, 1000, start_after));
      if (page.empty()) break;
      for (const storage::LifecycleEntry& entry : page) {
        clientreg::v1::StoredTombstone tombstone;
        tombstone.set_client_id(entry.client_id);
        tombstone.set_reaped_at(now);
        tombstone.set_reason(clientreg::v1::StoredTombstone::REASON_NEVER_USED);
        tombstone.set_client_id_issued_at(entry.time);
        RETURN_IF_ERROR(store->Reap(tombstone, 1, storage::LifecycleIndex::kNeverUsed, reaped_before));
      }
      start_after = page.back();
    }
    std::size_t kept = 0;
    for (int n = 0; n < count; ++n) {
      if (n % 2 == 1) {
        if (first_issued_at + n < reaped_before) continue;
        ++out.never_used;
      }
      // Never a self-move, which may leave the string empty.
      if (kept != static_cast<std::size_t>(n)) {
        out.client_ids[kept] = std::move(out.client_ids[n]);
        out.token_digests[kept] = std::move(out.token_digests[n]);
      }
      ++kept;
    }
    out.client_ids.resize(kept);
    out.token_digests.resize(kept);
    out.reaped_before = reaped_before;
  }
  out.before_every_client = first_issued_at;
  out.after_every_client = now + 1;
  for (int n = 0; n < kMissingIds; ++n) {
    ASSIGN_OR_RETURN(std::string id, NewClientId());
    out.missing_ids.push_back(std::move(id));
  }
  ASSIGN_OR_RETURN(out.store, storage::OpenRocksDbClientStore(path));
  return absl::OkStatus();
}

// A uniformly drawn element of `values`; each benchmark thread has its own generator.
const std::string& Pick(const std::vector<std::string>& values) {
  thread_local std::mt19937_64 random(std::random_device{}());
  return values[std::uniform_int_distribution<std::size_t>(0, values.size() - 1)(random)];
}

// One new client per iteration, synced before Create returns. The id and digest are drawn in the loop (a few
// microseconds, against a sync of milliseconds) so that every thread writes keys spread over the whole key space,
// as the server does.
void BM_Create(benchmark::State& state) {
  StoredClient client;
  *client.mutable_metadata() = TypicalMetadata("bench create");
  client.set_client_secret_digest(std::string(kDigestBytes, 's'));
  client.set_client_id_issued_at(common::SystemClock().NowSeconds());
  client.set_updated_at(client.client_id_issued_at());
  client.set_state(StoredClient::STATE_ACTIVE);
  client.set_origin(StoredClient::ORIGIN_DYNAMIC);
  client.set_version(1);
  for (auto _ : state) {
    absl::StatusOr<std::string> id = NewClientId();
    absl::StatusOr<std::string> digest = common::RandomBytes(kDigestBytes);
    if (!id.ok() || !digest.ok()) {
      SkipWithStatus(state, id.ok() ? digest.status() : id.status());
      break;
    }
    client.set_client_id(*std::move(id));
    client.set_registration_access_token_digest(*std::move(digest));
    if (const absl::Status status = fixture->store->Create(client); !status.ok()) {
      SkipWithStatus(state, status);
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
// Real time: the threads spend it waiting for the disk, which CPU time does not see.
BENCHMARK(BM_Create)->Threads(1)->Threads(8)->Threads(32)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_GetExisting(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<StoredClient> client = fixture->store->Get(Pick(fixture->client_ids));
    if (!client.ok()) {
      SkipWithStatus(state, client.status());
      break;
    }
    benchmark::DoNotOptimize(client);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetExisting)->Unit(benchmark::kMicrosecond);

void BM_GetMissing(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<StoredClient> client = fixture->store->Get(Pick(fixture->missing_ids));
    if (!absl::IsNotFound(client.status())) {
      SkipWithStatus(state, client.ok() ? absl::InternalError("a never-stored id was found") : client.status());
      break;
    }
    benchmark::DoNotOptimize(client);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetMissing)->Unit(benchmark::kMicrosecond);

void BM_FindByTokenDigest(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::string> client_id = fixture->store->FindByTokenDigest(Pick(fixture->token_digests));
    if (!client_id.ok()) {
      SkipWithStatus(state, client_id.status());
      break;
    }
    benchmark::DoNotOptimize(client_id);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FindByTokenDigest)->Unit(benchmark::kMicrosecond);

// A reaper's page: ListByLifecycle of up to 100 clients of an index (0: never used, 1: idle) before `before`. The
// store's clients are all later than before_every_client, so with it nothing is due: the pass that a reaper runs
// on a store with nothing to reap, whose cost must not grow with the store. With reaped_before, nothing is due
// either, but the pass starts where the fill reaped an eighth of the clients and moved the used ones (a deletion in
// the idle index each) out of the way. With after_every_client, a full page.
void ListPage(benchmark::State& state, int64_t before) {
  constexpr std::size_t kPage = 100;
  const storage::LifecycleIndex index =
      state.range(0) == 0 ? storage::LifecycleIndex::kNeverUsed : storage::LifecycleIndex::kIdle;
  // Every client the fill left is idle since before after_every_client; BM_Create's clients, when it ran first, may
  // be due too.
  const std::size_t filled = index == storage::LifecycleIndex::kIdle ? fixture->client_ids.size() : fixture->never_used;
  const bool none_due = before == fixture->before_every_client || before == fixture->reaped_before;
  const std::size_t at_least = none_due ? 0 : std::min(kPage, filled);
  const std::size_t at_most = none_due ? 0 : kPage;
  for (auto _ : state) {
    absl::StatusOr<std::vector<storage::LifecycleEntry>> page = fixture->store->ListByLifecycle(index, before, kPage);
    if (!page.ok() || page->size() < at_least || page->size() > at_most) {
      SkipWithStatus(state, page.ok() ? absl::InternalError(absl::StrCat("listed ", page->size(), " clients, not ",
                                                                         at_least, " to ", at_most))
                                      : page.status());
      break;
    }
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LifecycleNothingDue(benchmark::State& state) { ListPage(state, fixture->before_every_client); }
BENCHMARK(BM_LifecycleNothingDue)->ArgName("idle")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_LifecycleNothingDueAfterReap(benchmark::State& state) { ListPage(state, fixture->reaped_before); }
BENCHMARK(BM_LifecycleNothingDueAfterReap)->ArgName("idle")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_LifecyclePageDue(benchmark::State& state) { ListPage(state, fixture->after_every_client); }
BENCHMARK(BM_LifecyclePageDue)->ArgName("idle")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// A fresh directory from mkdtemp, removed with everything in it when this goes out of scope.
class ScopedTempDir {
 public:
  ScopedTempDir() {
    std::error_code error;
    std::string pattern = (std::filesystem::temp_directory_path(error) / "clientreg-store-bench-XXXXXX").string();
    if (!error && mkdtemp(pattern.data()) != nullptr) path_ = std::move(pattern);
  }
  ~ScopedTempDir() {
    if (path_.empty()) return;
    std::error_code error;
    std::filesystem::remove_all(path_, error);
    if (error)
      std::fprintf(stderr, "clientreg-store-bench: cannot remove %s: %s\n", path_.c_str(), error.message().c_str());
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  // Empty if the directory could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Takes --clients=N out of argv (after Google Benchmark has taken its own flags). False on a malformed value.
bool ParseClientsFlag(int& argc, char** argv, int& clients) {
  constexpr std::string_view kFlag = "--clients=";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, kFlag.size()) != kFlag) {
      argv[kept++] = argv[i];
      continue;
    }
    const std::string_view value = arg.substr(kFlag.size());
    // Debian's absl::string_view is not std::string_view: convert explicitly.
    if (!absl::SimpleAtoi(absl::string_view(value.data(), value.size()), &clients) || clients < 1) return false;
  }
  argc = kept;
  return true;
}

int Main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  int clients = kDefaultClients;
  if (!ParseClientsFlag(argc, argv, clients)) {
    std::fprintf(stderr, "clientreg-store-bench: --clients must be a positive integer\n");
    return 2;
  }
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  const ScopedTempDir dir;
  if (dir.path().empty()) {
    std::fprintf(stderr, "clientreg-store-bench: cannot create a temporary directory\n");
    return 1;
  }
  StoreFixture store_fixture;
  const auto start = std::chrono::steady_clock::now();
  if (const absl::Status status = Populate(dir.path() + "/db", clients, store_fixture); !status.ok()) {
    std::fprintf(stderr, "clientreg-store-bench: pre-population failed: %s\n", status.ToString().c_str());
    return 1;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::fprintf(stderr, "clientreg-store-bench: %d clients stored in %.1f s under %s\n", clients, took.count(),
               dir.path().c_str());
  benchmark::AddCustomContext("clients", std::to_string(clients));
  benchmark::AddCustomContext("store_dir", dir.path());

  fixture = &store_fixture;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  fixture = nullptr;
  return any_benchmark_failed.load() ? 1 : 0;
}

}  // namespace
}  // namespace clientreg::bench

int main(int argc, char** argv) { return clientreg::bench::Main(argc, argv); }
