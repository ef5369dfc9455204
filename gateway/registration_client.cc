#include "gateway/registration_client.h"

#include <utility>

#include "common/server_channel.h"
#include "grpcpp/client_context.h"

namespace clientreg::gateway {

template <typename Request, typename Response>
struct RegistrationClient::TypedCall final : Call {
  void Launch(AsyncStub* stub, std::function<void(grpc::Status)> finished) override {
    (stub->*method)(&context, &request, &response, std::move(finished));
  }
  void Complete(grpc::Status status) override { done(std::move(status), std::move(response)); }

  AsyncMethod<Request, Response> method = nullptr;
  Request request;
  Response response;
  Callback<Response> done;
};

RegistrationClient::RegistrationClient(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(clientreg::v1::ClientRegistration::NewStub(std::move(channel))), options_(options) {}

RegistrationClient::~RegistrationClient() {
  std::deque<std::shared_ptr<Call>> queued;
  std::unique_lock<std::mutex> lock(mutex_);
  queued.swap(queue_);
  lock.unlock();
  for (const auto& call : queued) call->Complete(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gateway shutting down"));
  lock.lock();
  // In-flight callbacks still use this object.
  idle_.wait(lock, [this] { return inflight_ == 0; });
}

void RegistrationClient::Register(clientreg::v1::RegisterRequest request, CallerContext caller,
                                  Callback<clientreg::v1::ClientInformation> done) {
  Submit(&AsyncStub::Register, std::move(request), std::move(caller), std::move(done));
}

void RegistrationClient::GetRegistration(clientreg::v1::GetRegistrationRequest request, CallerContext caller,
                                         Callback<clientreg::v1::ClientInformation> done) {
  Submit(&AsyncStub::GetRegistration, std::move(request), std::move(caller), std::move(done));
}

void RegistrationClient::UpdateRegistration(clientreg::v1::UpdateRegistrationRequest request, CallerContext caller,
                                            Callback<clientreg::v1::ClientInformation> done) {
  Submit(&AsyncStub::UpdateRegistration, std::move(request), std::move(caller), std::move(done));
}

void RegistrationClient::DeleteRegistration(clientreg::v1::DeleteRegistrationRequest request, CallerContext caller,
                                            Callback<clientreg::v1::DeleteRegistrationResponse> done) {
  Submit(&AsyncStub::DeleteRegistration, std::move(request), std::move(caller), std::move(done));
}

void RegistrationClient::GetServerMetadata(clientreg::v1::GetServerMetadataRequest request, CallerContext caller,
                                           Callback<clientreg::v1::ServerMetadata> done) {
  Submit(&AsyncStub::GetServerMetadata, std::move(request), std::move(caller), std::move(done));
}

std::size_t RegistrationClient::inflight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return inflight_;
}

template <typename Request, typename Response>
void RegistrationClient::Submit(AsyncMethod<Request, Response> method, Request request, CallerContext caller,
                                Callback<Response> done) {
  auto call = std::make_shared<TypedCall<Request, Response>>();
  call->method = method;
  call->request = std::move(request);
  call->caller = std::move(caller);
  call->done = std::move(done);
  // The deadline runs from here, so that a request waits at most `deadline` in all, queue included.
  call->deadline = std::chrono::system_clock::now() + options_.deadline;
  if (const std::shared_ptr<Cancellation>& cancellation = call->caller.cancellation) {
    // TryCancel before the call starts marks the context, and gRPC cancels the call as it starts.
    cancellation->OnCancel([weak = std::weak_ptr<Call>(call)] {
      if (std::shared_ptr<Call> live = weak.lock()) live->context.TryCancel();
    });
  }
  Enqueue(std::move(call));
}

void RegistrationClient::Enqueue(std::shared_ptr<Call> call) {
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (inflight_ < options_.max_inflight) {
      ++inflight_;
      start = true;
    } else if (queue_.size() < options_.max_queued) {
      queue_.push_back(std::move(call));
      return;
    }
  }
  if (start) {
    Start(std::move(call));
  } else {
    // Outside the lock: the caller's callback may do anything, including submitting another call.
    call->Complete(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many calls in flight"));
  }
}

// Called without the mutex: the callback API may complete a call on the calling thread.
void RegistrationClient::Start(std::shared_ptr<Call> call) {
  // A loop, not a recursion: a stalled server can leave thousands of expired or abandoned calls queued.
  while (call != nullptr) {
    if (call->caller.cancellation != nullptr && call->caller.cancellation->cancelled()) {
      // Nobody waits for the answer any more: the slot passes on without a call.
      call->Complete(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    } else if (std::chrono::system_clock::now() >= call->deadline) {
      // Its time ran out in the queue: the server is slow or stalled. Answered UNAVAILABLE (503 with Retry-After).
      call->Complete(grpc::Status(grpc::StatusCode::UNAVAILABLE, "waited for the server past the deadline"));
    } else {
      break;
    }
    call = NextOrRelease();
  }
  if (call == nullptr) return;
  call->context.set_deadline(call->deadline);
  if (!options_.authorization.empty()) {
    call->context.AddMetadata(common::kAuthorizationMetadataKey, options_.authorization);
  }
  if (!call->caller.peer.empty()) call->context.AddMetadata("x-clientreg-peer", call->caller.peer);
  if (!call->caller.request_id.empty()) call->context.AddMetadata("x-request-id", call->caller.request_id);
  Call* raw = call.get();
  // The completion holds the call until Finish.
  raw->Launch(stub_->async(), [this, call = std::move(call)](grpc::Status status) mutable {
    Finish(std::move(call), std::move(status));
  });
}

void RegistrationClient::Finish(std::shared_ptr<Call> call, grpc::Status status) {
  // The slot is released only after the caller's callback returns, so the destructor's wait covers it too.
  call->Complete(std::move(status));
  call.reset();
  if (std::shared_ptr<Call> next = NextOrRelease()) Start(std::move(next));
}

std::shared_ptr<RegistrationClient::Call> RegistrationClient::NextOrRelease() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (queue_.empty()) {
    --inflight_;
    if (inflight_ == 0) idle_.notify_all();
    return nullptr;
  }
  std::shared_ptr<Call> next = std::move(queue_.front());  // takes over the slot
  queue_.pop_front();
  return next;
}

}  // namespace clientreg::gateway
