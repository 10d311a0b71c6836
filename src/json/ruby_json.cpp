#include "json/ruby_json.hpp"

#include <fmt/format.h>

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "resque/errors.hpp"

// The layout of this file follows the header: UTF-8, strings, floats, whole values, then
// the two readers (canonicalize through a SAX writer, parse through a SAX DOM builder),
// then raw_member's scanner. Both readers use nlohmann's lexer, which already rejects
// invalid UTF-8 and lone surrogate escapes, and its SAX parser, which keeps its own
// stack on the heap (it never recurses), so deep input cannot overflow ours.

namespace resque::json {
namespace {

// ---- UTF-8 -------------------------------------------------------------------------

/// The outcome of reading one UTF-8 sequence: its length when valid, otherwise the
/// length of the maximal invalid subpart (at least 1), the unit Unicode recommends
/// replacing with one U+FFFD.
struct Utf8Step {
    std::size_t length;
    bool valid;
};

// Well-formed sequences per the Unicode standard, table 3-7: the lead byte fixes how many
// continuation bytes follow and the range of the first one (which rules out overlongs,
// surrogates and code points above U+10FFFF).
Utf8Step read_utf8(std::string_view text, std::size_t pos) noexcept {
    const auto lead = static_cast<unsigned char>(text[pos]);
    if (lead < 0x80) return {1, true};

    std::size_t need = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 2;
        low = lead == 0xE0 ? 0xA0 : 0x80;
        high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 3;
        low = lead == 0xF0 ? 0x90 : 0x80;
        high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
        return {1, false};
    }

    for (std::size_t i = 1; i <= need; ++i) {
        if (pos + i >= text.size()) return {i, false};
        const auto byte = static_cast<unsigned char>(text[pos + i]);
        if (byte < (i == 1 ? low : 0x80) || byte > (i == 1 ? high : 0xBF)) return {i, false};
    }
    return {need + 1, true};
}

// ---- strings -----------------------------------------------------------------------

bool needs_escape(unsigned char c) noexcept { return c < 0x20 || c == '"' || c == '\\'; }

void append_escape(std::string& out, unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (c) {
        case '"':
            out += "\\\"";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '\b':
            out += "\\b";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        default:
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0x0F];
    }
}

// ---- floats ------------------------------------------------------------------------

/// A finite double as its shortest round-trip digits: value = 0.DIGITS x 10^point, the
/// same split dtoa gives Ruby's Float#to_s.
struct ShortestDigits {
    bool negative = false;
    std::array<char, 20> digits{};
    int count = 0;
    int point = 0;
};

ShortestDigits shortest_digits(double value) {
    std::array<char, 32> buf{};
    const auto result =
        std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
    std::string_view text(buf.data(), static_cast<std::size_t>(result.ptr - buf.data()));

    // `text` reads "-d.ddde-XX": copy the digits, skipping the point, then the exponent.
    ShortestDigits out;
    out.negative = text.front() == '-';
    if (out.negative) text.remove_prefix(1);
    const std::size_t e = text.find('e');
    for (char c : text.substr(0, e)) {
        if (c != '.') out.digits[static_cast<std::size_t>(out.count++)] = c;
    }
    std::string_view exponent = text.substr(e + 1);
    const bool exponent_negative = exponent.front() == '-';
    int magnitude = 0;
    std::from_chars(exponent.data() + 1, exponent.data() + exponent.size(), magnitude);
    out.point = (exponent_negative ? -magnitude : magnitude) + 1;
    return out;
}

// Ruby prints 1e-4 <= |x| < 1e15 in fixed notation, and 1e15 <= |x| < 1e16 too when the
// digits reach past the decimal point (1234567890123456.8 but 1.0e+15).
bool ruby_uses_fixed(const ShortestDigits& d) noexcept {
    return (d.point >= -3 && d.point <= 15) || (d.point == 16 && d.count > 16);
}

