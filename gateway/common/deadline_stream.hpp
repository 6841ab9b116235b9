#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/common/clock.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

namespace portcullis {

/// A TCP socket with a deadline, for Beast's HTTP reads and writes: what beast::tcp_stream does,
/// without arming and cancelling a timer around every read and write. Setting the deadline only
/// stores it; one timer per stream wakes at most once per deadline that actually passes (or that
/// moved earlier than the timer), and then cancels what is pending, so the pending operation and
/// every later one fail with beast::error::timeout until a new deadline is set. The socket stays
/// open (unlike beast::tcp_stream, which closes it): after a body read times out, a new deadline
/// lets the 408 still go out. Used only on its io_context's thread.
///
/// After start_tls, reads and writes go through a TLS session over the socket (downstream TLS
/// termination, HTTPS upstreams); the deadline covers them, and the handshake, the same way.
class DeadlineStream {
  public:
    using executor_type = Executor;
    using clock = std::chrono::steady_clock;
    using TlsStream = asio::ssl::stream<Socket&>;

    explicit DeadlineStream(asio::io_context& ioc) : state_(std::make_shared<State>(ioc)) {}
    explicit DeadlineStream(Socket socket) : state_(std::make_shared<State>(std::move(socket))) {}
    ~DeadlineStream() {
        if (state_) {
            error_code ignored;
            state_->timer.cancel();
            state_->tls.reset();
            state_->socket.close(ignored);
        }
    }
    DeadlineStream(DeadlineStream&&) noexcept = default;
    DeadlineStream& operator=(DeadlineStream&&) = delete;
    DeadlineStream(const DeadlineStream&) = delete;
    DeadlineStream& operator=(const DeadlineStream&) = delete;

    executor_type get_executor() noexcept { return state_->socket.get_executor(); }
    Socket& socket() noexcept { return state_->socket; }

    /// Makes every later read and write go through a TLS session of `ctx` over the socket;
    /// async_handshake starts it. Call once, before any other I/O.
    TlsStream& start_tls(asio::ssl::context& ctx) {
        state_->tls = std::make_unique<TlsStream>(state_->socket, ctx);
        return *state_->tls;
    }
    /// The TLS session, or null for plain TCP.
    TlsStream* tls() noexcept { return state_->tls.get(); }

    /// Operations pending or started after `d` from now fail with beast::error::timeout. "Now" is
    /// the coarse clock's: the deadline may come up to one clock tick early.
    void expires_after(clock::duration d) { expires_at(coarse::steady_now() + d); }
    void expires_at(clock::time_point t) {
        State& st = *state_;
        st.deadline = t;
        st.expired = false;
        if (!st.armed || st.timer.expiry() > t) {
            arm(state_);
        }
    }
    void expires_never() {
        state_->deadline = clock::time_point::max();
        state_->expired = false;
    }

    /// Cancels pending operations (they complete with operation_aborted).
    void cancel() {
        error_code ignored;
        state_->socket.cancel(ignored);
    }

    /// Closes the socket and stops the deadline timer: pending operations complete with an
    /// error, and nothing of this stream keeps its io_context running.
    void close() {
        error_code ignored;
        state_->timer.cancel();
        state_->socket.close(ignored);
    }

    /// Writes what the socket takes at once, never waiting (the socket is switched to
    /// non-blocking mode). Returns the bytes written; `ec` is set on a failure other than
    /// "would block". The rest, if any, is for async_write.
    /// Over TLS nothing is written here (a record may need several socket writes): all of it is
    /// for async_write.
    template <class ConstBuffers>
    std::size_t write_now(const ConstBuffers& buffers, error_code& ec) {
        if (state_->expired) {
            ec = beast::error::timeout;
            return 0;
        }
        if (state_->tls) {
            return 0;
        }
        Socket& socket = state_->socket;
        if (!socket.non_blocking()) {
            socket.non_blocking(true, ec);
            if (ec) {
                return 0;
            }
        }
        const std::size_t n = socket.write_some(buffers, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            ec = {};
        }
        return n;
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [](auto handler, const std::shared_ptr<State>& st, const MutableBuffers& b) {
                if (st->expired) {
                    fail_now(std::move(handler), st, std::size_t{0});
                    return;
                }
                if (st->tls) {
                    st->tls->async_read_some(b,
                                             Translate<decltype(handler)>{std::move(handler), st});
                    return;
                }
                st->socket.async_read_some(b, Translate<decltype(handler)>{std::move(handler), st});
            },
            token, state_, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [](auto handler, const std::shared_ptr<State>& st, const ConstBuffers& b) {
                if (st->expired) {
                    fail_now(std::move(handler), st, std::size_t{0});
                    return;
                }
                if (st->tls) {
                    st->tls->async_write_some(b,
                                              Translate<decltype(handler)>{std::move(handler), st});
                    return;
                }
                st->socket.async_write_some(b,
                                            Translate<decltype(handler)>{std::move(handler), st});
            },
            token, state_, buffers);
    }

