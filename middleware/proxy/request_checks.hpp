#pragma once

#include "middleware/core/http.hpp"

#include <cstddef>
#include <string_view>

namespace portcullis::proxy {

/// Checks on a request header as it arrives, before anything routes or forwards it. Each names
/// a way a hostile client could make the gateway and the upstream disagree about a request.

/// Tyk (Go's server) accepts exactly one Transfer-Encoding, `chunked`. Anything else (`gzip`,
/// `chunked, gzip`, `chunked, chunked`, two fields) would leave the body's end to guesswork and
/// is refused; `parser_chunked` is what the HTTP parser concluded. True when acceptable.
bool transfer_encoding_ok(const Fields& fields, bool parser_chunked);

/// True when a path segment is `.` or `..`, written plainly or percent-encoded (`%2e`), with
/// `/` or an encoded slash (`%2f`) as separator. Such a path could leave its API's listen path
/// once the upstream normalises it, so it is refused rather than routed.
bool has_dot_segment(std::string_view raw_path);

/// Number of header fields.
std::size_t field_count(const Fields& fields);

} // namespace portcullis::proxy
