#pragma once

#include "gateway/common/asio.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace portcullis {

/// The addresses of `host` (an IP literal is used as is), for callers on threads that may block
/// (plugin host calls, the cluster subscriber), never a worker's. getaddrinfo cannot be
/// interrupted, so it runs on a detached helper thread: at `until` the caller gives up and the
/// thread finishes on its own. Empty with `error` set on failure.
std::vector<tcp::endpoint> blocking_resolve(const std::string& host,
                                            std::uint16_t port,
                                            std::chrono::steady_clock::time_point until,
                                            std::string& error);

} // namespace portcullis
