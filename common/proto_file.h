#ifndef CLIENTREG_COMMON_PROTO_FILE_H_
#define CLIENTREG_COMMON_PROTO_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace clientreg::common {

// Parses a trusted config file into `out`: JSON when `path` ends in ".json" (unknown fields rejected), textproto
// otherwise. Errors name the file and what is wrong. This is the only caller of protobuf's text and JSON parsers.
[[nodiscard]] absl::Status ParseProtoFile(const std::string& path, google::protobuf::Message* out);

// Same, from a string; `json` selects the format.
[[nodiscard]] absl::Status ParseProtoText(const std::string& text, bool json, google::protobuf::Message* out);

// Copies into `to` every field that `from` sets, recursing into sub-messages; a non-empty repeated field replaces
// the one in `to`. Used to lay a parsed config over its defaults.
void OverlaySetFields(const google::protobuf::Message& from, google::protobuf::Message* to);

// A process's config: `defaults` overlaid with the fields the file at `path` sets (nothing when `path` is empty),
// then checked by `validate`.
template <typename Config>
[[nodiscard]] absl::StatusOr<Config> LoadConfig(const std::string& path, Config defaults,
                                                absl::Status (*validate)(const Config&)) {
  if (!path.empty()) {
    Config from_file;
    const absl::Status parsed = ParseProtoFile(path, &from_file);
    if (!parsed.ok()) return parsed;
    OverlaySetFields(from_file, &defaults);
  }
  const absl::Status valid = validate(defaults);
  if (!valid.ok()) return valid;
  return defaults;
}

}  // namespace clientreg::common

#endif  // CLIENTREG_COMMON_PROTO_FILE_H_
