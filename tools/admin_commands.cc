#include "tools/admin_commands.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "clientreg/v1/admin.grpc.pb.h"
#include "clientreg/v1/directory.grpc.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/server_channel.h"
#include "common/status_macros.h"
#include "common/tls_files.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace clientreg::tools {
namespace {

using clientreg::v1::ClientRecord;
using clientreg::v1::StoredClient;

constexpr char kProgram[] = "clientreg-admin";
// Long names would push the other columns off the screen; `get` shows them whole.
constexpr size_t kNameColumnChars = 32;
// A page of max_list_page_size clients with large metadata can exceed gRPC's 4 MiB default.
constexpr int kMaxReceiveMessageBytes = 64 << 20;
// Longer than any sensible RPC, short enough to catch a typo such as a timestamp given as a timeout.
constexpr double kMaxTimeoutSeconds = 24 * 3600;

constexpr char kUsage[] =
    R"(Usage: clientreg-admin [--server=HOST:PORT] [--json] [--timeout=SECONDS] [TLS AND CREDENTIAL FLAGS] <command> [args]

Administers the clients of a clientreg server through its ClientAdmin gRPC API; resolve and check-redirect ask
its ClientDirectory what an authorization server asks.

Commands:
  list [FILTERS] [--page-size=N] [--page-token=TOKEN] [--all]
      Lists clients as a table, one page at a time (page size: the server's default, 100, unless --page-size),
      and prints the --page-token for the next page. --all follows every page and prints one table.
      FILTERS: --software-id=ID  --state=active|disabled
               --created-after=UNIX  --created-before=UNIX
               --last-used-after=UNIX  --last-used-before=UNIX
               --unused  --idle-since=DURATION
      UNIX is seconds since 1970-01-01T00:00:00Z. Times are shown in UTC (ISO 8601).
      --unused: only clients never used since their registration. --idle-since: only clients unused for at least
      DURATION, i.e. last used (or, never used, registered) before now minus DURATION. DURATION is a whole number
      with a unit, such as 90d, 36h, 30m or 45s, or a plain number of seconds.
  get CLIENT_ID
      Shows one client. Secrets are never shown: the server keeps only their digests.
  disable CLIENT_ID
      Disables a client: it can no longer authenticate until enabled.
  enable CLIENT_ID
      Enables a disabled client.
  delete CLIENT_ID
      Deletes a client at once. It does not ask for confirmation.
  rotate-secret CLIENT_ID [--overlap=SECONDS]
      Issues a new client secret and prints it. It is shown only this once: store it now. The previous secret
      keeps working for SECONDS (default: the server's configured overlap, 0 unless configured); the output
      says until when.
  iat create [--label=TEXT] [--expires-in=SECONDS] [--max-uses=N] [--allowed-redirect-hosts=HOST,...]
             [--allowed-grant-types=TYPE,...] [--scope-ceiling="SCOPE ..."]
      Creates an initial access token (RFC 7591 §3) and prints it with its id. The token is shown only this once:
      the server keeps its digest alone. Default: no expiry, unlimited uses, no policy. A registration with the
      token records its label. The policy flags narrow what such a registration may ask for: every redirect URI
      host among HOSTs, every grant type among TYPEs, every requested scope token within the ceiling.
      Flags may also be spelled with underscores (--max_uses=1).
  iat list
      Lists the initial access tokens (never the tokens themselves): the config file's first, then the stored ones.
  iat revoke ID
      Revokes a stored initial access token at once; registrations with it get 401 from then on.
  backup DIR
      Writes a consistent backup of the whole store into DIR while the server keeps serving. DIR is an absolute
      path on the server's machine; it must not exist yet, and its parent must. On the store's file system the
      backup takes moments (hard links). It holds digests, not secrets: restoring it needs the server's key file
      (<data_dir>/server.key) too. The default --timeout is 600 for backup.
  resolve CLIENT_ID
      Shows the client as an authorization server resolves it (ClientDirectory.ResolveClient): its effective
      metadata, state, the redirect hosts a consent screen shows and whether every redirect URI is a loopback one.
      Records no use. An unknown, deleted or reaped client is not found (exit 1), which an authorization server
      answers with invalid_client. With cimd.enabled, an https CLIENT_ID is a Client ID Metadata Document: the
      server fetches it (or takes it from its cache) and shows what it resolved to, or why it does not resolve.
  check-redirect CLIENT_ID URI
      Says whether URI may be the redirect_uri of the client's authorization requests
      (ClientDirectory.CheckRedirectUri): identical to a registered URI, or for a native client a registered
      loopback URI on another port. Prints allowed yes or no, the reason and the URI matched; exits 0 either way.
      An https CLIENT_ID is checked against its metadata document's redirect_uris, as for resolve.
  reap [--dry-run] [--limit=N]
      Runs one pass of the server's reaper now: deletes the dynamically registered clients that its lifecycle
      rules (ServerConfig.lifecycle) find unused, at most N (default 100, capped by the server's page size),
      leaving a tombstone for each, and prints them with the reason (never_used or idle) and when. It does not ask
      for confirmation, as delete does not; the server's own reaper deletes the same clients on its next pass.
      --dry-run only prints what a pass would reap now and deletes nothing. Both say when more clients are due
      than N. A server with no lifecycle rule configured refuses (FAILED_PRECONDITION, exit 1).
  reaped [--page-size=N] [--page-token=TOKEN] [--all]
      Lists the reaped clients (their tombstones, by client id): why, when, and who they were. Paged as list is.
  help
      Shows this text.

Flags (before or after the command):
  --server=HOST:PORT  gRPC address of the server (any gRPC target). Default: $CLIENTREG_SERVER if set,
                      else 127.0.0.1:50051.
  --json              Prints JSON instead of text: one object per client for get, disable and enable;
                      {"clients":[...],"next_page_token":"..."} for list; the new secret with the client for
                      rotate-secret; {"dir":...,"clients":...,...} for backup; the ResolvedClient for resolve;
                      {"allowed":true|false,"reason":"REASON_...","matched_redirect_uri":...,"explanation":...}
                      for check-redirect; the ReapResponse {"clients":[...],"more":...} for reap;
                      {"clients":[...],"next_page_token":"..."} for reaped. Field names as in clientreg/v1/admin.proto and directory.proto. Note: int64 and uint64 fields
                      (timestamps, version) are JSON strings, as proto3 JSON prints them; enums are names.
  --timeout=SECONDS   Limit on connecting and on each call, e.g. 2.5 (default 10).

TLS and credential flags (before or after the command); a server outside loopback speaks only TLS, and answers
ClientAdmin and ClientDirectory only to a caller its config lists (README: "Securing the gRPC port"):
  --tls                  TLS to the server, trusting the system's CAs. Implied by each --tls_* flag.
  --tls_ca=FILE          PEM CA certificates that sign the server's certificate.
  --tls_cert=FILE        PEM client certificate chain (mTLS); needs --tls_key.
  --tls_key=FILE         PEM private key of --tls_cert.
  --tls_server_name=NAME The name the server's certificate carries, when it is not the host of --server.
  --token_file=FILE      File holding a bearer credential (one line), sent as `authorization: Bearer ...` on
                         every call. Sent only over TLS or to a loopback server.

Exit status: 0 success, 1 the server answered with an error, 2 usage error, 3 server unreachable (or TLS
handshake failed), 4 the server refused the caller (no valid credential, or not allowed ClientAdmin, or
ClientDirectory for resolve and check-redirect).
)";

// Debian's absl::string_view is a class of its own, not std::string_view; these bridge the two without copying.
absl::string_view ToAbsl(std::string_view text) { return absl::string_view(text.data(), text.size()); }
std::string_view ToStd(absl::string_view text) { return std::string_view(text.data(), text.size()); }

struct CommandName {
  std::string_view name;
  Command command;
};

constexpr CommandName kCommandNames[] = {
    {"help", Command::kHelp},
    {"list", Command::kList},
    {"get", Command::kGet},
    {"disable", Command::kDisable},
    {"enable", Command::kEnable},
    {"delete", Command::kDelete},
    {"rotate-secret", Command::kRotateSecret},
    {"backup", Command::kBackup},
    {"iat", Command::kIat},
    {"resolve", Command::kResolve},
    {"check-redirect", Command::kCheckRedirect},
    {"reap", Command::kReap},
    {"reaped", Command::kReaped},
};

std::string_view NameOf(Command command) {
  for (const CommandName& entry : kCommandNames) {
    if (entry.command == command) return entry.name;
  }
  return "?";
}

// The full name of the gRPC service the command calls.
std::string_view ServiceOf(Command command) {
  return command == Command::kResolve || command == Command::kCheckRedirect
             ? clientreg::v1::ClientDirectory::service_full_name()
             : clientreg::v1::ClientAdmin::service_full_name();
}

// An http or https URL, as a Client ID Metadata Document client_id is.
bool IsUrl(const std::string& client_id) {
  return absl::StartsWithIgnoreCase(client_id, "https://") || absl::StartsWithIgnoreCase(client_id, "http://");
}

bool TakesClientId(Command command) {
  return command != Command::kHelp && command != Command::kList && command != Command::kBackup &&
         command != Command::kIat && command != Command::kReap && command != Command::kReaped;
}

absl::Status UsageError(std::string_view message) { return absl::InvalidArgumentError(std::string(message)); }

// Digits only: absl::SimpleAtoi alone would also take signs and surrounding spaces.
absl::StatusOr<uint64_t> ParseUnsigned(std::string_view flag, std::string_view value, uint64_t max) {
  uint64_t number = 0;
  const bool digits =
      !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !absl::SimpleAtoi(ToAbsl(value), &number) || number > max) {
    return UsageError(
        absl::StrCat(ToAbsl(flag), " needs a whole number from 0 to ", max, ", got '", ToAbsl(value), "'"));
  }
  return number;
}

// A duration of at least one second: a whole number with a unit (s, m, h, d), or a plain number of seconds.
absl::StatusOr<int64_t> ParseDuration(std::string_view flag, std::string_view value) {
  static constexpr std::pair<char, int64_t> kUnits[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
  std::string_view number = value;
  int64_t unit = 1;
  for (const auto& [suffix, seconds] : kUnits) {
    if (!value.empty() && value.back() == suffix) {
      number = value.substr(0, value.size() - 1);
      unit = seconds;
    }
  }
  // The bound keeps number * unit within int64_t.
  const absl::StatusOr<uint64_t> count = ParseUnsigned(flag, number, std::numeric_limits<int64_t>::max() / unit);
  if (!count.ok() || *count == 0) {
    return UsageError(absl::StrCat(ToAbsl(flag),
                                   " needs a duration above zero such as 90d, 36h, 30m, 45s or a number of seconds, "
                                   "got '",
                                   ToAbsl(value), "'"));
  }
  return static_cast<int64_t>(*count) * unit;
}

absl::Status NeedValueError(std::string_view name) {
  return UsageError(absl::StrCat(ToAbsl(name), " needs a value: ", ToAbsl(name), "=..."));
}

// --page-size, --page-token and --all, which list and reaped share; nullopt if `name` is none of them.
template <typename Request>
std::optional<absl::Status> ApplyPagingFlag(std::string_view name, const std::optional<std::string_view>& value,
                                            Request& request, bool& all) {
  if (name == "--all") {
    if (value.has_value()) return UsageError("--all takes no value");
    all = true;
    return absl::OkStatus();
  }
  if (name != "--page-size" && name != "--page-token") return std::nullopt;
  if (!value.has_value() || value->empty()) return NeedValueError(name);
  if (name == "--page-token") {
    request.set_page_token(std::string(*value));
    return absl::OkStatus();
  }
  const absl::StatusOr<uint64_t> size = ParseUnsigned(name, *value, std::numeric_limits<uint32_t>::max());
  if (!size.ok()) return size.status();
  // 0 would mean "the server's default" on the wire, which is what omitting the flag already says.
  if (*size == 0) return UsageError("--page-size must be at least 1");
  request.set_page_size(static_cast<uint32_t>(*size));
  return absl::OkStatus();
}

// reap's flags, into `invocation.reap_request`.
absl::Status ApplyReapFlag(std::string_view name, const std::optional<std::string_view>& value,
                           Invocation& invocation) {
  if (name == "--dry-run") {
    if (value.has_value()) return UsageError("--dry-run takes no value");
    invocation.reap_request.set_dry_run(true);
    return absl::OkStatus();
  }
  if (name == "--limit") {
    if (!value.has_value() || value->empty()) return NeedValueError(name);
    ASSIGN_OR_RETURN(const uint64_t limit, ParseUnsigned(name, *value, std::numeric_limits<uint32_t>::max()));
    // As with --page-size, 0 would silently mean the server's default.
    if (limit == 0) return UsageError("--limit must be at least 1");
    invocation.reap_request.set_limit(static_cast<uint32_t>(limit));
    return absl::OkStatus();
  }
  return UsageError(absl::StrCat("unknown flag ", ToAbsl(name), " for 'reap'"));
}

absl::StatusOr<std::chrono::milliseconds> ParseTimeout(std::string_view value) {
  double seconds = 0;
  const bool plain = !value.empty() &&
                     std::all_of(value.begin(), value.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (!plain || !absl::SimpleAtod(ToAbsl(value), &seconds) || !std::isfinite(seconds) || seconds <= 0 ||
      seconds > kMaxTimeoutSeconds) {
    return UsageError(absl::StrCat("--timeout needs a number of seconds above 0 and at most ", kMaxTimeoutSeconds,
                                   ", got '", ToAbsl(value), "'"));
  }
  // At least 1 ms, so that a tiny positive value never becomes an already-expired deadline.
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000))));
}

