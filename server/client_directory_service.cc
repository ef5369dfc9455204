#include "server/client_directory_service.h"

#include <utility>

#include "server/grpc_status.h"

namespace clientreg::server {
namespace {

// Checks the caller, then asks the directory through `ask(done)`; `done` finishes the call, on whichever thread the
// directory answers (this one for a registered client or a cached document, a fetch thread otherwise).
template <typename Response, typename Ask>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, const CallerAuthorizer& callers,
                                 Response* response, Ask ask) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Status caller = callers.Authorize(*context, clientreg::v1::ClientDirectory::service_full_name());
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller));
    return reactor;
  }
  ask([reactor, response](absl::StatusOr<Response> answer) {
    reactor->Finish(ToGrpcResponse(std::move(answer), response));
  });
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ClientDirectoryService::ResolveClient(grpc::CallbackServerContext* context,
                                                                const clientreg::v1::ResolveClientRequest* request,
                                                                clientreg::v1::ResolvedClient* response) {
  return Answer(context, *callers_, response,
                [&](auto done) { directory_->Resolve(request->client_id(), request->purpose(), std::move(done)); });
}

grpc::ServerUnaryReactor* ClientDirectoryService::CheckRedirectUri(
    grpc::CallbackServerContext* context, const clientreg::v1::CheckRedirectUriRequest* request,
    clientreg::v1::CheckRedirectUriResponse* response) {
  return Answer(context, *callers_, response, [&](auto done) {
    directory_->CheckRedirectUri(request->client_id(), request->redirect_uri(), std::move(done));
  });
}

}  // namespace clientreg::server
