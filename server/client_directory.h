#ifndef CLIENTREG_SERVER_CLIENT_DIRECTORY_H_
#define CLIENTREG_SERVER_CLIENT_DIRECTORY_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clientreg/v1/directory.pb.h"
#include "common/clock.h"
#include "server/cimd_resolver.h"
#include "server/last_use_recorder.h"
#include "server/rpc_metrics.h"
#include "storage/client_store.h"

namespace clientreg::server {

// What an authorization server asks about a client on /authorize and /token (the ClientDirectory RPCs), free of
// transport. A registered client is one store read (two for a ResolveClient that records nothing) and no write:
// last use goes to the LastUseRecorder; it is answered on the calling thread. With a CimdResolver, a client_id it
// handles (an https URL) is resolved from its metadata document instead: from the cache on the calling thread, else
// from a fetch thread. Thread-safe.
//
// Errors: InvalidArgument for an empty client_id or one over kMaxClientIdBytes, and for an empty redirect_uri or
// one over Options::max_redirect_uri_bytes; NotFound for a client that does not exist (never registered, deleted,
// or reaped) or a metadata document that does not resolve (the message says why); Unavailable when the store cannot
// be read (the store's own error goes to the log only) or the CimdResolver's fetch limits refuse.
class ClientDirectory {
 public:
  struct Options {
    // The longest redirect_uri CheckRedirectUri takes (MetadataLimits.max_redirect_uri_bytes): registration refuses
    // longer ones, so none could match.
    uint32_t max_redirect_uri_bytes = 2048;
    // Counts each call in directory_calls when set; must outlive the directory.
    ServerMetrics* metrics = nullptr;
    // Resolves Client ID Metadata Document client_ids when set (config cimd.enabled); must outlive the directory.
    CimdResolver* cimd = nullptr;
  };

  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  // Issued client ids are 22 characters; this bounds what a caller can make the server look up and log.
  static constexpr std::size_t kMaxClientIdBytes = 1024;

  // `store`, `clock` and `last_use` must outlive the directory.
  ClientDirectory(storage::ClientStore* store, const common::Clock* clock, LastUseRecorder* last_use, Options options);

  // The client as the authorization server needs it (directory.proto's ResolvedClient): the stored metadata (the
  // defaults were applied when it was registered; application_type, if a record lacks it, is given as "web", OpenID
  // Connect Registration §2), state, origin, times, whether it holds a secret and until when, and the consent-screen
  // facts (redirect_hosts, loopback_redirects_only). A disabled client is returned, not refused.
  //
  // PURPOSE_AUTHORIZE and PURPOSE_TOKEN record a use of an active client at the clock's now, and last_used_at is
  // then that use; any other purpose (unspecified, other, or a value this server does not know) records nothing,
  // and last_used_at is the latest of the store's time and the recorder's pending one. A metadata document client
  // is stored nowhere, so it records no use and has no last_used_at.
  //
  // Calls `done` once: on this thread, or on a CIMD fetch thread.
  void Resolve(std::string_view client_id, clientreg::v1::ResolveClientRequest::Purpose purpose,
               Done<clientreg::v1::ResolvedClient> done);

  // Whether `redirect_uri` may be used with the client: MatchClientRedirectUri (server/redirect_match.h), or for a
  // metadata document client MatchRedirectUri on the document's redirect_uris. A refusal is an OK answer with
  // allowed false. Calls `done` once, as Resolve does.
  void CheckRedirectUri(std::string_view client_id, std::string_view redirect_uri,
                        Done<clientreg::v1::CheckRedirectUriResponse> done) const;

 private:
  absl::StatusOr<clientreg::v1::ResolvedClient> ResolveRegistered(std::string_view client_id,
                                                                  clientreg::v1::ResolveClientRequest::Purpose purpose);
  absl::StatusOr<clientreg::v1::CheckRedirectUriResponse> CheckRegisteredRedirectUri(
      std::string_view client_id, std::string_view redirect_uri) const;
  bool IsMetadataDocument(std::string_view client_id) const;
  // Counts one answer, if there are metrics.
  void CountResolve(const absl::StatusOr<clientreg::v1::ResolvedClient>& answer) const;
  void CountCheck(const absl::StatusOr<clientreg::v1::CheckRedirectUriResponse>& answer) const;

  storage::ClientStore* const store_;
  const common::Clock* const clock_;
  LastUseRecorder* const last_use_;
  const Options options_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_CLIENT_DIRECTORY_H_
