#pragma once

// Namespace aliases and completion tokens for the gateway layer only.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>

namespace portcullis {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

template <class T> using awaitable = asio::awaitable<T>;

/// Completion token for operations whose failure is an expected outcome: yields (ec, result...).
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

/// Converts a config duration (seconds, possibly fractional) to a steady-clock duration.
template <class Rep, class Period>
std::chrono::steady_clock::duration to_steady(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
}

} // namespace portcullis
