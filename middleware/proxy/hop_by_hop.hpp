#pragma once

#include "middleware/core/http.hpp"

#include <initializer_list>
#include <string_view>

namespace portcullis::proxy {

/// Removes the hop-by-hop headers (RFC 9110 7.6.1 plus the legacy ones Tyk and Go's reverse
/// proxy strip: Connection, Proxy-Connection, Keep-Alive, Proxy-Authenticate, Proxy-Authorization,
/// TE, Trailer, Transfer-Encoding, Upgrade) and every header named in a Connection header.
/// Framing is set again by the caller for the next hop. `also` names more fields to remove in
/// the same single pass over the fields (the caller's framing headers, say).
void strip_hop_by_hop(Fields& fields, std::initializer_list<http::field> also = {});

/// Whether `f` is one of the hop-by-hop fields strip_hop_by_hop always removes.
bool is_hop_by_hop(http::field f);
/// The same, by a field name as received (any case), for heads parsed without Beast.
bool is_hop_by_hop(std::string_view name);

} // namespace portcullis::proxy
