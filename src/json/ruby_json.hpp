#pragma once

// JSON written byte for byte as Ruby Resque writes it (MultiJson with the json gem; see
// ../shared/PROTOCOL.md section 2.6). Resque finds jobs to dequeue, and resque-scheduler
// finds delayed jobs, by comparing encoded strings, so "equivalent" JSON is not enough.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace resque::json {

/// Appends `text` as a JSON string literal in Ruby's form: raw UTF-8, `"` and `\`
/// escaped, \b \f \n \r \t short escapes, other C0 controls as \u00xx (lower-case hex),
/// DEL and U+2028/2029 raw, `/` not escaped. Throws PayloadError on invalid UTF-8.
void append_string(std::string& out, std::string_view text);

/// Appends a double as Ruby's Float#to_s: shortest round-trip digits, fixed notation with
/// a decimal point when 1e-4 <= |x| < 1e16 (for 1e15 <= |x| < 1e16 only if the digits
/// extend past the point), else `d.ddde+XX`. Throws PayloadError for NaN and infinities.
void append_float(std::string& out, double value);

/// Appends `value` in Ruby's encoding (compact, object keys in the value's own order).
/// Works for both nlohmann::json (keys sorted) and nlohmann::ordered_json.
void append_value(std::string& out, const nlohmann::json& value);
void append_value(std::string& out, const nlohmann::ordered_json& value);

/// Convenience wrappers returning a new string.
[[nodiscard]] std::string encode(const nlohmann::json& value);
[[nodiscard]] std::string encode(const nlohmann::ordered_json& value);

/// Re-encodes arbitrary JSON text the way Ruby would after `decode` then `encode`:
/// whitespace removed, key order kept, strings re-escaped in Ruby's form, floats in
/// Ruby's form, and integers of any size copied digit for digit (never rounded through
/// a double). Throws PayloadError naming the byte offset when `text` is not JSON.
[[nodiscard]] std::string canonicalize(std::string_view text);

/// Parses JSON text into nlohmann::json, turning parse errors into PayloadError whose
/// message names the byte offset and `what` (e.g. `payload in queue "mail"`). Nesting
/// deeper than `max_depth` is rejected with a PayloadError instead of recursing.
[[nodiscard]] nlohmann::json parse(std::string_view text, std::string_view what,
                                   std::size_t max_depth = 512);

/// True if `text` is one JSON object that parse() would accept (same depth rule),
/// checked without building it: the cheap test of whether a payload can be embedded
/// as-is in a record.
[[nodiscard]] bool is_object(std::string_view text, std::size_t max_depth = 512);

/// True if `text` is one JSON value, however deep: nlohmann::json::accept, without its
/// lexer's copies of long strings (a 64 MiB argument is not copied twice to check it).
[[nodiscard]] bool is_json(std::string_view text);

/// True if `text` is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

/// Replaces every invalid UTF-8 sequence in `text` with U+FFFD, so the result can always
/// be stored in a failure record.
[[nodiscard]] std::string scrub_utf8(std::string_view text);

/// Returns the raw text of member `key` of the top-level JSON object `text` (the exact
/// bytes, with no surrounding whitespace), or an empty view if absent. `text` must be
/// valid JSON (callers validate first); behaviour on invalid JSON is to return empty.
[[nodiscard]] std::string_view raw_member(std::string_view text, std::string_view key);

}  // namespace resque::json
