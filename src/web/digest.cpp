#include "web/digest.hpp"

#include <openssl/evp.h>

#include <array>

#include "resque/errors.hpp"

namespace resque::web {

std::string sha1_hex(std::string_view content) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(content.data(), content.size(), digest.data(), &size, EVP_sha1(), nullptr) !=
        1) {
        throw Error("SHA-1 is not available from OpenSSL");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * size);
    for (unsigned int i = 0; i < size; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 0xf];
    }
    return hex;
}

}  // namespace resque::web
