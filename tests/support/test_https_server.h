#ifndef CLIENTREG_TESTS_SUPPORT_TEST_HTTPS_SERVER_H_
#define CLIENTREG_TESTS_SUPPORT_TEST_HTTPS_SERVER_H_

// A scripted HTTP/1.1 server on 127.0.0.1, over TLS (OpenSSL) or plain TCP, for tests of an HTTP client: each test
// says what to answer and how (late, slowly, chunked, not at all), and reads back what arrived. One request per
// connection, answered with Connection: close. Not a real server: no keep-alive, no request bodies.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace clientreg::testing {

using HttpFields = std::vector<std::pair<std::string, std::string>>;

struct TestHttpRequest {
  std::string method;
  std::string target;
  HttpFields headers;
  // The first value of the field `name` (any case), or "" if absent.
  std::string Header(std::string_view name) const;
};

struct TestHttpResponse {
  int status = 200;
  HttpFields headers;
  std::string body;
  // A Content-Length field is added unless `headers` has one (a test may lie) or the body is chunked.
  bool chunked = false;
  // Waits this long after reading the request, before sending anything.
  absl::Duration delay_before_head = absl::ZeroDuration();
  // Sends the body `trickle_bytes` at a time (one chunk each when chunked), waiting `trickle_interval` between
  // pieces. 0: the body in one piece.
  std::size_t trickle_bytes = 0;
  absl::Duration trickle_interval = absl::ZeroDuration();
  // Closes the connection after reading the request, sending nothing.
  bool close_without_answer = false;
};

struct TestHttpsServerOptions {
  // PEM certificate chain (leaf first) and private key. Both empty: plain HTTP.
  std::string certificate_chain_file;
  std::string private_key_file;
};

class TestHttpsServer {
 public:
  using Handler = std::function<TestHttpResponse(const TestHttpRequest&)>;

  // Listens on 127.0.0.1 on a free port; answers 200 with an empty JSON object until told otherwise.
  static absl::StatusOr<std::unique_ptr<TestHttpsServer>> Start(const TestHttpsServerOptions& options = {});

  // Stops accepting, cuts open connections (a delay or trickle under way ends at once) and joins every thread.
  ~TestHttpsServer();
  TestHttpsServer(const TestHttpsServer&) = delete;
  TestHttpsServer& operator=(const TestHttpsServer&) = delete;

  uint16_t port() const { return port_; }

  // Called on the connection's thread for each request; must be thread-safe if requests may overlap.
  void SetHandler(Handler handler);
  void SetResponse(TestHttpResponse response);

  // TCP connections accepted, and requests read whole, since Start.
  int connections() const;
  int requests() const;
  // Body bytes the server managed to write (chunk framing not counted), over all responses.
  std::size_t body_bytes_sent() const;
  std::optional<TestHttpRequest> last_request() const;

  // Waits until no connection is open; false if some still is after `timeout`.
  bool WaitUntilIdle(absl::Duration timeout) const;

 private:
  struct State;
  explicit TestHttpsServer(std::unique_ptr<State> state, uint16_t port);

  std::unique_ptr<State> state_;
  uint16_t port_;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_TEST_HTTPS_SERVER_H_