// Applies one flag of `iat create` to `invocation.iat_create`. Names take dashes or underscores alike.
absl::Status ApplyIatFlag(std::string_view raw_name, const std::optional<std::string_view>& value,
                          Invocation& invocation) {
  std::string name(raw_name);
  std::replace(name.begin(), name.end(), '_', '-');
  if (!value.has_value()) return NeedValueError(raw_name);
  clientreg::v1::CreateInitialAccessTokenRequest& request = invocation.iat_create;
  const auto list = [&](google::protobuf::RepeatedPtrField<std::string>* out) -> absl::Status {
    for (const absl::string_view item : absl::StrSplit(ToAbsl(*value), ',', absl::SkipEmpty())) {
      out->Add(std::string(item));
    }
    if (out->empty()) return UsageError(absl::StrCat(ToAbsl(raw_name), " needs at least one value"));
    return absl::OkStatus();
  };
  invocation.iat_create_flags = true;
  if (name == "--label") {
    request.set_label(std::string(*value));
  } else if (name == "--expires-in") {
    ASSIGN_OR_RETURN(const uint64_t seconds, ParseUnsigned(raw_name, *value, std::numeric_limits<int64_t>::max()));
    request.set_expires_in_seconds(static_cast<int64_t>(seconds));
  } else if (name == "--max-uses") {
    ASSIGN_OR_RETURN(const uint64_t uses, ParseUnsigned(raw_name, *value, std::numeric_limits<uint32_t>::max()));
    request.set_max_uses(static_cast<uint32_t>(uses));
  } else if (name == "--allowed-redirect-hosts") {
    RETURN_IF_ERROR(list(request.mutable_policy()->mutable_allowed_redirect_hosts()));
  } else if (name == "--allowed-grant-types") {
    RETURN_IF_ERROR(list(request.mutable_policy()->mutable_allowed_grant_types()));
  } else if (name == "--scope-ceiling") {
    request.mutable_policy()->set_scope_ceiling(std::string(*value));
  } else {
    return UsageError(absl::StrCat("unknown flag ", ToAbsl(raw_name), " for 'iat'"));
  }
  return absl::OkStatus();
}

