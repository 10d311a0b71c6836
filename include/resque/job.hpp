#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace resque {

/// One unit of work: a class name and its JSON arguments, as Resque stores it in a queue
/// (`{"class":"Archive","args":[...]}`). `class` is a C++ keyword, so the field is
/// `class_name`; the JSON key stays `"class"`.
struct Job {
    std::string class_name;
    /// Always a JSON array when the job is valid. Integers keep every digit up to 64 bits
    /// (signed or unsigned); use the raw payload text for anything larger.
    nlohmann::json args = nlohmann::json::array();

    friend bool operator==(const Job&, const Job&) = default;
};

/// Default upper bound on an encoded payload accepted by `encode_payload` (5 MiB).
inline constexpr std::size_t kDefaultMaxPayloadBytes = 5 * 1024 * 1024;

/// Encodes `job` exactly as Ruby Resque's MultiJson (json gem) does: `{"class":...,
/// "args":[...]}`, compact, raw UTF-8, Ruby's float format. Byte equality matters:
/// Resque's dequeue and resque-scheduler's removal compare encoded strings.
///
/// Throws PayloadError when the class name is empty, args is not an array, a string is
/// not valid UTF-8, a number is NaN or infinite, or the result exceeds `max_bytes`.
[[nodiscard]] std::string encode_payload(const Job& job,
                                         std::size_t max_bytes = kDefaultMaxPayloadBytes);

/// Decodes a queue entry into a Job. Extra keys are ignored; a missing `args` means no
/// arguments (as in Resque).
///
/// Throws PayloadError naming the problem: not JSON (with the byte offset), not an object,
/// `class` missing or not a non-empty string, `args` not an array.
[[nodiscard]] Job decode_payload(std::string_view payload);

}  // namespace resque
