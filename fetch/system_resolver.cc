#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fetch/https_fetcher.h"
#include "fetch/socket_address.h"

namespace clientreg::fetch {
namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};

class GetAddrInfoResolver : public Resolver {
 public:
  absl::StatusOr<std::vector<common::IpAddress>> Resolve(std::string_view host) override {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* raw = nullptr;
    const std::string name(host);
    if (const int error = getaddrinfo(name.c_str(), nullptr, &hints, &raw); error != 0) {
      const std::string message = absl::StrCat("getaddrinfo: ", gai_strerror(error));
      // EAI_AGAIN is a resolver that could not answer now; the rest say the name has no usable address.
      return error == EAI_AGAIN ? absl::UnavailableError(message) : absl::NotFoundError(message);
    }
    const std::unique_ptr<addrinfo, AddrInfoDeleter> list(raw);
    std::vector<common::IpAddress> addresses;
    for (const addrinfo* entry = list.get(); entry != nullptr; entry = entry->ai_next) {
      const std::optional<common::IpAddress> address = IpAddressOf(entry->ai_addr, entry->ai_addrlen);
      if (!address) continue;
      if (std::find(addresses.begin(), addresses.end(), *address) == addresses.end()) addresses.push_back(*address);
    }
    if (addresses.empty()) return absl::NotFoundError("getaddrinfo returned no IPv4 or IPv6 address");
    return addresses;
  }
};

}  // namespace

std::unique_ptr<Resolver> SystemResolver() { return std::make_unique<GetAddrInfoResolver>(); }

}  // namespace clientreg::fetch
