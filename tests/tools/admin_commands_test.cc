#include "tools/admin_commands.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clientreg/v1/admin.pb.h"
#include "clientreg/v1/stored.pb.h"
#include "common/clock.h"
#include "common/secrets.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/caller_authorizer.h"
#include "server/client_admin.h"
#include "server/client_admin_service.h"
#include "server/client_reaper.h"
#include "server/server_config.h"
#include "storage/client_store.h"
#include "storage/rocksdb_client_store.h"
#include "tests/status_matchers.h"
#include "tests/tools/cli_support.h"

namespace clientreg::tools {
namespace {

using ::clientreg::v1::StoredClient;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int64_t kNow = 1'700'000'000;
constexpr char kServerKey[] = "0123456789abcdef0123456789abcdef";

absl::StatusOr<Invocation> Parse(const std::vector<std::string>& args, const char* env_server = nullptr) {
  return ParseInvocation(args, env_server);
}

// --- Command-line parsing ---

TEST(ParseInvocationTest, Defaults) {
  ASSERT_OK_AND_ASSIGN(const Invocation invocation, Parse({"list"}));
  EXPECT_EQ(invocation.command, Command::kList);
  EXPECT_EQ(invocation.server, "127.0.0.1:50051");
  EXPECT_FALSE(invocation.json);
  EXPECT_EQ(invocation.timeout, std::chrono::seconds(10));
  EXPECT_FALSE(invocation.list_all);
  EXPECT_FALSE(invocation.list_request.has_software_id());
  EXPECT_FALSE(invocation.list_request.has_created_after());
  EXPECT_EQ(invocation.list_request.page_size(), 0u);
}

TEST(ParseInvocationTest, EnvironmentReplacesDefaultServerAndFlagReplacesBoth) {
  ASSERT_OK_AND_ASSIGN(const Invocation from_env, Parse({"list"}, "admin.internal:6000"));
  EXPECT_EQ(from_env.server, "admin.internal:6000");
  ASSERT_OK_AND_ASSIGN(const Invocation empty_env, Parse({"list"}, ""));
  EXPECT_EQ(empty_env.server, "127.0.0.1:50051");
  ASSERT_OK_AND_ASSIGN(const Invocation from_flag, Parse({"--server=10.0.0.5:7000", "list"}, "admin.internal:6000"));
  EXPECT_EQ(from_flag.server, "10.0.0.5:7000");
}

TEST(ParseInvocationTest, GlobalFlagsBeforeOrAfterTheCommand) {
  ASSERT_OK_AND_ASSIGN(const Invocation before, Parse({"--json", "--timeout=2.5", "get", "abc"}));
  ASSERT_OK_AND_ASSIGN(const Invocation after, Parse({"get", "abc", "--json", "--timeout=2.5"}));
  for (const Invocation& invocation : {before, after}) {
    EXPECT_EQ(invocation.command, Command::kGet);
    EXPECT_EQ(invocation.client_id, "abc");
    EXPECT_TRUE(invocation.json);
    EXPECT_EQ(invocation.timeout, std::chrono::milliseconds(2500));
  }
}

TEST(ParseInvocationTest, TlsAndCredentialFlags) {
  ASSERT_OK_AND_ASSIGN(const Invocation plain, Parse({"list"}));
  EXPECT_FALSE(plain.tls.has_value());
  EXPECT_EQ(plain.token_file, "");
  ASSERT_OK_AND_ASSIGN(const Invocation system_roots, Parse({"--tls", "list"}));
  ASSERT_TRUE(system_roots.tls.has_value());
  EXPECT_EQ(system_roots.tls->ca_file(), "");

  ASSERT_OK_AND_ASSIGN(const Invocation full,
                       Parse({"--server=clientreg.internal:50051", "--tls_ca=/ca.pem", "list", "--tls_cert=/c.pem",
                              "--tls_key=/c.key", "--tls_server_name=server.test", "--token_file=/token"}));
  ASSERT_TRUE(full.tls.has_value());
  EXPECT_EQ(full.tls->ca_file(), "/ca.pem");
  EXPECT_EQ(full.tls->certificate_chain_file(), "/c.pem");
  EXPECT_EQ(full.tls->private_key_file(), "/c.key");
  EXPECT_EQ(full.tls->server_name(), "server.test");
  EXPECT_EQ(full.token_file, "/token");
  EXPECT_EQ(full.authorization, "") << "read by RunAdminCli, never by parsing";

  // A token may go to a loopback server in plain text.
  ASSERT_OK_AND_ASSIGN(const Invocation local, Parse({"--token_file=/token", "list"}));
  EXPECT_FALSE(local.tls.has_value());
  EXPECT_EQ(Parse({"--server=10.0.0.5:50051", "--token_file=/token", "list"}).status().message(),
            "--token_file is sent only over TLS or to a loopback server; add --tls_ca=FILE (or --tls) to reach "
            "10.0.0.5:50051");
  EXPECT_EQ(Parse({"--tls_cert=/c.pem", "list"}).status().message(), "--tls_cert and --tls_key go together");
}

TEST(ParseInvocationTest, ListFiltersPagingAndAll) {
  ASSERT_OK_AND_ASSIGN(
      const Invocation invocation,
      Parse({"list", "--software-id=app-1", "--state=disabled", "--created-after=100", "--created-before=200",
             "--last-used-after=300", "--last-used-before=400", "--page-size=50", "--page-token=abc", "--all"}));
  const v1::ListClientsRequest& request = invocation.list_request;
  EXPECT_EQ(request.software_id(), "app-1");
  EXPECT_EQ(request.state(), StoredClient::STATE_DISABLED);
  EXPECT_EQ(request.created_after(), 100);
  EXPECT_EQ(request.created_before(), 200);
  EXPECT_EQ(request.last_used_after(), 300);
  EXPECT_EQ(request.last_used_before(), 400);
  EXPECT_EQ(request.page_size(), 50u);
  EXPECT_EQ(request.page_token(), "abc");
  EXPECT_TRUE(invocation.list_all);

  ASSERT_OK_AND_ASSIGN(const Invocation active, Parse({"list", "--state=active", "--created-after=0"}));
  EXPECT_EQ(active.list_request.state(), StoredClient::STATE_ACTIVE);
  EXPECT_TRUE(active.list_request.has_created_after());
}

TEST(ParseInvocationTest, ClientIdCommands) {
  const std::pair<const char*, Command> commands[] = {{"get", Command::kGet},
                                                      {"disable", Command::kDisable},
                                                      {"enable", Command::kEnable},
                                                      {"delete", Command::kDelete},
                                                      {"rotate-secret", Command::kRotateSecret}};
  for (const auto& [name, command] : commands) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(const Invocation invocation, Parse({name, "client-1"}));
    EXPECT_EQ(invocation.command, command);
    EXPECT_EQ(invocation.client_id, "client-1");
    EXPECT_FALSE(Parse({name}).ok());
    EXPECT_FALSE(Parse({name, "a", "b"}).ok());
    EXPECT_FALSE(Parse({name, ""}).ok());
  }
}

TEST(ParseInvocationTest, RotateSecretOverlap) {
  ASSERT_OK_AND_ASSIGN(const Invocation without, Parse({"rotate-secret", "c"}));
  EXPECT_FALSE(without.overlap_seconds.has_value());
  ASSERT_OK_AND_ASSIGN(const Invocation with, Parse({"rotate-secret", "c", "--overlap=3600"}));
  EXPECT_EQ(with.overlap_seconds, 3600);
  ASSERT_OK_AND_ASSIGN(const Invocation zero, Parse({"rotate-secret", "--overlap=0", "c"}));
  EXPECT_EQ(zero.overlap_seconds, 0);
  EXPECT_FALSE(Parse({"rotate-secret", "c", "--overlap=-1"}).ok());
  EXPECT_FALSE(Parse({"rotate-secret", "c", "--overlap"}).ok());
}

TEST(ParseInvocationTest, BackupTakesOneAbsoluteDirAndALongerDefaultTimeout) {
  ASSERT_OK_AND_ASSIGN(const Invocation invocation, Parse({"backup", "/var/backups/clientreg-1"}));
  EXPECT_EQ(invocation.command, Command::kBackup);
  EXPECT_EQ(invocation.backup_dir, "/var/backups/clientreg-1");
  EXPECT_EQ(invocation.timeout, kDefaultBackupTimeout);
  ASSERT_OK_AND_ASSIGN(const Invocation timed, Parse({"--timeout=30", "backup", "/b"}));
  EXPECT_EQ(timed.timeout, std::chrono::seconds(30));
  EXPECT_EQ(Parse({"backup"}).status().message(), "'backup' needs exactly one DIR");
  EXPECT_EQ(Parse({"backup", "/a", "/b"}).status().message(), "'backup' needs exactly one DIR");
  EXPECT_EQ(Parse({"backup", "backups/1"}).status().message(),
            "backup DIR must be an absolute path on the server's machine, got 'backups/1'");
  EXPECT_FALSE(Parse({"backup", "/b", "--all"}).ok());
}

TEST(ParseInvocationTest, DoubleDashEndsFlags) {
  ASSERT_OK_AND_ASSIGN(const Invocation invocation, Parse({"get", "--", "-odd-id"}));
  EXPECT_EQ(invocation.client_id, "-odd-id");
  ASSERT_OK_AND_ASSIGN(const Invocation not_help, Parse({"get", "--", "--help"}));
  EXPECT_EQ(not_help.command, Command::kGet);
  EXPECT_EQ(not_help.client_id, "--help");
}

TEST(ParseInvocationTest, HelpInEveryForm) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"help"}, {"--help"}, {"-h"}, {"get", "--help"}, {"list", "--bogus", "--help"}, {"nonsense", "-h"}}) {
    SCOPED_TRACE(args[0]);
    ASSERT_OK_AND_ASSIGN(const Invocation invocation, Parse(args));
    EXPECT_EQ(invocation.command, Command::kHelp);
  }
}

