#pragma once

// TCP sockets on 127.0.0.1, shared by RedisServer (free ports) and TcpProxy.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "unique_fd.hpp"

namespace resque::test::detail {

inline sockaddr_in loopback_address(int port) noexcept {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    return address;
}

[[noreturn]] inline void throw_socket_error(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// A close-on-exec TCP socket bound to 127.0.0.1 on a port the kernel picks.
inline UniqueFd bind_loopback() {
    UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket.valid()) {
        throw_socket_error("cannot create socket");
    }
    const sockaddr_in address = loopback_address(0);
    if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw_socket_error("cannot bind 127.0.0.1:0");
    }
    return socket;
}

/// The local port `socket` is bound to.
inline int bound_port(int socket) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw_socket_error("getsockname");
    }
    return ntohs(address.sin_port);
}

/// A port free on 127.0.0.1 right now. Another process may take it before the caller
/// binds it: callers retry on "address already in use".
inline int free_loopback_port() {
    const UniqueFd socket = bind_loopback();
    return bound_port(socket.get());
}

}  // namespace resque::test::detail
