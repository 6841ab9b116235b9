#pragma once

// Go's encoding/json and the XML encoders behind Tyk's xmlMarshal, for template values.
#include "middleware/template/value.hpp"

#include <string>
#include <string_view>

namespace portcullis::tmpl::detail {

/// encoding/json.Marshal (indent empty) or MarshalIndent(v, "", indent). Map keys sorted,
/// `<`, `>`, `&`, U+2028 and U+2029 escaped. On failure returns false and sets `error` to Go's
/// message; `out` then holds nothing new.
bool json_marshal(std::string& out,
                  const Value& v,
                  std::string& error,
                  std::string_view indent = {},
                  bool escape_html = true);

/// Go's json string encoding (with HTML escaping) of `s`, quotes included.
void json_quote(std::string& out, std::string_view s, bool escape_html = true);

/// Tyk's xmlMarshal: maps through mxj's Map.Xml() with XML escaping, everything else through
/// encoding/xml.MarshalIndent(v, "", "  ").
bool xml_marshal(std::string& out, const Value& v, std::string& error);

} // namespace portcullis::tmpl::detail
