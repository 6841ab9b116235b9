#include "middleware/proxy/upstream_response.hpp"

#include "middleware/core/text.hpp"
#include "middleware/proxy/hop_by_hop.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace portcullis::proxy {

namespace {

/// Appends "name: value\r\n" with one resize.
void append_line(std::string& out, std::string_view name, std::string_view value) {
    const std::size_t at = out.size();
    out.resize(at + name.size() + value.size() + 4);
    char* p = out.data() + at;
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p++ = '\r';
    *p = '\n';
}

std::string_view view(boost::beast::string_view s) {
    return {s.data(), s.size()};
}

/// The client's status line: HTTP/1.1 whatever the upstream spoke (the connection to the client
/// is 1.1), the upstream's reason, or the standard one when it sent none.
void append_status_line(std::string& out, unsigned status, std::string_view reason) {
    char line[13] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '0', '0', '0', ' '};
    line[9] = static_cast<char>('0' + (status / 100) % 10);
    line[10] = static_cast<char>('0' + (status / 10) % 10);
    line[11] = static_cast<char>('0' + status % 10);
    out.append(line, sizeof line);
    if (reason.empty()) {
        reason = view(http::obsolete_reason(static_cast<http::status>(status)));
    }
    out.append(reason);
    out.append("\r\n");
}

} // namespace

bool is_rate_limit_field(std::string_view name) {
    constexpr std::string_view kPrefix = "x-ratelimit-";
    if (name.size() < kPrefix.size() + 5 ||
        !boost::beast::iequals(name.substr(0, kPrefix.size()), kPrefix)) {
        return false;
    }
    const std::string_view rest = name.substr(kPrefix.size());
    return boost::beast::iequals(rest, "limit") || boost::beast::iequals(rest, "remaining") ||
           boost::beast::iequals(rest, "reset");
}

UpstreamResponseParser::UpstreamResponseParser(Mode mode, std::string& head)
    : mode_(mode), head_(head) {
    if (mode_ == Mode::relay) {
        head_.clear();
    }
}

void UpstreamResponseParser::set_output(char* data, std::size_t size) {
    out_ = data;
    room_ = size;
    filled_ = 0;
}

ResponseFraming UpstreamResponseParser::framing() const {
    ResponseFraming out;
    out.status = status_;
    out.has_body = !is_done();
    if (const auto length = content_length()) {
        out.content_length = *length;
    }
    out.received_length = content_length_;
    out.keep_alive = keep_alive() && !need_eof();
    return out;
}

void finish_relay_head(std::string& head, const ResponseFraming& framing, bool keep_client) {
    if (framing.has_body) {
        if (framing.content_length) {
            char digits[20];
            const auto end =
                std::to_chars(digits, digits + sizeof digits, *framing.content_length).ptr;
            append_line(head, "Content-Length", std::string_view(digits, end - digits));
        } else {
            head.append("Transfer-Encoding: chunked\r\n");
        }
    } else if (!framing.received_length.empty()) {
        // No body here (HEAD, 304): the upstream's Content-Length describes the entity.
        append_line(head, "Content-Length", framing.received_length);
    }
    if (!keep_client) {
        head.append("Connection: close\r\n");
    }
    head.append("\r\n");
}

namespace {

/// Field values and reason phrases: HTAB, SP, visible ASCII and obs-text; no other control.
bool all_visible(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c == '\t' || (c >= 0x20 && c != 0x7f);
    });
}

/// Connection tokens a simple head may carry: close and keep-alive only. Sets `close`.
bool simple_connection(std::string_view value, bool& close) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        const std::string_view token = trim_ows(value.substr(0, comma));
        if (boost::beast::iequals(token, "close")) {
            close = true;
        } else if (!token.empty() && !boost::beast::iequals(token, "keep-alive")) {
            return false;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return true;
}

} // namespace

