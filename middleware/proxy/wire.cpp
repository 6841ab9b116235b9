#include "middleware/proxy/wire.hpp"

#include <boost/beast/core/string.hpp>

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

void append_request_head(std::string& out,
                         const http::request_header<>& req,
                         const RequestHeadEdits& edits) {
    const auto method = req.method_string();
    const auto target = edits.target.empty() ? std::string_view(req.target()) : edits.target;
    out.append(method.data(), method.size());
    out += ' ';
    out.append(target.data(), target.size());
    out += ' ';
    append_version(out, req.version());
    out += "\r\n";
    if (edits.host.empty() && edits.forwarded_for.empty()) {
        append_fields(out, req);
        return;
    }
    constexpr std::string_view kHost = "Host: ";
    constexpr std::string_view kForwardedFor = "X-Forwarded-For: ";
    const auto replaced = [&](const Fields::value_type& field) {
        if (!edits.host.empty() && field.name() == http::field::host) {
            return true;
        }
        return !edits.forwarded_for.empty() && field.name() == http::field::unknown &&
               boost::beast::iequals(field.name_string(), "X-Forwarded-For");
    };
    // Sized once, then copied, as append_fields.
    std::size_t size = 2;
    if (!edits.host.empty()) {
        size += kHost.size() + edits.host.size() + 2;
    }
    if (!edits.forwarded_for.empty()) {
        size += kForwardedFor.size() + edits.forwarded_for.size() + 2;
    }
    for (const auto& field : req) {
        if (!replaced(field)) {
            size += field.name_string().size() + field.value().size() + 4;
        } else if (field.name() != http::field::host) {
            size += field.value().size() + 2; // an earlier X-Forwarded-For value and ", "
        }
    }
    const std::size_t at = out.size();
    out.resize(at + size);
    char* p = out.data() + at;
    const auto put = [&p](std::string_view text) {
        std::memcpy(p, text.data(), text.size());
        p += text.size();
    };
    for (const auto& field : req) {
        if (replaced(field)) {
            continue;
        }
        put(field.name_string());
        put(": ");
        put(field.value());
        put("\r\n");
    }
    if (!edits.forwarded_for.empty()) {
        put(kForwardedFor);
        for (const auto& field : req) {
            if (replaced(field) && field.name() != http::field::host) {
                put(field.value());
                put(", ");
            }
        }
        put(edits.forwarded_for);
        put("\r\n");
    }
    if (!edits.host.empty()) {
        put(kHost);
        put(edits.host);
        put("\r\n");
    }
    put("\r\n");
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
