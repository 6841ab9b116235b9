#pragma once

// Pieces of template error messages, shared by the parser's and the executor's failf: each
// is appended to the message by an append_part overload (a file adds overloads of its own).
#include "middleware/template/node.hpp"
#include "middleware/template/text.hpp"

#include <string>
#include <string_view>
#include <type_traits>

namespace portcullis::tmpl::detail {

/// Text written Go-quoted (%q).
struct Quoted {
    std::string_view text;
};
/// A node's source text, Go-quoted.
struct QuotedNode {
    const Node* node;
};

inline void append_part(std::string& out, std::string_view s) {
    out.append(s);
}
inline void append_part(std::string& out, const char* s) {
    out.append(s);
}
inline void append_part(std::string& out, const std::string& s) {
    out.append(s);
}
inline void append_part(std::string& out, const Node* n) {
    n->write_to(out);
}
inline void append_part(std::string& out, const Quoted& q) {
    append_quote(out, q.text);
}
inline void append_part(std::string& out, const QuotedNode& q) {
    append_quote(out, q.node->to_string());
}
template <class T>
requires std::is_integral_v<T>
void append_part(std::string& out, T n) {
    out += std::to_string(n);
}

} // namespace portcullis::tmpl::detail