SimpleHead parse_simple_response_head(std::string_view bytes,
                                      bool head_request,
                                      bool drop_rate_limit,
                                      std::size_t limit,
                                      std::size_t& searched,
                                      std::string& head,
                                      ResponseFraming& framing,
                                      std::size_t& head_size) {
    constexpr std::string_view kVersion = "HTTP/1.1 ";
    if (bytes.substr(0, kVersion.size()) !=
        kVersion.substr(0, std::min(bytes.size(), kVersion.size()))) {
        return SimpleHead::not_simple;
    }
    const std::size_t end = bytes.find("\r\n\r\n", std::min(searched, bytes.size()));
    if (end == std::string_view::npos) {
        searched = bytes.size() > 3 ? bytes.size() - 3 : 0;
        return bytes.size() >= limit ? SimpleHead::too_large : SimpleHead::incomplete;
    }
    if (end + 4 > limit) {
        return SimpleHead::too_large;
    }
    // Status line: "HTTP/1.1 DDD reason".
    const std::size_t line_end = bytes.find("\r\n");
    if (line_end < kVersion.size() + 4 || bytes[kVersion.size() + 3] != ' ') {
        return SimpleHead::not_simple;
    }
    unsigned status = 0;
    for (std::size_t i = kVersion.size(); i < kVersion.size() + 3; ++i) {
        const char c = bytes[i];
        if (c < '0' || c > '9') {
            return SimpleHead::not_simple;
        }
        status = status * 10 + static_cast<unsigned>(c - '0');
    }
    const std::string_view reason =
        bytes.substr(kVersion.size() + 4, line_end - kVersion.size() - 4);
    if (status < 200 || status > 599 || !all_visible(reason)) {
        return SimpleHead::not_simple;
    }
    head.clear();
    append_status_line(head, status, reason);

    bool close = false;
    std::optional<std::uint64_t> length;
    std::string_view length_text;
    for (std::size_t at = line_end + 2; at < end + 2;) {
        const std::size_t eol = bytes.find("\r\n", at);
        const std::string_view line = bytes.substr(at, eol - at);
        at = eol + 2;
        const std::size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) {
            return SimpleHead::not_simple;
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view raw_value = line.substr(colon + 1);
        if (!is_token(name) || !all_visible(raw_value)) {
            return SimpleHead::not_simple; // obs-fold starts with SP, which no token holds
        }
        const std::string_view value = trim_ows(raw_value);
        if (name.size() == 14 && boost::beast::iequals(name, "content-length")) {
            std::uint64_t n = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (length || value.empty() || ec != std::errc() ||
                ptr != value.data() + value.size()) {
                return SimpleHead::not_simple;
            }
            length = n;
            length_text = value;
            continue;
        }
        if (name.size() == 10 && boost::beast::iequals(name, "connection")) {
            if (!simple_connection(value, close)) {
                return SimpleHead::not_simple;
            }
            continue;
        }
        if (name.size() == 17 && boost::beast::iequals(name, "transfer-encoding")) {
            return SimpleHead::not_simple;
        }
        if (is_hop_by_hop(name) || (drop_rate_limit && is_rate_limit_field(name))) {
            continue;
        }
        append_line(head, name, value);
    }
    const bool bodyless = head_request || status == 204 || status == 304;
    if (!bodyless && !length) {
        return SimpleHead::not_simple; // delimited by the end of the connection
    }
    framing.status = status;
    framing.has_body = !bodyless && *length > 0;
    framing.content_length = length;
    framing.received_length.assign(length_text);
    framing.keep_alive = !close;
    head_size = end + 4;
    return SimpleHead::complete;
}

void UpstreamResponseParser::on_request_impl(http::verb,
                                             boost::beast::string_view,
                                             boost::beast::string_view,
                                             int,
                                             boost::beast::error_code& ec) {
    ec = http::error::bad_version; // never called for a response parser
}

void UpstreamResponseParser::on_response_impl(int code,
                                              boost::beast::string_view reason,
                                              int version,
                                              boost::beast::error_code&) {
    status_ = static_cast<unsigned>(code);
    if (mode_ == Mode::fields) {
        header_.result(status_);
        header_.version(static_cast<unsigned>(version));
        header_.reason(reason);
        return;
    }
    append_status_line(head_, status_, view(reason));
    fields_at_ = head_.size();
}

void UpstreamResponseParser::on_field_impl(http::field name,
                                           boost::beast::string_view name_string,
                                           boost::beast::string_view value,
                                           boost::beast::error_code&) {
    if (mode_ == Mode::fields) {
        header_.insert(name, name_string, value);
        return;
    }
    if (name == http::field::content_length) {
        content_length_.assign(value.data(), value.size());
        return;
    }
    if (name == http::field::connection) {
        for (const auto& token : http::token_list{value}) {
            if (!boost::beast::iequals(token, "keep-alive")) { // Keep-Alive goes anyway
                named_.emplace_back(token.data(), token.size());
            }
        }
        return;
    }
    if (is_hop_by_hop(name) || (drop_rate_limit_ && is_rate_limit_field(view(name_string)))) {
        return;
    }
    append_line(head_, view(name_string), view(value));
}

void UpstreamResponseParser::on_header_impl(boost::beast::error_code&) {
    if (mode_ == Mode::relay && !named_.empty()) {
        drop_named_lines();
    }
}

void UpstreamResponseParser::drop_named_lines() {
    // The lines are the ones on_field_impl wrote: "name: value\r\n", no CR or LF in a value.
    std::size_t read = fields_at_;
    std::size_t write = fields_at_;
    while (read < head_.size()) {
        const std::size_t end = head_.find("\r\n", read) + 2;
        const std::size_t colon = head_.find(':', read);
        const boost::beast::string_view name(head_.data() + read, colon - read);
        const bool named = std::any_of(named_.begin(), named_.end(), [&](const std::string& n) {
            return boost::beast::iequals(name, n);
        });
        if (!named) {
            if (write != read) {
                std::memmove(head_.data() + write, head_.data() + read, end - read);
            }
            write += end - read;
        }
        read = end;
    }
    head_.resize(write);
}

void UpstreamResponseParser::on_body_init_impl(const boost::optional<std::uint64_t>&,
                                               boost::beast::error_code&) {}

std::size_t UpstreamResponseParser::on_body_impl(boost::beast::string_view body,
                                                 boost::beast::error_code& ec) {
    // As Beast's buffer_body: take what fits, and ask for a new buffer when it is full.
    if (out_ == nullptr) {
        ec = http::error::need_buffer;
        return 0;
    }
    const std::size_t n = std::min(room_, body.size());
    std::memcpy(out_, body.data(), n);
    out_ += n;
    room_ -= n;
    filled_ += n;
    if (n < body.size()) {
        ec = http::error::need_buffer;
    }
    return n;
}

void UpstreamResponseParser::on_chunk_header_impl(std::uint64_t,
                                                  boost::beast::string_view,
                                                  boost::beast::error_code&) {}

std::size_t UpstreamResponseParser::on_chunk_body_impl(std::uint64_t,
                                                       boost::beast::string_view body,
                                                       boost::beast::error_code& ec) {
    return on_body_impl(body, ec);
}

void UpstreamResponseParser::on_finish_impl(boost::beast::error_code&) {}

} // namespace portcullis::proxy
