#include "middleware/proxy/wire.hpp"

namespace portcullis::proxy {

namespace {

void append_version(std::string& out, unsigned version) {
    out += "HTTP/";
    out += static_cast<char>('0' + (version / 10) % 10);
    out += '.';
    out += static_cast<char>('0' + version % 10);
}

void append_fields(std::string& out, const Fields& fields) {
    for (const auto& field : fields) {
        const auto name = field.name_string();
        const auto value = field.value();
        out.append(name.data(), name.size());
        out += ": ";
        out.append(value.data(), value.size());
        out += "\r\n";
    }
    out += "\r\n";
}

} // namespace

void append_request_head(std::string& out, const http::request_header<>& req) {
    const auto method = req.method_string();
    const auto target = req.target();
    out.append(method.data(), method.size());
    out += ' ';
    out.append(target.data(), target.size());
    out += ' ';
    append_version(out, req.version());
    out += "\r\n";
    append_fields(out, req);
}

void append_response_head(std::string& out, const http::response_header<>& res) {
    append_version(out, res.version());
    out += ' ';
    char code[4];
    const unsigned status = res.result_int();
    code[0] = static_cast<char>('0' + (status / 100) % 10);
    code[1] = static_cast<char>('0' + (status / 10) % 10);
    code[2] = static_cast<char>('0' + status % 10);
    code[3] = ' ';
    out.append(code, 4);
    auto reason = res.reason();
    if (reason.empty()) {
        reason = http::obsolete_reason(res.result());
    }
    out.append(reason.data(), reason.size());
    out += "\r\n";
    append_fields(out, res);
}

} // namespace portcullis::proxy
