#pragma once

#include "gateway/common/asio.hpp"
#include "gateway/common/deadline_stream.hpp"
#include "middleware/core/http.hpp"

#include <cstddef>
#include <exception>
#include <memory>
#include <string>

namespace portcullis::server {

class Worker;

/// State of one downstream connection, owned by its `serve_client` coroutine frame and used
/// only on its worker's thread. Pipeline phases receive it by reference while the coroutine that
/// owns it awaits them.
struct ClientConnection {
    static constexpr std::size_t kRelayBufferSize = 64 * 1024;

    ClientConnection(Socket socket, Worker& owner);

    /// Scratch space for streaming bodies, allocated on first use and kept for the connection.
    char* relay_buffer();

    TcpStream stream;
    beast::flat_buffer buffer; // bytes read from the client but not yet parsed
    std::string peer_ip;
    Worker& worker;
    std::uint64_t requests = 0;
    /// Scratch space for message heads written by hand (proxy::append_*_head), reused.
    std::string head;

  private:
    std::unique_ptr<char[]> relay_buffer_;
};

/// Serves requests on one accepted connection until the client closes, a deadline passes, an
/// error ends it or the worker drains. Every request goes through proxy::handle_request.
awaitable<void> serve_client(Socket socket, Worker* worker);

/// Writes a complete gateway-made reply. Returns false when the connection must close (write
/// failed, or `res` says close).
awaitable<bool> write_reply(ClientConnection& conn, StringResponse& res);

} // namespace portcullis::server
