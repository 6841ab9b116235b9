#include "tests/support/tls_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace portcullis::test {

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using boost::system::error_code;

std::string peer_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) {
        return {};
    }
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
}

} // namespace

TlsResult tls_get(std::uint16_t port, const std::string& target, const TlsOptions& options) {
    TlsResult result;
    asio::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    if (options.max_version != 0) {
        SSL_CTX_set_max_proto_version(ctx.native_handle(), options.max_version);
    }
    ssl::stream<asio::ip::tcp::socket> stream{ioc, ctx};
    if (!options.ca_file.empty()) {
        ctx.load_verify_file(options.ca_file);
        stream.set_verify_mode(ssl::verify_peer);
        stream.set_verify_callback(
            ssl::host_name_verification(options.sni.empty() ? "127.0.0.1" : options.sni));
    }
    if (!options.sni.empty()) {
        SSL_set_tlsext_host_name(stream.native_handle(), options.sni.c_str());
    }
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, options.sni.empty() ? "localhost" : options.sni);
    req.set(http::field::connection, "close");
    http::response<http::string_body> res;
    boost::beast::flat_buffer buffer;

    const asio::ip::tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), port};
    stream.next_layer().async_connect(endpoint, [&](error_code ec) {
        if (ec) {
            result.error = "connect: " + ec.message();
            return;
        }
        stream.async_handshake(ssl::stream_base::client, [&](error_code hec) {
            if (hec) {
                result.error = "handshake: " + hec.message();
                return;
            }
            result.common_name = peer_common_name(stream.native_handle());
            http::async_write(stream, req, [&](error_code wec, std::size_t) {
                if (wec) {
                    result.error = "write: " + wec.message();
                    return;
                }
                http::async_read(stream, buffer, res, [&](error_code rec, std::size_t) {
                    if (rec) {
                        result.error = "read: " + rec.message();
                        return;
                    }
                    result.status = res.result_int();
                    result.body = res.body();
                });
            });
        });
    });
    ioc.run_for(options.timeout);
    if (!ioc.stopped()) {
        result.error = "timeout";
    }
    return result;
}

} // namespace portcullis::test
