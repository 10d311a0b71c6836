#pragma once

// Paths that only the test executables know. tests/CMakeLists.txt defines
// RESQUE_CLI_PATH and RESQUE_SOURCE_DIR on each test executable but not on the
// resque_test_support library, so these are inline functions compiled in the tests; in
// the library's own translation units (which include this through redis_server.hpp)
// they are simply absent.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace resque::test {

#if defined(RESQUE_CLI_PATH) && defined(RESQUE_SOURCE_DIR)

/// The `resque` CLI to test: $RESQUE_CLI when set and not empty, else the one built
/// with the tests.
inline std::string cli_path() {
    if (const char* from_env = std::getenv("RESQUE_CLI"); from_env && *from_env) {
        return from_env;
    }
    return RESQUE_CLI_PATH;
}

/// ../shared/fixtures/resque-3.0 relative to the source tree.
inline std::filesystem::path fixtures_dir() {
    return RESQUE_SOURCE_DIR "/../shared/fixtures/resque-3.0";
}

#endif

}  // namespace resque::test