// Applies one command flag (`--name` with its value, if any) to `invocation`.
absl::Status ApplyCommandFlag(std::string_view name, const std::optional<std::string_view>& value,
                              Invocation& invocation) {
  clientreg::v1::ListClientsRequest& list = invocation.list_request;
  const auto need_value = [&]() -> absl::StatusOr<std::string_view> {
    if (!value.has_value() || value->empty()) return NeedValueError(name);
    return *value;
  };
  const auto non_negative = [&]() -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(std::string_view text, need_value());
    ASSIGN_OR_RETURN(uint64_t seconds, ParseUnsigned(name, text, std::numeric_limits<int64_t>::max()));
    return static_cast<int64_t>(seconds);
  };

  if (invocation.command == Command::kReap) return ApplyReapFlag(name, value, invocation);
  if (invocation.command == Command::kReaped) {
    if (std::optional<absl::Status> paging =
            ApplyPagingFlag(name, value, invocation.reaped_request, invocation.list_all);
        paging.has_value()) {
      return *paging;
    }
  }
  if (invocation.command == Command::kList) {
    if (std::optional<absl::Status> paging = ApplyPagingFlag(name, value, list, invocation.list_all);
        paging.has_value()) {
      return *paging;
    }
    if (name == "--unused") {
      if (value.has_value()) return UsageError("--unused takes no value");
      list.set_never_used(true);
      return absl::OkStatus();
    }
    if (name == "--idle-since") {
      ASSIGN_OR_RETURN(std::string_view text, need_value());
      ASSIGN_OR_RETURN(invocation.idle_seconds, ParseDuration(name, text));
      return absl::OkStatus();
    }
    if (name == "--software-id") {
      ASSIGN_OR_RETURN(std::string_view id, need_value());
      list.set_software_id(std::string(id));
      return absl::OkStatus();
    }
    if (name == "--state") {
      ASSIGN_OR_RETURN(std::string_view state, need_value());
      if (state == "active") {
        list.set_state(StoredClient::STATE_ACTIVE);
      } else if (state == "disabled") {
        list.set_state(StoredClient::STATE_DISABLED);
      } else {
        return UsageError(absl::StrCat("--state must be 'active' or 'disabled', got '", ToAbsl(state), "'"));
      }
      return absl::OkStatus();
    }
    if (name == "--created-after") {
      ASSIGN_OR_RETURN(int64_t seconds, non_negative());
      list.set_created_after(seconds);
      return absl::OkStatus();
    }
    if (name == "--created-before") {
      ASSIGN_OR_RETURN(int64_t seconds, non_negative());
      list.set_created_before(seconds);
      return absl::OkStatus();
    }
    if (name == "--last-used-after") {
      ASSIGN_OR_RETURN(int64_t seconds, non_negative());
      list.set_last_used_after(seconds);
      return absl::OkStatus();
    }
    if (name == "--last-used-before") {
      ASSIGN_OR_RETURN(int64_t seconds, non_negative());
      list.set_last_used_before(seconds);
      return absl::OkStatus();
    }
  }
  if (invocation.command == Command::kIat) return ApplyIatFlag(name, value, invocation);
  if (invocation.command == Command::kRotateSecret && name == "--overlap") {
    ASSIGN_OR_RETURN(int64_t seconds, non_negative());
    invocation.overlap_seconds = seconds;
    return absl::OkStatus();
  }
  return UsageError(absl::StrCat("unknown flag ", ToAbsl(name), " for '", ToAbsl(NameOf(invocation.command)), "'"));
}

// gRPC and Abseil share the canonical status codes, so the numeric value carries over unchanged.
absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::unique_ptr<grpc::ClientContext> NewContext(const Invocation& invocation) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + invocation.timeout);
  if (!invocation.authorization.empty()) {
    context->AddMetadata(common::kAuthorizationMetadataKey, invocation.authorization);
  }
  return context;
}

// Sends one unary RPC (ClientAdmin, ClientDirectory) under the invocation's deadline.
template <typename Stub, typename Request, typename Response>
absl::Status Call(const Invocation& invocation, Stub& stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*), const Request& request,
                  Response* response) {
  const auto context = NewContext(invocation);
  return FromGrpcStatus((stub.*method)(context.get(), request, response));
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // An admin wants to see `"last_used_at": "0"` and an empty next_page_token rather than guess from absence.
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  // Protobuf 3.21 has its own Status class; only its message is of use here, and this cannot fail for messages
  // the generated stub parsed.
  if (!status.ok()) return absl::InternalError(absl::StrCat("cannot print JSON: ", status.ToString()));
  return json;
}

absl::Status WriteJson(const google::protobuf::Message& message, std::ostream& out) {
  ASSIGN_OR_RETURN(std::string json, ToJson(message));
  out << json << "\n";
  return absl::OkStatus();
}

std::string StateName(StoredClient::State state) {
  switch (state) {
    case StoredClient::STATE_ACTIVE:
      return "active";
    case StoredClient::STATE_DISABLED:
      return "disabled";
    case StoredClient::STATE_UNSPECIFIED:
      return "unspecified";
    default:
      return absl::StrCat("state(", static_cast<int>(state), ")");
  }
}

std::string OriginName(StoredClient::Origin origin) {
  switch (origin) {
    case StoredClient::ORIGIN_DYNAMIC:
      return "dynamic";
    case StoredClient::ORIGIN_ADMIN:
      return "admin";
    case StoredClient::ORIGIN_METADATA_DOCUMENT:
      return "metadata_document";
    case StoredClient::ORIGIN_UNSPECIFIED:
      return "unspecified";
    default:
      return absl::StrCat("origin(", static_cast<int>(origin), ")");
  }
}

std::string TimeOrNever(int64_t seconds) { return seconds == 0 ? "never" : FormatUnixTime(seconds); }

// Display width in a terminal, approximated by code points (wide CJK characters count as one).
size_t CodePoints(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Writes rows under a header, each column padded to its widest cell.
void WriteTable(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], CodePoints(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - CodePoints(row[i]) + 2, ' ');
    }
    out << line << "\n";
  }
}

// Writes `key: value` lines with the values aligned; a list continues on lines of its own.
class KeyValueBlock {
 public:
  void Add(std::string_view key, std::string value) { lines_.push_back({std::string(key), {std::move(value)}}); }

