#ifndef CLIENTREG_COMMON_IP_NETWORK_H_
#define CLIENTREG_COMMON_IP_NETWORK_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace clientreg::common {

// An IPv4 or IPv6 address. IPv4 is held in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so that a dual-stack peer
// and a configured IPv4 range compare alike.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4() const;
  // The canonical text: dotted quad for IPv4, RFC 5952 for IPv6.
  std::string ToString() const;
  friend bool operator==(const IpAddress& a, const IpAddress& b) { return a.bytes == b.bytes; }
};

// An IP literal ("192.0.2.1", "2001:db8::1"); no brackets, no port, no zone.
[[nodiscard]] absl::StatusOr<IpAddress> ParseIpAddress(std::string_view text);

// The address of a peer written as "IP:PORT", "[IPV6]:PORT" or a bare IP literal.
[[nodiscard]] absl::StatusOr<IpAddress> ParsePeerAddress(std::string_view peer);

// A CIDR range such as "10.0.0.0/8" or "2001:db8::/32". A bare address is a range of one.
class IpNetwork {
 public:
  // Host bits past the prefix must be zero ("10.0.0.1/8" is refused: it reads like a mistake).
  [[nodiscard]] static absl::StatusOr<IpNetwork> Parse(std::string_view text);

  bool Contains(const IpAddress& address) const;
  const std::string& text() const { return text_; }

 private:
  IpAddress base_;
  int prefix_bits_ = 0;  // of the 128-bit (mapped) form
  std::string text_;
};

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_IP_NETWORK_H_
