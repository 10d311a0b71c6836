#include "web/security.hpp"

#include <fmt/format.h>

#include <array>
#include <random>

#include "resque/errors.hpp"

namespace resque::web {
namespace {

int base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// The part after `scheme ` in an Authorization header, if the scheme matches.
std::optional<std::string_view> credentials(std::string_view header, std::string_view scheme) {
    if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
    }
    header.remove_prefix(scheme.size() + 1);
    while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
    return header;
}

}  // namespace

AuthMode parse_auth_mode(std::string_view text) {
    if (text == "none") return AuthMode::kNone;
    if (text == "basic") return AuthMode::kBasic;
    if (text == "bearer") return AuthMode::kBearer;
    throw UsageError(fmt::format("--auth: expected none, basic or bearer (got \"{}\")", text));
}

Authenticator::Authenticator(AuthMode mode, std::string secret)
    : mode_(mode), secret_(std::move(secret)) {
    if (mode_ != AuthMode::kNone && secret_.empty()) {
        throw ConfigError(
            "web authentication needs a secret: set RESQUE_WEB_SECRET or pass --secret-file");
    }
}

bool Authenticator::allows(std::string_view authorization) const {
    switch (mode_) {
        case AuthMode::kNone:
            return true;
        case AuthMode::kBearer: {
            const auto token = credentials(authorization, "bearer");
            return token && constant_time_equal(*token, secret_);
        }
        case AuthMode::kBasic: {
            const auto encoded = credentials(authorization, "basic");
            if (!encoded) return false;
            const auto decoded = base64_decode(*encoded);
            if (!decoded) return false;
            // Any user name; the secret is the password.
            const auto colon = decoded->find(':');
            if (colon == std::string::npos) return false;
            return constant_time_equal(std::string_view(*decoded).substr(colon + 1), secret_);
        }
    }
    return false;
}

std::string Authenticator::challenge() const {
    switch (mode_) {
        case AuthMode::kBasic:
            return R"(Basic realm="resque", charset="UTF-8")";
        case AuthMode::kBearer:
            return R"(Bearer realm="resque")";
        case AuthMode::kNone:
            break;
    }
    return {};
}

CsrfGuard::CsrfGuard() {
    std::random_device entropy;
    for (int i = 0; i < 8; ++i) token_ += fmt::format("{:08x}", entropy());
}

bool CsrfGuard::accepts(std::string_view presented) const {
    return constant_time_equal(presented, token_);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    // The length is not secret (the token's is fixed; a password's leaks little).
    unsigned char difference = a.size() == b.size() ? 0 : 1;
    const std::string_view longer = a.size() >= b.size() ? a : b;
    for (std::size_t i = 0; i < longer.size(); ++i) {
        const char x = i < a.size() ? a[i] : 0;
        const char y = i < b.size() ? b[i] : 0;
        difference |= static_cast<unsigned char>(x ^ y);
    }
    return difference == 0;
}

std::optional<std::string> base64_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    std::string out;
    unsigned int buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const int value = base64_value(c);
        if (value < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<unsigned int>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    return out;
}

}  // namespace resque::web