    /// The TLS handshake (after start_tls), within the deadline.
    template <class Token>
    auto async_handshake(asio::ssl::stream_base::handshake_type type, Token&& token) {
        return asio::async_initiate<Token, void(error_code)>(
            [](auto handler, const std::shared_ptr<State>& st,
               asio::ssl::stream_base::handshake_type t) {
                if (st->expired) {
                    fail_now(std::move(handler), st);
                    return;
                }
                st->tls->async_handshake(t, Translate<decltype(handler)>{std::move(handler), st});
            },
            token, state_, type);
    }

    /// Connects to the first endpoint of `endpoints` that accepts, within the deadline.
    template <class Endpoints, class Token>
    auto async_connect(const Endpoints& endpoints, Token&& token) {
        return asio::async_initiate<Token, void(error_code, tcp::endpoint)>(
            [](auto handler, const std::shared_ptr<State>& st, const Endpoints& e) {
                if (st->expired) {
                    fail_now(std::move(handler), st, tcp::endpoint{});
                    return;
                }
                // Once the deadline has passed, no further endpoint is tried (the socket stays
                // open after a cancel, so async_connect would otherwise go on to the next one).
                asio::async_connect(
                    st->socket, e,
                    [st](const error_code&, const tcp::endpoint&) { return !st->expired; },
                    Translate<decltype(handler)>{std::move(handler), st});
            },
            token, state_, endpoints);
    }

  private:
    struct State {
        explicit State(asio::io_context& ioc) : socket(ioc), timer(ioc) {}
        explicit State(Socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
        Socket socket;
        std::unique_ptr<TlsStream> tls; // after start_tls; destroyed before the socket
        Timer timer;
        clock::time_point deadline = clock::time_point::max();
        std::uint64_t generation = 0; // of the timer wait that counts
        bool armed = false;
        bool expired = false;
    };

    /// Completes an operation, reporting a failure caused by the deadline as a timeout. Keeps
    /// the handler's executor, allocator and cancellation slot.
    template <class Handler> struct Translate {
        Handler handler;
        std::shared_ptr<State> state;

        using executor_type = asio::associated_executor_t<Handler, Executor>;
        executor_type get_executor() const noexcept {
            return asio::get_associated_executor(handler, state->socket.get_executor());
        }
        using allocator_type = asio::associated_allocator_t<Handler>;
        allocator_type get_allocator() const noexcept {
            return asio::get_associated_allocator(handler);
        }
        using cancellation_slot_type = asio::associated_cancellation_slot_t<Handler>;
        cancellation_slot_type get_cancellation_slot() const noexcept {
            return asio::get_associated_cancellation_slot(handler);
        }

        template <class Result> void operator()(error_code ec, Result&& result) {
            translate(ec);
            std::move(handler)(ec, std::forward<Result>(result));
        }
        void operator()(error_code ec) {
            translate(ec);
            std::move(handler)(ec);
        }
        void translate(error_code& ec) const {
            if (!ec) {
                return;
            }
            if (state->expired) {
                ec = beast::error::timeout;
            } else if (ec == asio::ssl::error::stream_truncated) {
                // A TLS peer that closed without close_notify: the end of the stream, as for
                // TCP (a body delimited by the connection's end ends there).
                ec = asio::error::eof;
            }
        }
    };

    /// Completes `handler` with beast::error::timeout without starting anything.
    template <class Handler>
    static void fail_now(Handler handler, const std::shared_ptr<State>& st) {
        const auto ex = asio::get_associated_executor(handler, st->socket.get_executor());
        asio::post(ex, asio::append(std::move(handler), error_code{beast::error::timeout}));
    }

    /// Completes `handler` with beast::error::timeout (and `result`) without starting anything:
    /// the deadline has passed and no new one was set.
    template <class Handler, class Result>
    static void fail_now(Handler handler, const std::shared_ptr<State>& st, Result result) {
        const auto ex = asio::get_associated_executor(handler, st->socket.get_executor());
        asio::post(ex, asio::append(std::move(handler), error_code{beast::error::timeout},
                                    std::move(result)));
    }

    static void arm(const std::shared_ptr<State>& st) {
        st->armed = true;
        const std::uint64_t generation = ++st->generation;
        st->timer.expires_at(st->deadline);
        st->timer.async_wait([st, generation](error_code ec) {
            if (generation != st->generation) {
                return; // re-armed for an earlier deadline meanwhile
            }
            st->armed = false;
            if (ec || st->deadline == clock::time_point::max()) {
                return;
            }
            if (clock::now() >= st->deadline) {
                st->expired = true;
                error_code ignored;
                st->socket.cancel(ignored);
                return;
            }
            arm(st); // the deadline moved later meanwhile
        });
    }

    std::shared_ptr<State> state_;
};

using TcpStream = DeadlineStream;

} // namespace portcullis
