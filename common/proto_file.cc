#include "common/proto_file.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace clientreg::common {
namespace {

// Collects text-format parse errors so that start-up prints them instead of protobuf's own logging.
class ErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (!errors_.empty()) errors_ += "; ";
    absl::StrAppend(&errors_, "line ", line + 1, " column ", column + 1, ": ", message);
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string errors_;
};

}  // namespace

absl::Status ParseProtoText(const std::string& text, bool json, google::protobuf::Message* out) {
  if (json) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto status = google::protobuf::util::JsonStringToMessage(text, out, options);
    if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
    return absl::OkStatus();
  }
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, out)) return absl::InvalidArgumentError(errors.errors());
  return absl::OkStatus();
}

absl::Status ParseProtoFile(const std::string& path, google::protobuf::Message* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const absl::Status status = ParseProtoText(buffer.str(), absl::EndsWith(path, ".json"), out);
  if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat("config file ", path, ": ", status.message()));
  return absl::OkStatus();
}

namespace {

// Clears in `to` each repeated field that `from` sets, at every depth, so that MergeFrom replaces instead of appends.
void ClearReplacedRepeatedFields(const google::protobuf::Message& from, google::protobuf::Message* to) {
  const google::protobuf::Reflection* reflection = from.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(from, &fields);  // only fields that are set, or non-empty when repeated
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->is_repeated()) {
      to->GetReflection()->ClearField(to, field);
    } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      ClearReplacedRepeatedFields(reflection->GetMessage(from, field), to->GetReflection()->MutableMessage(to, field));
    }
  }
}

}  // namespace

void OverlaySetFields(const google::protobuf::Message& from, google::protobuf::Message* to) {
  ClearReplacedRepeatedFields(from, to);
  to->MergeFrom(from);
}

}  // namespace clientreg::common