  void AddList(std::string_view key, const clientreg::v1::StringList& list) { AddList(key, list.values()); }

  void AddList(std::string_view key, const google::protobuf::RepeatedPtrField<std::string>& list) {
    std::vector<std::string> values;
    for (const std::string& value : list) values.push_back(TerminalSafe(value));
    if (values.empty()) values.push_back("(empty)");
    lines_.push_back({std::string(key), std::move(values)});
  }

  void AddLocalized(std::string_view key, const google::protobuf::Map<std::string, std::string>& map) {
    // Map order is unspecified; sorted output is stable across runs and diffable.
    std::vector<std::pair<std::string, std::string>> entries(map.begin(), map.end());
    std::sort(entries.begin(), entries.end());
    for (const auto& [tag, value] : entries) {
      Add(absl::StrCat(ToAbsl(key), "#", TerminalSafe(tag)), TerminalSafe(value));
    }
  }

  void Write(std::ostream& out) const {
    // Values start one space after the longest "key:".
    size_t column = 0;
    for (const auto& line : lines_) column = std::max(column, CodePoints(line.key) + 2);
    const std::string indent(column, ' ');
    for (const auto& line : lines_) {
      std::string text = absl::StrCat(line.key, ":");
      text.append(column - CodePoints(line.key) - 1, ' ');
      out << text << absl::StrJoin(line.values, absl::StrCat("\n", indent)) << "\n";
    }
  }

 private:
  struct Line {
    std::string key;
    std::vector<std::string> values;
  };
  std::vector<Line> lines_;
};

// The lines that open every view of a client: who it is, its state and how it authenticates.
void AddIdentity(KeyValueBlock& block, const std::string& client_id, const clientreg::v1::ClientMetadata& metadata,
                 StoredClient::State state, StoredClient::Origin origin, bool has_secret, int64_t secret_expires_at) {
  block.Add("client_id", TerminalSafe(client_id));
  if (metadata.has_client_name()) block.Add("client_name", TerminalSafe(metadata.client_name()));
  block.AddLocalized("client_name", metadata.client_name_localized());
  block.Add("state", StateName(state));
  block.Add("origin", OriginName(origin));
  if (metadata.has_token_endpoint_auth_method()) {
    block.Add("token_endpoint_auth_method", TerminalSafe(metadata.token_endpoint_auth_method()));
  }
  block.Add("client_secret", has_secret ? absl::StrCat("set, expires ", TimeOrNever(secret_expires_at)) : "none");
}

// The rest of the metadata, after the identity and the times.
void AddMetadata(KeyValueBlock& block, const clientreg::v1::ClientMetadata& metadata) {
  if (metadata.has_application_type()) block.Add("application_type", TerminalSafe(metadata.application_type()));
  if (metadata.has_software_id()) block.Add("software_id", TerminalSafe(metadata.software_id()));
  if (metadata.has_software_version()) block.Add("software_version", TerminalSafe(metadata.software_version()));
  if (metadata.has_redirect_uris()) block.AddList("redirect_uris", metadata.redirect_uris());
  if (metadata.has_grant_types()) block.AddList("grant_types", metadata.grant_types());
  if (metadata.has_response_types()) block.AddList("response_types", metadata.response_types());
  if (metadata.has_scope()) block.Add("scope", TerminalSafe(metadata.scope()));
  if (metadata.has_contacts()) block.AddList("contacts", metadata.contacts());
  if (metadata.has_client_uri()) block.Add("client_uri", TerminalSafe(metadata.client_uri()));
  block.AddLocalized("client_uri", metadata.client_uri_localized());
  if (metadata.has_logo_uri()) block.Add("logo_uri", TerminalSafe(metadata.logo_uri()));
  block.AddLocalized("logo_uri", metadata.logo_uri_localized());
  if (metadata.has_tos_uri()) block.Add("tos_uri", TerminalSafe(metadata.tos_uri()));
  block.AddLocalized("tos_uri", metadata.tos_uri_localized());
  if (metadata.has_policy_uri()) block.Add("policy_uri", TerminalSafe(metadata.policy_uri()));
  block.AddLocalized("policy_uri", metadata.policy_uri_localized());
  if (metadata.has_jwks_uri()) block.Add("jwks_uri", TerminalSafe(metadata.jwks_uri()));
  if (metadata.has_jwks()) {
    // The keys themselves are public but long; `--json` shows them in full.
    const auto& fields = metadata.jwks().fields();
    const auto keys = fields.find("keys");
    const int count = keys != fields.end() ? keys->second.list_value().values_size() : 0;
    block.Add("jwks", absl::StrCat(count, count == 1 ? " key" : " keys"));
  }
}

void WriteRecord(const ClientRecord& record, std::ostream& out) {
  KeyValueBlock block;
  AddIdentity(block, record.client_id(), record.metadata(), record.state(), record.origin(), record.has_client_secret(),
              record.client_secret_expires_at());
  block.Add("created", FormatUnixTime(record.client_id_issued_at()));
  block.Add("updated", FormatUnixTime(record.updated_at()));
  block.Add("last_used", TimeOrNever(record.last_used_at()));
  block.Add("version", absl::StrCat(record.version()));
  if (!record.initial_access_token_id().empty()) {
    block.Add("initial_access_token", absl::StrCat(TerminalSafe(record.initial_access_token_label()), " (id ",
                                                   TerminalSafe(record.initial_access_token_id()), ")"));
  }
  AddMetadata(block, record.metadata());
  block.Write(out);
}

// Sends a paged list request and, with --all, follows next_page_token to the last page: one response holding every
// page's clients, and the last page's token.
template <typename Request, typename Response>
absl::StatusOr<Response> FetchPages(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub,
                                    grpc::Status (clientreg::v1::ClientAdmin::Stub::*method)(grpc::ClientContext*,
                                                                                             const Request&, Response*),
                                    Request request) {
  Response all;
  while (true) {
    Response page;
    RETURN_IF_ERROR(Call(invocation, stub, method, request, &page));
    for (auto& client : *page.mutable_clients()) *all.add_clients() = std::move(client);
    all.set_next_page_token(page.next_page_token());
    if (!invocation.list_all || page.next_page_token().empty()) break;
    // A server that hands back the token it was given would keep this loop going forever.
    if (page.next_page_token() == request.page_token()) {
      return absl::InternalError("the server returned the same page token twice");
    }
    request.set_page_token(page.next_page_token());
  }
  return all;
}

absl::Status RunList(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out) {
  clientreg::v1::ListClientsRequest request = invocation.list_request;
  if (invocation.idle_seconds.has_value()) {
    // Cannot overflow: now is positive and the duration at most int64_t's maximum.
    request.set_idle_since(absl::ToUnixSeconds(absl::Now()) - *invocation.idle_seconds);
  }
  ASSIGN_OR_RETURN(const clientreg::v1::ListClientsResponse all,
                   FetchPages(invocation, stub, &clientreg::v1::ClientAdmin::Stub::ListClients, std::move(request)));

  if (invocation.json) return WriteJson(all, out);
  std::vector<std::vector<std::string>> rows = {{"CLIENT_ID", "NAME", "STATE", "AUTH", "CREATED", "LAST USED"}};
  for (const ClientRecord& record : all.clients()) {
    const clientreg::v1::ClientMetadata& metadata = record.metadata();
    rows.push_back(
        {TerminalSafe(record.client_id()),
         metadata.has_client_name() ? TerminalSafe(metadata.client_name(), kNameColumnChars) : "-",
         StateName(record.state()),
         metadata.has_token_endpoint_auth_method() ? TerminalSafe(metadata.token_endpoint_auth_method()) : "-",
         FormatUnixTime(record.client_id_issued_at()), TimeOrNever(record.last_used_at())});
  }
  WriteTable(rows, out);
  if (all.clients_size() == 0) out << "(no clients)\n";
  if (!all.next_page_token().empty()) {
    out << "More clients: repeat with --page-token=" << TerminalSafe(all.next_page_token())
        << " (same filters), or use --all\n";
  }
  return absl::OkStatus();
}

