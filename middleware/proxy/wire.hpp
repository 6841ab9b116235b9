#pragma once

// HTTP/1.1 message heads written by hand for the proxy's hot path: the request line or status
// line and the fields, in the bytes Beast's serializer would produce, appended to a reusable
// string so a head and a small body go out in one write.

#include "middleware/core/http.hpp"

#include <string>

namespace portcullis::proxy {

/// Appends "METHOD target HTTP/x.y\r\n", every field as "Name: value\r\n" in order, and "\r\n".
void append_request_head(std::string& out, const http::request_header<>& req);

/// Appends "HTTP/x.y code reason\r\n" (the reason as received, else the standard one), the
/// fields and "\r\n".
void append_response_head(std::string& out, const http::response_header<>& res);

} // namespace portcullis::proxy