TEST(ParseInvocationTest, RejectsMalformedCommandLines) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--json"},
      {"frobnicate"},
      {"help", "extra"},
      {"list", "extra"},
      {"--all", "list"},
      {"get", "c", "--all"},
      {"list", "--overlap=5"},
      {"list", "--state=gone"},
      {"list", "--state"},
      {"list", "--state="},
      {"list", "--state=active", "--state=disabled"},
      {"list", "--all=yes"},
      {"list", "--created-after=-1"},
      {"list", "--created-after=abc"},
      {"list", "--created-after= 5"},
      {"list", "--created-after=+5"},
      {"list", "--created-after=99999999999999999999"},
      {"list", "--page-size=0"},
      {"list", "--page-size=4294967296"},
      {"list", "--software-id="},
      {"--json=true", "list"},
      {"--server", "list"},
      {"--server=", "list"},
      {"--timeout=0", "list"},
      {"--timeout=-1", "list"},
      {"--timeout=abc", "list"},
      {"--timeout=1e3", "list"},
      {"--timeout=1000000", "list"},
      {"--json", "--json", "list"},
      {"-x", "list"},
      {"--tls=yes", "list"},
      {"--tls_ca", "list"},
      {"--tls_ca=", "list"},
      {"--tls_key=/k", "list"},
      {"--token_file=", "list"},
      {"--token_file=/a", "--token_file=/b", "list"},
  };
  for (const std::vector<std::string>& args : bad) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    const absl::StatusOr<Invocation> invocation = Parse(args);
    ASSERT_FALSE(invocation.ok());
    EXPECT_EQ(invocation.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(invocation.status().message().empty());
  }
}

TEST(ParseInvocationTest, ErrorsNameTheProblem) {
  EXPECT_EQ(Parse({"list", "--state=gone"}).status().message(), "--state must be 'active' or 'disabled', got 'gone'");
  EXPECT_EQ(Parse({"get"}).status().message(), "'get' needs exactly one CLIENT_ID");
  EXPECT_EQ(Parse({"get", "c", "--all"}).status().message(), "unknown flag --all for 'get'");
  EXPECT_EQ(Parse({"frobnicate"}).status().message(), "unknown command 'frobnicate'");
}

TEST(ParseInvocationTest, ListUnusedAndIdleSinceCombineWithTheOtherFilters) {
  ASSERT_OK_AND_ASSIGN(const Invocation plain, Parse({"list"}));
  EXPECT_FALSE(plain.list_request.has_never_used());
  EXPECT_FALSE(plain.list_request.has_idle_since());
  EXPECT_FALSE(plain.idle_seconds.has_value());

  ASSERT_OK_AND_ASSIGN(const Invocation invocation,
                       Parse({"list", "--unused", "--idle-since=90d", "--software-id=app-1", "--state=active",
                              "--page-size=5", "--all"}));
  EXPECT_TRUE(invocation.list_request.never_used());
  EXPECT_EQ(invocation.idle_seconds, 90 * 86400);
  // The time is taken when the call is made, not when the line is parsed.
  EXPECT_FALSE(invocation.list_request.has_idle_since());
  EXPECT_EQ(invocation.list_request.software_id(), "app-1");
  EXPECT_EQ(invocation.list_request.page_size(), 5u);
  EXPECT_TRUE(invocation.list_all);
}

TEST(ParseInvocationTest, IdleSinceDurations) {
  const std::pair<const char*, int64_t> durations[] = {
      {"90d", 90 * 86400},
      {"36h", 36 * 3600},
      {"30m", 1800},
      {"45s", 45},
      {"120", 120},
      {"1", 1},
      {"106751991167300d", 106751991167300 * 86400},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"9223372036854775807s", std::numeric_limits<int64_t>::max()},
  };
  for (const auto& [text, seconds] : durations) {
    SCOPED_TRACE(text);
    ASSERT_OK_AND_ASSIGN(const Invocation invocation, Parse({"list", absl::StrCat("--idle-since=", text)}));
    EXPECT_EQ(invocation.idle_seconds, seconds);
  }
}

