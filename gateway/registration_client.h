#ifndef CLIENTREG_GATEWAY_REGISTRATION_CLIENT_H_
#define CLIENTREG_GATEWAY_REGISTRATION_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "clientreg/v1/registration.grpc.pb.h"
#include "grpcpp/channel.h"

namespace clientreg::gateway {

// Calls the server's ClientRegistration service over one long-lived channel with the gRPC callback API, so no
// Asio thread ever waits for an RPC. At most `max_inflight` calls run at once (below the server's thread quota,
// which would otherwise answer RESOURCE_EXHAUSTED); up to `max_queued` more wait their turn. Thread-safe.
class RegistrationClient {
 public:
  struct Options {
    std::size_t max_inflight = 48;
    std::size_t max_queued = 10000;
    std::chrono::milliseconds deadline{5000};
  };
  // Context of the HTTP caller, sent as gRPC metadata.
  struct CallerContext {
    std::string peer;
    std::string request_id;
  };
  // Runs on a gRPC thread (or the caller's, when the queue is full): it must only hand the result on.
  using RegisterCallback = std::function<void(grpc::Status, clientreg::v1::ClientInformation)>;

  RegistrationClient(std::shared_ptr<grpc::Channel> channel, Options options);
  // Answers queued calls with UNAVAILABLE and waits for those in flight, which end by their deadline at the latest.
  ~RegistrationClient();

  void Register(clientreg::v1::RegisterRequest request, CallerContext caller, RegisterCallback done);

 private:
  struct Call;
  void Start(std::unique_ptr<Call> call);
  void Finish(Call* call, grpc::Status status);

  std::unique_ptr<clientreg::v1::ClientRegistration::Stub> stub_;
  Options options_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t inflight_ = 0;
  std::deque<std::unique_ptr<Call>> queue_;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_REGISTRATION_CLIENT_H_
