#ifndef CLIENTREG_COMMON_BUILD_INFO_H_
#define CLIENTREG_COMMON_BUILD_INFO_H_

namespace clientreg::common {

// The project version (CMake's PROJECT_VERSION), e.g. "0.10.0".
const char* BuildVersion();
// The git commit the build was configured from (12 hex digits), or "unknown" outside a git checkout.
const char* BuildRevision();

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_BUILD_INFO_H_
