#include "common/special_use_address.h"

#include <array>
#include <cstddef>
#include <cstdint>

namespace clientreg::common {
namespace {

struct Block {
  std::array<uint8_t, 4> base;
  int prefix_bits;
  std::string_view reason;
};

// RFC 6890 §2.2.2 and the IPv4 Special-Purpose Address Registry as it stands.
constexpr Block kIpv4Blocks[] = {
    {{0, 0, 0, 0}, 8, "this network (0.0.0.0/8)"},
    {{10, 0, 0, 0}, 8, "private (10.0.0.0/8)"},
    {{100, 64, 0, 0}, 10, "shared address space, CGNAT (100.64.0.0/10)"},
    {{127, 0, 0, 0}, 8, "loopback (127.0.0.0/8)"},
    {{169, 254, 0, 0}, 16, "link-local (169.254.0.0/16)"},
    {{172, 16, 0, 0}, 12, "private (172.16.0.0/12)"},
    {{192, 0, 0, 0}, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {{192, 0, 2, 0}, 24, "documentation (192.0.2.0/24)"},
    {{192, 88, 99, 0}, 24, "6to4 relay anycast (192.88.99.0/24)"},
    {{192, 168, 0, 0}, 16, "private (192.168.0.0/16)"},
    {{198, 18, 0, 0}, 15, "benchmarking (198.18.0.0/15)"},
    {{198, 51, 100, 0}, 24, "documentation (198.51.100.0/24)"},
    {{203, 0, 113, 0}, 24, "documentation (203.0.113.0/24)"},
    {{224, 0, 0, 0}, 4, "multicast (224.0.0.0/4)"},
    {{240, 0, 0, 0}, 4, "reserved or broadcast (240.0.0.0/4)"},
};

uint32_t ToUint32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
}

std::optional<std::string_view> Ipv4Reason(const uint8_t* bytes) {
  const uint32_t value = ToUint32(bytes);
  for (const Block& block : kIpv4Blocks) {
    const uint32_t mask = ~uint32_t{0} << (32 - block.prefix_bits);
    if ((value & mask) == ToUint32(block.base.data())) return block.reason;
  }
  return std::nullopt;
}

// Whether the first `bits` bits of `bytes` are those of `prefix` (its bytes past them are zero, unread).
bool HasPrefix(const std::array<uint8_t, 16>& bytes, const std::array<uint8_t, 16>& prefix, int bits) {
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((bytes[i] & mask) != (prefix[i] & mask)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> SpecialUseReason(const IpAddress& address) {
  const std::array<uint8_t, 16>& b = address.bytes;
  // IPv4, held as ::ffff:a.b.c.d: a mapped address is refused exactly when its IPv4 address is.
  if (address.is_v4()) return Ipv4Reason(&b[12]);
  // Well-known NAT64 prefix (RFC 6052): the IPv4 address is the last 32 bits.
  if (HasPrefix(b, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) {
    if (Ipv4Reason(&b[12]).has_value()) return "NAT64 form of a special-use IPv4 address (64:ff9b::/96)";
    return std::nullopt;
  }
  // 6to4 (RFC 3056): the IPv4 address follows the 2002::/16 prefix.
  if (HasPrefix(b, {0x20, 0x02}, 16)) {
    if (Ipv4Reason(&b[2]).has_value()) return "6to4 form of a special-use IPv4 address (2002::/16)";
    return std::nullopt;
  }
  struct Block6 {
    std::array<uint8_t, 16> prefix;
    int bits;
    std::string_view reason;
  };
  static constexpr Block6 kIpv6Blocks[] = {
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 128, "unspecified (::)"},
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback (::1)"},
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 96, "IPv4-compatible, deprecated (::/96)"},
      {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "local-use NAT64 (64:ff9b:1::/48)"},
      {{0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64, "discard-only (100::/64)"},
      {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation (2001:db8::/32)"},
      {{0x20, 0x01, 0x00}, 23, "IETF protocol assignments, Teredo and ORCHID (2001::/23)"},
      {{0xfc}, 7, "unique local (fc00::/7)"},
      {{0xfe, 0x80}, 10, "link-local (fe80::/10)"},
      {{0xfe, 0xc0}, 10, "site-local, deprecated (fec0::/10)"},
      {{0xff}, 8, "multicast (ff00::/8)"},
  };
  for (const Block6& block : kIpv6Blocks) {
    if (HasPrefix(b, block.prefix, block.bits)) return block.reason;
  }
  // What remains outside 2000::/3 is reserved by the IETF: nothing a public document is served from.
  if (!HasPrefix(b, {0x20}, 3)) return "not global unicast (outside 2000::/3)";
  return std::nullopt;
}

}  // namespace clientreg::common
