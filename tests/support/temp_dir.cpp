#include "temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "redis_server.hpp"

namespace resque::test {

namespace detail {

std::filesystem::path make_temp_dir(std::string_view prefix) {
    const auto pattern = std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX");
    std::string buffer = pattern.string();

    // mkdtemp fills in the X's in place, so it needs a writable, NUL-terminated buffer.
    if (::mkdtemp(buffer.data()) == nullptr) {
        throw std::runtime_error("cannot create temporary directory " + pattern.string() + ": " +
                                 std::strerror(errno));
    }
    return buffer;
}

}  // namespace detail

TempDir::TempDir() : path_(detail::make_temp_dir("resque-test-")) {}

TempDir::~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
    if (error) {
        std::fprintf(stderr, "cannot remove %s: %s\n", path_.c_str(), error.message().c_str());
    }
}

}  // namespace resque::test
