#pragma once

// The lexer of Go's text/template/parse (Go 1.19): the whole input is scanned into tokens up
// front, ending with an EOF or an error token.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::tmpl::detail {

enum class ItemType : std::uint8_t {
    error,
    boolean,
    chr, // printable ASCII character; grab bag for comma etc.
    char_constant,
    complex,
    assign,  // '='
    declare, // ':='
    eof,
    field,
    identifier,
    left_delim,
    left_paren,
    number,
    pipe,
    raw_string,
    right_delim,
    right_paren,
    space,
    string,
    text,
    variable,
    // Keywords appear after all the rest.
    keyword,
    block,
    break_,
    continue_,
    dot,
    define,
    else_,
    end,
    if_,
    nil,
    range,
    template_,
    with,
};

struct Item {
    ItemType type;
    std::uint32_t pos;
    std::string_view val;
    int line;
};

/// Go's item.String(), used in parse errors: `"text"`, `<keyword>`, `EOF`.
std::string item_string(const Item& item);

struct LexResult {
    std::vector<Item> items;
    std::vector<std::string> errors; // owns the text of the error token, if any
};

/// Scans `input` (which must outlive the tokens).
LexResult lex(std::string_view input);

} // namespace portcullis::tmpl::detail
