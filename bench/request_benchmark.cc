// Google Benchmarks of the CPU work of one registration, without I/O (issue 5), stage by stage in the order a
// request meets them, then the whole chain: the gateway parses bench/register.lua's body, the request and answer
// cross gRPC as protobuf bytes, the server validates, issues credentials, builds and serializes the record it
// would store, and builds the answer, which the gateway writes as JSON. Left out: sockets, HTTP framing, gRPC's
// transport and threads, the RocksDB write (clientreg-store-bench measures it) and the server's log line.
//
//   clientreg-request-bench [--benchmark_filter=REGEX] [--benchmark_min_time=SECONDS] ...

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "bench/benchmark_support.h"
#include "benchmark/benchmark.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/metadata.pb.h"
#include "clientreg/v1/registration.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/json_mapping.h"
#include "common/limits.h"
#include "common/secrets.h"
#include "common/status_macros.h"
#include "gateway/json_writer.h"
#include "server/client_information.h"
#include "server/credentials.h"
#include "server/metadata_validator.h"
#include "server/registrar.h"
#include "server/server_config.h"

namespace clientreg::bench {
namespace {

using clientreg::v1::ClientInformation;
using clientreg::v1::ClientMetadata;
using clientreg::v1::RegisterRequest;
using clientreg::v1::StoredClient;

// The body bench/register.lua sends (its first request from thread 1).
constexpr std::string_view kRegistrationBody =
    R"({"redirect_uris":["https://bench.example.net/oauth/callback","https://bench.example.net/cb/2"],)"
    R"("client_name":"bench 1-1","grant_types":["authorization_code","refresh_token"],"response_types":["code"],)"
    R"("token_endpoint_auth_method":"client_secret_basic","contacts":["bench@example.net"]})";

// As registrar.cc: 128-bit client ids.
constexpr std::size_t kClientIdBytes = 16;

// What Registrar::Register draws for a client_secret_basic client.
struct Credentials {
  std::string client_id;
  server::IssuedCredential secret;
  server::IssuedCredential token;
};

// Protobuf bytes one side of the gRPC hop writes and the other reads back, as gRPC's codec does (minus its
// framing and buffers).
template <typename Message>
absl::StatusOr<Message> CrossGrpc(const Message& sent) {
  const std::string wire = sent.SerializeAsString();
  Message received;
  if (!received.ParseFromString(wire)) return absl::InternalError("a serialized message did not parse back");
  return received;
}

// The stages of one registration, each as the gateway or the server does it, with the server's default config.
// One per benchmark thread: the JSON mapper is not thread-safe.
class RegistrationPipeline {
 public:
  RegistrationPipeline()
      : config_(server::DefaultServerConfig()),
        mapper_(common::DefaultHttpLimits()),
        validator_(config_.limits(), config_.registration()),
        server_key_(common::kServerKeyBytes, 'k') {}

  // Gateway (router.cc): the request body into metadata, syntax and shape only.
  absl::StatusOr<ClientMetadata> Parse(std::string_view body) { return mapper_.ParseClientMetadata(body); }

  // Server: every rule of spec.md, defaults applied.
  absl::StatusOr<ClientMetadata> Validate(const ClientMetadata& requested) const {
    return validator_.Validate(requested);
  }

  // Server: one secret or token, drawn from the CSPRNG and digested under the server key.
  absl::StatusOr<server::IssuedCredential> IssueOne() const { return server::IssueCredential(server_key_); }

  // Server: what Registrar::Register draws for a client that authenticates with a secret.
  absl::StatusOr<Credentials> IssueAll() const {
    Credentials credentials;
    ASSIGN_OR_RETURN(const std::string id_bytes, common::RandomBytes(kClientIdBytes));
    credentials.client_id = absl::BytesToHexString(id_bytes);
    ASSIGN_OR_RETURN(credentials.secret, IssueOne());
    ASSIGN_OR_RETURN(credentials.token, IssueOne());
    return credentials;
  }

