#ifndef CLIENTREG_SERVER_CIMD_HOST_POLICY_H_
#define CLIENTREG_SERVER_CIMD_HOST_POLICY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ip_network.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace clientreg::server {

// Which client_id URL hosts may resolve (config cimd.allowed_hosts / cimd.denied_hosts). A pattern is a host name
// ("client.example", matching exactly that host) or "*." followed by one ("*.example.com", matching any host that
// ends in ".example.com", not example.com itself); IP literals are patterns too, exact only ("127.0.0.1", "[::1]").
// Hosts and patterns compare ignoring ASCII case. Immutable, so thread-safe.
class CimdHostPolicy {
 public:
  // INVALID_ARGUMENT naming the config field and the bad entry for an empty pattern, a "*" anywhere but a leading
  // "*.", or a pattern that is not a DNS host name (server/uri.h IsDnsHostName) or IP literal after the "*.".
  // An IPv6 pattern may be written with or without brackets; "*." never takes an IP literal.
  static absl::StatusOr<CimdHostPolicy> Create(const google::protobuf::RepeatedPtrField<std::string>& allowed,
                                               const google::protobuf::RepeatedPtrField<std::string>& denied);

  // nullopt when `host` (as in a URL: IPv6 in brackets) may resolve; else why not, one phrase for the log
  // ("host is denied by cimd.denied_hosts", "host is not in cimd.allowed_hosts"). Denied is checked first; a
  // non-empty allow list admits only what it matches. One trailing dot is ignored ("example.com." is example.com,
  // the same host to a resolver), and an IP literal matches a pattern naming the same address however either is
  // spelled ("[::ffff:127.0.0.1]" is 127.0.0.1). A host that is neither a DNS host name nor an IP literal matches
  // no pattern and is refused whatever the lists say ("host is not a DNS name or IP literal"): a deny list cannot
  // be trusted to catch a spelling it cannot read.
  std::optional<std::string> Refusal(std::string_view host) const;

 private:
  // One list's patterns, lower-cased: exact names, the names after "*." and IP literals.
  struct Patterns {
    absl::flat_hash_set<std::string> names;
    absl::flat_hash_set<std::string> suffixes;
    std::vector<common::IpAddress> addresses;

    bool empty() const { return names.empty() && suffixes.empty() && addresses.empty(); }
  };

  CimdHostPolicy() = default;

  [[nodiscard]] static absl::Status AddPatterns(std::string_view field,
                                                const google::protobuf::RepeatedPtrField<std::string>& patterns,
                                                Patterns& into);
  // Whether `name` (lower-case, a DNS host name) or `address` (for an IP literal host) matches `patterns`.
  static bool Matches(const Patterns& patterns, std::string_view name, const std::optional<common::IpAddress>& address);

  Patterns allowed_;
  Patterns denied_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CIMD_HOST_POLICY_H_
