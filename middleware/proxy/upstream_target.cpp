#include "middleware/proxy/upstream_target.hpp"

namespace portcullis::proxy {

PathAndQuery split_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) {
        return {target, {}};
    }
    return {target.substr(0, q), target.substr(q + 1)};
}

std::string strip_listen_path(std::string_view listen_path, std::string_view path) {
    std::string_view rest = path;
    if (path.starts_with(listen_path)) {
        rest = path.substr(listen_path.size());
    } else if (listen_path.size() > 1 && listen_path.back() == '/' &&
               path == listen_path.substr(0, listen_path.size() - 1)) {
        rest = {};
    }
    std::string out;
    if (!rest.starts_with('/')) {
        out.reserve(rest.size() + 1);
        out.push_back('/');
    }
    out.append(rest);
    return out;
}

std::string join_upstream_path(std::string_view base_path,
                               std::string_view sub_path,
                               bool disable_strip_slash) {
    if (disable_strip_slash && (sub_path.empty() || sub_path == "/")) {
        return std::string(base_path);
    }
    while (!base_path.empty() && base_path.back() == '/') {
        base_path.remove_suffix(1);
    }
    while (!sub_path.empty() && sub_path.front() == '/') {
        sub_path.remove_prefix(1);
    }
    std::string out;
    out.reserve(base_path.size() + sub_path.size() + 1);
    out.append(base_path);
    if (!sub_path.empty()) {
        out.push_back('/');
        out.append(sub_path);
    }
    return out;
}

std::string merge_query(std::string_view target_query, std::string_view request_query) {
    std::string out;
    out.reserve(target_query.size() + request_query.size() + 1);
    out.append(target_query);
    if (!target_query.empty() && !request_query.empty()) {
        out.push_back('&');
    }
    out.append(request_query);
    return out;
}

std::string upstream_request_target(const config::ProxyConfig& proxy,
                                    std::string_view prefix,
                                    std::string_view path,
                                    std::string_view query) {
    std::string target;
    if (proxy.strip_listen_path) {
        target = join_upstream_path(proxy.target.path, strip_listen_path(prefix, path),
                                    proxy.disable_strip_slash);
    } else {
        target = join_upstream_path(proxy.target.path, path, proxy.disable_strip_slash);
    }
    if (target.empty() || target.front() != '/') {
        target.insert(target.begin(), '/');
    }
    if (!proxy.target.query.empty() || !query.empty()) {
        target.push_back('?');
        target += merge_query(proxy.target.query, query);
    }
    return target;
}

} // namespace portcullis::proxy
