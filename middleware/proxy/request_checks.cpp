#include "middleware/proxy/request_checks.hpp"

#include <boost/beast/core/string.hpp>

#include <iterator>

namespace portcullis::proxy {

bool transfer_encoding_ok(const Fields& fields, bool parser_chunked) {
    const auto range = fields.equal_range(http::field::transfer_encoding);
    const auto count = std::distance(range.first, range.second);
    if (count == 0) {
        return true;
    }
    if (count > 1 || !parser_chunked) {
        return false;
    }
    std::string_view value = range.first->value();
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    return boost::beast::iequals(value, "chunked");
}

namespace {

/// A segment's length once each `%2e`/`%2E` counts as one '.', or 0 when it holds anything but
/// dots.
std::size_t dots_in(std::string_view segment) {
    std::size_t dots = 0;
    for (std::size_t i = 0; i < segment.size();) {
        if (segment[i] == '.') {
            ++dots;
            ++i;
        } else if (segment[i] == '%' && i + 2 < segment.size() && segment[i + 1] == '2' &&
                   (segment[i + 2] == 'e' || segment[i + 2] == 'E')) {
            ++dots;
            i += 3;
        } else {
            return 0;
        }
    }
    return dots;
}

} // namespace

bool has_dot_segment(std::string_view raw_path) {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= raw_path.size(); ++i) {
        std::size_t separator = 0;
        if (i == raw_path.size() || raw_path[i] == '/') {
            separator = 1;
        } else if (raw_path[i] == '%' && i + 2 < raw_path.size() && raw_path[i + 1] == '2' &&
                   (raw_path[i + 2] == 'f' || raw_path[i + 2] == 'F')) {
            separator = 3;
        }
        if (separator == 0) {
            continue;
        }
        const std::size_t dots = dots_in(raw_path.substr(start, i - start));
        if (dots == 1 || dots == 2) {
            return true;
        }
        start = i + separator;
        i = start - 1;
    }
    return false;
}

std::size_t field_count(const Fields& fields) {
    return static_cast<std::size_t>(std::distance(fields.begin(), fields.end()));
}

} // namespace portcullis::proxy
