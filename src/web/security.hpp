#pragma once

// The dashboard's guards: optional authentication (HTTP basic or bearer token against
// one shared secret) and the CSRF token every state-changing POST must carry. Secrets
// are compared in constant time and never logged.

#include <optional>
#include <string>
#include <string_view>

namespace resque::web {

/// How requests are authenticated.
enum class AuthMode {
    kNone,    ///< anyone who can reach the address (default; bind 127.0.0.1)
    kBasic,   ///< `Authorization: Basic base64(<any user>:<secret>)`
    kBearer,  ///< `Authorization: Bearer <secret>`
};

/// Parses `none`, `basic` or `bearer`; throws UsageError naming the value otherwise.
AuthMode parse_auth_mode(std::string_view text);

/// Checks the Authorization header of each request against the secret. Immutable
/// after construction, so safe to share between the server's threads.
class Authenticator {
 public:
    /// Throws ConfigError when `mode` needs a secret and `secret` is empty.
    Authenticator(AuthMode mode, std::string secret);

    [[nodiscard]] AuthMode mode() const noexcept { return mode_; }
    /// True when `authorization` (the header's value, empty if absent) passes.
    [[nodiscard]] bool allows(std::string_view authorization) const;
    /// The WWW-Authenticate challenge for a 401 (empty when mode is kNone).
    [[nodiscard]] std::string challenge() const;

 private:
    AuthMode mode_;
    std::string secret_;
};

/// A random token (256 bits, hex) made once per server. Every POST must echo it in the
/// `X-CSRF-Token` header; a cross-site page cannot read it (the API sends no CORS
/// headers), so it cannot forge an action.
class CsrfGuard {
 public:
    CsrfGuard();
    [[nodiscard]] const std::string& token() const noexcept { return token_; }
    [[nodiscard]] bool accepts(std::string_view presented) const;

 private:
    std::string token_;
};

/// Equality that takes the same time wherever the inputs first differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Decodes standard base64; nullopt on any character outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace resque::web
