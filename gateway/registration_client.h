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
#include <utility>

#include "clientreg/v1/registration.grpc.pb.h"
#include "gateway/cancellation.h"
#include "grpcpp/channel.h"

namespace clientreg::gateway {

// Calls the server's ClientRegistration service over one long-lived channel with the gRPC callback API, so no
// Asio thread ever waits for an RPC. Every RPC takes the same path: at most `max_inflight` calls run at once (below
// the server's thread quota, which would otherwise answer RESOURCE_EXHAUSTED); up to `max_queued` more wait their
// turn, and beyond that a call is answered RESOURCE_EXHAUSTED at once. A call's deadline counts from its submission,
// its time in the queue included; one whose deadline passes before it could start is answered UNAVAILABLE. A call
// whose caller's Cancellation fires is cancelled wherever it is: a queued one never starts, one in flight is
// cancelled on the wire (CANCELLED either way). Thread-safe.
class RegistrationClient {
 public:
  struct Options {
    std::size_t max_inflight = 48;
    std::size_t max_queued = 10000;
    std::chrono::milliseconds deadline{5000};
    // The `authorization` metadata of every call (the gateway's bearer credential, "Bearer ..."); empty: none.
    std::string authorization;
  };
  // Context of the HTTP caller, sent as gRPC metadata.
  struct CallerContext {
    std::string peer;
    std::string request_id;
    // Fires when the HTTP client goes away; may be null.
    std::shared_ptr<Cancellation> cancellation;
  };
  // Runs on a gRPC thread (or the caller's, when the queue is full or the client shuts down): it must only hand
  // the result on. The response is meaningful only when the status is OK.
  template <typename Response>
  using Callback = std::function<void(grpc::Status, Response)>;

  RegistrationClient(std::shared_ptr<grpc::Channel> channel, Options options);
  // Answers queued calls with UNAVAILABLE and waits for those in flight, which end by their deadline at the latest.
  ~RegistrationClient();

  void Register(clientreg::v1::RegisterRequest request, CallerContext caller,
                Callback<clientreg::v1::ClientInformation> done);
  void GetRegistration(clientreg::v1::GetRegistrationRequest request, CallerContext caller,
                       Callback<clientreg::v1::ClientInformation> done);
  void UpdateRegistration(clientreg::v1::UpdateRegistrationRequest request, CallerContext caller,
                          Callback<clientreg::v1::ClientInformation> done);
  void DeleteRegistration(clientreg::v1::DeleteRegistrationRequest request, CallerContext caller,
                          Callback<clientreg::v1::DeleteRegistrationResponse> done);
  void GetServerMetadata(clientreg::v1::GetServerMetadataRequest request, CallerContext caller,
                         Callback<clientreg::v1::ServerMetadata> done);

  // RPCs started and not yet completed (at most max_inflight); queued calls are not counted.
  std::size_t inflight() const;

 private:
  using AsyncStub = clientreg::v1::ClientRegistration::StubInterface::async_interface;
  // The callback-API method of the generated stub for one RPC.
  template <typename Request, typename Response>
  using AsyncMethod = void (AsyncStub::*)(grpc::ClientContext*, const Request*, Response*,
                                          std::function<void(grpc::Status)>);

  // One RPC in the queue or in flight; owns everything gRPC writes into until it completes. Shared: the caller's
  // cancellation listener holds it weakly, to cancel its context without outliving it.
  struct Call {
    virtual ~Call() = default;
    // Starts the RPC on `stub`; `finished` runs once, when it completes.
    virtual void Launch(AsyncStub* stub, std::function<void(grpc::Status)> finished) = 0;
    // Answers the caller.
    virtual void Complete(grpc::Status status) = 0;

    grpc::ClientContext context;
    CallerContext caller;
    std::chrono::system_clock::time_point deadline;  // set at submit
  };
  template <typename Request, typename Response>
  struct TypedCall;

  template <typename Request, typename Response>
  void Submit(AsyncMethod<Request, Response> method, Request request, CallerContext caller, Callback<Response> done);
  void Enqueue(std::shared_ptr<Call> call);
  void Start(std::shared_ptr<Call> call);
  void Finish(std::shared_ptr<Call> call, grpc::Status status);
  // The slot of a call that ended: the next queued call takes it over (returned), or it is released (null).
  std::shared_ptr<Call> NextOrRelease();

  std::unique_ptr<clientreg::v1::ClientRegistration::Stub> stub_;
  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t inflight_ = 0;
  std::deque<std::shared_ptr<Call>> queue_;
};

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_REGISTRATION_CLIENT_H_
