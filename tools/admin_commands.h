#ifndef CLIENTREG_TOOLS_ADMIN_COMMANDS_H_
#define CLIENTREG_TOOLS_ADMIN_COMMANDS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "clientreg/config/v1/config.pb.h"
#include "clientreg/v1/admin.pb.h"
#include "grpcpp/channel.h"

namespace clientreg::tools {

// Exit codes of clientreg-admin; scripts rely on them.
inline constexpr int kExitOk = 0;
// The server answered with an error (unknown client, invalid argument, failed write, ...).
inline constexpr int kExitRpcError = 1;
// The command line was wrong; nothing was sent.
inline constexpr int kExitUsage = 2;
// No connection to the server within the timeout (or the TLS handshake failed).
inline constexpr int kExitUnreachable = 3;
// The server refused the caller: no valid credential (UNAUTHENTICATED), or a caller not allowed the service the
// command calls, ClientAdmin or (resolve, check-redirect) ClientDirectory (PERMISSION_DENIED).
inline constexpr int kExitRefused = 4;

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";
inline constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::seconds(10);
// backup's default instead: onto another file system the server copies every file of the store.
inline constexpr std::chrono::milliseconds kDefaultBackupTimeout = std::chrono::minutes(10);

enum class Command {
  kHelp,
  kList,
  kGet,
  kDisable,
  kEnable,
  kDelete,
  kRotateSecret,
  kBackup,
  kIat,
  // The ClientDirectory calls an authorization server makes, as it would make them.
  kResolve,
  kCheckRedirect,
  // Issue 12's lifecycle: a reaper pass (or a dry run of one) and the tombstones it leaves.
  kReap,
  kReaped,
};

// What `iat` does.
enum class IatAction { kCreate, kList, kRevoke };

// A parsed command line.
struct Invocation {
  std::string server = kDefaultServer;
  bool json = false;
  // Bounds the connection attempt and each RPC (each page, for `list --all`).
  std::chrono::milliseconds timeout = kDefaultTimeout;
  // TLS to the server, set by --tls or any --tls_* flag; plain text when unset.
  std::optional<clientreg::config::v1::GrpcClientTlsConfig> tls;
  // --token_file: the file holding the bearer credential to present.
  std::string token_file;
  // The `authorization` metadata sent with every call ("Bearer ..." from token_file); empty: none. Set by
  // RunAdminCli once it has read the file, never by parsing.
  std::string authorization;
  Command command = Command::kHelp;
  // get, disable, enable, delete, rotate-secret, resolve, check-redirect.
  std::string client_id;
  // check-redirect: the redirect URI to check, exactly as given.
  std::string redirect_uri;
  // list: filters, page size and page token, as sent.
  clientreg::v1::ListClientsRequest list_request;
  // list --idle-since: how long a listed client has gone unused; RunCommand sends now minus it as idle_since, so
  // that the time is taken when the call is made.
  std::optional<int64_t> idle_seconds;
  // list, reaped: follow next_page_token to the last page.
  bool list_all = false;
  // reap: dry_run and limit, as sent.
  clientreg::v1::ReapRequest reap_request;
  // reaped: page size and page token, as sent.
  clientreg::v1::ListReapedClientsRequest reaped_request;
  // rotate-secret: unset means the server's configured overlap.
  std::optional<int64_t> overlap_seconds;
  // backup: the directory to create, an absolute path on the server's machine.
  std::string backup_dir;
  // iat: the subcommand; for create, the request its flags built; for revoke, the token id.
  IatAction iat_action = IatAction::kList;
  clientreg::v1::CreateInitialAccessTokenRequest iat_create;
  bool iat_create_flags = false;
  std::string iat_id;
};

// The text `clientreg-admin help` prints.
std::string_view UsageText();

// Parses the arguments after the program name. Global flags (--server, --json, --timeout, and the TLS and credential
// flags) may stand before or after
// the command; command flags only after it. Every flag takes the `--name=value` form. `env_server` is the value of
// CLIENTREG_SERVER (nullptr or empty when unset): it replaces the default server, and --server replaces both.
// InvalidArgument, with a message fit for the user, for anything malformed, unknown, missing or repeated.
[[nodiscard]] absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args, const char* env_server);

// Runs a parsed command over `channel` (kHelp only prints UsageText()): waits up to `invocation.timeout` for a
// connection, sends the RPC(s), writes the result to `out` and any error, as one line, to `err`. Returns one of the
// exit codes above. Never writes a client secret, except the new one from rotate-secret.
int RunCommand(const Invocation& invocation, const std::shared_ptr<grpc::Channel>& channel, std::ostream& out,
               std::ostream& err);

// The whole CLI: parses `args`, prints help or a usage error, or reads the TLS files and the bearer credential the
// flags name, opens a channel to the server (TLS when asked, else plain text) and runs the command. Returns the
// process exit code.
int RunAdminCli(const std::vector<std::string>& args, const char* env_server, std::ostream& out, std::ostream& err);

// Formats seconds since the epoch as UTC ISO-8601, e.g. "2023-11-14T22:13:20Z".
std::string FormatUnixTime(int64_t seconds);

// Makes server-supplied text safe for a terminal: control characters (C0, DEL, C1) and bidirectional overrides
// become '?', since client names come from unauthenticated registrations and could otherwise carry escape
// sequences. Then keeps at most `max_chars` code points, ending with "..." when it cut. `text` is valid UTF-8
// (protobuf guarantees it for string fields).
std::string TerminalSafe(std::string_view text, size_t max_chars = std::string_view::npos);

}  // namespace clientreg::tools

#endif  // CLIENTREG_TOOLS_ADMIN_COMMANDS_H_