absl::Status RunGet(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out) {
  clientreg::v1::GetClientRequest request;
  request.set_client_id(invocation.client_id);
  ClientRecord record;
  RETURN_IF_ERROR(Call(invocation, stub, &clientreg::v1::ClientAdmin::Stub::GetClient, request, &record));
  if (invocation.json) return WriteJson(record, out);
  WriteRecord(record, out);
  return absl::OkStatus();
}

absl::Status RunSetState(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out) {
  clientreg::v1::ClientIdRequest request;
  request.set_client_id(invocation.client_id);
  ClientRecord record;
  RETURN_IF_ERROR(Call(invocation, stub,
                       invocation.command == Command::kDisable ? &clientreg::v1::ClientAdmin::Stub::DisableClient
                                                               : &clientreg::v1::ClientAdmin::Stub::EnableClient,
                       request, &record));
  if (invocation.json) return WriteJson(record, out);
  out << "client '" << TerminalSafe(record.client_id()) << "' is " << StateName(record.state()) << " (version "
      << record.version() << ")\n";
  return absl::OkStatus();
}

absl::Status RunDelete(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out) {
  clientreg::v1::ClientIdRequest request;
  request.set_client_id(invocation.client_id);
  clientreg::v1::DeleteClientResponse response;
  RETURN_IF_ERROR(Call(invocation, stub, &clientreg::v1::ClientAdmin::Stub::DeleteClient, request, &response));
  if (invocation.json) {
    // A Struct, so that protobuf escapes the client id and no JSON is written by hand.
    google::protobuf::Struct result;
    (*result.mutable_fields())["client_id"].set_string_value(invocation.client_id);
    (*result.mutable_fields())["deleted"].set_bool_value(true);
    return WriteJson(result, out);
  }
  out << "client '" << TerminalSafe(invocation.client_id) << "' deleted\n";
  return absl::OkStatus();
}

absl::Status RunRotateSecret(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out,
                             std::ostream& err) {
  clientreg::v1::RotateClientSecretRequest request;
  request.set_client_id(invocation.client_id);
  if (invocation.overlap_seconds.has_value()) request.set_overlap_seconds(*invocation.overlap_seconds);
  clientreg::v1::RotateClientSecretResponse response;
  RETURN_IF_ERROR(Call(invocation, stub, &clientreg::v1::ClientAdmin::Stub::RotateClientSecret, request, &response));
  if (invocation.json) return WriteJson(response, out);
  KeyValueBlock block;
  block.Add("client_id", TerminalSafe(response.client().client_id()));
  // Printed verbatim: it is the one value the operator must copy exactly, and the server generates it.
  block.Add("client_secret", response.client_secret());
  block.Add("client_secret_expires_at", TimeOrNever(response.client_secret_expires_at()));
  block.Add("previous_secret_valid_until", response.previous_client_secret_valid_until() == 0
                                               ? "stopped working at once"
                                               : FormatUnixTime(response.previous_client_secret_valid_until()));
  block.Write(out);
  err << kProgram << ": the new client secret is shown only this once; store it now\n";
  return absl::OkStatus();
}

absl::Status RunBackup(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out,
                       std::ostream& err) {
  clientreg::v1::BackupRequest request;
  request.set_dir(invocation.backup_dir);
  clientreg::v1::BackupResponse response;
  RETURN_IF_ERROR(Call(invocation, stub, &clientreg::v1::ClientAdmin::Stub::Backup, request, &response));
  if (invocation.json) {
    RETURN_IF_ERROR(WriteJson(response, out));
  } else {
    KeyValueBlock block;
    block.Add("backup", TerminalSafe(response.dir()));
    block.Add("clients", absl::StrCat(response.clients()));
    block.Add("created", FormatUnixTime(response.created_at()));
    block.Add("took", absl::StrCat(response.duration_ms(), " ms"));
    block.Write(out);
  }
  // Without the key, a restored store holds digests that no secret or token matches any more.
  err << kProgram << ": the backup holds no key: keep the server's key file (<data_dir>/server.key) with it\n";
  return absl::OkStatus();
}

// An operator's look records no use: only an authorization server's authorize and token steps count.
absl::Status RunResolve(const Invocation& invocation, clientreg::v1::ClientDirectory::Stub& stub, std::ostream& out) {
  clientreg::v1::ResolveClientRequest request;
  request.set_client_id(invocation.client_id);
  request.set_purpose(clientreg::v1::ResolveClientRequest::PURPOSE_OTHER);
  clientreg::v1::ResolvedClient resolved;
  RETURN_IF_ERROR(Call(invocation, stub, &clientreg::v1::ClientDirectory::Stub::ResolveClient, request, &resolved));
  if (invocation.json) return WriteJson(resolved, out);
  KeyValueBlock block;
  AddIdentity(block, resolved.client_id(), resolved.metadata(), resolved.state(), resolved.origin(),
              resolved.has_client_secret(), resolved.client_secret_expires_at());
  if (resolved.origin() == StoredClient::ORIGIN_METADATA_DOCUMENT) {
    // Nothing is stored for it: what there is to say is when the server fetched the document and how long it keeps it.
    block.Add("fetched", FormatUnixTime(resolved.metadata_fetched_at()));
    block.Add("cached_until", FormatUnixTime(resolved.metadata_expires_at()));
  } else {
    block.Add("created", FormatUnixTime(resolved.client_id_issued_at()));
    block.Add("last_used", TimeOrNever(resolved.last_used_at()));
    block.Add("version", absl::StrCat(resolved.version()));
  }
  AddMetadata(block, resolved.metadata());
  block.AddList("redirect_hosts", resolved.redirect_hosts());
  block.Add("loopback_redirects_only", resolved.loopback_redirects_only() ? "yes" : "no");
  block.Write(out);
  return absl::OkStatus();
}

// "REASON_LOOPBACK_PORT_MATCH" -> "loopback_port_match", for any message's Reason enum.
template <typename Reason>
std::string ReasonName(Reason reason) {
  const google::protobuf::EnumValueDescriptor* value =
      google::protobuf::GetEnumDescriptor<Reason>()->FindValueByNumber(reason);
  if (value == nullptr) return absl::StrCat("reason(", static_cast<int>(reason), ")");
  return absl::AsciiStrToLower(absl::StripPrefix(value->name(), "REASON_"));
}

