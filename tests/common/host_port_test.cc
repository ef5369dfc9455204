#include "common/host_port.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clientreg::common {
namespace {

TEST(SplitHostPortTest, SplitsNamesAndLiterals) {
  absl::StatusOr<HostPort> v4 = SplitHostPort("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  absl::StatusOr<HostPort> v6 = SplitHostPort("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  absl::StatusOr<HostPort> name = SplitHostPort("clientreg.internal:50051");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->host, "clientreg.internal");
}

TEST(SplitHostPortTest, RefusesWhatIsNotHostColonPort) {
  for (const char* bad : {"", "8080", ":8080", "localhost", "localhost:", "localhost:65536", "localhost:-1",
                          "localhost:80x", "::1:8080", "[::1:8080", "[]:80", "a]:80", "localhost: 80"}) {
    EXPECT_FALSE(SplitHostPort(bad).ok()) << bad;
  }
}

TEST(IsLoopbackHostTest, KnowsLoopbackFromTheRest) {
  for (const char* loopback : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(loopback)) << loopback;
  }
  for (const char* other : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "localhost.example.com", "127.0.0.1.nip.io",
                            "::ffff:10.0.0.1", "", "LOCALHOST6"}) {
    EXPECT_FALSE(IsLoopbackHost(other)) << other;
  }
}

TEST(IsLocalAddressTest, LoopbackAndUnixSocketsOnly) {
  EXPECT_TRUE(IsLocalAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLocalAddress("[::1]:50051"));
  EXPECT_TRUE(IsLocalAddress("localhost:50051"));
  EXPECT_TRUE(IsLocalAddress("unix:/run/clientreg/server.sock"));
  EXPECT_TRUE(IsLocalAddress("unix-abstract:clientreg"));
  EXPECT_FALSE(IsLocalAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLocalAddress("[::]:50051"));
  EXPECT_FALSE(IsLocalAddress("server.internal:50051"));
  EXPECT_FALSE(IsLocalAddress("dns:///localhost:50051"));
  EXPECT_FALSE(IsLocalAddress("127.0.0.1"));
}

}  // namespace
}  // namespace clientreg::common