  // Server: the record Registrar::Register hands to ClientStore::Create, and its bytes, which the store writes.
  StoredClient BuildStoredClient(ClientMetadata metadata, const Credentials& credentials) const {
    const int64_t now = clock_.NowSeconds();
    StoredClient stored;
    stored.set_client_id(credentials.client_id);
    stored.set_client_id_issued_at(now);
    stored.set_updated_at(now);
    stored.set_state(StoredClient::STATE_ACTIVE);
    stored.set_origin(StoredClient::ORIGIN_DYNAMIC);
    stored.set_version(1);
    stored.set_client_secret_digest(credentials.secret.digest);
    stored.set_client_secret_expires_at(0);
    stored.set_registration_access_token_digest(credentials.token.digest);
    *stored.mutable_metadata() = std::move(metadata);
    return stored;
  }
  static std::string Record(const StoredClient& stored) { return stored.SerializeAsString(); }

  // Server: the answer, the one place the plaintexts appear.
  ClientInformation BuildAnswer(const StoredClient& stored, const Credentials& credentials) const {
    ClientInformation info = server::ToClientInformation(stored, config_.issuer());
    info.set_client_secret(credentials.secret.plaintext);
    info.set_registration_access_token(credentials.token.plaintext);
    return info;
  }

  // Gateway: the 201 body.
  static std::string Write(const ClientInformation& info) { return gateway::WriteClientInformation(info); }

  // Every stage in order; returns the response body.
  absl::StatusOr<std::string> Register(std::string_view body) {
    RegisterRequest request;
    ASSIGN_OR_RETURN(*request.mutable_metadata(), Parse(body));
    ASSIGN_OR_RETURN(const RegisterRequest received, CrossGrpc(request));
    ASSIGN_OR_RETURN(ClientMetadata metadata, Validate(received.metadata()));
    ASSIGN_OR_RETURN(const Credentials credentials, IssueAll());
    const StoredClient stored = BuildStoredClient(std::move(metadata), credentials);
    benchmark::DoNotOptimize(Record(stored));
    ASSIGN_OR_RETURN(const ClientInformation answer, CrossGrpc(BuildAnswer(stored, credentials)));
    return Write(answer);
  }

  const std::string& server_key() const { return server_key_; }

 private:
  clientreg::config::v1::ServerConfig config_;
  common::JsonMapper mapper_;
  server::MetadataValidator validator_;
  std::string server_key_;
  common::SystemClock clock_;
};

// The inputs of each stage, made once by running the stages before it.
struct StageInputs {
  ClientMetadata requested;
  ClientMetadata validated;
  Credentials credentials;
  StoredClient stored;
  ClientInformation answer;
};

// Fills `inputs`; false, with the benchmark skipped, on an error.
bool PrepareInputs(benchmark::State& state, RegistrationPipeline& pipeline, StageInputs& inputs) {
  absl::StatusOr<ClientMetadata> requested = pipeline.Parse(kRegistrationBody);
  absl::StatusOr<ClientMetadata> validated = requested.ok() ? pipeline.Validate(*requested) : requested.status();
  absl::StatusOr<Credentials> credentials = pipeline.IssueAll();
  for (const absl::Status& status : {validated.status(), credentials.status()}) {
    if (!status.ok()) {
      SkipWithStatus(state, status);
      return false;
    }
  }
  inputs.requested = *std::move(requested);
  inputs.validated = *std::move(validated);
  inputs.credentials = *std::move(credentials);
  inputs.stored = pipeline.BuildStoredClient(inputs.validated, inputs.credentials);
  inputs.answer = pipeline.BuildAnswer(inputs.stored, inputs.credentials);
  return true;
}

// Runs `stage` once per iteration; a stage returning a non-OK status skips the benchmark.
template <typename Stage>
void RunStage(benchmark::State& state, Stage stage) {
  RegistrationPipeline pipeline;
  StageInputs inputs;
  if (!PrepareInputs(state, pipeline, inputs)) return;
  for (auto _ : state) {
    if (const absl::Status status = stage(pipeline, inputs); !status.ok()) {
      SkipWithStatus(state, status);
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_GatewayParseJson(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs&) {
    absl::StatusOr<ClientMetadata> metadata = pipeline.Parse(kRegistrationBody);
    benchmark::DoNotOptimize(metadata);
    return metadata.status();
  });
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kRegistrationBody.size()));
}
BENCHMARK(BM_GatewayParseJson);

// Both crossings of one registration: the RegisterRequest to the server and the ClientInformation back.
void BM_GrpcMarshalling(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline&, const StageInputs& inputs) -> absl::Status {
    RegisterRequest request;
    *request.mutable_metadata() = inputs.requested;
    absl::StatusOr<RegisterRequest> received = CrossGrpc(request);
    absl::StatusOr<ClientInformation> answer = CrossGrpc(inputs.answer);
    benchmark::DoNotOptimize(received);
    benchmark::DoNotOptimize(answer);
    return received.ok() ? answer.status() : received.status();
  });
}
BENCHMARK(BM_GrpcMarshalling);

