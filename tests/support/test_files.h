#ifndef CLIENTREG_TESTS_SUPPORT_TEST_FILES_H_
#define CLIENTREG_TESTS_SUPPORT_TEST_FILES_H_

// Files and directories a test makes for itself.

#include <string>
#include <string_view>

namespace clientreg::testing {

// A new private directory under the test temp dir, named `prefix` plus six random characters; "" if it cannot be
// made (check with ASSERT_FALSE(dir.empty())).
std::string MakeTestDir(const std::string& prefix);

// The whole content of `path`; "" if it cannot be read.
std::string ReadTestFile(const std::string& path);

// Replaces the content of `path` (creating it) with `content`; false if it cannot be written.
bool WriteTestFile(const std::string& path, std::string_view content);

}  // namespace clientreg::testing

#endif  // CLIENTREG_TESTS_SUPPORT_TEST_FILES_H_
