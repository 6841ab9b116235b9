#include "middleware/proxy/wire.hpp"

#include <cstring>

namespace portcullis::proxy {

namespace {

void append_version(std::string& out, unsigned version) {
    if (version == 11) {
        out.append("HTTP/1.1", 8);
        return;
    }
    out += "HTTP/";
    out += static_cast<char>('0' + (version / 10) % 10);
    out += '.';
    out += static_cast<char>('0' + version % 10);
}

void append_fields(std::string& out, const Fields& fields) {
    // Sized once, then copied: a head has a dozen fields, and four appends per field (each a
    // capacity check and a copy call) cost more than the copies themselves.
    std::size_t size = 2;
    for (const auto& field : fields) {
        size += field.name_string().size() + field.value().size() + 4;
    }
    const std::size_t at = out.size();
    out.resize(at + size);
    char* p = out.data() + at;
    for (const auto& field : fields) {
        const auto name = field.name_string();
        const auto value = field.value();
        std::memcpy(p, name.data(), name.size());
        p += name.size();
        *p++ = ':';
        *p++ = ' ';
        std::memcpy(p, value.data(), value.size());
        p += value.size();
        *p++ = '\r';
        *p++ = '\n';
    }
    *p++ = '\r';
    *p = '\n';
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
