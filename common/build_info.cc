#include "common/build_info.h"

namespace clientreg::common {

const char* BuildVersion() { return CLIENTREG_VERSION; }
const char* BuildRevision() { return CLIENTREG_REVISION; }

}  // namespace clientreg::common
