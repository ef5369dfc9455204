#include "gateway/registration_client.h"

#include <utility>

#include "grpcpp/client_context.h"

namespace clientreg::gateway {

struct RegistrationClient::Call {
  grpc::ClientContext context;
  clientreg::v1::RegisterRequest request;
  clientreg::v1::ClientInformation response;
  CallerContext caller;
  RegisterCallback done;
};

RegistrationClient::RegistrationClient(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(clientreg::v1::ClientRegistration::NewStub(std::move(channel))), options_(options) {}

RegistrationClient::~RegistrationClient() {
  std::deque<std::unique_ptr<Call>> queued;
  std::unique_lock<std::mutex> lock(mutex_);
  queued.swap(queue_);
  lock.unlock();
  for (const auto& call : queued) call->done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gateway shutting down"), {});
  lock.lock();
  // In-flight callbacks still use this object.
  idle_.wait(lock, [this] { return inflight_ == 0; });
}

void RegistrationClient::Register(clientreg::v1::RegisterRequest request, CallerContext caller, RegisterCallback done) {
  auto call = std::make_unique<Call>();
  call->request = std::move(request);
  call->caller = std::move(caller);
  call->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (inflight_ >= options_.max_inflight) {
      if (queue_.size() >= options_.max_queued) {
        call->done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many registrations in flight"), {});
        return;
      }
      queue_.push_back(std::move(call));
      return;
    }
    ++inflight_;
  }
  Start(std::move(call));
}

// Called without the mutex: the callback API may complete a call on the calling thread.
void RegistrationClient::Start(std::unique_ptr<Call> owned) {
  Call* call = owned.release();  // owned by the callback below until Finish
  // The deadline runs from the start of the RPC, not from the queueing, so a queued call gets its full budget.
  call->context.set_deadline(std::chrono::system_clock::now() + options_.deadline);
  if (!call->caller.peer.empty()) call->context.AddMetadata("x-clientreg-peer", call->caller.peer);
  if (!call->caller.request_id.empty()) call->context.AddMetadata("x-request-id", call->caller.request_id);
  stub_->async()->Register(&call->context, &call->request, &call->response,
                           [this, call](grpc::Status status) { Finish(call, std::move(status)); });
}

void RegistrationClient::Finish(Call* raw, grpc::Status status) {
  std::unique_ptr<Call> call(raw);
  // The slot is released only after `done` returns, so the destructor's wait covers the callback too.
  call->done(std::move(status), std::move(call->response));
  call.reset();
  std::unique_ptr<Call> next;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty()) {
      --inflight_;
      if (inflight_ == 0) idle_.notify_all();
    } else {
      next = std::move(queue_.front());  // takes over this call's slot
      queue_.pop_front();
    }
  }
  if (next != nullptr) Start(std::move(next));
}

}  // namespace clientreg::gateway
