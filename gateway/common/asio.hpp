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

/// Every I/O object and coroutine of a worker runs on that worker's io_context: naming its
/// executor type (instead of the type-erased any_io_executor) spares a type-erased copy and call
/// on every asynchronous operation.
using Executor = asio::io_context::executor_type;

template <class T> using awaitable = asio::awaitable<T, Executor>;

using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>,
                                         Executor>;

/// Completion token of coroutines on a worker.
constexpr auto use_awaitable = asio::use_awaitable_t<Executor>{};
/// Completion token for operations whose failure is an expected outcome: yields (ec, result...).
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable_t<Executor>{});

/// Converts a config duration (seconds, possibly fractional) to a steady-clock duration.
template <class Rep, class Period>
std::chrono::steady_clock::duration to_steady(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
}

} // namespace portcullis
