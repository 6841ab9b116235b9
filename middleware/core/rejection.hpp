#pragma once

#include "middleware/core/http.hpp"

#include <optional>
#include <string>

namespace portcullis {

/// Why the gateway answers a request itself instead of the upstream: a status and a message
/// safe to show the client (rendered by make_error_response in Tyk's JSON shape).
struct Rejection {
    http::status status;
    std::string message;
};

/// The verdict of a synchronous step: nullopt to proceed, or the rejection.
using Verdict = std::optional<Rejection>;

} // namespace portcullis
