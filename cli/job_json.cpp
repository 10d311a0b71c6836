#include "job_json.hpp"

#include <string>

#include "output.hpp"
#include "resque/errors.hpp"

namespace resque::cli {
namespace {

using nlohmann::json;

// A SAX pass that only looks at numbers: nlohmann hands an integer that does not fit
// in 64 bits to number_float, with the text it read.
class WideIntegerFinder : public nlohmann::json_sax<json> {
   public:
    std::string wide_integer;  // the first one found, as written

    bool number_float(number_float_t, const string_t& text) override {
        if (text.find_first_of(".eE") != string_t::npos) return true;
        wide_integer = text;
        return false;
    }
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    // Syntax errors are reported by the real parse below, with their position.
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }
};

// nlohmann prefixes messages with "[json.exception.parse_error.101] "; users need only
// what follows ("parse error at line 1, column 2: ...").
std::string problem_of(const json::exception& error) {
    const std::string what = error.what();
    const auto end_of_tag = what.find("] ");
    return end_of_tag == std::string::npos ? what : what.substr(end_of_tag + 2);
}

}  // namespace

json parse_user_json(std::string_view text) {
    WideIntegerFinder finder;
    if (!json::sax_parse(text, &finder) && !finder.wide_integer.empty()) {
        throw PayloadError("integer " + one_line(finder.wide_integer, 40) +
                           " does not fit in 64 bits");
    }
    try {
        return json::parse(text);
    } catch (const json::exception& error) {
        throw PayloadError("not valid JSON: " + problem_of(error));
    }
}

}  // namespace resque::cli
