#include "middleware/jsvm/mini_request.hpp"

#include "middleware/keys/base64.hpp"
#include "middleware/transform/context_vars.hpp"

#include <type_traits>

namespace portcullis::jsvm {

namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

/// Go's http.Header as JSON: canonical name -> values, in arrival order.
OJson header_map(const Fields* headers) {
    OJson out = OJson::object();
    if (headers == nullptr) {
        return out;
    }
    for (const auto& field : *headers) {
        const std::string name = transform::canonical_header_key(field.name_string());
        out[name].push_back(std::string(field.value()));
    }
    return out;
}

/// A JSON member as Go's decoder reads it into a typed field (string, bool or int): absent or
/// null keeps the zero value; a wrong type fails the whole decode.
template <class T> bool read_field(const Json& obj, const char* name, T& out) {
    const auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
        return true;
    }
    bool typed = false;
    if constexpr (std::is_same_v<T, std::string>) {
        typed = it->is_string();
    } else if constexpr (std::is_same_v<T, bool>) {
        typed = it->is_boolean();
    } else {
        typed = it->is_number_integer();
    }
    if (!typed) {
        return false;
    }
    out = it->get<T>();
    return true;
}

bool read_strings(const Json& obj, const char* name, std::vector<std::string>& out) {
    const auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
        return true;
    }
    if (!it->is_array()) {
        return false;
    }
    for (const auto& v : *it) {
        if (!v.is_string()) {
            return false;
        }
        out.push_back(v.get<std::string>());
    }
    return true;
}

bool read_string_map(const Json& obj, const char* name, std::map<std::string, std::string>& out) {
    const auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
        return true;
    }
    if (!it->is_object()) {
        return false;
    }
    for (const auto& [k, v] : it->items()) {
        if (!v.is_string()) {
            return false;
        }
        out[k] = v.get<std::string>();
    }
    return true;
}

bool read_list_map(const Json& obj,
                   const char* name,
                   std::map<std::string, std::vector<std::string>>& out) {
    const auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
        return true;
    }
    if (!it->is_object()) {
        return false;
    }
    for (const auto& [k, v] : it->items()) {
        std::vector<std::string> values;
        Json wrapper = Json::object();
        wrapper["v"] = v;
        if (!read_strings(wrapper, "v", values)) {
            return false;
        }
        out[k] = std::move(values);
    }
    return true;
}

/// A []byte field: standard base64 text (or null).
bool read_bytes(const Json& obj, const char* name, std::string& out) {
    std::string text;
    if (!read_field(obj, name, text)) {
        return false;
    }
    auto decoded = keys::base64_decode_strict(text);
    if (!decoded) {
        return false;
    }
    out = std::move(*decoded);
    return true;
}

} // namespace

