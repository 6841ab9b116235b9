#pragma once

// HTTP/1.1 message heads written by hand for the proxy's hot path: the request line or status
// line and the fields, in the bytes Beast's serializer would produce, appended to a reusable
// string so a head and a small body go out in one write.

#include "middleware/core/http.hpp"

#include <string>
#include <string_view>

namespace portcullis::proxy {

/// What the head sent upstream changes from the request as received, applied while writing it
/// (the request's fields stay as they are, so a retry writes the same head again).
struct RequestHeadEdits {
    std::string_view target;        // replaces the request target when not empty
    std::string_view host;          // replaces every Host field (or adds one) when not empty
    std::string_view forwarded_for; // when not empty, appended to X-Forwarded-For, folding the
                                    // client's X-Forwarded-For fields into one ("a, b, client")
};

/// Appends "METHOD target HTTP/x.y\r\n", every field as "Name: value\r\n" in order, and "\r\n".
/// With `edits`, the fields it replaces are left out where they were and written, X-Forwarded-For
/// then Host, after the others.
void append_request_head(std::string& out,
                         const http::request_header<>& req,
                         const RequestHeadEdits& edits = {});

/// Appends "HTTP/x.y code reason\r\n" (the reason as received, else the standard one), the
/// fields and "\r\n".
void append_response_head(std::string& out, const http::response_header<>& res);

} // namespace portcullis::proxy
