#include "middleware/proxy/upstream_response.hpp"

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

void UpstreamResponseParser::finish_head(bool keep_client) {
    if (!is_done()) {
        if (const auto length = content_length()) {
            char digits[20];
            const auto end = std::to_chars(digits, digits + sizeof digits, *length).ptr;
            append_line(head_, "Content-Length", std::string_view(digits, end - digits));
        } else {
            head_.append("Transfer-Encoding: chunked\r\n");
        }
    } else if (!content_length_.empty()) {
        // No body here (HEAD, 304): the upstream's Content-Length describes the entity.
        append_line(head_, "Content-Length", content_length_);
    }
    if (!keep_client) {
        head_.append("Connection: close\r\n");
    }
    head_.append("\r\n");
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
    // Sent as HTTP/1.1 whatever the upstream spoke (the connection to the client is 1.1).
    char line[13] = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '0', '0', '0', ' '};
    line[9] = static_cast<char>('0' + (status_ / 100) % 10);
    line[10] = static_cast<char>('0' + (status_ / 10) % 10);
    line[11] = static_cast<char>('0' + status_ % 10);
    head_.append(line, sizeof line);
    if (reason.empty()) {
        reason = http::obsolete_reason(static_cast<http::status>(status_));
    }
    head_.append(reason.data(), reason.size());
    head_.append("\r\n");
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
