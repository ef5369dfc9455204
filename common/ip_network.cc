#include "common/ip_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace clientreg::common {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

absl::Status NotAnAddress(std::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::string_view(text.data(), text.size()), "\" is not an IP address"));
}

}  // namespace

bool IpAddress::is_v4() const { return std::memcmp(bytes.data(), kV4MappedPrefix.data(), 12) == 0; }

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
  }
  return text;
}

absl::StatusOr<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return NotAnAddress(text);
  const std::string copy(text);
  IpAddress address;
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    std::memcpy(address.bytes.data(), kV4MappedPrefix.data(), 12);
    std::memcpy(address.bytes.data() + 12, &v4, 4);
    return address;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    std::memcpy(address.bytes.data(), &v6, 16);
    return address;
  }
  return NotAnAddress(text);
}

absl::StatusOr<IpAddress> ParsePeerAddress(std::string_view peer) {
  if (absl::StatusOr<IpAddress> bare = ParseIpAddress(peer); bare.ok()) return bare;
  const absl::StatusOr<HostPort> split = SplitHostPort(peer);
  if (!split.ok()) return NotAnAddress(peer);
  return ParseIpAddress(split->host);
}

absl::StatusOr<IpNetwork> IpNetwork::Parse(std::string_view text) {
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::string_view(text.data(), text.size()), "\" is not a CIDR range: ", why));
  };
  const std::size_t slash = text.find('/');
  absl::StatusOr<IpAddress> base = ParseIpAddress(text.substr(0, slash));
  if (!base.ok()) return invalid("bad address");
  const int width = base->is_v4() ? 32 : 128;
  int prefix = width;
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    const auto [end, error] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (bits.empty() || error != std::errc() || end != bits.data() + bits.size() || prefix < 0 || prefix > width) {
      return invalid(absl::StrCat("the prefix length must be 0 to ", width));
    }
  }
  IpNetwork network;
  network.prefix_bits_ = prefix + (128 - width);
  network.base_ = *base;
  IpAddress masked = *base;
  for (int bit = network.prefix_bits_; bit < 128; ++bit) masked.bytes[bit / 8] &= ~(0x80 >> (bit % 8));
  if (!(masked == *base)) return invalid("bits are set past the prefix");
  network.text_ = std::string(text);
  return network;
}

bool IpNetwork::Contains(const IpAddress& address) const {
  const int whole = prefix_bits_ / 8;
  if (std::memcmp(address.bytes.data(), base_.bytes.data(), static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = prefix_bits_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[whole] & mask) == (base_.bytes[whole] & mask);
}

}  // namespace clientreg::common