void BM_ServerValidate(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs& inputs) {
    absl::StatusOr<ClientMetadata> metadata = pipeline.Validate(inputs.requested);
    benchmark::DoNotOptimize(metadata);
    return metadata.status();
  });
}
BENCHMARK(BM_ServerValidate);

// One IssueCredential: a registration makes two (client secret, registration access token) plus a client id.
void BM_ServerIssueCredential(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs&) {
    absl::StatusOr<server::IssuedCredential> credential = pipeline.IssueOne();
    benchmark::DoNotOptimize(credential);
    return credential.status();
  });
}
BENCHMARK(BM_ServerIssueCredential);

// The two halves of IssueCredential.
void BM_ServerRandomToken(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline&, const StageInputs&) {
    absl::StatusOr<std::string> token = common::RandomToken();
    benchmark::DoNotOptimize(token);
    return token.status();
  });
}
BENCHMARK(BM_ServerRandomToken);

void BM_ServerHmacSha256(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs& inputs) {
    absl::StatusOr<std::string> digest = common::HmacSha256(pipeline.server_key(), inputs.credentials.token.plaintext);
    benchmark::DoNotOptimize(digest);
    return digest.status();
  });
}
BENCHMARK(BM_ServerHmacSha256);

// Everything a registration draws: client id, secret and token.
void BM_ServerIssueAll(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs&) {
    absl::StatusOr<Credentials> credentials = pipeline.IssueAll();
    benchmark::DoNotOptimize(credentials);
    return credentials.status();
  });
}
BENCHMARK(BM_ServerIssueAll);

void BM_ServerBuildStoredClient(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs& inputs) {
    const std::string record =
        RegistrationPipeline::Record(pipeline.BuildStoredClient(inputs.validated, inputs.credentials));
    benchmark::DoNotOptimize(record);
    return absl::OkStatus();
  });
}
BENCHMARK(BM_ServerBuildStoredClient);

void BM_ServerBuildAnswer(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs& inputs) {
    ClientInformation info = pipeline.BuildAnswer(inputs.stored, inputs.credentials);
    benchmark::DoNotOptimize(info);
    return absl::OkStatus();
  });
}
BENCHMARK(BM_ServerBuildAnswer);

void BM_GatewayWriteJson(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline&, const StageInputs& inputs) {
    std::string body = RegistrationPipeline::Write(inputs.answer);
    benchmark::DoNotOptimize(body);
    return absl::OkStatus();
  });
}
BENCHMARK(BM_GatewayWriteJson);

void BM_EndToEnd(benchmark::State& state) {
  RunStage(state, [](RegistrationPipeline& pipeline, const StageInputs&) {
    absl::StatusOr<std::string> body = pipeline.Register(kRegistrationBody);
    benchmark::DoNotOptimize(body);
    return body.status();
  });
}
BENCHMARK(BM_EndToEnd);

int Main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return any_benchmark_failed.load() ? 1 : 0;
}

}  // namespace
}  // namespace clientreg::bench

int main(int argc, char** argv) { return clientreg::bench::Main(argc, argv); }