void append_fixed(std::string& out, const ShortestDigits& d) {
    const std::string_view digits(d.digits.data(), static_cast<std::size_t>(d.count));
    if (d.point <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-d.point), '0');
        out += digits;
    } else if (d.count <= d.point) {
        out += digits;
        out.append(static_cast<std::size_t>(d.point - d.count), '0');
        out += ".0";
    } else {
        const auto split = static_cast<std::size_t>(d.point);
        out += digits.substr(0, split);
        out += '.';
        out += digits.substr(split);
    }
}

void append_exponent(std::string& out, const ShortestDigits& d) {
    out += d.digits[0];
    out += '.';
    if (d.count > 1) {
        out.append(d.digits.data() + 1, static_cast<std::size_t>(d.count - 1));
    } else {
        out += '0';
    }
    const int exponent = d.point - 1;
    out += exponent < 0 ? "e-" : "e+";
    out += fmt::format("{:02}", exponent < 0 ? -exponent : exponent);
}

// ---- whole values ------------------------------------------------------------------

template <typename Integer>
void append_integer(std::string& out, Integer value) {
    std::array<char, 24> buf{};
    const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    out.append(buf.data(), result.ptr);
}

template <typename Json>
void append_any(std::string& out, const Json& value);

template <typename Json>
void append_array(std::string& out, const Json& array) {
    out += '[';
    bool first = true;
    for (const auto& element : array) {
        if (!first) out += ',';
        first = false;
        append_any(out, element);
    }
    out += ']';
}

template <typename Json>
void append_object(std::string& out, const Json& object) {
    out += '{';
    bool first = true;
    for (const auto& [key, member] : object.items()) {
        if (!first) out += ',';
        first = false;
        append_string(out, key);
        out += ':';
        append_any(out, member);
    }
    out += '}';
}

template <typename Json>
void append_any(std::string& out, const Json& value) {
    using Type = nlohmann::json::value_t;
    switch (value.type()) {
        case Type::null:
            out += "null";
            return;
        case Type::boolean:
            out += value.template get<bool>() ? "true" : "false";
            return;
        case Type::number_integer:
            append_integer(out, value.template get<std::int64_t>());
            return;
        case Type::number_unsigned:
            append_integer(out, value.template get<std::uint64_t>());
            return;
        case Type::number_float:
            append_float(out, value.template get<double>());
            return;
        case Type::string:
            append_string(out, value.template get_ref<const std::string&>());
            return;
        case Type::array:
            append_array(out, value);
            return;
        case Type::object:
            append_object(out, value);
            return;
        default:
            throw PayloadError(
                fmt::format("a {} value cannot be encoded as JSON", value.type_name()));
    }
}

// ---- reader errors -----------------------------------------------------------------

constexpr std::size_t kMaxErrorDetail = 160;

// nlohmann's messages read "[json.exception.parse_error.101] parse error at line 1,
// column 24: syntax error ... last read: '<input>'". Keep the part after the location;
// it quotes raw input, which may be long or invalid UTF-8, so shorten and scrub it.
std::string error_detail(const nlohmann::json::exception& error) {
    std::string_view text = error.what();
    if (const auto p = text.find("] "); p != std::string_view::npos) text.remove_prefix(p + 2);
    if (text.starts_with("parse error")) {
        if (const auto p = text.find(": "); p != std::string_view::npos) text.remove_prefix(p + 2);
    }

    std::string detail = scrub_utf8(text);
    if (detail.size() <= kMaxErrorDetail) return detail;
    std::size_t cut = kMaxErrorDetail;
    while (cut > 0 && (static_cast<unsigned char>(detail[cut]) & 0xC0) == 0x80) --cut;
    detail.resize(cut);
    return detail + "...";
}

// nlohmann reports positions as the count of bytes read; we name the zero-based offset
// of the byte it stopped at (the input's length for an unexpected end).
[[noreturn]] void throw_not_json(std::string_view what, std::size_t position,
                                 const nlohmann::json::exception& error) {
    const std::size_t offset = position > 0 ? position - 1 : 0;
    throw PayloadError(
        fmt::format("{} is not valid JSON at byte {}: {}", what, offset, error_detail(error)));
}

