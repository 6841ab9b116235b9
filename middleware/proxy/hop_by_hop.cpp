#include "middleware/proxy/hop_by_hop.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/container/small_vector.hpp>

#include <string>

namespace portcullis::proxy {

bool is_hop_by_hop(http::field f) {
    switch (f) {
    case http::field::connection:
    case http::field::proxy_connection:
    case http::field::keep_alive:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
        return true;
    default:
        return false;
    }
}

bool is_hop_by_hop(std::string_view name) {
    // The list above, by name length first.
    using boost::beast::iequals;
    switch (name.size()) {
    case 2:
        return iequals(name, "te");
    case 7:
        return iequals(name, "trailer") || iequals(name, "upgrade");
    case 10:
        return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16:
        return iequals(name, "proxy-connection");
    case 17:
        return iequals(name, "transfer-encoding");
    case 18:
        return iequals(name, "proxy-authenticate");
    case 19:
        return iequals(name, "proxy-authorization");
    default:
        return false;
    }
}

void strip_hop_by_hop(Fields& fields, std::initializer_list<http::field> also) {
    // Names listed by Connection, copied: the Connection fields themselves are erased below.
    boost::container::small_vector<std::string, 4> named;
    for (const auto& f : fields) {
        if (f.name() == http::field::connection) {
            for (const auto& token : http::token_list{f.value()}) {
                named.emplace_back(token);
            }
        }
    }
    const auto drop = [&](const Fields::value_type& f) {
        const http::field name = f.name();
        if (is_hop_by_hop(name)) {
            return true;
        }
        for (const auto other : also) {
            if (name == other && name != http::field::unknown) {
                return true;
            }
        }
        for (const auto& token : named) {
            if (boost::beast::iequals(f.name_string(), token)) {
                return true;
            }
        }
        return false;
    };
    for (auto it = fields.begin(); it != fields.end();) {
        if (drop(*it)) {
            it = fields.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace portcullis::proxy
