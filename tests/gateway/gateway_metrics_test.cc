#include "gateway/gateway_metrics.h"

#include <chrono>
#include <cstddef>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clientreg::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(GatewayMetricsTest, MethodLabelKeepsStandardMethodsOnly) {
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}) {
    EXPECT_EQ(MethodLabel(method), method);
  }
  for (const char* method : {"get", "PROPFIND", "", "GET "}) EXPECT_EQ(MethodLabel(method), "other") << method;
}

TEST(GatewayMetricsTest, CountsRequestsRefusalsConnectionsAndInflight) {
  common::MetricsRegistry registry;
  std::size_t inflight = 3;
  GatewayMetrics metrics(registry, [&inflight] { return inflight; });
  metrics.RecordRequest(Route::kRegister, "POST", 201, std::chrono::milliseconds(2));
  metrics.RecordRequest(Route::kRegister, "POST", 201, std::chrono::milliseconds(3));
  metrics.RecordRequest(Route::kOther, "BREW", 404, std::chrono::microseconds(100));
  metrics.RecordRefusal(HttpRefusal::kBodyTooLarge);
  metrics.ConnectionOpened();
  metrics.ConnectionOpened();
  metrics.ConnectionClosed();

  const std::string text = registry.Encode();
  EXPECT_THAT(text, HasSubstr("clientreg_http_requests_total{route=\"register\",method=\"POST\",code=\"201\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("clientreg_http_requests_total{route=\"other\",method=\"other\",code=\"404\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("BREW")));
  EXPECT_THAT(text, HasSubstr("clientreg_http_request_duration_seconds_count{route=\"register\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("clientreg_http_request_duration_seconds_bucket{route=\"register\",le=\"0.0025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("clientreg_http_rejected_total{reason=\"body_too_large\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("clientreg_http_rejected_total{reason=\"connection_cap\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("clientreg_http_rejected_total{reason=\"tls_handshake\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("clientreg_http_connections 1\n"));
  EXPECT_THAT(text, HasSubstr("clientreg_upstream_inflight 3\n"));
}

}  // namespace
}  // namespace clientreg::gateway
