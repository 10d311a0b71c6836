// libFuzzer target for the payload decoder and the Ruby JSON reader and writer.
//
// Any input may be rejected, but only with PayloadError (anything else escapes and
// libFuzzer reports it). Whatever is accepted must obey these invariants:
//   1. canonicalize is idempotent: canonicalize(canonicalize(x)) == canonicalize(x).
//   2. parse accepts x exactly when it accepts canonicalize(x), to the same value.
//   3. A decoded job encodes, and decoding that encoding gives the same job back.
//   4. raw_member finds the "class" that decode_payload used.
//   5. scrub_utf8 always yields valid UTF-8 and changes nothing already valid.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "json/ruby_json.hpp"
#include "resque/errors.hpp"
#include "resque/job.hpp"

namespace {

namespace json = resque::json;

void require(bool condition, const char* invariant) {
    if (condition) return;
    std::fprintf(stderr, "invariant broken: %s\n", invariant);
    std::abort();
}

template <typename Function>
auto accepted(Function&& function) -> std::optional<decltype(function())> {
    try {
        return function();
    } catch (const resque::PayloadError&) {
        return std::nullopt;  // rejecting input is always allowed
    }
}

void check_canonicalize_and_parse(std::string_view text) {
    const auto canonical = accepted([&] { return json::canonicalize(text); });
    const auto parsed = accepted([&] { return json::parse(text, "input"); });
    if (!canonical) {
        require(!parsed, "parse accepts what canonicalize rejects");
        return;
    }
    require(json::canonicalize(*canonical) == *canonical, "canonicalize is idempotent");

    const auto reparsed = accepted([&] { return json::parse(*canonical, "canonical"); });
    require(parsed.has_value() == reparsed.has_value(), "parse agrees on x and canonical x");
    if (parsed) require(*parsed == *reparsed, "canonical text parses to the same value");
}

void check_payload(std::string_view text) {
    const auto job = accepted([&] { return resque::decode_payload(text); });
    if (!job) return;
    require(!job->class_name.empty() && job->args.is_array(), "decoded job is well formed");

    const std::string encoded = resque::encode_payload(*job);
    require(resque::decode_payload(encoded) == *job, "decode(encode(job)) == job");
    require(json::canonicalize(encoded) == encoded, "encoded payload is canonical");

    const std::string_view raw_class = json::raw_member(text, "class");
    require(json::parse(raw_class, "class") == job->class_name, "raw_member finds class");
}

void check_utf8(std::string_view text) {
    const std::string scrubbed = json::scrub_utf8(text);
    require(json::is_valid_utf8(scrubbed), "scrub_utf8 yields valid UTF-8");
    require(json::is_valid_utf8(text) == (scrubbed == text), "scrub_utf8 keeps valid text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_canonicalize_and_parse(text);
    check_payload(text);
    check_utf8(text);
    return 0;
}
