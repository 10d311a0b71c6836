#pragma once

// How commands print: aligned text tables for people, one compact JSON value per
// command for programs (`--json`). Everything goes to stdout; errors never do.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace resque::cli {

/// Columns of text, padded to the widest cell; the last column is not padded.
class Table {
   public:
    explicit Table(std::vector<std::string> headers);
    void add_row(std::vector<std::string> cells);
    [[nodiscard]] bool empty() const noexcept { return rows_.empty(); }
    /// Prints the header and every row to stdout.
    void print() const;

   private:
    [[nodiscard]] std::vector<std::size_t> widths() const;
    static void print_row(const std::vector<std::string>& cells,
                          const std::vector<std::size_t>& widths);

    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

/// Prints `value` compactly on one line. Invalid UTF-8 from Redis is replaced, never
/// thrown on.
void print_json(const nlohmann::json& value);

/// Prints a JSON array whose elements are `raw` texts verbatim (so stored payloads keep
/// every digit); an element that is not valid JSON is printed as a JSON string instead.
void print_raw_json_array(std::span<const std::string> raw);

/// `raw` parsed, or as a JSON string when it is not valid JSON.
[[nodiscard]] nlohmann::json parse_or_string(std::string_view raw);

/// `text` on one line (newlines and tabs become spaces), cut to `max` characters with
/// a trailing `...` when longer.
[[nodiscard]] std::string one_line(std::string_view text, std::size_t max = 60);

}  // namespace resque::cli
