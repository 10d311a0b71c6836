#include "web/assets.hpp"

#include <span>
#include <utility>

namespace resque::web {

extern const std::span<const std::pair<std::string_view, std::string_view>> kEmbeddedAssets;

namespace {

std::string_view content_type(std::string_view name) {
    if (name.ends_with(".html")) return "text/html; charset=utf-8";
    if (name.ends_with(".css")) return "text/css; charset=utf-8";
    if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
    if (name.ends_with(".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

}  // namespace

std::optional<Asset> find_asset(std::string_view name) {
    for (const auto& [file, body] : kEmbeddedAssets) {
        if (!file.empty() && file == name) return Asset{body, content_type(name)};
    }
    return std::nullopt;
}

}  // namespace resque::web
