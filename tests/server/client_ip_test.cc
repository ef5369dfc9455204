#include "server/client_ip.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clientreg::server {
namespace {

TEST(IpOfGrpcPeerTest, ReadsTheAddressOfTcpPeersOnly) {
  EXPECT_EQ(IpOfGrpcPeer("ipv4:192.0.2.1:5000").value().ToString(), "192.0.2.1");
  EXPECT_EQ(IpOfGrpcPeer("ipv6:[2001:db8::1]:5000").value().ToString(), "2001:db8::1");
  EXPECT_EQ(IpOfGrpcPeer("ipv6:[::ffff:127.0.0.1]:5000").value().ToString(), "127.0.0.1");
  EXPECT_FALSE(IpOfGrpcPeer("unix:/run/clientreg/server.sock").has_value());
  EXPECT_FALSE(IpOfGrpcPeer("unix-abstract:x").has_value());
  EXPECT_FALSE(IpOfGrpcPeer("192.0.2.1:5000").has_value());
  EXPECT_FALSE(IpOfGrpcPeer("ipv4:not-an-ip:5000").has_value());
  EXPECT_FALSE(IpOfGrpcPeer("").has_value());
}

}  // namespace
}  // namespace clientreg::server
