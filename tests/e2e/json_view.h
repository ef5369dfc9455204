#ifndef CLIENTREG_TESTS_E2E_JSON_VIEW_H_
#define CLIENTREG_TESTS_E2E_JSON_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "simdjson.h"

namespace clientreg::testing {

// A parsed JSON object for assertions: members are read by name, absent members read as nullopt.
class JsonView {
 public:
  explicit JsonView(const std::string& text) {
    const auto result = parser_.parse(text);
    valid_ = result.error() == simdjson::SUCCESS && result.value_unsafe().is_object();
    if (valid_) root_ = result.value_unsafe();
  }
  bool valid() const { return valid_; }
  bool Has(const char* name) const { return valid_ && root_[name].error() == simdjson::SUCCESS; }
  std::optional<std::string> String(const char* name) const {
    std::string_view value;
    if (!valid_ || root_[name].get(value) != simdjson::SUCCESS) return std::nullopt;
    return std::string(value);
  }
  std::optional<int64_t> Int(const char* name) const {
    int64_t value;
    if (!valid_ || root_[name].get(value) != simdjson::SUCCESS) return std::nullopt;
    return value;
  }
  std::optional<std::vector<std::string>> Strings(const char* name) const {
    simdjson::dom::array array;
    if (!valid_ || root_[name].get(array) != simdjson::SUCCESS) return std::nullopt;
    std::vector<std::string> out;
    for (const auto element : array) {
      std::string_view value;
      if (element.get(value) != simdjson::SUCCESS) return std::nullopt;
      out.emplace_back(value);
    }
    return out;
  }
  // The member re-serialized by simdjson, for comparing whole objects.
  std::optional<std::string> Minified(const char* name) const {
    if (!Has(name)) return std::nullopt;
    return simdjson::minify(root_[name].value_unsafe());
  }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool valid_ = false;
};

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_E2E_JSON_VIEW_H_