// ---- canonicalize: a SAX handler that writes as it reads -----------------------------

/// Re-encodes each SAX event in Ruby's form. Integers the lexer could not fit in 64 bits
/// arrive as floats with their raw text, which is copied so no digit is lost.
///
/// Limitation: duplicate object keys are written as they come, while Ruby would keep only
/// the last; Ruby Resque never writes duplicates, so payloads it wrote round-trip exactly.
/// Limitation: integers beyond the double range (over 308 digits) are rejected as number
/// overflow by nlohmann's lexer, though Ruby would accept them.
class CanonicalWriter {
 public:
    using Json = nlohmann::json;

    std::string take() { return std::move(out_); }

    bool null() { return scalar("null"); }
    bool boolean(bool value) { return scalar(value ? "true" : "false"); }
    bool number_integer(Json::number_integer_t value) {
        before_value();
        append_integer(out_, value);
        return true;
    }
    bool number_unsigned(Json::number_unsigned_t value) {
        before_value();
        append_integer(out_, value);
        return true;
    }
    bool number_float(Json::number_float_t value, const std::string& raw);
    bool string(std::string& value) {
        before_value();
        append_string(out_, value);
        return true;
    }
    bool binary(Json::binary_t&) { return false; }
    bool start_object(std::size_t) { return open('{'); }
    bool key(std::string& name);
    bool end_object() { return close('}'); }
    bool start_array(std::size_t) { return open('['); }
    bool end_array() { return close(']'); }
    bool parse_error(std::size_t position, const std::string&, const Json::exception& error) {
        throw_not_json("text", position, error);
    }

 private:
    void before_value();
    bool scalar(std::string_view text) {
        before_value();
        out_ += text;
        return true;
    }
    bool open(char bracket) {
        before_value();
        out_ += bracket;
        first_.push_back(true);
        return true;
    }
    bool close(char bracket) {
        out_ += bracket;
        first_.pop_back();
        return true;
    }

    std::string out_;
    std::vector<bool> first_;  // per open container: nothing written into it yet
    bool after_key_ = false;   // the next value follows a key, so takes no comma
};

bool is_integer_literal(std::string_view raw) noexcept {
    if (raw.starts_with('-')) raw.remove_prefix(1);
    if (raw.empty()) return false;
    for (char c : raw) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

bool CanonicalWriter::number_float(Json::number_float_t value, const std::string& raw) {
    before_value();
    if (is_integer_literal(raw)) {
        out_ += raw;
    } else {
        append_float(out_, value);
    }
    return true;
}

bool CanonicalWriter::key(std::string& name) {
    before_value();
    append_string(out_, name);
    out_ += ':';
    after_key_ = true;
    return true;
}

void CanonicalWriter::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
}

// ---- long strings, lifted out of a large text before nlohmann reads it ---------------

// nlohmann's lexer holds two growing copies of the token it reads (the value and the raw
// bytes, for its error messages), so a 64 MiB string argument cost three times its size
// while it was read (FC-07). A string of at least this many bytes with no escape and no
// control character, valid UTF-8, is one the lexer would return byte for byte: it is cut
// out, the rest of the text is parsed with it as "", and its bytes are put back.
constexpr std::size_t kLongString = 64 * 1024;

class LongStrings {
 public:
    /// Finds the long strings of `text` (none in a text shorter than one).
    explicit LongStrings(std::string_view text);

    [[nodiscard]] bool empty() const noexcept { return found_.empty(); }
    /// `text` with each long string written as "": same structure, parsed the same.
    [[nodiscard]] std::string skeleton() const;
    /// Called with every string and key the skeleton yields, in order: a long string's
    /// "" gets its bytes back.
    void restore(std::string& value);

 private:
    struct Found {
        std::size_t ordinal;  // among the strings and keys of the text
        std::size_t offset;   // of its first byte, after the quote
        std::size_t size;
    };

