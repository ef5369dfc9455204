#include "common/ip_network.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clientreg::common {
namespace {

IpAddress Ip(const char* text) {
  absl::StatusOr<IpAddress> address = ParseIpAddress(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.value_or(IpAddress{});
}

TEST(IpAddressTest, ParsesBothFamiliesAndMapsIpv4) {
  EXPECT_TRUE(Ip("192.0.2.1").is_v4());
  EXPECT_EQ(Ip("192.0.2.1").ToString(), "192.0.2.1");
  EXPECT_EQ(Ip("::ffff:192.0.2.1"), Ip("192.0.2.1"));
  EXPECT_FALSE(Ip("2001:db8::1").is_v4());
  EXPECT_EQ(Ip("2001:DB8:0:0::1").ToString(), "2001:db8::1");
  for (const char* bad : {"", "192.0.2", "192.0.2.256", "1.2.3.4 ", "[::1]", "::1%lo", "example.com", "01.2.3.4"}) {
    EXPECT_FALSE(ParseIpAddress(bad).ok()) << bad;
  }
}

TEST(IpAddressTest, ParsesPeerAddressesWithPorts) {
  EXPECT_EQ(ParsePeerAddress("192.0.2.1:4242").value().ToString(), "192.0.2.1");
  EXPECT_EQ(ParsePeerAddress("[2001:db8::1]:4242").value().ToString(), "2001:db8::1");
  EXPECT_EQ(ParsePeerAddress("2001:db8::1").value().ToString(), "2001:db8::1");
  EXPECT_FALSE(ParsePeerAddress("example.com:80").ok());
  EXPECT_FALSE(ParsePeerAddress("ipv4:192.0.2.1:80").ok());
}

TEST(IpNetworkTest, ContainsExactlyItsRange) {
  const IpNetwork v4 = IpNetwork::Parse("10.20.0.0/14").value();
  EXPECT_TRUE(v4.Contains(Ip("10.20.0.0")));
  EXPECT_TRUE(v4.Contains(Ip("10.23.255.255")));
  EXPECT_FALSE(v4.Contains(Ip("10.24.0.0")));
  EXPECT_FALSE(v4.Contains(Ip("10.19.255.255")));
  EXPECT_TRUE(v4.Contains(Ip("::ffff:10.21.1.1")));
  EXPECT_FALSE(v4.Contains(Ip("2001:db8::1")));

  const IpNetwork v6 = IpNetwork::Parse("2001:db8:abcd::/48").value();
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:abcd:ffff::1")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8:abce::1")));
  EXPECT_FALSE(v6.Contains(Ip("10.0.0.1")));

  const IpNetwork one = IpNetwork::Parse("192.0.2.7").value();
  EXPECT_TRUE(one.Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(one.Contains(Ip("192.0.2.8")));

  const IpNetwork all_v4 = IpNetwork::Parse("0.0.0.0/0").value();
  EXPECT_TRUE(all_v4.Contains(Ip("203.0.113.9")));
  EXPECT_FALSE(all_v4.Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(IpNetwork::Parse("::/0").value().Contains(Ip("203.0.113.9")));
}

TEST(IpNetworkTest, RefusesMalformedRanges) {
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8x", "/8",
                          "2001:db8::/129", "2001:db8::1/32", "example.com/8"}) {
    EXPECT_FALSE(IpNetwork::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace clientreg::common