TEST(ParseInvocationTest, IdleSinceRefusesZeroNegativeGarbageAndOverflow) {
  for (const char* text : {"0", "0d", "000s", "-1d", "-5", "+1d", "d", "s", "1.5h", "1h30m", "90D", "90 d", " 90d",
                           "1w", "abc", "0x10", "106751991167301d", "9223372036854775808", "153722867280912931m"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(Parse({"list", absl::StrCat("--idle-since=", text)}).status().message(),
              absl::StrCat("--idle-since needs a duration above zero such as 90d, 36h, 30m, 45s or a number of "
                           "seconds, got '",
                           text, "'"));
  }
  EXPECT_EQ(Parse({"list", "--idle-since"}).status().message(), "--idle-since needs a value: --idle-since=...");
  EXPECT_EQ(Parse({"list", "--idle-since="}).status().message(), "--idle-since needs a value: --idle-since=...");
  EXPECT_EQ(Parse({"list", "--unused=yes"}).status().message(), "--unused takes no value");
  EXPECT_EQ(Parse({"list", "--idle-since=1d", "--idle-since=2d"}).status().message(), "--idle-since given twice");
}

TEST(ParseInvocationTest, ReapAndReapedFlags) {
  ASSERT_OK_AND_ASSIGN(const Invocation pass, Parse({"reap"}));
  EXPECT_EQ(pass.command, Command::kReap);
  EXPECT_FALSE(pass.reap_request.dry_run());
  EXPECT_EQ(pass.reap_request.limit(), 0u);
  ASSERT_OK_AND_ASSIGN(const Invocation dry, Parse({"--json", "reap", "--dry-run", "--limit=5"}));
  EXPECT_TRUE(dry.reap_request.dry_run());
  EXPECT_EQ(dry.reap_request.limit(), 5u);
  EXPECT_TRUE(dry.json);

  ASSERT_OK_AND_ASSIGN(const Invocation reaped, Parse({"reaped", "--page-size=10", "--page-token=abc", "--all"}));
  EXPECT_EQ(reaped.command, Command::kReaped);
  EXPECT_EQ(reaped.reaped_request.page_size(), 10u);
  EXPECT_EQ(reaped.reaped_request.page_token(), "abc");
  EXPECT_TRUE(reaped.list_all);
  EXPECT_EQ(reaped.list_request.page_size(), 0u) << "reaped's paging is its own";
}

TEST(ParseInvocationTest, LifecycleFlagsOnTheWrongCommandAreRefused) {
  const std::pair<std::vector<std::string>, std::string> bad[] = {
      {{"reap", "--all"}, "unknown flag --all for 'reap'"},
      {{"reap", "--unused"}, "unknown flag --unused for 'reap'"},
      {{"reap", "--page-size=5"}, "unknown flag --page-size for 'reap'"},
      {{"reap", "client-a"}, "'reap' takes no argument, got 'client-a'"},
      {{"reap", "--dry-run=yes"}, "--dry-run takes no value"},
      {{"reap", "--limit=0"}, "--limit must be at least 1"},
      {{"reap", "--limit"}, "--limit needs a value: --limit=..."},
      {{"reap", "--limit=-1"}, "--limit needs a whole number from 0 to 4294967295, got '-1'"},
      {{"reap", "--limit=4294967296"}, "--limit needs a whole number from 0 to 4294967295, got '4294967296'"},
      {{"reaped", "--dry-run"}, "unknown flag --dry-run for 'reaped'"},
      {{"reaped", "--limit=5"}, "unknown flag --limit for 'reaped'"},
      {{"reaped", "--unused"}, "unknown flag --unused for 'reaped'"},
      {{"reaped", "--page-size=0"}, "--page-size must be at least 1"},
      {{"reaped", "--page-token="}, "--page-token needs a value: --page-token=..."},
      {{"reaped", "client-a"}, "'reaped' takes no argument, got 'client-a'"},
      {{"list", "--dry-run"}, "unknown flag --dry-run for 'list'"},
      {{"list", "--limit=5"}, "unknown flag --limit for 'list'"},
      {{"get", "c", "--unused"}, "unknown flag --unused for 'get'"},
      {{"delete", "c", "--idle-since=1d"}, "unknown flag --idle-since for 'delete'"},
      {{"--dry-run", "reap"}, "unknown flag --dry-run (command flags go after the command)"},
  };
  for (const auto& [args, message] : bad) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    const absl::StatusOr<Invocation> invocation = Parse(args);
    ASSERT_FALSE(invocation.ok());
    EXPECT_EQ(invocation.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(invocation.status().message(), message);
  }
}

// --- Output helpers ---

TEST(ParseInvocationTest, IatSubcommandsAndCreateFlags) {
  ASSERT_OK_AND_ASSIGN(const Invocation create,
                       Parse({"iat", "create", "--label=partner", "--expires-in=3600", "--max_uses=1",
                              "--allowed-redirect-hosts=a.example,b.example",
                              "--allowed_grant_types=authorization_code", "--scope-ceiling=read write"}));
  EXPECT_EQ(create.command, Command::kIat);
  EXPECT_EQ(create.iat_action, IatAction::kCreate);
  EXPECT_EQ(create.iat_create.label(), "partner");
  EXPECT_EQ(create.iat_create.expires_in_seconds(), 3600);
  EXPECT_EQ(create.iat_create.max_uses(), 1u);
  EXPECT_THAT(create.iat_create.policy().allowed_redirect_hosts(), ElementsAre("a.example", "b.example"));
  EXPECT_THAT(create.iat_create.policy().allowed_grant_types(), ElementsAre("authorization_code"));
  EXPECT_EQ(create.iat_create.policy().scope_ceiling(), "read write");
  ASSERT_OK_AND_ASSIGN(const Invocation revoke, Parse({"iat", "revoke", "abc"}));
  EXPECT_EQ(revoke.iat_action, IatAction::kRevoke);
  EXPECT_EQ(revoke.iat_id, "abc");
  ASSERT_OK_AND_ASSIGN(const Invocation list, Parse({"--json", "iat", "list"}));
  EXPECT_EQ(list.iat_action, IatAction::kList);
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{{"iat"},
                                                                                   {"iat", "burn"},
                                                                                   {"iat", "revoke"},
                                                                                   {"iat", "list", "x"},
                                                                                   {"iat", "list", "--label=x"},
                                                                                   {"iat", "create", "--max-uses=-1"},
                                                                                   {"iat", "create", "--colour=red"},
                                                                                   {"iat", "create", "--label"}}) {
    EXPECT_TRUE(absl::IsInvalidArgument(Parse(bad).status())) << absl::StrJoin(bad, " ");
  }
}

TEST(FormatUnixTimeTest, UtcIso8601) {
  EXPECT_EQ(FormatUnixTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUnixTime(kNow), "2023-11-14T22:13:20Z");
}