    std::string_view text_;
    std::vector<Found> found_;
    std::size_t seen_ = 0;  // strings restore() was called with
    std::size_t next_ = 0;  // the entry of found_ restore() fills next
};

// Outside strings JSON has no quote, so each quote found from there opens a string. A
// text cut short inside a string lifts nothing: nlohmann reads it and reports where.
LongStrings::LongStrings(std::string_view text) : text_(text) {
    if (text.size() < kLongString) return;
    std::size_t ordinal = 0;
    for (std::size_t open = text.find('"'); open != std::string_view::npos;
         open = text.find('"', open)) {
        const std::size_t start = open + 1;
        bool plain = true;
        std::size_t end = start;
        for (; end < text.size() && text[end] != '"'; ++end) {
            const auto c = static_cast<unsigned char>(text[end]);
            if (c == '\\') ++end;
            plain = plain && c != '\\' && c >= 0x20;
        }
        if (end >= text.size()) {
            found_.clear();
            return;
        }
        const std::size_t size = end - start;
        if (plain && size >= kLongString && is_valid_utf8(text.substr(start, size))) {
            found_.push_back({ordinal, start, size});
        }
        ++ordinal;
        open = end + 1;
    }
}

std::string LongStrings::skeleton() const {
    std::size_t lifted = 0;
    for (const auto& found : found_) lifted += found.size;
    std::string out;
    out.reserve(text_.size() - lifted);
    std::size_t copied = 0;
    for (const auto& found : found_) {
        out.append(text_.substr(copied, found.offset - copied));
        copied = found.offset + found.size;
    }
    out.append(text_.substr(copied));
    return out;
}

void LongStrings::restore(std::string& value) {
    if (next_ < found_.size() && found_[next_].ordinal == seen_) {
        value.assign(text_.substr(found_[next_].offset, found_[next_].size));
        ++next_;
    }
    ++seen_;
}

// ---- parse: a SAX handler that builds a DOM with a depth limit -----------------------

/// Builds nlohmann::json from SAX events, refusing to open a container deeper than the
/// limit (the DOM's own recursive operations, such as copy and compare, would otherwise
/// be exposed to hostile input). Duplicate keys keep the last value, as Ruby does.
class DomBuilder {
 public:
    using Json = nlohmann::json;

    /// `lifted`: the long strings cut out of the text it reads, to put back (or null).
    DomBuilder(std::string_view what, std::size_t max_depth, LongStrings* lifted = nullptr)
        : what_(what), max_depth_(max_depth), lifted_(lifted) {}

    Json take() { return std::move(root_); }

    bool null() { return put(nullptr); }
    bool boolean(bool value) { return put(value); }
    bool number_integer(Json::number_integer_t value) { return put(value); }
    bool number_unsigned(Json::number_unsigned_t value) { return put(value); }
    bool number_float(Json::number_float_t value, const std::string&) { return put(value); }
    bool string(std::string& value) {
        if (lifted_ != nullptr) lifted_->restore(value);
        return put(std::move(value));
    }
    bool binary(Json::binary_t&) { return false; }
    bool start_object(std::size_t) { return open(Json::object()); }
    bool key(std::string& name) {
        if (lifted_ != nullptr) lifted_->restore(name);
        key_ = std::move(name);
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(Json::array()); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t position, const std::string&, const Json::exception& error) {
        throw_not_json(what_, position, error);
    }

 private:
    Json* insert(Json value);
    bool put(Json value) {
        insert(std::move(value));
        return true;
    }
    bool open(Json container);
    bool close() {
        open_.pop_back();
        return true;
    }

    std::string_view what_;
    std::size_t max_depth_;
    LongStrings* lifted_;
    Json root_;
    std::vector<Json*> open_;  // the containers being filled, outermost first
    std::string key_;          // the key of the next object member
};

// Pointers in `open_` stay valid: only the innermost container grows, and none of the
// containers it holds is open any more.
DomBuilder::Json* DomBuilder::insert(Json value) {
    if (open_.empty()) {
        root_ = std::move(value);
        return &root_;
    }
    Json& parent = *open_.back();
    if (parent.is_array()) {
        parent.push_back(std::move(value));
        return &parent.back();
    }
    Json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
}

