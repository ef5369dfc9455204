#include "common/special_use_address.h"

#include <optional>
#include <string>
#include <string_view>

#include "common/ip_network.h"
#include "gtest/gtest.h"

namespace clientreg::common {
namespace {

std::optional<std::string_view> ReasonFor(std::string_view text) {
  const absl::StatusOr<IpAddress> address = ParseIpAddress(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.ok() ? SpecialUseReason(*address) : std::optional<std::string_view>("unparsed");
}

struct Case {
  const char* address;
  const char* reason;  // a fragment of the reason; nullptr: allowed
};

class SpecialUseAddressTest : public ::testing::TestWithParam<Case> {};

TEST_P(SpecialUseAddressTest, ClassifiesTheAddress) {
  const Case& c = GetParam();
  const std::optional<std::string_view> reason = ReasonFor(c.address);
  if (c.reason == nullptr) {
    EXPECT_FALSE(reason.has_value()) << c.address << ": " << *reason;
  } else {
    ASSERT_TRUE(reason.has_value()) << c.address;
    EXPECT_NE(reason->find(c.reason), std::string_view::npos) << c.address << ": " << *reason;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SpecialUseAddressTest,
    ::testing::Values(
        // Public addresses are allowed, in every form that carries them.
        Case{"8.8.8.8", nullptr}, Case{"1.1.1.1", nullptr}, Case{"2606:4700:4700::1111", nullptr},
        Case{"::ffff:8.8.8.8", nullptr}, Case{"64:ff9b::808:808", nullptr}, Case{"2002:808:808::1", nullptr},
        Case{"172.32.0.1", nullptr}, Case{"100.128.0.1", nullptr}, Case{"192.169.0.1", nullptr},
        Case{"223.255.255.255", nullptr},
        // The list: loopback, private, the cloud metadata address, mapped loopback, unique local.
        Case{"127.0.0.1", "loopback"}, Case{"127.255.255.254", "loopback"}, Case{"10.0.0.1", "private"},
        Case{"169.254.169.254", "link-local"}, Case{"::ffff:127.0.0.1", "loopback"}, Case{"fd00::1", "unique local"},
        // The rest of IPv4's registry.
        Case{"0.0.0.0", "this network"}, Case{"100.64.0.1", "CGNAT"}, Case{"100.127.255.255", "CGNAT"},
        Case{"172.16.0.1", "private"}, Case{"172.31.255.255", "private"}, Case{"192.168.1.1", "private"},
        Case{"192.0.0.8", "IETF"}, Case{"192.0.2.1", "documentation"}, Case{"198.51.100.7", "documentation"},
        Case{"203.0.113.9", "documentation"}, Case{"192.88.99.1", "6to4 relay"}, Case{"198.18.0.1", "benchmarking"},
        Case{"198.19.255.255", "benchmarking"}, Case{"224.0.0.1", "multicast"}, Case{"239.255.255.250", "multicast"},
        Case{"240.0.0.1", "reserved"}, Case{"255.255.255.255", "broadcast"},
        // IPv6, and IPv4 hidden in IPv6.
        Case{"::", "unspecified"}, Case{"::1", "loopback"}, Case{"::127.0.0.1", "IPv4-compatible"},
        Case{"::ffff:10.1.2.3", "private"}, Case{"::ffff:169.254.169.254", "link-local"},
        Case{"64:ff9b::7f00:1", "NAT64"}, Case{"64:ff9b::a9fe:a9fe", "NAT64"}, Case{"64:ff9b:1::1", "local-use NAT64"},
        Case{"2002:7f00:1::1", "6to4"}, Case{"2002:a00:1::", "6to4"}, Case{"100::1", "discard"},
        Case{"2001:db8::1", "documentation"}, Case{"2001::1", "Teredo"}, Case{"2001:10::1", "ORCHID"},
        Case{"fc00::1", "unique local"}, Case{"fe80::1", "link-local"}, Case{"febf::1", "link-local"},
        Case{"fec0::1", "site-local"}, Case{"ff02::1", "multicast"}, Case{"4000::1", "not global unicast"},
        Case{"1::1", "not global unicast"}));

}  // namespace
}  // namespace clientreg::common