std::string request_json(const RequestView& request) {
    OJson headers = header_map(request.headers);
    if (!request.host.empty()) {
        headers["Host"] = OJson::array({std::string(request.host)});
    }
    Json params = Json::object();
    transform::parse_query_into(params, request.query);
    std::string url(request.path);
    if (!request.query.empty()) {
        url += "?";
        url += request.query;
    }
    OJson overrides = OJson::object();
    overrides["ResponseCode"] = 0;
    overrides["ResponseError"] = "";
    overrides["ResponseBody"] = "";
    overrides["ResponseHeaders"] = nullptr;
    overrides["OverrideError"] = false;
    OJson out = OJson::object();
    out["Headers"] = std::move(headers);
    out["SetHeaders"] = OJson::object();
    out["DeleteHeaders"] = OJson::array();
    out["Body"] = keys::base64_encode(request.body);
    out["URL"] = url;
    out["Params"] = OJson::parse(params.dump());
    out["AddParams"] = OJson::object();
    out["ExtendedParams"] = OJson::object();
    out["DeleteParams"] = OJson::array();
    out["ReturnOverrides"] = std::move(overrides);
    out["IgnoreBody"] = false;
    out["Method"] = request.method;
    out["RequestURI"] = request.request_uri;
    out["Scheme"] = request.scheme;
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string config_json(const config::ApiDefinition& api) {
    OJson out = OJson::object();
    out["APIID"] = api.api_id;
    out["OrgID"] = api.org_id;
    if (!api.config_data_disabled) {
        out["config_data"] = OJson::parse(api.config_data.dump());
    }
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<RequestReturn> decode_request_return(std::string_view text, std::string& error) {
    const Json doc = Json::parse(text, nullptr, false);
    if (!doc.is_object()) {
        error = "the plugin's return is not a JSON object";
        return std::nullopt;
    }
    RequestReturn out;
    static const Json kEmpty = Json::object();
    const auto req_it = doc.find("Request");
    const Json& req = req_it != doc.end() && req_it->is_object() ? *req_it : kEmpty;
    if (req_it != doc.end() && !req_it->is_null() && !req_it->is_object()) {
        error = "Request is not an object";
        return std::nullopt;
    }
    const auto ov_it = req.find("ReturnOverrides");
    const Json& ov = ov_it != req.end() && ov_it->is_object() ? *ov_it : kEmpty;
    std::string response_error;
    const bool ok = read_field(req, "URL", out.url) && read_bytes(req, "Body", out.body) &&
                    read_field(req, "IgnoreBody", out.ignore_body) &&
                    read_strings(req, "DeleteHeaders", out.delete_headers) &&
                    read_string_map(req, "SetHeaders", out.set_headers) &&
                    read_string_map(req, "AddParams", out.add_params) &&
                    read_list_map(req, "ExtendedParams", out.extended_params) &&
                    read_strings(req, "DeleteParams", out.delete_params) &&
                    read_field(ov, "ResponseCode", out.overrides.code) &&
                    read_field(ov, "ResponseError", response_error) &&
                    read_field(ov, "ResponseBody", out.overrides.body) &&
                    read_string_map(ov, "ResponseHeaders", out.overrides.headers) &&
                    read_field(ov, "OverrideError", out.overrides.override_error);
    if (!ok) {
        error = "the plugin's return has a field of the wrong type";
        return std::nullopt;
    }
    if (!response_error.empty()) {
        out.overrides.body = response_error;
    }
    if (const auto it = doc.find("SessionMeta"); it != doc.end() && !it->is_null()) {
        if (!it->is_object()) {
            error = "SessionMeta is not an object";
            return std::nullopt;
        }
        out.session_meta = *it;
    }
    if (const auto it = doc.find("Session"); it != doc.end() && !it->is_null()) {
        if (!it->is_object()) {
            error = "Session is not an object";
            return std::nullopt;
        }
        out.session = *it;
    }
    if (!read_field(doc, "AuthValue", out.auth_value)) {
        error = "AuthValue is not a string";
        return std::nullopt;
    }
    return out;
}

std::string reconstruct_query(std::string_view query, const RequestReturn& returned) {
    Json values = Json::object();
    transform::parse_query_into(values, query);
    const Json before = values;
    for (const auto& name : returned.delete_params) {
        values.erase(name);
    }
    for (const auto& [name, value] : returned.add_params) {
        values[name] = Json::array({value});
    }
    for (const auto& [name, list] : returned.extended_params) {
        for (const auto& value : list) {
            values[name].push_back(value);
        }
    }
    if (values == before) {
        return std::string(query);
    }
    return transform::encode_query(values);
}

std::string response_json(unsigned status, const Fields& headers, std::string_view body) {
    OJson out = OJson::object();
    out["StatusCode"] = status;
    out["Body"] = keys::base64_encode(body);
    out["Headers"] = header_map(&headers);
    out["SetHeaders"] = OJson::object();
    out["DeleteHeaders"] = OJson::array();
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<ResponseReturn> decode_response_return(std::string_view text, std::string& error) {
    const Json doc = Json::parse(text, nullptr, false);
    const auto it = doc.is_object() ? doc.find("Response") : doc.end();
    if (!doc.is_object() || it == doc.end() || !it->is_object()) {
        error = "the response plugin's return has no Response object";
        return std::nullopt;
    }
    ResponseReturn out;
    if (!read_field(*it, "StatusCode", out.status) || !read_bytes(*it, "Body", out.body) ||
        !read_strings(*it, "DeleteHeaders", out.delete_headers) ||
        !read_string_map(*it, "SetHeaders", out.set_headers)) {
        error = "the response plugin's return has a field of the wrong type";
        return std::nullopt;
    }
    return out;
}

} // namespace portcullis::jsvm
