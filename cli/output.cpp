#include "output.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace resque::cli {

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

void Table::print() const {
    const std::vector<std::size_t> column_widths = widths();
    print_row(headers_, column_widths);
    for (const auto& row : rows_) print_row(row, column_widths);
}

std::vector<std::size_t> Table::widths() const {
    std::vector<std::size_t> result(headers_.size());
    for (std::size_t i = 0; i < headers_.size(); ++i) result[i] = headers_[i].size();
    for (const auto& row : rows_) {
        for (std::size_t i = 0; i < row.size(); ++i) result[i] = std::max(result[i], row[i].size());
    }
    return result;
}

void Table::print_row(const std::vector<std::string>& cells,
                      const std::vector<std::size_t>& widths) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        line += cells[i];
        if (i + 1 == cells.size()) break;
        line.append(widths[i] - cells[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
}

void print_json(const nlohmann::json& value) {
    std::cout << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

void print_raw_json_array(std::span<const std::string> raw) {
    std::string out = "[";
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (i > 0) out += ',';
        if (nlohmann::json::accept(raw[i])) {
            out += raw[i];
        } else {
            out += nlohmann::json(raw[i]).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace);
        }
    }
    std::cout << out << "]\n";
}

nlohmann::json parse_or_string(std::string_view raw) {
    nlohmann::json parsed = nlohmann::json::parse(raw, nullptr, false);
    if (parsed.is_discarded()) return nlohmann::json(std::string(raw));
    return parsed;
}

std::string one_line(std::string_view text, std::size_t max) {
    std::string line(text);
    std::replace_if(
        line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
    if (line.size() <= max || max <= 3) return line;

    // Cut on a character boundary: never in the middle of a UTF-8 sequence.
    std::size_t cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    return line.substr(0, cut) + "...";
}

}  // namespace resque::cli