absl::Status RunCheckRedirect(const Invocation& invocation, clientreg::v1::ClientDirectory::Stub& stub,
                              std::ostream& out) {
  clientreg::v1::CheckRedirectUriRequest request;
  request.set_client_id(invocation.client_id);
  request.set_redirect_uri(invocation.redirect_uri);
  clientreg::v1::CheckRedirectUriResponse answer;
  RETURN_IF_ERROR(Call(invocation, stub, &clientreg::v1::ClientDirectory::Stub::CheckRedirectUri, request, &answer));
  if (invocation.json) return WriteJson(answer, out);
  KeyValueBlock block;
  block.Add("allowed", answer.allowed() ? "yes" : "no");
  block.Add("reason", ReasonName(answer.reason()));
  if (!answer.matched_redirect_uri().empty()) block.Add("matched", TerminalSafe(answer.matched_redirect_uri()));
  block.Add("explanation", TerminalSafe(answer.explanation()));
  block.Write(out);
  return absl::OkStatus();
}

// "1 client", "2 clients".
std::string Clients(int count) { return absl::StrCat(count, count == 1 ? " client" : " clients"); }

// A table of tombstones: what a reaper pass reaped (or would reap, without REAPED) and what `reaped` lists.
void WriteTombstones(const google::protobuf::RepeatedPtrField<clientreg::v1::StoredTombstone>& clients, bool reaped,
                     std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {{"CLIENT_ID", "NAME", "REASON", "CREATED", "LAST USED"}};
  if (reaped) rows[0].insert(rows[0].begin() + 3, "REAPED");
  for (const clientreg::v1::StoredTombstone& client : clients) {
    std::vector<std::string> row = {
        TerminalSafe(client.client_id()),
        client.client_name().empty() ? "-" : TerminalSafe(client.client_name(), kNameColumnChars),
        ReasonName(client.reason()), FormatUnixTime(client.client_id_issued_at()), TimeOrNever(client.last_used_at())};
    if (reaped) row.insert(row.begin() + 3, FormatUnixTime(client.reaped_at()));
    rows.push_back(std::move(row));
  }
  WriteTable(rows, out);
}

absl::Status RunReap(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out) {
  const bool dry_run = invocation.reap_request.dry_run();
  clientreg::v1::ReapResponse response;
  RETURN_IF_ERROR(Call(invocation, stub, &clientreg::v1::ClientAdmin::Stub::Reap, invocation.reap_request, &response));
  if (invocation.json) return WriteJson(response, out);
  WriteTombstones(response.clients(), /*reaped=*/!dry_run, out);
  if (response.clients_size() == 0) {
    out << "(no clients due)\n";
  } else if (dry_run) {
    out << "Dry run: " << Clients(response.clients_size()) << " would be reaped now; nothing was deleted.\n";
  } else {
    out << "Reaped " << Clients(response.clients_size()) << ".\n";
  }
  if (response.more()) {
    out << "More clients are due than the limit of this pass: "
        << (dry_run ? "raise --limit to see them all\n" : "run reap again, or raise --limit\n");
  }
  return absl::OkStatus();
}

absl::Status RunReaped(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out) {
  ASSIGN_OR_RETURN(
      const clientreg::v1::ListReapedClientsResponse all,
      FetchPages(invocation, stub, &clientreg::v1::ClientAdmin::Stub::ListReapedClients, invocation.reaped_request));
  if (invocation.json) return WriteJson(all, out);
  WriteTombstones(all.clients(), /*reaped=*/true, out);
  if (all.clients_size() == 0) out << "(no reaped clients)\n";
  if (!all.next_page_token().empty()) {
    out << "More reaped clients: repeat with --page-token=" << TerminalSafe(all.next_page_token())
        << ", or use --all\n";
  }
  return absl::OkStatus();
}

// The field of `invocation` a --tls_* or --token_file flag sets, or null for another flag. TLS flags turn TLS on.
std::string* TlsFlagField(std::string_view name, Invocation& invocation) {
  if (name == "--token_file") return &invocation.token_file;
  using Setter = std::string* (clientreg::config::v1::GrpcClientTlsConfig::*)();
  static constexpr std::pair<std::string_view, Setter> kTlsFlags[] = {
      {"--tls_ca", &clientreg::config::v1::GrpcClientTlsConfig::mutable_ca_file},
      {"--tls_cert", &clientreg::config::v1::GrpcClientTlsConfig::mutable_certificate_chain_file},
      {"--tls_key", &clientreg::config::v1::GrpcClientTlsConfig::mutable_private_key_file},
      {"--tls_server_name", &clientreg::config::v1::GrpcClientTlsConfig::mutable_server_name},
  };
  for (const auto& [flag, setter] : kTlsFlags) {
    if (name != flag) continue;
    if (!invocation.tls.has_value()) invocation.tls.emplace();
    return ((*invocation.tls).*setter)();
  }
  return nullptr;
}

// `iat`'s subcommand and its ID, after the flags have been applied.
absl::Status ParseIatArguments(const std::vector<std::string>& positional, Invocation& invocation) {
  if (positional.empty()) return UsageError("'iat' needs a subcommand: create, list or revoke");
  const std::string& action = positional[0];
  const size_t wanted = action == "revoke" ? 2 : 1;
  if (action == "create") {
    invocation.iat_action = IatAction::kCreate;
  } else if (action == "list") {
    invocation.iat_action = IatAction::kList;
  } else if (action == "revoke") {
    invocation.iat_action = IatAction::kRevoke;
  } else {
    return UsageError(absl::StrCat("unknown 'iat' subcommand '", action, "' (create, list or revoke)"));
  }
  if (positional.size() != wanted || (wanted == 2 && positional[1].empty())) {
    return UsageError(wanted == 2 ? "'iat revoke' needs exactly one ID"
                                  : absl::StrCat("'iat ", action, "' takes no argument"));
  }
  if (wanted == 2) invocation.iat_id = positional[1];
  if (invocation.iat_create_flags && invocation.iat_action != IatAction::kCreate) {
    return UsageError(absl::StrCat("'iat ", action, "' takes no flags"));
  }
  return absl::OkStatus();
}

std::string DescribeToken(const clientreg::v1::InitialAccessToken& token) {
  if (token.revoked()) return "revoked";
  if (token.max_uses() != 0 && token.uses() >= token.max_uses()) return "used up";
  return "active";
}

