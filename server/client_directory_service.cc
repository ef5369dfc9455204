#include "server/client_directory_service.h"

#include "server/grpc_status.h"

namespace clientreg::server {
namespace {

// Checks the caller, then finishes the call with `answer()`, computed on this thread.
template <typename Response, typename Answer>
grpc::ServerUnaryReactor* AnswerInline(grpc::CallbackServerContext* context, const CallerAuthorizer& callers,
                                       Response* response, Answer answer) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Status caller = callers.Authorize(*context, clientreg::v1::ClientDirectory::service_full_name());
  reactor->Finish(caller.ok() ? ToGrpcResponse(answer(), response) : ToGrpcStatus(caller));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ClientDirectoryService::ResolveClient(grpc::CallbackServerContext* context,
                                                                const clientreg::v1::ResolveClientRequest* request,
                                                                clientreg::v1::ResolvedClient* response) {
  return AnswerInline(context, *callers_, response,
                      [&] { return directory_->Resolve(request->client_id(), request->purpose()); });
}

grpc::ServerUnaryReactor* ClientDirectoryService::CheckRedirectUri(
    grpc::CallbackServerContext* context, const clientreg::v1::CheckRedirectUriRequest* request,
    clientreg::v1::CheckRedirectUriResponse* response) {
  return AnswerInline(context, *callers_, response,
                      [&] { return directory_->CheckRedirectUri(request->client_id(), request->redirect_uri()); });
}

}  // namespace clientreg::server
