// libFuzzer target for the jobs-file parser: any input either parses or throws
// ConfigError naming a line; nothing else escapes and nothing crashes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jobs_file.hpp"
#include "resque/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto jobs = resque::detail::parse_jobs_file(text, "fuzz.yml");
        for (const auto& [name, entry] : jobs) {
            if (name.empty()) __builtin_trap();
            if (entry.program.command.empty() && entry.isolation == resque::Isolation::kExec)
                __builtin_trap();
        }
    } catch (const resque::ConfigError& error) {
        if (std::string_view(error.what()).find("fuzz.yml") == std::string_view::npos) {
            __builtin_trap();  // every error names the file
        }
    }
    return 0;
}