absl::Status RunIat(const Invocation& invocation, clientreg::v1::ClientAdmin::Stub& stub, std::ostream& out,
                    std::ostream& err) {
  using Stub = clientreg::v1::ClientAdmin::Stub;
  switch (invocation.iat_action) {
    case IatAction::kCreate: {
      clientreg::v1::CreateInitialAccessTokenResponse response;
      RETURN_IF_ERROR(Call(invocation, stub, &Stub::CreateInitialAccessToken, invocation.iat_create, &response));
      if (invocation.json) {
        RETURN_IF_ERROR(WriteJson(response, out));
      } else {
        const clientreg::v1::InitialAccessToken& token = response.token();
        KeyValueBlock block;
        block.Add("id", TerminalSafe(token.id()));
        // Printed verbatim: the one value the operator must copy exactly, and the server generates it.
        block.Add("initial_access_token", response.initial_access_token());
        block.Add("label", TerminalSafe(token.label()));
        block.Add("expires", TimeOrNever(token.expires_at()));
        block.Add("max_uses", token.max_uses() == 0 ? "unlimited" : absl::StrCat(token.max_uses()));
        block.Write(out);
      }
      err << kProgram << ": the initial access token is shown only this once; store it now\n";
      return absl::OkStatus();
    }
    case IatAction::kList: {
      clientreg::v1::ListInitialAccessTokensResponse response;
      RETURN_IF_ERROR(Call(invocation, stub, &Stub::ListInitialAccessTokens,
                           clientreg::v1::ListInitialAccessTokensRequest(), &response));
      if (invocation.json) return WriteJson(response, out);
      std::vector<std::vector<std::string>> rows = {{"ID", "LABEL", "STATE", "USES", "EXPIRES", "CREATED"}};
      for (const clientreg::v1::InitialAccessToken& token : response.tokens()) {
        rows.push_back(
            {TerminalSafe(token.id()), token.label().empty() ? "-" : TerminalSafe(token.label(), kNameColumnChars),
             token.from_config() ? "config" : DescribeToken(token),
             token.from_config() ? "-"
                                 : absl::StrCat(token.uses(), "/",
                                                token.max_uses() == 0 ? "unlimited" : absl::StrCat(token.max_uses())),
             TimeOrNever(token.expires_at()), token.from_config() ? "-" : FormatUnixTime(token.created_at())});
      }
      WriteTable(rows, out);
      if (response.tokens_size() == 0) out << "(no initial access tokens)\n";
      return absl::OkStatus();
    }
    case IatAction::kRevoke: {
      clientreg::v1::RevokeInitialAccessTokenRequest request;
      request.set_id(invocation.iat_id);
      clientreg::v1::InitialAccessToken token;
      RETURN_IF_ERROR(Call(invocation, stub, &Stub::RevokeInitialAccessToken, request, &token));
      if (invocation.json) return WriteJson(token, out);
      out << "initial access token '" << TerminalSafe(token.id()) << "' is revoked\n";
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

std::string DescribeFailure(const Invocation& invocation, const absl::Status& status) {
  const std::string code = absl::StatusCodeToString(status.code());
  const std::string client = absl::StrCat("client '", TerminalSafe(invocation.client_id), "'");
  if (status.code() == absl::StatusCode::kNotFound && TakesClientId(invocation.command)) {
    // ClientAdmin names the client and, for a reaped one, says when and why. ClientDirectory says only "unknown
    // client" of a registered client_id, but of a metadata document's URL why it does not resolve (the fetch
    // outcome, the URL rule or the member at fault), which is what an operator asking about one needs. Issued
    // client_ids never start with a scheme.
    if (ServiceOf(invocation.command) == clientreg::v1::ClientAdmin::service_full_name() && !status.message().empty()) {
      return absl::StrCat(TerminalSafe(ToStd(status.message())), " (", code, ")");
    }
    if (IsUrl(invocation.client_id) && !status.message().empty()) {
      return absl::StrCat(client, " not found: ", TerminalSafe(ToStd(status.message())), " (", code, ")");
    }
    return absl::StrCat(client, " not found (", code, ")");
  }
  std::string action;
  switch (invocation.command) {
    case Command::kList:
      action = "list clients";
      break;
    case Command::kRotateSecret:
      action = absl::StrCat("rotate-secret ", client);
      break;
    case Command::kReap:
      action = invocation.reap_request.dry_run() ? "reap --dry-run" : "reap";
      break;
    case Command::kReaped:
      action = "list reaped clients";
      break;
    case Command::kBackup:
      action = absl::StrCat("backup to '", TerminalSafe(invocation.backup_dir), "'");
      break;
    case Command::kIat:
      action = invocation.iat_action == IatAction::kCreate ? "iat create"
               : invocation.iat_action == IatAction::kList
                   ? "iat list"
                   : absl::StrCat("iat revoke '", TerminalSafe(invocation.iat_id), "'");
      break;
    default:
      action = absl::StrCat(ToAbsl(NameOf(invocation.command)), " ", client);
      break;
  }
  const std::string message = TerminalSafe(ToStd(status.message()));
  return absl::StrCat(action, " failed", message.empty() ? "" : ": ", message, " (", code, ")");
}

enum class Connection { kReady, kFailed, kTimedOut };

// Waits for a connection. gRPC fails an RPC on a channel in TRANSIENT_FAILURE at once, so stopping at the first
// failure matches what the RPC would do and reports a refused connection without waiting out the timeout.
Connection Connect(grpc::Channel& channel, std::chrono::system_clock::time_point deadline) {
  while (true) {
    const grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) return Connection::kReady;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return Connection::kFailed;
    if (!channel.WaitForStateChange(state, deadline)) return Connection::kTimedOut;
  }
}

}  // namespace

std::string_view UsageText() { return kUsage; }

absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args, const char* env_server) {
  Invocation invocation;
  if (env_server != nullptr && env_server[0] != '\0') invocation.server = env_server;
  bool have_command = false;
  bool flags_ended = false;
  std::vector<std::string> positional;
  std::set<std::string, std::less<>> seen_flags;

  // Asking for help wins over any mistake next to it.
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      invocation.command = Command::kHelp;
      return invocation;
    }
  }

  for (const std::string& arg : args) {
    if (flags_ended || arg.empty() || arg[0] != '-' || arg == "-") {
      if (!have_command) {
        const auto* entry = std::find_if(std::begin(kCommandNames), std::end(kCommandNames),
                                         [&](const CommandName& c) { return c.name == arg; });
        if (entry == std::end(kCommandNames)) return UsageError(absl::StrCat("unknown command '", arg, "'"));
        invocation.command = entry->command;
        have_command = true;
      } else {
        positional.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string_view name = std::string_view(arg).substr(0, equals);
    const std::optional<std::string_view> value =
        equals == std::string::npos ? std::nullopt : std::optional(std::string_view(arg).substr(equals + 1));
    if (!seen_flags.insert(std::string(name)).second) return UsageError(absl::StrCat(ToAbsl(name), " given twice"));

    if (name == "--json") {
      if (value.has_value()) return UsageError("--json takes no value");
      invocation.json = true;
    } else if (name == "--server") {
      if (!value.has_value() || value->empty()) return UsageError("--server needs a value: --server=HOST:PORT");
      invocation.server = std::string(*value);
    } else if (name == "--timeout") {
      if (!value.has_value()) return UsageError("--timeout needs a value: --timeout=SECONDS");
      ASSIGN_OR_RETURN(invocation.timeout, ParseTimeout(*value));
    } else if (name == "--tls") {
      if (value.has_value()) return UsageError("--tls takes no value");
      if (!invocation.tls.has_value()) invocation.tls.emplace();
    } else if (std::string* field = TlsFlagField(name, invocation); field != nullptr) {
      if (!value.has_value() || value->empty()) {
        return UsageError(absl::StrCat(ToAbsl(name), " needs a value: ", ToAbsl(name), "=..."));
      }
      *field = std::string(*value);
    } else if (!have_command) {
      return UsageError(absl::StrCat("unknown flag ", ToAbsl(name), " (command flags go after the command)"));
    } else {
      RETURN_IF_ERROR(ApplyCommandFlag(name, value, invocation));
    }
  }

  if (!have_command) return UsageError("no command given");
  if (invocation.tls.has_value() &&
      invocation.tls->certificate_chain_file().empty() != invocation.tls->private_key_file().empty()) {
    return UsageError("--tls_cert and --tls_key go together");
  }
  // A bearer credential in clear text across a network could be replayed by anyone on the path.
  if (!invocation.token_file.empty() && !common::MaySendBearer(invocation.server, invocation.tls.has_value())) {
    return UsageError(
        absl::StrCat("--token_file is sent only over TLS or to a loopback server; add --tls_ca=FILE (or "
                     "--tls) to reach ",
                     invocation.server));
  }
  if (invocation.command == Command::kBackup) {
    if (positional.size() != 1 || positional[0].empty()) return UsageError("'backup' needs exactly one DIR");
    // A relative path would be resolved on the server, against a working directory the caller cannot see.
    if (positional[0][0] != '/') {
      return UsageError(
          absl::StrCat("backup DIR must be an absolute path on the server's machine, got '", positional[0], "'"));
    }
    invocation.backup_dir = positional[0];
    if (!seen_flags.contains("--timeout")) invocation.timeout = kDefaultBackupTimeout;
  } else if (invocation.command == Command::kIat) {
    RETURN_IF_ERROR(ParseIatArguments(positional, invocation));
  } else if (invocation.command == Command::kCheckRedirect) {
    if (positional.size() != 2 || positional[0].empty() || positional[1].empty()) {
      return UsageError("'check-redirect' needs exactly one CLIENT_ID and one URI");
    }
    invocation.client_id = positional[0];
    invocation.redirect_uri = positional[1];
  } else if (TakesClientId(invocation.command)) {
    if (positional.size() != 1 || positional[0].empty()) {
      return UsageError(absl::StrCat("'", ToAbsl(NameOf(invocation.command)), "' needs exactly one CLIENT_ID"));
    }
    invocation.client_id = positional[0];
  } else if (!positional.empty()) {
    return UsageError(
        absl::StrCat("'", ToAbsl(NameOf(invocation.command)), "' takes no argument, got '", positional[0], "'"));
  }
  return invocation;
}

int RunCommand(const Invocation& invocation, const std::shared_ptr<grpc::Channel>& channel, std::ostream& out,
               std::ostream& err) {
  if (invocation.command == Command::kHelp) {
    out << UsageText();
    return kExitOk;
  }
  switch (Connect(*channel, std::chrono::system_clock::now() + invocation.timeout)) {
    case Connection::kReady:
      break;
    case Connection::kFailed:
      err << kProgram << ": cannot reach server " << TerminalSafe(invocation.server)
          << (invocation.tls.has_value() ? ": connection or TLS handshake failed (UNAVAILABLE)\n"
                                         : ": connection failed (UNAVAILABLE)\n");
      return kExitUnreachable;
    case Connection::kTimedOut:
      err << kProgram << ": cannot reach server " << TerminalSafe(invocation.server) << ": no connection within "
          << absl::FormatDuration(absl::FromChrono(invocation.timeout)) << " (DEADLINE_EXCEEDED)\n";
      return kExitUnreachable;
  }
  clientreg::v1::ClientAdmin::Stub stub(channel);
  clientreg::v1::ClientDirectory::Stub directory(channel);
  absl::Status status;
  switch (invocation.command) {
    case Command::kList:
      status = RunList(invocation, stub, out);
      break;
    case Command::kGet:
      status = RunGet(invocation, stub, out);
      break;
    case Command::kDisable:
    case Command::kEnable:
      status = RunSetState(invocation, stub, out);
      break;
    case Command::kDelete:
      status = RunDelete(invocation, stub, out);
      break;
    case Command::kRotateSecret:
      status = RunRotateSecret(invocation, stub, out, err);
      break;
    case Command::kBackup:
      status = RunBackup(invocation, stub, out, err);
      break;
    case Command::kIat:
      status = RunIat(invocation, stub, out, err);
      break;
    case Command::kResolve:
      status = RunResolve(invocation, directory, out);
      break;
    case Command::kCheckRedirect:
      status = RunCheckRedirect(invocation, directory, out);
      break;
    case Command::kReap:
      status = RunReap(invocation, stub, out);
      break;
    case Command::kReaped:
      status = RunReaped(invocation, stub, out);
      break;
    case Command::kHelp:
      break;
  }
  if (status.ok()) return kExitOk;
  // The server also answers UNAVAILABLE when a durable write failed, over a healthy connection; only a lost
  // connection means the server itself went away.
  if (status.code() == absl::StatusCode::kUnavailable &&
      channel->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) {
    err << kProgram << ": lost the connection to server " << TerminalSafe(invocation.server) << ": "
        << TerminalSafe(ToStd(status.message())) << " (UNAVAILABLE)\n";
    return kExitUnreachable;
  }
  if (status.code() == absl::StatusCode::kUnauthenticated || status.code() == absl::StatusCode::kPermissionDenied) {
    err << kProgram << ": the server refused this caller: " << TerminalSafe(ToStd(status.message())) << " ("
        << absl::StatusCodeToString(status.code()) << "); "
        << (status.code() == absl::StatusCode::kUnauthenticated
                ? "give --token_file=FILE, or --tls_cert and --tls_key, of a caller the server lists"
                : absl::StrCat("the server's config must list ", ToAbsl(ServiceOf(invocation.command)),
                               " in this caller's services"))
        << "\n";
    return kExitRefused;
  }
  err << kProgram << ": " << DescribeFailure(invocation, status) << "\n";
  return kExitRpcError;
}

int RunAdminCli(const std::vector<std::string>& args, const char* env_server, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << UsageText();
    return kExitUsage;
  }
  const absl::StatusOr<Invocation> invocation = ParseInvocation(args, env_server);
  if (!invocation.ok()) {
    err << kProgram << ": " << invocation.status().message() << "\nRun '" << kProgram << " help' for usage.\n";
    return kExitUsage;
  }
  if (invocation->command == Command::kHelp) {
    out << UsageText();
    return kExitOk;
  }
  Invocation run = *invocation;
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      common::ServerChannelCredentials(run.tls.has_value() ? &*run.tls : nullptr, arguments);
  if (!credentials.ok()) {
    err << kProgram << ": " << credentials.status().message() << "\n";
    return kExitUsage;
  }
  if (!run.token_file.empty()) {
    const absl::StatusOr<std::string> token = common::ReadBearerTokenFile(run.token_file);
    if (!token.ok()) {
      err << kProgram << ": --token_file: " << token.status().message() << "\n";
      return kExitUsage;
    }
    run.authorization = common::BearerAuthorization(*token);
  }
  return RunCommand(run, grpc::CreateCustomChannel(run.server, *credentials, arguments), out, err);
}

