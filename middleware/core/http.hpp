#pragma once

// Beast message types shared by every layer. Message headers only: no sockets, no io_context.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

namespace portcullis {

namespace http = boost::beast::http;

using Fields = http::fields;
using StringResponse = http::response<http::string_body>;
using StringRequest = http::request<http::string_body>;

} // namespace portcullis
