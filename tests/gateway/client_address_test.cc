#include "gateway/client_address.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clientreg::gateway {
namespace {

std::vector<common::IpNetwork> Networks(std::initializer_list<const char*> cidrs) {
  std::vector<common::IpNetwork> networks;
  for (const char* cidr : cidrs) networks.push_back(common::IpNetwork::Parse(cidr).value());
  return networks;
}

TEST(ClientAddressTest, WithoutTrustedProxiesThePeerIsTheClient) {
  EXPECT_EQ(ClientAddress("198.51.100.7:4000", {"203.0.113.9"}, {}), "198.51.100.7:4000");
}

TEST(ClientAddressTest, AForgedHeaderFromAnUntrustedPeerIsIgnored) {
  const auto proxies = Networks({"10.0.0.0/8"});
  EXPECT_EQ(ClientAddress("198.51.100.7:4000", {"10.0.0.1, 203.0.113.9"}, proxies), "198.51.100.7:4000");
  EXPECT_EQ(ClientAddress("[2001:db8::7]:4000", {"203.0.113.9"}, proxies), "[2001:db8::7]:4000");
}

TEST(ClientAddressTest, TheLastHopAddedByATrustedProxyIsTheClient) {
  const auto proxies = Networks({"10.0.0.0/8", "2001:db8:ffff::/48"});
  // What the client sent itself (the forged 1.2.3.4) is to the left of what the proxy added.
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {"1.2.3.4, 203.0.113.9"}, proxies), "203.0.113.9");
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {"203.0.113.9"}, proxies), "203.0.113.9");
  // Chained trusted proxies are skipped, across several fields too.
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {"1.2.3.4, 203.0.113.9", "10.9.9.9 ,"}, proxies), "203.0.113.9");
  EXPECT_EQ(ClientAddress("[2001:db8:ffff::1]:443", {"2001:db8::42"}, proxies), "2001:db8::42");
  EXPECT_EQ(ClientAddress("[::ffff:10.0.0.5]:443", {"203.0.113.9"}, proxies), "203.0.113.9");
}

TEST(ClientAddressTest, AHopThatIsNotAnAddressStopsAtTheProxyThatAddedIt) {
  const auto proxies = Networks({"10.0.0.0/8"});
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {"203.0.113.9, unknown"}, proxies), "10.1.2.3:4000");
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {"unknown, 10.2.2.2"}, proxies), "10.2.2.2");
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {"203.0.113.9:1234"}, proxies), "10.1.2.3:4000");
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {""}, proxies), "10.1.2.3:4000");
  EXPECT_EQ(ClientAddress("10.1.2.3:4000", {}, proxies), "10.1.2.3:4000");
}

}  // namespace
}  // namespace clientreg::gateway
