#include "process_title.hpp"

#include <algorithm>
#include <cstring>

#include "resque/version.hpp"

namespace resque::cli {

ProcessTitle::ProcessTitle(int argc, char** argv) {
    arguments_.assign(argv, argv + argc);
    if (argc == 0 || argv[0] == nullptr) return;

    // execve lays the strings out back to back; stop at the first one that is not, so
    // the title never spills into memory we do not know.
    area_ = argv[0];
    char* end = argv[0] + std::strlen(argv[0]) + 1;
    for (int i = 1; i < argc && argv[i] == end; ++i) {
        end = argv[i] + std::strlen(argv[i]) + 1;
    }
    area_size_ = static_cast<std::size_t>(end - area_);
}

void ProcessTitle::set(std::string_view status) noexcept {
    if (area_size_ == 0) return;
    std::string title;
    try {
        title = "resque-" + std::string(kVersion) + ": " + std::string(status);
    } catch (...) {
        return;  // out of memory: keep the old title rather than fail a worker
    }

    // Keep the last byte NUL: the kernel then reports exactly this area as the command
    // line, and never reads on into the environment strings after it.
    const std::size_t length = std::min(title.size(), area_size_ - 1);
    std::memcpy(area_, title.data(), length);
    std::memset(area_ + length, '\0', area_size_ - length);
}

}  // namespace resque::cli
