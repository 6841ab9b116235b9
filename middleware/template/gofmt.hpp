#pragma once

// Go's fmt package for template values: Sprint, Sprintln, Sprintf with Go's verbs, flags,
// widths and error forms (%!d(string=x), %!d(MISSING), %!(EXTRA ...)). An invalid value or a
// nil interface is Go's untyped nil.
#include "middleware/template/value.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace portcullis::tmpl::detail {

void fmt_sprint(std::string& out, const Value* args, std::size_t n);
void fmt_sprintln(std::string& out, const Value* args, std::size_t n);
void fmt_sprintf(std::string& out, std::string_view format, const Value* args, std::size_t n);
/// fmt.Sprint(v) of one value (what {{.}} prints once "<no value>" is ruled out).
void fmt_print_value(std::string& out, const Value& v);

} // namespace portcullis::tmpl::detail
