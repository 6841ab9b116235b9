#include "gateway/common/blocking_resolve.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <netdb.h>
#include <sys/socket.h>
#include <thread>

namespace portcullis {

namespace {

using Clock = std::chrono::steady_clock;

/// Host name lookups run on helper threads the caller can stop waiting for; at most this many
/// may be outstanding in the process (a hung resolver must not pile up threads).
constexpr int kMaxPendingLookups = 16;

std::atomic<int> g_pending_lookups{0};

struct LookupState {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    int status = 0;
    std::vector<tcp::endpoint> endpoints;
};

} // namespace

std::vector<tcp::endpoint> blocking_resolve(const std::string& host,
                                            std::uint16_t port,
                                            std::chrono::steady_clock::time_point until,
                                            std::string& error) {
    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (!ec) {
        return {tcp::endpoint(address, port)};
    }
    if (Clock::now() >= until) {
        error = "timeout resolving host";
        return {};
    }
    if (g_pending_lookups.fetch_add(1) >= kMaxPendingLookups) {
        g_pending_lookups.fetch_sub(1);
        error = "too many host name lookups in progress";
        return {};
    }
    auto state = std::make_shared<LookupState>();
    try {
        std::thread([state, host, port] {
            addrinfo hints{};
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            addrinfo* found = nullptr;
            const int status =
                ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
            std::vector<tcp::endpoint> endpoints;
            for (const addrinfo* p = found; status == 0 && p != nullptr; p = p->ai_next) {
                if ((p->ai_family == AF_INET || p->ai_family == AF_INET6) &&
                    p->ai_addrlen <= sizeof(sockaddr_storage)) {
                    tcp::endpoint endpoint;
                    std::memcpy(endpoint.data(), p->ai_addr, p->ai_addrlen);
                    endpoint.resize(p->ai_addrlen);
                    endpoints.push_back(endpoint);
                }
            }
            if (found != nullptr) {
                ::freeaddrinfo(found);
            }
            {
                std::lock_guard lock(state->mutex);
                state->status = status;
                state->endpoints = std::move(endpoints);
                state->done = true;
            }
            state->done_cv.notify_all();
            g_pending_lookups.fetch_sub(1);
        }).detach();
    } catch (const std::system_error&) {
        g_pending_lookups.fetch_sub(1);
        error = "cannot start host name lookup";
        return {};
    }
    std::unique_lock lock(state->mutex);
    if (!state->done_cv.wait_until(lock, until, [&] { return state->done; })) {
        error = "timeout resolving host";
        return {};
    }
    if (state->status != 0 || state->endpoints.empty()) {
        error = "cannot resolve host";
        return {};
    }
    return std::move(state->endpoints);
}

} // namespace portcullis
