#include "middleware/proxy/hop_by_hop.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include <string>
#include <vector>

namespace portcullis::proxy {

void strip_hop_by_hop(Fields& fields) {
    // Headers named by Connection go first, while Connection is still there.
    std::vector<std::string> named;
    // Beast keeps fields in arrival order, so same-named fields need not be adjacent.
    for (const auto& f : fields) {
        if (f.name() == http::field::connection) {
            for (const auto& token : http::token_list{f.value()}) {
                named.emplace_back(token);
            }
        }
    }
    for (const auto& name : named) {
        fields.erase(name);
    }
    static constexpr http::field kKnown[] = {
        http::field::connection,
        http::field::proxy_connection,
        http::field::keep_alive,
        http::field::proxy_authenticate,
        http::field::proxy_authorization,
        http::field::te,
        http::field::trailer,
        http::field::transfer_encoding,
        http::field::upgrade,
    };
    for (const auto f : kKnown) {
        fields.erase(f);
    }
}

void append_forwarded_for(Fields& fields, std::string_view client_ip) {
    std::string value;
    for (const auto& f : fields) {
        if (boost::beast::iequals(f.name_string(), "X-Forwarded-For")) {
            value.append(f.value().data(), f.value().size());
            value.append(", ");
        }
    }
    value.append(client_ip);
    fields.set("X-Forwarded-For", value);
}

} // namespace portcullis::proxy
