#include "middleware/core/error_reply.hpp"

#include <nlohmann/json.hpp>

namespace portcullis {

std::string tyk_error_body(std::string_view message) {
    std::string body = "{\n    \"error\": ";
    body += nlohmann::json(std::string(message))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    body += "\n}";
    return body;
}

StringResponse make_error_response(http::status status,
                                   std::string_view message,
                                   bool keep_alive,
                                   bool hide_generator_header) {
    StringResponse res{status, 11};
    res.set(http::field::content_type, "application/json");
    if (!hide_generator_header) {
        res.set("X-Generator", "tyk.io");
    }
    res.body() = tyk_error_body(message);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

StringResponse make_json_response(http::status status, std::string body, bool keep_alive) {
    StringResponse res{status, 11};
    res.set(http::field::content_type, "application/json");
    if (!body.ends_with('\n')) {
        body += '\n'; // Go's json.Encoder ends every document with one
    }
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

} // namespace portcullis
