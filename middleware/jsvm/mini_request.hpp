#pragma once

// What a JavaScript plugin sees of a request and a response, and what it gives back (Tyk's
// MiniRequestObject, MiniResponseObject, VMReturnObject and ReturnOverrides; reference section
// 14). Pure data conversions: the pipeline does the I/O.

#include "config/api_definition.hpp"
#include "middleware/core/http.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::jsvm {

/// The request as a plugin receives it.
struct RequestView {
    std::string_view method;
    std::string_view path;        // escaped path, listen path included
    std::string_view query;       // raw query, no '?'
    std::string_view request_uri; // the request target as received
    std::string_view scheme;      // "http" or "https"
    std::string_view host;        // the Host header
    const Fields* headers = nullptr;
    std::string_view body;
};

/// MiniRequestObject JSON: `Headers` (canonical name -> values, with Host), `SetHeaders` {},
/// `DeleteHeaders` [], `Body` (standard base64, as Go marshals []byte), `URL` (path?query),
/// `Params` (query name -> values), `AddParams` {}, `ExtendedParams` {}, `DeleteParams` [],
/// `ReturnOverrides`, `IgnoreBody` false, `Method`, `RequestURI`, `Scheme`.
std::string request_json(const RequestView& request);

/// The `config` argument: `{"APIID","OrgID","config_data"}` (no `config_data` when
/// `config_data_disabled`).
std::string config_json(const config::ApiDefinition& api);

/// ReturnOverrides.
struct Overrides {
    int code = 0;
    std::string body; // ResponseError, when set, else ResponseBody
    std::map<std::string, std::string> headers;
    bool override_error = false;
};

/// What a request plugin returned (VMReturnObject).
struct RequestReturn {
    std::string url;
    std::string body; // decoded
    bool ignore_body = false;
    std::vector<std::string> delete_headers;
    std::map<std::string, std::string> set_headers;
    std::map<std::string, std::string> add_params;
    std::map<std::string, std::vector<std::string>> extended_params;
    std::vector<std::string> delete_params;
    Overrides overrides;
    /// SessionMeta: the metadata the plugin hands back (an object; `{}` when it gave none).
    nlohmann::json session_meta = nlohmann::json::object();
    /// Session and AuthValue (ReturnAuthData, auth plugins): the session to install for the key
    /// AuthValue. Null when the plugin gave none.
    nlohmann::json session;
    std::string auth_value;
};

/// Decodes a request plugin's return; nullopt (with `error`) when it is not Tyk's shape: not a
/// JSON object, a `Body` that is not base64, a `SessionMeta` or `Session` that is not an object,
/// an `AuthValue` that is not a string, wrong types.
std::optional<RequestReturn> decode_request_return(std::string_view json, std::string& error);

/// Tyk's ReconstructParams on `query` (after the plugin's URL was applied): DeleteParams removed,
/// AddParams set, ExtendedParams appended; re-encoded (sorted) only when the values changed.
std::string reconstruct_query(std::string_view query, const RequestReturn& returned);

/// The response as a response plugin receives it (MiniResponseObject): `StatusCode`, `Body`
/// (base64), `Headers` (canonical name -> values), `SetHeaders` {}, `DeleteHeaders` [].
std::string response_json(unsigned status, const Fields& headers, std::string_view body);

/// What a response plugin returned (VMResponseReturnObject's Response).
struct ResponseReturn {
    int status = 0; // 0: unchanged
    std::string body;
    std::vector<std::string> delete_headers;
    std::map<std::string, std::string> set_headers;
};

std::optional<ResponseReturn> decode_response_return(std::string_view json, std::string& error);

} // namespace portcullis::jsvm