std::string FormatUnixTime(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
}

std::string TerminalSafe(std::string_view text, size_t max_chars) {
  std::vector<std::string_view> chars;
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    bool valid = i + length <= text.size() && (length > 1 || lead < 0x80);
    for (size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    // A malformed sequence is replaced byte by byte, so no byte of it, an ESC for one, reaches the terminal.
    if (!valid) {
      chars.push_back("?");
      ++i;
      continue;
    }
    uint32_t code_point = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k)
      code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    const bool control = code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F);
    // Bidirectional marks, embeddings, overrides and isolates can make a listed name read as something else.
    const bool bidi = code_point == 0x061C || code_point == 0x200E || code_point == 0x200F ||
                      (code_point >= 0x202A && code_point <= 0x202E) || (code_point >= 0x2066 && code_point <= 0x2069);
    chars.push_back(control || bidi ? std::string_view("?") : text.substr(i, length));
    i += length;
  }
  size_t keep = chars.size();
  const bool cut = max_chars != std::string_view::npos && chars.size() > max_chars;
  if (cut) keep = max_chars > 3 ? max_chars - 3 : 0;
  std::string result;
  for (size_t k = 0; k < keep; ++k) result.append(chars[k]);
  if (cut) result.append("...");
  return result;
}

}  // namespace clientreg::tools