TEST(TerminalSafeTest, ReplacesControlAndBidiCharacters) {
  EXPECT_EQ(TerminalSafe("plain name"), "plain name");
  EXPECT_EQ(TerminalSafe("\x1b[31mred\x1b[0m"), "?[31mred?[0m");
  EXPECT_EQ(TerminalSafe("a\tb\nc\x7f"), "a?b?c?");
  EXPECT_EQ(TerminalSafe("c1:\xc2\x9b"), "c1:?");
  EXPECT_EQ(TerminalSafe("evil\xe2\x80\xaegnp.exe"), "evil?gnp.exe");
  EXPECT_EQ(TerminalSafe("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"), "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
}

TEST(TerminalSafeTest, MalformedUtf8NeverPassesAControlByte) {
  EXPECT_EQ(TerminalSafe("\xc3\x1b[2J"), "??[2J");
  EXPECT_EQ(TerminalSafe("\xe6\x97"), "??");
  EXPECT_EQ(TerminalSafe("\x80x"), "?x");
}

TEST(TerminalSafeTest, TruncatesByCodePoints) {
  EXPECT_EQ(TerminalSafe("abcdefgh", 8), "abcdefgh");
  EXPECT_EQ(TerminalSafe("abcdefghij", 8), "abcde...");
  EXPECT_EQ(TerminalSafe("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4), "\xc3\xa9...");
}

// --- The CLI without a server ---

using ::clientreg::testing::CliResult;
using ::clientreg::testing::RunCli;

TEST(RunAdminCliTest, HelpGoesToStdoutWithExitZero) {
  const CliResult result = RunCli({"help"});
  EXPECT_EQ(result.code, kExitOk);
  EXPECT_EQ(result.out, UsageText());
  EXPECT_EQ(result.err, "");
  EXPECT_THAT(result.out, HasSubstr("int64 and uint64 fields"));
  EXPECT_THAT(result.out, HasSubstr("\n  backup DIR\n"));
  EXPECT_THAT(result.out, HasSubstr("\n               --unused  --idle-since=DURATION\n"));
  EXPECT_THAT(result.out, HasSubstr("\n  reap [--dry-run] [--limit=N]\n"));
  EXPECT_THAT(result.out, HasSubstr("\n  reaped [--page-size=N] [--page-token=TOKEN] [--all]\n"));
}

TEST(RunAdminCliTest, UsageErrorsExitTwo) {
  const CliResult bad = RunCli({"list", "--state=gone"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(bad.err,
            "clientreg-admin: --state must be 'active' or 'disabled', got 'gone'\n"
            "Run 'clientreg-admin help' for usage.\n");

  const CliResult none = RunCli({});
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_EQ(none.err, UsageText());
}

TEST(RunAdminCliTest, UnreadableTlsOrTokenFilesExitTwoBeforeConnecting) {
  const CliResult ca = RunCli({"--tls_ca=/nonexistent/ca.pem", "list"});
  EXPECT_EQ(ca.code, kExitUsage);
  EXPECT_EQ(ca.err, "clientreg-admin: cannot read /nonexistent/ca.pem\n");
  const CliResult token = RunCli({"--token_file=/nonexistent/token", "list"});
  EXPECT_EQ(token.code, kExitUsage);
  EXPECT_EQ(token.err, "clientreg-admin: --token_file: cannot read /nonexistent/token\n");
}

TEST(RunAdminCliTest, RefusedConnectionExitsThreeWithoutWaitingForTheTimeout) {
  // A bound socket that never listens refuses connections, and holding it keeps the port from being reused.
  const int socket_fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(socket_fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string server = absl::StrCat("127.0.0.1:", ntohs(address.sin_port));

  const auto start = std::chrono::steady_clock::now();
  const CliResult result = RunCli({"--server=" + server, "--timeout=30", "get", "c"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  close(socket_fd);
  EXPECT_EQ(result.code, kExitUnreachable);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            absl::StrCat("clientreg-admin: cannot reach server ", server, ": connection failed (UNAVAILABLE)\n"));
}

// --- Commands against the real ClientAdmin service (RocksDB store, in-process gRPC server on port 0) ---

class AdminCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "clientreg-admin-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_OK_AND_ASSIGN(store_, storage::OpenRocksDbClientStore(dir_ + "/clients"));
    server::ClientAdmin::Options options;
    options.server_key = kServerKey;
    admin_ = std::make_unique<server::ClientAdmin>(store_.get(), &clock_, nullptr, options);
    ASSERT_OK_AND_ASSIGN(tokens_, server::InitialAccessTokens::Create(store_.get(), &clock_, {}, kServerKey));
    // A day for clients never used, as README suggests for MCP deployments; idle reaping stays off.
    server::ClientReaper::Options lifecycle;
    lifecycle.never_used_after_seconds = 86400;
    ASSERT_OK_AND_ASSIGN(reaper_, server::ClientReaper::Create(store_.get(), &clock_, std::move(lifecycle)));
    ASSERT_NO_FATAL_FAILURE(StartServer(&open_callers_));
  }

  // Serves ClientAdmin on a fresh loopback port to the callers `callers` allows.
  void StartServer(const server::CallerAuthorizer* callers) {
    service_ = std::make_unique<server::ClientAdminService>(admin_.get(), tokens_.get(), reaper_.get(), callers,
                                                            /*max_page_size=*/1000);
    server_ = std::make_unique<testing::LoopbackGrpcServer>(service_.get());
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    StopServer();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void StopServer() { server_.reset(); }

  // Serves again with a reaper of these lifecycle rules in place of the fixture's.
  void RestartWithReaper(server::ClientReaper::Options lifecycle) {
    StopServer();
    service_.reset();
    reaper_.reset();
    ASSERT_OK_AND_ASSIGN(reaper_, server::ClientReaper::Create(store_.get(), &clock_, std::move(lifecycle)));
    ASSERT_NO_FATAL_FAILURE(StartServer(&open_callers_));
  }

  // Stores a client directly, as a registration would have; confidential clients get a secret.
  void Seed(const std::string& client_id, const std::string& name,
            const std::string& auth_method = "client_secret_basic", int64_t issued_at = kNow - 1000,
            StoredClient::State state = StoredClient::STATE_ACTIVE, const std::string& software_id = "") {
    StoredClient client;
    client.set_client_id(client_id);
    if (!name.empty()) client.mutable_metadata()->set_client_name(name);
    client.mutable_metadata()->set_token_endpoint_auth_method(auth_method);
    client.mutable_metadata()->mutable_redirect_uris()->add_values("https://app.example/cb");
    client.mutable_metadata()->mutable_redirect_uris()->add_values("https://app.example/cb2");
    if (!software_id.empty()) client.mutable_metadata()->set_software_id(software_id);
    if (auth_method != "none") {
      ASSERT_OK_AND_ASSIGN(const std::string digest, common::HmacSha256(kServerKey, "old-secret-" + client_id));
      client.set_client_secret_digest(digest);
    }
    client.set_client_id_issued_at(issued_at);
    client.set_updated_at(issued_at);
    client.set_state(state);
    client.set_origin(StoredClient::ORIGIN_DYNAMIC);
    client.set_version(1);
    ASSERT_OK(store_->Create(client));
  }

  CliResult Run(std::vector<std::string> args) { return testing::RunCliOn(port_, std::move(args)); }

  // The data rows of a table: every line after the header, up to the first empty or non-table line.
  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines = absl::StrSplit(text, '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }

  // What one page of a listing table (list, reaped) shows: the first column of its rows, and the --page-token its
  // closing "More ...: repeat with --page-token=TOKEN ..." line offers ("" without one).
  struct Page {
    std::vector<std::string> ids;
    std::string next_page_token;
  };

  Page RunPage(const std::vector<std::string>& args) {
    const CliResult result = Run(args);
    EXPECT_EQ(result.code, kExitOk) << result.err;
    Page page;
    const std::vector<std::string> lines = Lines(result.out);
    constexpr std::string_view kOffer = "--page-token=";
    for (size_t i = 1; i < lines.size() && lines[i][0] != '('; ++i) {
      const size_t offer = lines[i].find(kOffer);
      if (absl::StartsWith(lines[i], "More ") && offer != std::string::npos) {
        const size_t start = offer + kOffer.size();
        page.next_page_token = lines[i].substr(start, lines[i].find_first_of(" ,", start) - start);
        break;
      }
      page.ids.push_back(lines[i].substr(0, lines[i].find(' ')));
    }
    return page;
  }

  // The client ids `list` (with `args` after it) prints, in order.
  std::vector<std::string> ListedIds(const std::vector<std::string>& args) {
    std::vector<std::string> command = {"list"};
    command.insert(command.end(), args.begin(), args.end());
    return RunPage(command).ids;
  }

  common::FakeClock clock_{kNow};
  const server::CallerAuthorizer open_callers_{server::DefaultServerConfig()};
  std::string dir_;
  std::unique_ptr<storage::ClientStore> store_;
  std::unique_ptr<server::ClientAdmin> admin_;
  std::unique_ptr<server::InitialAccessTokens> tokens_;
  std::unique_ptr<server::ClientReaper> reaper_;
  std::unique_ptr<server::ClientAdminService> service_;
  std::unique_ptr<testing::LoopbackGrpcServer> server_;
  // Kept after StopServer, to call a stopped server.
  int port_ = 0;
};

TEST_F(AdminCliTest, GetPrintsAKeyValueBlock) {
  Seed("client-a", "Example App");
  const CliResult result = Run({"get", "client-a"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out,
            "client_id:                  client-a\n"
            "client_name:                Example App\n"
            "state:                      active\n"
            "origin:                     dynamic\n"
            "token_endpoint_auth_method: client_secret_basic\n"
            "client_secret:              set, expires never\n"
            "created:                    2023-11-14T21:56:40Z\n"
            "updated:                    2023-11-14T21:56:40Z\n"
            "last_used:                  never\n"
            "version:                    1\n"
            "redirect_uris:              https://app.example/cb\n"
            "                            https://app.example/cb2\n");
}

TEST_F(AdminCliTest, GetUnknownClientIsNotFound) {
  const CliResult result = Run({"get", "nope"});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "clientreg-admin: client \"nope\" not found (NOT_FOUND)\n");
}

TEST_F(AdminCliTest, GetJsonIsOneClientRecordObject) {
  Seed("client-a", "Example App");
  const CliResult result = Run({"--json", "get", "client-a"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  ASSERT_EQ(Lines(result.out).size(), 1u);
  EXPECT_THAT(result.out, HasSubstr(R"("client_id":"client-a")"));
  EXPECT_THAT(result.out, HasSubstr(R"("client_id_issued_at":"1699999000")"));
  EXPECT_THAT(result.out, HasSubstr(R"("last_used_at":"0")"));
  v1::ClientRecord record;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &record).ok());
  EXPECT_EQ(record.client_id(), "client-a");
  EXPECT_EQ(record.metadata().client_name(), "Example App");
  EXPECT_EQ(record.state(), StoredClient::STATE_ACTIVE);
  EXPECT_TRUE(record.has_client_secret());
}

TEST_F(AdminCliTest, ListPrintsATable) {
  Seed("client-a", "Example App");
  Seed("client-b", "A very long client name that does not fit the column", "none", kNow - 500,
       StoredClient::STATE_DISABLED);
  Seed("client-c", "\x1b]0;owned\x07Sneaky");
  ASSERT_OK(store_->RecordLastUsed({{"client-a", kNow - 60}}));

  const CliResult result = Run({"list"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out,
            "CLIENT_ID  NAME                              STATE     AUTH                 CREATED               "
            "LAST USED\n"
            "client-a   Example App                       active    client_secret_basic  2023-11-14T21:56:40Z  "
            "2023-11-14T22:12:20Z\n"
            "client-b   A very long client name that ...  disabled  none                 2023-11-14T22:05:00Z  "
            "never\n"
            "client-c   ?]0;owned?Sneaky                  active    client_secret_basic  2023-11-14T21:56:40Z  "
            "never\n");
}

TEST_F(AdminCliTest, ListWithoutClients) {
  const CliResult result = Run({"list"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "CLIENT_ID  NAME  STATE  AUTH  CREATED  LAST USED\n(no clients)\n");
}

TEST_F(AdminCliTest, ListPrintsOnePageAndTheTokenForTheNext) {
  for (int i = 0; i < 5; ++i) Seed(absl::StrCat("client-", i), absl::StrCat("App ", i));
  const CliResult first = Run({"list", "--page-size=2"});
  ASSERT_EQ(first.code, kExitOk) << first.err;
  EXPECT_THAT(Lines(first.out).back(), StartsWith("More clients: repeat with --page-token="));
  EXPECT_THAT(Lines(first.out).back(), EndsWith(" (same filters), or use --all"));
  const Page page = RunPage({"list", "--page-size=2"});
  EXPECT_EQ(page.ids, (std::vector<std::string>{"client-0", "client-1"}));
  ASSERT_FALSE(page.next_page_token.empty());

  const Page second = RunPage({"list", "--page-size=2", "--page-token=" + page.next_page_token});
  EXPECT_EQ(second.ids, (std::vector<std::string>{"client-2", "client-3"}));
  EXPECT_FALSE(second.next_page_token.empty());
}

TEST_F(AdminCliTest, ListAllFollowsEveryPage) {
  for (int i = 0; i < 5; ++i) Seed(absl::StrCat("client-", i), absl::StrCat("App ", i));
  const CliResult result = Run({"list", "--page-size=2", "--all"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 6u) << result.out;
  for (int i = 0; i < 5; ++i) EXPECT_THAT(lines[i + 1], StartsWith(absl::StrCat("client-", i, " ")));
  EXPECT_THAT(result.out, Not(HasSubstr("More clients")));
}

TEST_F(AdminCliTest, ListJson) {
  for (int i = 0; i < 5; ++i) Seed(absl::StrCat("client-", i), absl::StrCat("App ", i));

  const CliResult all = Run({"--json", "list", "--page-size=2", "--all"});
  ASSERT_EQ(all.code, kExitOk) << all.err;
  ASSERT_EQ(Lines(all.out).size(), 1u);
  EXPECT_THAT(all.out, StartsWith(R"({"clients":[{)"));
  EXPECT_THAT(all.out, HasSubstr(R"("next_page_token":"")"));
  v1::ListClientsResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(all.out, &response).ok());
  ASSERT_EQ(response.clients_size(), 5);
  EXPECT_EQ(response.clients(4).client_id(), "client-4");

  const CliResult page = Run({"list", "--page-size=2", "--json"});
  ASSERT_EQ(page.code, kExitOk) << page.err;
  response.Clear();
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(page.out, &response).ok());
  EXPECT_EQ(response.clients_size(), 2);
  EXPECT_FALSE(response.next_page_token().empty());

  const CliResult empty = Run({"list", "--json", "--state=disabled"});
  ASSERT_EQ(empty.code, kExitOk) << empty.err;
  EXPECT_EQ(empty.out, "{\"clients\":[],\"next_page_token\":\"\"}\n");
}

TEST_F(AdminCliTest, ListFiltersReachTheServer) {
  Seed("client-a", "A", "client_secret_basic", kNow - 1000, StoredClient::STATE_ACTIVE, "suite");
  Seed("client-b", "B", "client_secret_basic", kNow - 500, StoredClient::STATE_DISABLED, "suite");
  Seed("client-c", "C", "none", kNow - 100, StoredClient::STATE_ACTIVE, "other");

  EXPECT_EQ(ListedIds({"--state=disabled"}), std::vector<std::string>{"client-b"});
  EXPECT_EQ(ListedIds({"--software-id=suite"}), (std::vector<std::string>{"client-a", "client-b"}));
  EXPECT_EQ(ListedIds({absl::StrCat("--created-after=", kNow - 600)}),
            (std::vector<std::string>{"client-b", "client-c"}));
  EXPECT_EQ(ListedIds({absl::StrCat("--created-before=", kNow - 600)}), std::vector<std::string>{"client-a"});
  EXPECT_EQ(ListedIds({"--software-id=suite", "--state=active"}), std::vector<std::string>{"client-a"});
}

TEST_F(AdminCliTest, ListUnusedAndIdleSinceReachTheServer) {
  // --idle-since counts back from the real clock, which the server's fake one does not follow, so these clients'
  // times are set relative to the real now, with margins far wider than the test takes.
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  Seed("never", "Never used", "client_secret_basic", kNow - 1000);
  Seed("fresh", "Registered an hour ago", "none", now - 3600, StoredClient::STATE_ACTIVE, "suite");
  Seed("recent", "Used a minute ago", "client_secret_basic", kNow - 1000, StoredClient::STATE_ACTIVE, "suite");
  Seed("stale", "Used two days ago", "none", kNow - 1000, StoredClient::STATE_DISABLED, "suite");
  ASSERT_OK(store_->RecordLastUsed({{"recent", now - 60}, {"stale", now - 2 * 86400}}));

  EXPECT_EQ(ListedIds({}), (std::vector<std::string>{"fresh", "never", "recent", "stale"}));
  EXPECT_EQ(ListedIds({"--unused"}), (std::vector<std::string>{"fresh", "never"}));
  EXPECT_EQ(ListedIds({"--idle-since=1d"}), (std::vector<std::string>{"never", "stale"}));
  EXPECT_EQ(ListedIds({"--idle-since=86400"}), (std::vector<std::string>{"never", "stale"}));
  EXPECT_EQ(ListedIds({"--idle-since=30m"}), (std::vector<std::string>{"fresh", "never", "stale"}));
  EXPECT_EQ(ListedIds({"--idle-since=36h"}), (std::vector<std::string>{"never", "stale"}));
  EXPECT_EQ(ListedIds({"--idle-since=3d"}), std::vector<std::string>{"never"});
  EXPECT_EQ(ListedIds({"--idle-since=10s"}), (std::vector<std::string>{"fresh", "never", "recent", "stale"}));
  // Combined with each other, the other filters and paging.
  EXPECT_EQ(ListedIds({"--unused", "--idle-since=1d"}), std::vector<std::string>{"never"});
  EXPECT_EQ(ListedIds({"--unused", "--software-id=suite"}), std::vector<std::string>{"fresh"});
  EXPECT_EQ(ListedIds({"--idle-since=1d", "--state=disabled"}), std::vector<std::string>{"stale"});
  EXPECT_EQ(ListedIds({"--idle-since=30m", "--page-size=1", "--all"}),
            (std::vector<std::string>{"fresh", "never", "stale"}));
  // A duration reaching back before 1970 leaves nothing idle since then.
  EXPECT_EQ(ListedIds({"--idle-since=9223372036854775807"}), std::vector<std::string>{});

  const CliResult page = Run({"list", "--unused", "--page-size=1"});
  ASSERT_EQ(page.code, kExitOk) << page.err;
  ASSERT_EQ(Lines(page.out).size(), 3u) << page.out;
  EXPECT_THAT(Lines(page.out)[1], StartsWith("fresh "));
  EXPECT_THAT(Lines(page.out)[2], StartsWith("More clients: repeat with --page-token="));

  const CliResult json = Run({"--json", "list", "--idle-since=1d"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  v1::ListClientsResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &response).ok()) << json.out;
  ASSERT_EQ(response.clients_size(), 2);
  EXPECT_EQ(response.clients(0).client_id(), "never");
  EXPECT_EQ(response.clients(1).client_id(), "stale");
  EXPECT_EQ(response.clients(1).last_used_at(), now - 2 * 86400);
}

// The fixture's reaper reaps clients never used within a day of their registration; the clock stands at kNow.
TEST_F(AdminCliTest, ReapDryRunListsWhatIsDueAndDeletesNothing) {
  Seed("old-a", "Old A", "client_secret_basic", kNow - 3 * 86400);
  Seed("old-b", "\x1b[2JOld B", "none", kNow - 2 * 86400);
  Seed("fresh", "Fresh", "client_secret_basic", kNow - 1000);
  Seed("used", "Used", "client_secret_basic", kNow - 3 * 86400);
  ASSERT_OK(store_->RecordLastUsed({{"used", kNow - 100}}));

  const CliResult result = Run({"reap", "--dry-run"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out,
            "CLIENT_ID  NAME       REASON      CREATED               LAST USED\n"
            "old-a      Old A      never_used  2023-11-11T22:13:20Z  never\n"
            "old-b      ?[2JOld B  never_used  2023-11-12T22:13:20Z  never\n"
            "Dry run: 2 clients would be reaped now; nothing was deleted.\n");
  for (const char* id : {"old-a", "old-b", "fresh", "used"}) EXPECT_OK(store_->Get(id).status()) << id;

  const CliResult limited = Run({"reap", "--dry-run", "--limit=1"});
  ASSERT_EQ(limited.code, kExitOk) << limited.err;
  EXPECT_EQ(limited.out,
            "CLIENT_ID  NAME   REASON      CREATED               LAST USED\n"
            "old-a      Old A  never_used  2023-11-11T22:13:20Z  never\n"
            "Dry run: 1 client would be reaped now; nothing was deleted.\n"
            "More clients are due than the limit of this pass: raise --limit to see them all\n");

  const CliResult json = Run({"--json", "reap", "--dry-run", "--limit=1"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  ASSERT_EQ(Lines(json.out).size(), 1u) << json.out;
  EXPECT_THAT(json.out, HasSubstr(R"("reaped_at":"0")"));
  EXPECT_THAT(json.out, HasSubstr(R"("reason":"REASON_NEVER_USED")"));
  v1::ReapResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &response).ok()) << json.out;
  ASSERT_EQ(response.clients_size(), 1);
  EXPECT_EQ(response.clients(0).client_id(), "old-a");
  EXPECT_EQ(response.clients(0).client_id_issued_at(), kNow - 3 * 86400);
  EXPECT_TRUE(response.more());

  for (const char* id : {"old-a", "old-b"}) EXPECT_OK(store_->Get(id).status()) << id;
  EXPECT_EQ(Run({"reaped"}).out, "CLIENT_ID  NAME  REASON  REAPED  CREATED  LAST USED\n(no reaped clients)\n");
}

TEST_F(AdminCliTest, ReapDeletesDueClientsAndGetSaysWhen) {
  Seed("old-a", "Old A", "client_secret_basic", kNow - 3 * 86400);
  Seed("old-b", "Old B", "none", kNow - 2 * 86400);
  Seed("fresh", "Fresh", "client_secret_basic", kNow - 1000);

  const CliResult first = Run({"reap", "--limit=1"});
  ASSERT_EQ(first.code, kExitOk) << first.err;
  EXPECT_EQ(first.err, "");
  EXPECT_EQ(first.out,
            "CLIENT_ID  NAME   REASON      REAPED                CREATED               LAST USED\n"
            "old-a      Old A  never_used  2023-11-14T22:13:20Z  2023-11-11T22:13:20Z  never\n"
            "Reaped 1 client.\n"
            "More clients are due than the limit of this pass: run reap again, or raise --limit\n");
  EXPECT_TRUE(absl::IsNotFound(store_->Get("old-a").status()));
  EXPECT_OK(store_->Get("old-b").status());

  const CliResult gone = Run({"get", "old-a"});
  EXPECT_EQ(gone.code, kExitRpcError);
  EXPECT_EQ(gone.out, "");
  EXPECT_EQ(
      gone.err,
      "clientreg-admin: client \"old-a\" was reaped at 2023-11-14T22:13:20Z (never used); see clientreg-admin reaped "
      "(NOT_FOUND)\n");

  const CliResult json = Run({"--json", "reap"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  v1::ReapResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &response).ok()) << json.out;
  ASSERT_EQ(response.clients_size(), 1);
  EXPECT_EQ(response.clients(0).client_id(), "old-b");
  EXPECT_EQ(response.clients(0).reaped_at(), kNow);
  EXPECT_EQ(response.clients(0).reason(), v1::StoredTombstone::REASON_NEVER_USED);
  EXPECT_EQ(response.clients(0).client_name(), "Old B");
  EXPECT_FALSE(response.more());
  EXPECT_THAT(json.out, HasSubstr(R"("more":false)"));
  EXPECT_TRUE(absl::IsNotFound(store_->Get("old-b").status()));

  const CliResult nothing = Run({"reap"});
  ASSERT_EQ(nothing.code, kExitOk) << nothing.err;
  EXPECT_EQ(nothing.out, "CLIENT_ID  NAME  REASON  REAPED  CREATED  LAST USED\n(no clients due)\n");
  EXPECT_OK(store_->Get("fresh").status());
}

TEST_F(AdminCliTest, ReapedListsTheTombstonesPagedAndAsJson) {
  server::ClientReaper::Options lifecycle;
  lifecycle.never_used_after_seconds = 86400;
  lifecycle.idle_after_seconds = 86400;
  ASSERT_NO_FATAL_FAILURE(RestartWithReaper(std::move(lifecycle)));
  Seed("old-a", "Old A", "client_secret_basic", kNow - 3 * 86400);
  Seed("idle-b", "", "none", kNow - 5 * 86400);
  Seed("old-c", "\xe2\x80\xaeOld C", "none", kNow - 2 * 86400);
  ASSERT_OK(store_->RecordLastUsed({{"idle-b", kNow - 4 * 86400}}));
  const CliResult reap = Run({"reap"});
  ASSERT_EQ(reap.code, kExitOk) << reap.err;
  EXPECT_THAT(reap.out, HasSubstr("\nReaped 3 clients.\n"));

  const CliResult result = Run({"reaped"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_EQ(result.out,
            "CLIENT_ID  NAME    REASON      REAPED                CREATED               LAST USED\n"
            "idle-b     -       idle        2023-11-14T22:13:20Z  2023-11-09T22:13:20Z  2023-11-10T22:13:20Z\n"
            "old-a      Old A   never_used  2023-11-14T22:13:20Z  2023-11-11T22:13:20Z  never\n"
            "old-c      ?Old C  never_used  2023-11-14T22:13:20Z  2023-11-12T22:13:20Z  never\n");

  const CliResult first = Run({"reaped", "--page-size=2"});
  ASSERT_EQ(first.code, kExitOk) << first.err;
  EXPECT_THAT(Lines(first.out).back(), StartsWith("More reaped clients: repeat with --page-token="));
  EXPECT_THAT(Lines(first.out).back(), EndsWith(", or use --all"));
  const Page page = RunPage({"reaped", "--page-size=2"});
  EXPECT_EQ(page.ids, (std::vector<std::string>{"idle-b", "old-a"}));
  ASSERT_FALSE(page.next_page_token.empty());
  const Page second = RunPage({"reaped", "--page-size=2", "--page-token=" + page.next_page_token});
  EXPECT_EQ(second.ids, std::vector<std::string>{"old-c"});
  EXPECT_EQ(second.next_page_token, "");

  const CliResult all = Run({"reaped", "--page-size=1", "--all"});
  ASSERT_EQ(all.code, kExitOk) << all.err;
  EXPECT_EQ(all.out, result.out);

  const CliResult json = Run({"--json", "reaped", "--page-size=2", "--all"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  ASSERT_EQ(Lines(json.out).size(), 1u) << json.out;
  EXPECT_THAT(json.out, HasSubstr(R"("next_page_token":"")"));
  v1::ListReapedClientsResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &response).ok()) << json.out;
  ASSERT_EQ(response.clients_size(), 3);
  EXPECT_EQ(response.clients(0).client_id(), "idle-b");
  EXPECT_EQ(response.clients(0).reason(), v1::StoredTombstone::REASON_IDLE);
  EXPECT_EQ(response.clients(0).last_used_at(), kNow - 4 * 86400);
  EXPECT_EQ(response.clients(2).client_name(), "\xe2\x80\xaeOld C") << "JSON carries the name as stored";

  const CliResult bad = Run({"reaped", "--page-token=not a token!"});
  EXPECT_EQ(bad.code, kExitRpcError);
  EXPECT_THAT(bad.err, StartsWith("clientreg-admin: list reaped clients failed: "));
  EXPECT_THAT(bad.err, HasSubstr("(INVALID_ARGUMENT)\n"));
}

TEST_F(AdminCliTest, ReapWithoutALifecycleRuleFailsWithFailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(RestartWithReaper({}));
  Seed("old-a", "Old A", "client_secret_basic", kNow - 3 * 86400);
  for (const bool dry_run : {true, false}) {
    const CliResult result =
        Run(dry_run ? std::vector<std::string>{"reap", "--dry-run"} : std::vector<std::string>{"--json", "reap"});
    EXPECT_EQ(result.code, kExitRpcError);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, absl::StrCat("clientreg-admin: ", dry_run ? "reap --dry-run" : "reap",
                                       " failed: no lifecycle rule is configured (FAILED_PRECONDITION)\n"));
  }
  EXPECT_OK(store_->Get("old-a").status());
  // The tombstones stay readable whatever the rules.
  const CliResult reaped = Run({"reaped"});
  EXPECT_EQ(reaped.code, kExitOk) << reaped.err;
  EXPECT_THAT(reaped.out, HasSubstr("(no reaped clients)"));
}

TEST_F(AdminCliTest, BadPageTokenIsAnRpcError) {
  const CliResult result = Run({"list", "--page-token=not a token!"});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, StartsWith("clientreg-admin: list clients failed: "));
  EXPECT_THAT(result.err, HasSubstr("(INVALID_ARGUMENT)\n"));
}

TEST_F(AdminCliTest, DisableAndEnable) {
  Seed("client-a", "Example App");
  const CliResult disabled = Run({"disable", "client-a"});
  ASSERT_EQ(disabled.code, kExitOk) << disabled.err;
  EXPECT_EQ(disabled.out, "client 'client-a' is disabled (version 2)\n");
  ASSERT_OK_AND_ASSIGN(StoredClient stored, store_->Get("client-a"));
  EXPECT_EQ(stored.state(), StoredClient::STATE_DISABLED);

  const CliResult enabled = Run({"--json", "enable", "client-a"});
  ASSERT_EQ(enabled.code, kExitOk) << enabled.err;
  v1::ClientRecord record;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(enabled.out, &record).ok());
  EXPECT_EQ(record.state(), StoredClient::STATE_ACTIVE);
  EXPECT_EQ(record.version(), 3u);

  const CliResult unknown = Run({"disable", "nope"});
  EXPECT_EQ(unknown.code, kExitRpcError);
  EXPECT_EQ(unknown.err, "clientreg-admin: client \"nope\" not found (NOT_FOUND)\n");
}

TEST_F(AdminCliTest, DeleteAsksNothing) {
  Seed("client-a", "Example App");
  Seed("client-b", "Other");
  const CliResult deleted = Run({"delete", "client-a"});
  ASSERT_EQ(deleted.code, kExitOk) << deleted.err;
  EXPECT_EQ(deleted.out, "client 'client-a' deleted\n");
  EXPECT_EQ(deleted.err, "");
  EXPECT_TRUE(absl::IsNotFound(store_->Get("client-a").status()));

  const CliResult json = Run({"--json", "delete", "client-b"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  // A JSON object's member order is not fixed, so compare what it says.
  google::protobuf::Struct object;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &object).ok()) << json.out;
  EXPECT_EQ(object.fields().size(), 2u);
  EXPECT_EQ(object.fields().at("client_id").string_value(), "client-b");
  EXPECT_TRUE(object.fields().at("deleted").bool_value());

  const CliResult again = Run({"delete", "client-a"});
  EXPECT_EQ(again.code, kExitRpcError);
  EXPECT_EQ(again.err, "clientreg-admin: client \"client-a\" not found (NOT_FOUND)\n");
}

TEST_F(AdminCliTest, RotateSecretPrintsTheNewSecretOnce) {
  Seed("client-a", "Example App");
  const CliResult result = Run({"rotate-secret", "client-a", "--overlap=3600"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 4u) << result.out;
  EXPECT_EQ(lines[0], "client_id:                   client-a");
  const std::string prefix = "client_secret:               ";
  ASSERT_THAT(lines[1], StartsWith(prefix));
  const std::string secret = lines[1].substr(prefix.size());
  EXPECT_EQ(lines[2], "client_secret_expires_at:    never");
  EXPECT_EQ(lines[3], "previous_secret_valid_until: 2023-11-14T23:13:20Z");
  EXPECT_EQ(result.err, "clientreg-admin: the new client secret is shown only this once; store it now\n");

  // The printed secret is the one the server stored (as its digest), not a copy mangled on the way.
  ASSERT_OK_AND_ASSIGN(const StoredClient stored, store_->Get("client-a"));
  ASSERT_OK_AND_ASSIGN(const std::string digest, common::HmacSha256(kServerKey, secret));
  EXPECT_EQ(stored.client_secret_digest(), digest);

  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"get", "client-a"}, {"--json", "get", "client-a"}, {"list"}, {"--json", "list"}}) {
    const CliResult later = Run(args);
    ASSERT_EQ(later.code, kExitOk) << later.err;
    EXPECT_THAT(later.out, Not(HasSubstr(secret)));
  }
}

TEST_F(AdminCliTest, IatCreatePrintsTheTokenOnceAndListAndRevokeNeverDo) {
  const CliResult created = Run({"iat", "create", "--label=partner", "--max-uses=2", "--scope-ceiling=read"});
  ASSERT_EQ(created.code, kExitOk) << created.err;
  const std::vector<std::string> lines = Lines(created.out);
  ASSERT_EQ(lines.size(), 5u) << created.out;
  const std::string id_prefix = "id:                   ";
  const std::string token_prefix = "initial_access_token: ";
  ASSERT_THAT(lines[0], StartsWith(id_prefix));
  ASSERT_THAT(lines[1], StartsWith(token_prefix));
  const std::string id = lines[0].substr(id_prefix.size());
  const std::string token = lines[1].substr(token_prefix.size());
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(lines[2], "label:                partner");
  EXPECT_EQ(lines[3], "expires:              never");
  EXPECT_EQ(lines[4], "max_uses:             2");
  EXPECT_EQ(created.err, "clientreg-admin: the initial access token is shown only this once; store it now\n");
  // The printed token is the one stored (as its digest).
  ASSERT_OK_AND_ASSIGN(const std::string digest, common::HmacSha256(kServerKey, token));
  ASSERT_OK_AND_ASSIGN(const clientreg::v1::StoredInitialAccessToken stored, store_->FindInitialAccessToken(digest));
  EXPECT_EQ(stored.id(), id);
  EXPECT_EQ(stored.policy().scope_ceiling(), "read");

  const CliResult listed = Run({"iat", "list"});
  ASSERT_EQ(listed.code, kExitOk) << listed.err;
  ASSERT_EQ(Lines(listed.out).size(), 2u) << listed.out;
  EXPECT_THAT(Lines(listed.out)[0], StartsWith("ID"));
  EXPECT_THAT(Lines(listed.out)[1], StartsWith(id));
  EXPECT_THAT(Lines(listed.out)[1], HasSubstr("active"));
  EXPECT_THAT(Lines(listed.out)[1], HasSubstr("0/2"));
  const CliResult json = Run({"--json", "iat", "list"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"label\":\"partner\""));

  const CliResult revoked = Run({"iat", "revoke", id});
  ASSERT_EQ(revoked.code, kExitOk) << revoked.err;
  EXPECT_EQ(revoked.out, "initial access token '" + id + "' is revoked\n");
  EXPECT_THAT(Run({"iat", "list"}).out, HasSubstr("revoked"));
  for (const CliResult& later : {listed, json, revoked}) EXPECT_THAT(later.out, Not(HasSubstr(token)));

  const CliResult unknown = Run({"iat", "revoke", "nope"});
  EXPECT_EQ(unknown.code, kExitRpcError);
  EXPECT_THAT(unknown.err, HasSubstr("iat revoke 'nope' failed"));
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(AdminCliTest, GetShowsTheInitialAccessTokenLabel) {
  StoredClient client;
  client.set_client_id("invited");
  client.set_client_id_issued_at(kNow);
  client.set_state(StoredClient::STATE_ACTIVE);
  client.set_initial_access_token_id("0123abcd");
  client.set_initial_access_token_label("partner");
  ASSERT_OK(store_->Create(client));
  const CliResult result = Run({"get", "invited"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\ninitial_access_token: partner (id 0123abcd)\n"));
}

TEST_F(AdminCliTest, RotateSecretWithoutOverlapStopsTheOldSecretAtOnce) {
  Seed("client-a", "Example App");
  const CliResult result = Run({"rotate-secret", "client-a"});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("previous_secret_valid_until: stopped working at once\n"));

  const CliResult json = Run({"--json", "rotate-secret", "client-a", "--overlap=60"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  v1::RotateClientSecretResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &response).ok());
  EXPECT_FALSE(response.client_secret().empty());
  EXPECT_EQ(response.previous_client_secret_valid_until(), kNow + 60);
  EXPECT_EQ(response.client().client_id(), "client-a");
}

TEST_F(AdminCliTest, RotateSecretOfAPublicClientFails) {
  Seed("public", "Native App", "none");
  const CliResult result = Run({"rotate-secret", "public"});
  EXPECT_EQ(result.code, kExitRpcError);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, StartsWith("clientreg-admin: rotate-secret client 'public' failed: "));
  EXPECT_THAT(result.err, HasSubstr("(FAILED_PRECONDITION)\n"));
}

TEST_F(AdminCliTest, BackupWritesAStoreThatOpensAndRefusesToOverwriteIt) {
  Seed("client-a", "Example App");
  Seed("client-b", "Other", "none", kNow - 500, StoredClient::STATE_DISABLED);
  const std::string backup = dir_ + "/backup";
  const CliResult result = Run({"backup", backup});
  ASSERT_EQ(result.code, kExitOk) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 4u) << result.out;
  EXPECT_EQ(lines[0], "backup:  " + backup);
  EXPECT_EQ(lines[1], "clients: 2");
  EXPECT_EQ(lines[2], "created: 2023-11-14T22:13:20Z");
  EXPECT_THAT(lines[3], StartsWith("took:    "));
  EXPECT_EQ(result.err,
            "clientreg-admin: the backup holds no key: keep the server's key file (<data_dir>/server.key) with it\n");

  const CliResult again = Run({"backup", backup});
  EXPECT_EQ(again.code, kExitRpcError);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err, absl::StrCat("clientreg-admin: backup to '", backup, "' failed: ", backup,
                                    " already exists (ALREADY_EXISTS)\n"));

  const CliResult json = Run({"--json", "backup", dir_ + "/backup-2"});
  ASSERT_EQ(json.code, kExitOk) << json.err;
  v1::BackupResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &response).ok()) << json.out;
  EXPECT_EQ(response.dir(), dir_ + "/backup-2");
  EXPECT_EQ(response.clients(), 2);

  StopServer();
  store_.reset();
  // The backup is a store of its own, holding what was registered.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::ClientStore> copy, storage::OpenRocksDbClientStore(backup));
  ASSERT_OK_AND_ASSIGN(const StoredClient a, copy->Get("client-a"));
  EXPECT_EQ(a.metadata().client_name(), "Example App");
  ASSERT_OK_AND_ASSIGN(const StoredClient b, copy->Get("client-b"));
  EXPECT_EQ(b.state(), StoredClient::STATE_DISABLED);
  ASSERT_OK_AND_ASSIGN(const storage::ClientCounts counts, copy->CountClients());
  EXPECT_EQ(counts.active, 1);
  EXPECT_EQ(counts.disabled, 1);
}

// A loopback server that lists its callers: no token, an unknown one, or a caller not allowed ClientAdmin each
// get exit 4 and a message saying what to do; the listed token gets the answer.
TEST_F(AdminCliTest, RefusedCallerExitsFourAndTokenFileIsSent) {
  StopServer();
  clientreg::config::v1::ServerConfig config = server::DefaultServerConfig();
  const auto add_caller = [&config](const std::string& name, const std::string& token, const std::string& service) {
    clientreg::config::v1::CallerConfig& caller = *config.add_callers();
    caller.set_name(name);
    const absl::StatusOr<std::string> digest = common::Sha256(token);
    caller.add_bearer_token_sha256(absl::BytesToHexString(digest.value_or("")));
    caller.add_services(service);
  };
  add_caller("ops", "ops-token", "clientreg.v1.ClientAdmin");
  add_caller("gateway", "gateway-token", "clientreg.v1.ClientRegistration");
  const server::CallerAuthorizer callers(config);
  ASSERT_NO_FATAL_FAILURE(StartServer(&callers));
  Seed("client-a", "A");
  const auto token_file = [this](const std::string& name, const std::string& token) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << token << "\n";
    return "--token_file=" + path;
  };

  const CliResult anonymous = Run({"list"});
  EXPECT_EQ(anonymous.code, kExitRefused);
  EXPECT_THAT(anonymous.err, StartsWith("clientreg-admin: the server refused this caller: "));
  EXPECT_THAT(anonymous.err, HasSubstr("(UNAUTHENTICATED); give --token_file=FILE"));

  EXPECT_EQ(Run({token_file("wrong", "wrong-token"), "list"}).code, kExitRefused);

  const CliResult gateway = Run({token_file("gateway", "gateway-token"), "get", "client-a"});
  EXPECT_EQ(gateway.code, kExitRefused);
  EXPECT_THAT(gateway.err, HasSubstr("caller \"gateway\" may not call clientreg.v1.ClientAdmin (PERMISSION_DENIED)"));

  const CliResult ops = Run({token_file("ops", "ops-token"), "get", "client-a"});
  EXPECT_EQ(ops.code, kExitOk) << ops.err;
  EXPECT_THAT(ops.out, HasSubstr("client-a"));
}

TEST_F(AdminCliTest, StoppedServerIsUnreachable) {
  StopServer();
  const CliResult result = Run({"get", "client-a"});
  EXPECT_EQ(result.code, kExitUnreachable);
  EXPECT_THAT(result.err, StartsWith("clientreg-admin: cannot reach server 127.0.0.1:"));
}

}  // namespace
}  // namespace clientreg::tools