bool DomBuilder::open(Json container) {
    if (open_.size() >= max_depth_) {
        throw PayloadError(
            fmt::format("{} nests arrays and objects deeper than {} levels", what_, max_depth_));
    }
    open_.push_back(insert(std::move(container)));
    return true;
}

// Accepts what DomBuilder accepts, building nothing.
class Validator {
 public:
    using Json = nlohmann::json;
    explicit Validator(std::size_t max_depth) : max_depth_(max_depth) {}

    bool null() { return true; }
    bool boolean(bool) { return true; }
    bool number_integer(Json::number_integer_t) { return true; }
    bool number_unsigned(Json::number_unsigned_t) { return true; }
    bool number_float(Json::number_float_t, const std::string&) { return true; }
    bool string(std::string&) { return true; }
    bool binary(Json::binary_t&) { return false; }
    bool key(std::string&) { return true; }
    bool start_object(std::size_t) { return open(); }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t, const std::string&, const Json::exception&) { return false; }

 private:
    bool open() { return ++depth_ <= max_depth_; }
    bool close() {
        --depth_;
        return true;
    }
    std::size_t max_depth_;
    std::size_t depth_ = 0;
};

// ---- raw_member: a scanner over text already known to be valid JSON --------------------

class Scanner {
 public:
    explicit Scanner(std::string_view text) : text_(text) {}

    std::size_t pos() const noexcept { return pos_; }
    bool at(char c) const noexcept { return pos_ < text_.size() && text_[pos_] == c; }

    void skip_space() noexcept {
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    }

    bool consume(char c) noexcept {
        skip_space();
        if (!at(c)) return false;
        ++pos_;
        return true;
    }

    bool skip_string() noexcept;
    bool skip_value() noexcept;

 private:
    static bool is_space(char c) noexcept {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }
    bool skip_container() noexcept;
    bool skip_scalar() noexcept;

    std::string_view text_;
    std::size_t pos_ = 0;
};

bool Scanner::skip_string() noexcept {
    if (!at('"')) return false;
    for (++pos_; pos_ < text_.size(); ++pos_) {
        if (text_[pos_] == '\\') {
            ++pos_;
        } else if (text_[pos_] == '"') {
            ++pos_;
            return true;
        }
    }
    return false;
}

bool Scanner::skip_value() noexcept {
    skip_space();
    if (at('"')) return skip_string();
    if (at('{') || at('[')) return skip_container();
    return skip_scalar();
}

// Brackets inside strings are skipped with the strings, so counting them is enough.
bool Scanner::skip_container() noexcept {
    std::size_t depth = 0;
    while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c == '"') {
            if (!skip_string()) return false;
            continue;
        }
        ++pos_;
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return true;
    }
    return false;
}

bool Scanner::skip_scalar() noexcept {
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
        const char c = text_[pos_];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!letter && !(c >= '0' && c <= '9') && c != '-' && c != '+' && c != '.') break;
        ++pos_;
    }
    return pos_ > start;
}

// `quoted` is a key as written, quotes included. Keys with escapes are rare: decode those.
bool key_matches(std::string_view quoted, std::string_view key) {
    const std::string_view inner = quoted.substr(1, quoted.size() - 2);
    if (inner.find('\\') == std::string_view::npos) return inner == key;
    const auto decoded = nlohmann::json::parse(quoted, nullptr, /*allow_exceptions=*/false);
    return decoded.is_string() && decoded.get_ref<const std::string&>() == key;
}

}  // namespace

// ---- public functions --------------------------------------------------------------

bool is_valid_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        const Utf8Step step = read_utf8(text, i);
        if (!step.valid) return false;
        i += step.length;
    }
    return true;
}

std::string scrub_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const Utf8Step step = read_utf8(text, i);
        if (step.valid) {
            out.append(text.substr(i, step.length));
        } else {
            out += "\xEF\xBF\xBD";
        }
        i += step.length;
    }
    return out;
}

