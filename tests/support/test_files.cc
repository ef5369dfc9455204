#include "tests/support/test_files.h"

#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace clientreg::testing {

std::string MakeTestDir(const std::string& prefix) {
  std::string path = ::testing::TempDir() + prefix + "XXXXXX";
  return ::mkdtemp(path.data()) != nullptr ? path : "";
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

bool WriteTestFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  return static_cast<bool>(out);
}

}  // namespace clientreg::testing
