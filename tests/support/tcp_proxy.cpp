// TcpProxy: forwards loopback connections to a target port, and can drop them all at
// once to simulate a network failure.
//
// One background thread owns every connection. It polls the listener, an eventfd that
// other threads write to (cut, stop), and both sockets of each link; each direction of
// a link buffers at most one chunk, and a side is read only when what it sent before has
// been passed on, so a slow reader slows its writer instead of growing a buffer.

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "loopback.hpp"
#include "redis_server.hpp"

namespace resque::test {

namespace {

using detail::UniqueFd;

constexpr std::size_t kChunk = 16 * 1024;
constexpr int kListenBacklog = 64;

// Bytes read from one side and not yet written to the other.
struct Flow {
    std::string pending;
    bool eof = false;
};

// Reads into `flow` when it has room; false when the socket failed.
bool pull(int fd, Flow& flow) {
    if (!flow.pending.empty() || flow.eof) {
        return true;
    }
    char buffer[kChunk];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    flow.pending.assign(buffer, static_cast<std::size_t>(n));
    flow.eof = n == 0;
    return true;
}

// Writes what `flow` holds, as much as the socket takes; false when the socket failed.
bool push(int fd, Flow& flow) {
    if (flow.pending.empty()) {
        return true;
    }
    // MSG_NOSIGNAL: a peer that went away must not raise SIGPIPE in the test process.
    const ssize_t n = ::send(fd, flow.pending.data(), flow.pending.size(), MSG_NOSIGNAL);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    flow.pending.erase(0, static_cast<std::size_t>(n));
    return true;
}

short interest(const Flow& incoming, const Flow& outgoing) {
    const bool can_read = incoming.pending.empty() && !incoming.eof;
    return static_cast<short>((can_read ? POLLIN : 0) | (outgoing.pending.empty() ? 0 : POLLOUT));
}

bool drained(const Flow& flow) { return flow.eof && flow.pending.empty(); }

// A client connection and the proxy's connection to the target on its behalf.
struct Link {
    Link(UniqueFd client_socket, UniqueFd server_socket)
        : client(std::move(client_socket)), server(std::move(server_socket)) {}

    UniqueFd client;
    UniqueFd server;
    Flow upstream;    // client to server
    Flow downstream;  // server to client
    bool open = true;

    void add_to(std::vector<pollfd>& fds) const {
        fds.push_back({client.get(), interest(upstream, downstream), 0});
        fds.push_back({server.get(), interest(downstream, upstream), 0});
    }

    // One round of forwarding. The link closes on a socket error, or once a side has
    // closed and everything it sent has been passed on.
    void pump(short client_events, short server_events) {
        open = ((client_events | server_events) & POLLERR) == 0 && pull(client.get(), upstream) &&
               pull(server.get(), downstream) && push(server.get(), upstream) &&
               push(client.get(), downstream) && !drained(upstream) && !drained(downstream);
    }
};

void make_non_blocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// A non-blocking connection to 127.0.0.1:`port`; invalid when the target refuses.
UniqueFd connect_to(int port) {
    UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in address = detail::loopback_address(port);
    if (!socket.valid() ||
        ::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address)) {
        return {};
    }
    make_non_blocking(socket.get());
    return socket;
}

}  // namespace

struct TcpProxy::State {
    explicit State(int target);
    void serve(const std::stop_token& stop);
    std::vector<pollfd> watch_list(const std::vector<Link>& links) const;
    bool apply_cut(std::vector<Link>& links);
    void accept_client(std::vector<Link>& links);
    void wake() noexcept;

    const int target_port;
    const UniqueFd listener;
    const UniqueFd wakeup;  // eventfd: written by cut() and by a stop request
    int port = 0;

    std::mutex mutex;  // guards refusing, cuts_requested, cuts_done
    std::condition_variable cut_applied;
    bool refusing = false;
    std::uint64_t cuts_requested = 0;
    std::uint64_t cuts_done = 0;

    std::jthread thread;  // last: stopped and joined before the descriptors close
};

TcpProxy::State::State(int target)
    : target_port(target),
      listener(detail::bind_loopback()),
      wakeup(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!wakeup.valid()) {
        detail::throw_socket_error("cannot create eventfd");
    }
    if (::listen(listener.get(), kListenBacklog) != 0) {
        detail::throw_socket_error("cannot listen on 127.0.0.1");
    }
    make_non_blocking(listener.get());  // a client that resets before accept() must not block us
    port = detail::bound_port(listener.get());
    thread = std::jthread([this](std::stop_token stop) { serve(stop); });
}

void TcpProxy::State::serve(const std::stop_token& stop) {
    const std::stop_callback wake_on_stop(stop, [this] { wake(); });
    std::vector<Link> links;

    while (!stop.stop_requested()) {
        std::vector<pollfd> fds = watch_list(links);
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            continue;  // EINTR; nothing else can fail with these arguments
        }

        // A cut replaces this round: the descriptors polled are gone.
        if (fds[0].revents != 0 && apply_cut(links)) {
            continue;
        }
        for (std::size_t i = 0; i < links.size(); ++i) {
            links[i].pump(fds[2 + 2 * i].revents, fds[3 + 2 * i].revents);
        }
        std::erase_if(links, [](const Link& link) { return !link.open; });
        if (fds[1].revents != 0) {
            accept_client(links);
        }
    }
}

std::vector<pollfd> TcpProxy::State::watch_list(const std::vector<Link>& links) const {
    std::vector<pollfd> fds = {{wakeup.get(), POLLIN, 0}, {listener.get(), POLLIN, 0}};
    for (const Link& link : links) {
        link.add_to(fds);
    }
    return fds;
}

// Drains the eventfd; closes every link when a cut is pending. True when it closed them.
bool TcpProxy::State::apply_cut(std::vector<Link>& links) {
    std::uint64_t count;
    [[maybe_unused]] auto ignored = ::read(wakeup.get(), &count, sizeof count);

    const std::lock_guard lock(mutex);
    if (cuts_done == cuts_requested) {
        return false;
    }
    links.clear();
    cuts_done = cuts_requested;
    cut_applied.notify_all();
    return true;
}

void TcpProxy::State::accept_client(std::vector<Link>& links) {
    UniqueFd client(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client.valid()) {
        return;
    }
    {
        const std::lock_guard lock(mutex);
        if (refusing) {
            return;  // closed at once, as a dropped network would leave it
        }
    }
    UniqueFd server = connect_to(target_port);
    if (server.valid()) {
        links.emplace_back(std::move(client), std::move(server));
    }
}

void TcpProxy::State::wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(wakeup.get(), &one, sizeof one);
}

TcpProxy::TcpProxy(int target_port) : state_(std::make_unique<State>(target_port)) {}

TcpProxy::~TcpProxy() = default;

int TcpProxy::port() const noexcept { return state_->port; }

std::string TcpProxy::url() const {
    return "redis://127.0.0.1:" + std::to_string(state_->port) + "/0";
}

void TcpProxy::cut() {
    std::unique_lock lock(state_->mutex);
    state_->refusing = true;
    const std::uint64_t ticket = ++state_->cuts_requested;
    state_->wake();
    state_->cut_applied.wait(lock, [&] { return state_->cuts_done >= ticket; });
}

void TcpProxy::restore() {
    const std::lock_guard lock(state_->mutex);
    state_->refusing = false;
}

}  // namespace resque::test
