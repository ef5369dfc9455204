#ifndef CLIENTREG_GATEWAY_OPENAPI_DOCUMENT_H_
#define CLIENTREG_GATEWAY_OPENAPI_DOCUMENT_H_

#include <string_view>

namespace clientreg::gateway {

// The OpenAPI 3.1 description of the public HTTP API: gateway/openapi.json exactly as kept in the repository,
// compiled into the binary so the gateway serves the document it was built with.
std::string_view OpenApiDocument();

}  // namespace clientreg::gateway

#endif  // CLIENTREG_GATEWAY_OPENAPI_DOCUMENT_H_