void append_string(std::string& out, std::string_view text) {
    out += '"';
    std::size_t copied = 0;  // bytes of `text` already in `out`
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (needs_escape(c)) {
            out.append(text.substr(copied, i - copied));
            append_escape(out, c);
            copied = ++i;
            continue;
        }
        const Utf8Step step = read_utf8(text, i);
        if (!step.valid) {
            throw PayloadError(
                fmt::format("string is not valid UTF-8 at byte {} (0x{:02X})", i, c));
        }
        i += step.length;
    }
    out.append(text.substr(copied));
    out += '"';
}

void append_float(std::string& out, double value) {
    if (!std::isfinite(value)) {
        throw PayloadError(fmt::format("cannot encode {} as JSON (only finite numbers)", value));
    }
    const ShortestDigits digits = shortest_digits(value);
    if (digits.negative) out += '-';
    if (ruby_uses_fixed(digits)) {
        append_fixed(out, digits);
    } else {
        append_exponent(out, digits);
    }
}

void append_value(std::string& out, const nlohmann::json& value) { append_any(out, value); }

void append_value(std::string& out, const nlohmann::ordered_json& value) { append_any(out, value); }

std::string encode(const nlohmann::json& value) {
    std::string out;
    append_value(out, value);
    return out;
}

std::string encode(const nlohmann::ordered_json& value) {
    std::string out;
    append_value(out, value);
    return out;
}

std::string canonicalize(std::string_view text) {
    CanonicalWriter writer;
    // Errors throw from the handler; only a binary value (never in JSON text) could make
    // the parse stop without one.
    [[maybe_unused]] const bool complete = nlohmann::json::sax_parse(text, &writer);
    assert(complete);
    return writer.take();
}

nlohmann::json parse(std::string_view text, std::string_view what, std::size_t max_depth) {
    LongStrings lifted(text);
    if (!lifted.empty()) {
        const std::string skeleton = lifted.skeleton();
        DomBuilder builder(what, max_depth, &lifted);
        try {
            if (nlohmann::json::sax_parse(skeleton, &builder)) return builder.take();
        } catch (const PayloadError&) {
            // Not JSON: read again whole below, so the error names the text's own offsets.
        }
    }
    DomBuilder builder(what, max_depth);
    [[maybe_unused]] const bool complete = nlohmann::json::sax_parse(text, &builder);
    assert(complete);
    return builder.take();
}

namespace {

// Whether `text` is JSON nested at most `max_depth` deep, read without building it.
bool validates(std::string_view text, std::size_t max_depth) {
    Validator validator(max_depth);
    const LongStrings lifted(text);
    if (!lifted.empty()) return nlohmann::json::sax_parse(lifted.skeleton(), &validator);
    return nlohmann::json::sax_parse(text, &validator);
}

}  // namespace

bool is_object(std::string_view text, std::size_t max_depth) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || text[first] != '{') return false;
    return validates(text, max_depth);
}

bool is_json(std::string_view text) {
    return validates(text, std::numeric_limits<std::size_t>::max());
}

std::string_view raw_member(std::string_view text, std::string_view key) {
    Scanner scan(text);
    if (!scan.consume('{') || scan.consume('}')) return {};

    // Walk every member: with duplicate keys the last one wins, as in Ruby's decoder.
    std::string_view found;
    do {
        scan.skip_space();
        const std::size_t key_start = scan.pos();
        if (!scan.skip_string()) return {};
        const std::string_view quoted = text.substr(key_start, scan.pos() - key_start);
        if (!scan.consume(':')) return {};

        scan.skip_space();
        const std::size_t value_start = scan.pos();
        if (!scan.skip_value()) return {};
        if (key_matches(quoted, key)) found = text.substr(value_start, scan.pos() - value_start);
    } while (scan.consume(','));

    return scan.consume('}') ? found : std::string_view{};
}

}  // namespace resque::json
