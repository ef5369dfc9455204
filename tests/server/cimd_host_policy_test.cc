#include "server/cimd_host_policy.h"

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "gtest/gtest.h"

namespace clientreg::server {
namespace {

using ::testing::HasSubstr;

google::protobuf::RepeatedPtrField<std::string> List(std::initializer_list<std::string_view> patterns) {
  google::protobuf::RepeatedPtrField<std::string> list;
  for (std::string_view pattern : patterns) list.Add(std::string(pattern));
  return list;
}

CimdHostPolicy Policy(std::initializer_list<std::string_view> allowed, std::initializer_list<std::string_view> denied) {
  absl::StatusOr<CimdHostPolicy> policy = CimdHostPolicy::Create(List(allowed), List(denied));
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

constexpr std::string_view kDenied = "host is denied by cimd.denied_hosts";
constexpr std::string_view kNotAllowed = "host is not in cimd.allowed_hosts";
constexpr std::string_view kNotAHost = "host is not a DNS name or IP literal";

struct HostCase {
  std::string_view host;
  std::optional<std::string_view> refusal;
};

void ExpectRefusals(const CimdHostPolicy& policy, std::initializer_list<HostCase> cases) {
  for (const HostCase& c : cases) {
    const std::optional<std::string> refusal = policy.Refusal(c.host);
    if (c.refusal.has_value()) {
      EXPECT_EQ(refusal, std::string(*c.refusal)) << c.host;
    } else {
      EXPECT_EQ(refusal, std::nullopt) << c.host;
    }
  }
}

TEST(CimdHostPolicyTest, EmptyListsAdmitEveryValidHost) {
  ExpectRefusals(Policy({}, {}), {
                                     {"client.example", std::nullopt},
                                     {"localhost", std::nullopt},
                                     {"192.0.2.1", std::nullopt},
                                     {"[2001:db8::1]", std::nullopt},
                                     {"", kNotAHost},
                                     {"exa mple.com", kNotAHost},
                                     {"ex%61mple.com", kNotAHost},
                                     {"127.1", kNotAHost},
                                     {"[v1.x]", kNotAHost},
                                     {"[192.0.2.1]", kNotAHost},
                                     {"2001:db8::1", kNotAHost},  // a URL brackets IPv6
                                 });
}

TEST(CimdHostPolicyTest, ExactAndSuffixPatternsIgnoringCase) {
  const CimdHostPolicy policy = Policy({}, {"Evil.Example", "*.bad.example"});
  ExpectRefusals(policy, {
                             {"evil.example", kDenied},
                             {"EVIL.example", kDenied},
                             {"evil.example.", kDenied},          // the same host to a resolver
                             {"sub.evil.example", std::nullopt},  // an exact pattern is exact
                             {"notevil.example", std::nullopt},
                             {"a.bad.example", kDenied},
                             {"A.b.BAD.example", kDenied},
                             {"bad.example", std::nullopt},  // the apex is not under *.bad.example
                             {"xbad.example", std::nullopt},
                             {"bad.example.com", std::nullopt},
                         });
}

TEST(CimdHostPolicyTest, DeniedIsCheckedBeforeAllowed) {
  const CimdHostPolicy policy = Policy({"*.example.com", "shared.example"}, {"evil.example.com", "shared.example"});
  ExpectRefusals(policy, {
                             {"app.example.com", std::nullopt},
                             {"evil.example.com", kDenied},
                             {"shared.example", kDenied},
                         });
}

TEST(CimdHostPolicyTest, AnAllowListAdmitsOnlyWhatItMatches) {
  const CimdHostPolicy policy = Policy({"client.example", "*.apps.example", "192.0.2.7", "[2001:db8::7]"}, {});
  ExpectRefusals(policy, {
                             {"client.example", std::nullopt},
                             {"CLIENT.EXAMPLE", std::nullopt},
                             {"x.apps.example", std::nullopt},
                             {"apps.example", kNotAllowed},
                             {"other.example", kNotAllowed},
                             {"client.example.evil", kNotAllowed},
                             {"192.0.2.7", std::nullopt},
                             {"192.0.2.8", kNotAllowed},
                             {"[2001:db8::7]", std::nullopt},
                             {"[2001:DB8:0:0:0:0:0:7]", std::nullopt},  // the same address
                             {"[2001:db8::8]", kNotAllowed},
                         });
}

TEST(CimdHostPolicyTest, IpLiteralPatternsMatchTheAddressExactly) {
  const CimdHostPolicy policy = Policy({}, {"127.0.0.1", "[::1]", "2001:db8::1"});
  ExpectRefusals(policy, {
                             {"127.0.0.1", kDenied},
                             {"[::ffff:127.0.0.1]", kDenied},  // the IPv4-mapped spelling is the same address
                             {"127.0.0.2", std::nullopt},
                             {"[::1]", kDenied},
                             {"[0:0:0:0:0:0:0:1]", kDenied},
                             {"[2001:db8::1]", kDenied},
                             {"[2001:db8::2]", std::nullopt},
                             {"localhost", std::nullopt},  // a name is not an address: deny it by name
                         });
}

TEST(CimdHostPolicyTest, RefusesInvalidPatternsNamingTheFieldAndEntry) {
  const struct {
    std::string_view pattern;
    std::string_view why;
  } cases[] = {
      {"", "empty"},
      {"*", "\"*\" may only start it"},
      {"a.*.b", "\"*\" may only start it"},
      {"*.*.x", "\"*\" may only start it"},
      {"*x.example", "\"*\" may only start it"},
      {"*.", "must be followed by a DNS host name"},
      {"*.127.0.0.1", "must be followed by a DNS host name"},
      {"*.[::1]", "must be followed by a DNS host name"},
      {"exa mple.com", "neither a DNS host name"},
      {"example.com.", "neither a DNS host name"},
      {"https://example.com", "neither a DNS host name"},
      {"[192.0.2.1]", "neither a DNS host name"},
  };
  for (const auto& c : cases) {
    for (const bool in_allowed : {true, false}) {
      const auto bad = List({"fine.example", c.pattern});
      const absl::StatusOr<CimdHostPolicy> policy =
          in_allowed ? CimdHostPolicy::Create(bad, {}) : CimdHostPolicy::Create({}, bad);
      ASSERT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << "\"" << c.pattern << "\"";
      const std::string message(policy.status().message());
      EXPECT_THAT(message, HasSubstr(in_allowed ? "cimd.allowed_hosts[1]" : "cimd.denied_hosts[1]"));
      EXPECT_THAT(message, HasSubstr("\"" + std::string(c.pattern) + "\"")) << message;
      EXPECT_THAT(message, HasSubstr(std::string(c.why))) << message;
    }
  }
}

}  // namespace
}  // namespace clientreg::server
