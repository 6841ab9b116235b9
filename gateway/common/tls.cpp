#include "gateway/common/tls.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace portcullis::tls {

namespace {

/// The oldest OpenSSL error queued, as text ("no such file", "key values mismatch"...).
std::string openssl_reason() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "unknown TLS error";
    }
    const char* reason = ERR_reason_error_string(code);
    return reason != nullptr ? reason : "TLS error " + std::to_string(code);
}

bool is_ip_address(const std::string& host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    return !ec;
}

} // namespace

ServerContexts::ServerContexts(const config::HttpServerOptions& options) {
    const int min_version = options.min_version != 0 ? options.min_version : TLS1_2_VERSION;
    for (std::size_t i = 0; i < options.certificates.size(); ++i) {
        const auto& cert = options.certificates[i];
        const std::string where = "http_server_options.certificates[" + std::to_string(i) + "]";
        auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
        SSL_CTX* native = context->native_handle();
        ERR_clear_error();
        SSL_CTX_set_min_proto_version(native, min_version);
        if (options.max_version != 0) {
            SSL_CTX_set_max_proto_version(native, options.max_version);
        }
        SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        if (SSL_CTX_use_certificate_chain_file(native, cert.cert_file.c_str()) != 1) {
            throw TlsError(where + ".cert_file " + cert.cert_file + ": " + openssl_reason());
        }
        const bool key_loaded =
            SSL_CTX_use_PrivateKey_file(native, cert.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
        if (!key_loaded && ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH) {
            throw TlsError(where + ".key_file " + cert.key_file + ": " + openssl_reason());
        }
        if (!key_loaded || SSL_CTX_check_private_key(native) != 1) {
            ERR_clear_error();
            throw TlsError(where + ": the key in " + cert.key_file +
                           " does not match the certificate in " + cert.cert_file);
        }
        entries_.push_back(Entry{cert.domain_name, std::move(context)});
    }
    if (entries_.empty()) {
        throw TlsError("http_server_options.use_ssl: no certificate configured");
    }
    SSL_CTX* first = entries_.front().context->native_handle();
    SSL_CTX_set_tlsext_servername_callback(first, &ServerContexts::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(first, this);
}

ServerContexts::~ServerContexts() = default;

std::size_t ServerContexts::pick(std::string_view server_name) const {
    if (server_name.empty()) {
        return 0;
    }
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (boost::beast::iequals(entries_[i].domain_name, server_name)) {
            return i;
        }
    }
    const auto dot = server_name.find('.');
    if (dot == std::string_view::npos || dot == 0) {
        return 0;
    }
    const std::string_view parent = server_name.substr(dot); // ".example.com"
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const std::string_view domain = entries_[i].domain_name;
        if (domain.size() > 2 && domain.starts_with("*.") &&
            boost::beast::iequals(domain.substr(1), parent)) {
            return i;
        }
    }
    return 0;
}

int ServerContexts::on_server_name(SSL* ssl, int*, void* arg) {
    const auto* self = static_cast<const ServerContexts*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const std::size_t index = self->pick(name != nullptr ? name : "");
    if (index != 0) {
        SSL_set_SSL_CTX(ssl, self->entries_[index].context->native_handle());
    }
    return SSL_TLSEXT_ERR_OK;
}

std::unique_ptr<ssl::context> make_upstream_context(const std::string& ca_file) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = context->native_handle();
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_default_verify_paths(native) != 1) {
        ERR_clear_error(); // no system store: only ca_file's authorities are trusted
    }
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(native, ca_file.c_str(), nullptr) != 1) {
        throw TlsError("portcullis.upstream_ca_file " + ca_file + ": " + openssl_reason());
    }
    return context;
}

void prepare_client_session(SSL* ssl, const std::string& host, bool skip_verify) {
    const bool ip = is_ip_address(host);
    if (!ip) {
        SSL_set_tlsext_host_name(ssl, host.c_str());
    }
    if (skip_verify) {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        return;
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
}

std::string handshake_failure(SSL* ssl, const std::string& fallback) {
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) {
        return std::string("certificate rejected: ") + X509_verify_cert_error_string(verdict);
    }
    return fallback;
}

} // namespace portcullis::tls
