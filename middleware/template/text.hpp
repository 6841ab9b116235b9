#pragma once

// Go string helpers the template engine needs: UTF-8 decoding as Go's unicode/utf8 does it, the
// unicode predicates (approximated outside Latin, Greek and Cyrillic), strconv's quoting,
// unquoting, number parsing and float formatting, and the escapers of text/template.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::tmpl::detail {

constexpr char32_t kRuneError = 0xFFFD;
constexpr char32_t kMaxRune = 0x10FFFF;

struct Decoded {
    char32_t rune;
    std::size_t size; // bytes consumed; 0 only at end of input
};

/// utf8.DecodeRuneInString: invalid or short input gives (RuneError, 1).
Decoded decode_rune(std::string_view s, std::size_t pos = 0);
/// utf8.DecodeLastRuneInString.
Decoded decode_last_rune(std::string_view s);
/// utf8.AppendRune: invalid runes are written as RuneError.
void append_rune(std::string& out, char32_t r);
std::size_t rune_count(std::string_view s);
bool valid_utf8(std::string_view s);

bool is_letter(char32_t r);
bool is_digit(char32_t r);
/// unicode.IsSpace.
bool is_space(char32_t r);
/// unicode.IsPrint (letters, marks, numbers, punctuation, symbols and the ASCII space).
bool is_print(char32_t r);
char32_t to_upper(char32_t r);
char32_t to_lower(char32_t r);
char32_t to_title(char32_t r);

/// strconv.Quote / QuoteToASCII.
void append_quote(std::string& out, std::string_view s, bool ascii_only = false);
/// strconv.QuoteRune / QuoteRuneToASCII.
void append_quote_rune(std::string& out, char32_t r, bool ascii_only = false);
/// strconv.CanBackquote.
bool can_backquote(std::string_view s);
/// strconv.Unquote for "...", `...` and '...'. Returns nullopt on syntax errors.
std::optional<std::string> unquote(std::string_view s);
/// strconv.UnquoteChar: decodes one character of a quoted literal starting at `s`.
/// Returns false on syntax errors.
bool unquote_char(std::string_view s, char quote, char32_t& value, std::size_t& consumed);

/// strconv.ParseUint / ParseInt with base 0 (Go literal syntax, underscores allowed).
std::optional<std::uint64_t> parse_uint_base0(std::string_view s);
std::optional<std::int64_t> parse_int_base0(std::string_view s);
/// strconv.ParseInt(s, base, 64) for an explicit base 2..36 (no underscores, no prefix).
std::optional<std::int64_t> parse_int_base(std::string_view s, int base);
/// strconv.ParseFloat(s, 64): decimal and hex floats, underscores, inf/nan. Out-of-range
/// values are reported as failures.
std::optional<double> parse_float(std::string_view s);

/// strconv.AppendFloat(out, v, fmt, prec, 64) for fmt in e, E, f, g, G (prec -1 = shortest).
void append_float(std::string& out, double v, char fmt, int prec);
/// Appends a decimal integer.
void append_int(std::string& out, std::int64_t v);
void append_uint(std::string& out, std::uint64_t v);

/// text/template's HTMLEscapeString, JSEscapeString and url.QueryEscape.
void html_escape(std::string& out, std::string_view s);
void js_escape(std::string& out, std::string_view s);
void query_escape(std::string& out, std::string_view s);

/// strings.TrimSpace.
std::string_view trim_space(std::string_view s);

} // namespace portcullis::tmpl::detail
