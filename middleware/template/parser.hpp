#pragma once

// The parser of Go's text/template/parse (Go 1.19), producing a Program.
#include "middleware/template/node.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace portcullis::tmpl::detail {

/// Deepest nesting of parenthesised pipelines and control structures accepted, so hostile
/// input cannot exhaust the stack (Go itself has no limit on control structures).
constexpr int kMaxParseDepth = 1000;

/// Parses `text` as the template `name`. On failure returns nullptr and sets `error` to Go's
/// message (`template: NAME:LINE: msg`).
std::unique_ptr<Program>
parse_program(std::string_view name, std::string_view text, std::string& error);

} // namespace portcullis::tmpl::detail
