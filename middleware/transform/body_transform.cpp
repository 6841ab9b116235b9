#include "middleware/transform/body_transform.hpp"

#include "config/json_reader.hpp"
#include "middleware/core/text.hpp"
#include "middleware/keys/base64.hpp"
#include "middleware/transform/endpoint_list.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <pugixml.hpp>
#include <utility>
#include <vector>
#include <zlib.h>

namespace portcullis::transform {

namespace {

using Json = nlohmann::json;

/// Go's encoding/json nesting limit (maxNestingDepth); also applied to XML elements so that the
/// template engine never walks deeper data than Go's decoder would hand it for JSON.
constexpr std::size_t kMaxDepth = 10000;

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// Width of the valid UTF-8 sequence at `s[i]` (Go's utf8.DecodeRune rules: no overlong forms,
/// no surrogates, at most U+10FFFF) and its code point; 0 when the byte does not start one.
std::size_t utf8_decode(std::string_view s, std::size_t i, char32_t& cp) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    std::size_t width = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        width = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        width = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        width = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (i + width > s.size() || b(1) < lo || b(1) > hi) {
        return 0;
    }
    for (std::size_t k = 2; k < width; ++k) {
        if (b(k) < 0x80 || b(k) > 0xBF) {
            return 0;
        }
    }
    cp = c & (width == 2 ? 0x1F : width == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < width; ++k) {
        cp = (cp << 6) | (b(k) & 0x3F);
    }
    return width;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// A byte the way Go's quoteChar shows it in "invalid character 'x'" messages.
std::string quote_char(unsigned char c) {
    if (c == '\'') {
        return "'\\''";
    }
    if (c >= 0x20 && c < 0x7F) {
        return std::string("'") + static_cast<char>(c) + "'";
    }
    static const char* const kHex = "0123456789abcdef";
    std::string out = "'\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
    out += '\'';
    return out;
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// ---------------------------------------------------------------------------------------------
// Compiling entries
// ---------------------------------------------------------------------------------------------

/// Go's filepath.Base.
std::string base_name(std::string_view path) {
    if (path.empty()) {
        return ".";
    }
    while (path.size() > 1 && path.back() == '/') {
        path.remove_suffix(1);
    }
    if (path == "/") {
        return "/";
    }
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

/// Reads a whole file; nullopt and `error` (Go-like "open x: ...") when it cannot.
std::optional<std::string> read_file(const std::string& path, std::string& error) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) {
        error = "open " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::string text;
    char buffer[16384];
    while (true) {
        const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
        text.append(buffer, n);
        if (n < sizeof buffer) {
            if (std::ferror(file.get()) != 0) {
                error = "read " + path + ": " + std::strerror(errno);
                return std::nullopt;
            }
            break;
        }
    }
    return text;
}

/// One entry; nullopt when disabled. Throws ConfigException when broken.
std::optional<Endpoint<BodyTransform>>
read_entry(const config::JsonReader& reader, const MatchOptions& options, bool response) {
    bool disabled = false;
    reader.read("disabled", disabled);
    if (disabled) {
        return std::nullopt;
    }
    std::string path;
    std::string method;
    reader.read("path", path);
    reader.read("method", method);
    const config::JsonReader data = reader.object("template_data");
    std::string mode;
    std::string source;
    BodyTransform transform;
    transform.response = response;
    data.read("input_type", transform.input_type);
    data.read("template_mode", mode);
    data.read("template_source", source);
    data.read("enable_session", transform.enable_session);

    std::string error;
    auto pattern = PathPattern::compile(path, options, error);
    if (!pattern) {
        reader.fail("path", "invalid path pattern: " + error);
    }

    if (transform.input_type == "xml") {
        transform.input = BodyTransform::Input::xml;
    } else if (transform.input_type == "json" || response) {
        transform.input = BodyTransform::Input::json;
    } else {
        transform.input = BodyTransform::Input::unsupported;
    }

    // Tyk's loadBlobTemplate / loadFileTemplate: the template's name is "" for a blob and the
    // file's base name for a file.
    std::string name;
    std::string text;
    if (mode == "blob") {
        auto decoded = keys::base64_decode_strict(source);
        if (!decoded) {
            data.fail("template_source", "illegal base64 data (template_mode is \"blob\")");
        }
        text = std::move(*decoded);
    } else if (mode == "file") {
        auto content = read_file(source, error);
        if (!content) {
            data.fail("template_source", "cannot read template: " + error);
        }
        name = base_name(source);
        text = std::move(*content);
    } else {
        data.fail("template_mode", "No valid template mode defined, must be either 'file' or "
                                   "'blob' (found \"" +
                                       mode + "\")");
    }
    auto parsed = tmpl::Template::parse(name, text, error);
    if (!parsed) {
        data.fail("template_source", error);
    }
    transform.tmpl = std::move(*parsed);
    return Endpoint<BodyTransform>{std::move(*pattern), std::move(method), std::move(transform)};
}

// ---------------------------------------------------------------------------------------------
// JSON bodies (Go's json.Unmarshal into interface{})
// ---------------------------------------------------------------------------------------------

/// Rewrites the few inputs where nlohmann's parser and Go's decoder disagree, so that
/// nlohmann then gives Go's result: inside strings an invalid UTF-8 byte becomes U+FFFD and a
/// lone surrogate escape becomes `\ufffd`; outside strings `-0` becomes `-0.0` (nlohmann would
/// read the integer 0, Go reads the float -0). Also enforces Go's nesting limit. `fixed` is only
/// written (and `changed` set) when something had to change. Returns "" or an error message.
std::string go_json_prepass(std::string_view in, std::string& fixed, bool& changed) {
    changed = false;
    std::size_t copied = 0;
    const auto replace = [&](std::size_t at, std::size_t length, std::string_view with) {
        if (!changed) {
            changed = true;
            fixed.clear();
            fixed.reserve(in.size() + 16);
        }
        fixed.append(in.substr(copied, at - copied));
        fixed.append(with);
        copied = at + length;
    };
    const auto hex4 = [&](std::size_t at, unsigned& value) {
        if (at + 4 > in.size()) {
            return false;
        }
        value = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            if (!is_hex(in[at + k])) {
                return false;
            }
            value = value * 16 + static_cast<unsigned>(hex_value(in[at + k]));
        }
        return true;
    };
    std::size_t depth = 0;
    bool in_string = false;
    std::size_t i = 0;
    while (i < in.size()) {
        const char c = in[i];
        if (!in_string) {
            if (c == '"') {
                in_string = true;
            } else if (c == '[' || c == '{') {
                if (++depth > kMaxDepth) {
                    return "invalid character " + quote_char(static_cast<unsigned char>(c)) +
                           " exceeded max depth";
                }
            } else if (c == ']' || c == '}') {
                if (depth > 0) {
                    --depth;
                }
            } else if (c == '-' && i + 1 < in.size() && in[i + 1] == '0' &&
                       (i == 0 ||
                        std::string_view(" \t\n\r[,:").find(in[i - 1]) != std::string_view::npos) &&
                       (i + 2 == in.size() || std::string_view("0123456789.eE").find(in[i + 2]) ==
                                                  std::string_view::npos)) {
                replace(i, 2, "-0.0");
                i += 2;
                continue;
            }
            ++i;
            continue;
        }
        // Inside a string.
        if (c == '"') {
            in_string = false;
            ++i;
        } else if (c == '\\') {
            unsigned first = 0;
            if (i + 1 < in.size() && in[i + 1] == 'u' && hex4(i + 2, first)) {
                if (first >= 0xD800 && first <= 0xDBFF) {
                    unsigned second = 0;
                    if (i + 7 < in.size() && in[i + 6] == '\\' && in[i + 7] == 'u' &&
                        hex4(i + 8, second) && second >= 0xDC00 && second <= 0xDFFF) {
                        i += 12; // a valid pair
                        continue;
                    }
                    replace(i, 6, "\\ufffd");
                } else if (first >= 0xDC00 && first <= 0xDFFF) {
                    replace(i, 6, "\\ufffd");
                }
                i += 6;
            } else {
                i += 2; // other escapes (invalid ones are nlohmann's to reject)
            }
        } else if (static_cast<unsigned char>(c) >= 0x80) {
            char32_t cp = 0;
            const std::size_t width = utf8_decode(in, i, cp);
            if (width == 0) {
                replace(i, 1, "\xEF\xBF\xBD");
                ++i;
            } else {
                i += width;
            }
        } else {
            ++i;
        }
    }
    if (changed) {
        fixed.append(in.substr(std::min(copied, in.size())));
    }
    return {};
}

/// Go-like text for an nlohmann parse failure of `text`.
std::string json_error_text(std::string_view text, const Json::exception& e) {
    if (dynamic_cast<const Json::out_of_range*>(&e) != nullptr) {
        // Go's UnmarshalTypeError text, without the number (no body content in logs).
        return "json: cannot unmarshal number into Go value of type float64";
    }
    const auto* parse = dynamic_cast<const Json::parse_error*>(&e);
    const std::string what = e.what();
    if (parse == nullptr || what.find("unexpected end of input") != std::string::npos ||
        parse->byte > text.size() || parse->byte == 0) {
        return "unexpected end of JSON input";
    }
    const std::size_t at = parse->byte - 1;
    return "invalid character " + quote_char(static_cast<unsigned char>(text[at])) + " at offset " +
           std::to_string(at);
}

bool json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// ---------------------------------------------------------------------------------------------
// XML bodies (mxj.NewMapXml over Go's encoding/xml)
// ---------------------------------------------------------------------------------------------

/// windows-1252 bytes 0x80..0x9F (golang.org/x/text charmap: undefined ones map to C1 codes).
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

bool ascii_iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               const auto lower = [](char ch) {
                   return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
               };
               return lower(x) == lower(y);
           });
}

/// The value of `name="..."` (or '...') in an XML declaration's content; empty when absent.
std::string_view decl_param(std::string_view content, std::string_view name) {
    std::size_t from = 0;
    while (true) {
        const auto at = content.find(name, from);
        if (at == std::string_view::npos) {
            return {};
        }
        std::size_t i = at + name.size();
        while (i < content.size() && json_space(content[i])) {
            ++i;
        }
        if (i >= content.size() || content[i] != '=') {
            from = at + 1;
            continue;
        }
        ++i;
        while (i < content.size() && json_space(content[i])) {
            ++i;
        }
        if (i >= content.size() || (content[i] != '"' && content[i] != '\'')) {
            return {};
        }
        const char quote = content[i];
        const auto end = content.find(quote, i + 1);
        if (end == std::string_view::npos) {
            return {};
        }
        return content.substr(i + 1, end - i - 1);
    }
}

/// Checks the document's XML declaration as Go's decoder does and applies Tyk's charset reader
/// (golang.org/x/net/html/charset.NewReader with the declared label as content type: the label
/// itself is ignored; the text after the declaration is read as UTF-8 when its first 1024
/// bytes are valid UTF-8 with some non-ASCII byte, else as windows-1252). `doc` is repointed
/// at `storage` when transcoded. Returns "" or an error.
std::string apply_declaration(std::string_view& doc, std::string& storage) {
    std::size_t p = 0;
    while (p < doc.size() && json_space(doc[p])) {
        ++p;
    }
    if (doc.compare(p, 5, "<?xml") != 0 || p + 5 >= doc.size() ||
        !(json_space(doc[p + 5]) || doc[p + 5] == '?')) {
        return {};
    }
    const auto end = doc.find("?>", p + 5);
    if (end == std::string_view::npos) {
        return {}; // the scanner reports the unterminated instruction
    }
    const std::string_view content = doc.substr(p + 5, end - p - 5);
    const std::string_view version = decl_param(content, "version");
    if (!version.empty() && version != "1.0") {
        return "xml.Decoder.Token() - xml: unsupported version; only version 1.0 is supported";
    }
    const std::string_view encoding = decl_param(content, "encoding");
    if (encoding.empty() || ascii_iequals(encoding, "utf-8")) {
        return {};
    }
    const std::size_t rest = end + 2;
    std::string_view sniff = doc.substr(rest, 1024);
    if (sniff.starts_with("\xEF\xBB\xBF")) {
        return {};
    }
    if (sniff.starts_with("\xFE\xFF") || sniff.starts_with("\xFF\xFE")) {
        return "xml.Decoder.Token() - UTF-16 documents are not supported";
    }
    // Drop a partial sequence at the end of the sniffed bytes, then test them.
    for (std::size_t k = sniff.size(); k > 0 && k + 4 > sniff.size(); --k) {
        const auto b = static_cast<unsigned char>(sniff[k - 1]);
        if (b < 0x80) {
            break;
        }
        if ((b & 0xC0) != 0x80) {
            sniff = sniff.substr(0, k - 1);
            break;
        }
    }
    bool high = false;
    bool valid = true;
    for (std::size_t i = 0; i < sniff.size();) {
        char32_t cp = 0;
        const std::size_t width = utf8_decode(sniff, i, cp);
        if (width == 0) {
            valid = false;
            break;
        }
        high = high || cp >= 0x80;
        i += width;
    }
    if (high && valid) {
        return {};
    }
    storage.assign(doc.substr(0, rest));
    storage.reserve(doc.size() + doc.size() / 4);
    for (std::size_t i = rest; i < doc.size(); ++i) {
        const auto b = static_cast<unsigned char>(doc[i]);
        if (b < 0x80) {
            storage += static_cast<char>(b);
        } else if (b < 0xA0) {
            append_utf8(storage, kCp1252High[b - 0x80]);
        } else {
            append_utf8(storage, b);
        }
    }
    doc = storage;
    return {};
}

/// Go's isInCharacterRange.
bool xml_char(char32_t r) {
    return r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) ||
           (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF);
}

/// Finds where the root element ends and checks what pugixml would let through but Go's
/// decoder rejects (entities, "]]>" in text, '<' in attribute values, invalid UTF-8 and
/// characters outside XML's range in text and attribute values, nesting depth). Everything
/// after the root element is never looked at, as mxj stops reading there.
class XmlScanner {
  public:
    explicit XmlScanner(std::string_view doc) : doc_(doc) {}

    /// Offset just past the root element, or npos with error() set.
    std::size_t root_end() {
        std::size_t depth = 0;
        bool started = false;
        std::size_t i = 0;
        const std::size_t n = doc_.size();
        while (true) {
            const std::size_t lt = doc_.find('<', i);
            if (!check(i, lt == std::string_view::npos ? n : lt, Kind::text)) {
                return npos;
            }
            if (lt == std::string_view::npos) {
                if (!started) {
                    error_ = "EOF"; // io.EOF: no element at all
                    return npos;
                }
                return fail(n, "unexpected EOF");
            }
            const std::string_view at = doc_.substr(lt);
            if (at.starts_with("<!--")) {
                const auto e = doc_.find("-->", lt + 4);
                if (e == std::string_view::npos) {
                    return fail(n, "unexpected EOF");
                }
                i = e + 3;
            } else if (at.starts_with("<![CDATA[")) {
                const auto e = doc_.find("]]>", lt + 9);
                if (e == std::string_view::npos) {
                    return fail(n, "unexpected EOF in CDATA section");
                }
                if (!check(lt + 9, e, Kind::cdata)) {
                    return npos;
                }
                i = e + 3;
            } else if (at.starts_with("<!")) {
                // <!DOCTYPE ...> and other directives: nested <...> and quotes.
                std::size_t j = lt + 2;
                std::size_t nest = 1;
                char quote = 0;
                for (; j < n; ++j) {
                    const char c = doc_[j];
                    if (quote != 0) {
                        if (c == quote) {
                            quote = 0;
                        }
                    } else if (c == '"' || c == '\'') {
                        quote = c;
                    } else if (c == '<') {
                        ++nest;
                    } else if (c == '>' && --nest == 0) {
                        break;
                    }
                }
                if (j >= n) {
                    return fail(n, "unexpected EOF");
                }
                i = j + 1;
            } else if (at.starts_with("<?")) {
                const auto e = doc_.find("?>", lt + 2);
                if (e == std::string_view::npos) {
                    return fail(n, "unexpected EOF");
                }
                i = e + 2;
            } else if (at.starts_with("</")) {
                const auto e = doc_.find('>', lt + 2);
                if (e == std::string_view::npos) {
                    return fail(n, "unexpected EOF");
                }
                if (depth == 0) {
                    return fail(lt, "unexpected end element");
                }
                i = e + 1;
                if (--depth == 0) {
                    return i;
                }
            } else {
                // Start tag; quoted attribute values may hold '>'.
                std::size_t j = lt + 1;
                char quote = 0;
                std::size_t value_start = 0;
                for (; j < n; ++j) {
                    const char c = doc_[j];
                    if (quote != 0) {
                        if (c == quote) {
                            if (!check(value_start, j, Kind::attribute)) {
                                return npos;
                            }
                            quote = 0;
                        }
                    } else if (c == '"' || c == '\'') {
                        quote = c;
                        value_start = j + 1;
                    } else if (c == '>') {
                        break;
                    }
                }
                if (j >= n) {
                    return fail(n, "unexpected EOF");
                }
                i = j + 1;
                if (doc_[j - 1] == '/' && j - 1 > lt) {
                    if (depth == 0) {
                        return i;
                    }
                } else {
                    if (++depth > kMaxDepth) {
                        return fail(lt, "exceeded max depth");
                    }
                    started = true;
                }
            }
        }
    }

    const std::string& error() const noexcept { return error_; }

    static constexpr std::size_t npos = std::string_view::npos;

  private:
    enum class Kind { text, attribute, cdata };

    std::size_t fail(std::size_t offset, const std::string& message) {
        const auto line =
            1 +
            std::count(doc_.begin(),
                       doc_.begin() + static_cast<std::ptrdiff_t>(std::min(offset, doc_.size())),
                       '\n');
        error_ = "xml.Decoder.Token() - XML syntax error on line " + std::to_string(line) + ": " +
                 message;
        return npos;
    }

    /// Go's Decoder.text checks over doc_[from, to).
    bool check(std::size_t from, std::size_t to, Kind kind) {
        for (std::size_t i = from; i < to; ++i) {
            const auto c = static_cast<unsigned char>(doc_[i]);
            if (c == '&' && kind != Kind::cdata) {
                std::size_t j = i + 1;
                if (j < to && doc_[j] == '#') {
                    ++j;
                    const bool hex = j < to && doc_[j] == 'x';
                    if (hex) {
                        ++j;
                    }
                    const std::size_t digits = j;
                    std::uint64_t value = 0;
                    while (j < to && (hex ? is_hex(doc_[j]) : (doc_[j] >= '0' && doc_[j] <= '9'))) {
                        value = std::min<std::uint64_t>(
                            value * (hex ? 16 : 10) + static_cast<unsigned>(hex_value(doc_[j])),
                            0x110000);
                        ++j;
                    }
                    if (j == digits || j >= to || doc_[j] != ';' ||
                        !xml_char(static_cast<char32_t>(value))) {
                        return entity_error(i);
                    }
                } else {
                    while (j < to &&
                           (std::isalnum(static_cast<unsigned char>(doc_[j])) != 0 ||
                            doc_[j] == '_' || doc_[j] == ':' || doc_[j] == '.' || doc_[j] == '-')) {
                        ++j;
                    }
                    const std::string_view name = doc_.substr(i + 1, j - i - 1);
                    if (j >= to || doc_[j] != ';' ||
                        (name != "lt" && name != "gt" && name != "amp" && name != "apos" &&
                         name != "quot")) {
                        return entity_error(i);
                    }
                }
                i = j;
            } else if (c == ']' && kind == Kind::text && doc_.compare(i, 3, "]]>") == 0 &&
                       i + 3 <= to) {
                fail(i, "unescaped ]]> not in CDATA section");
                return false;
            } else if (c == '<' && kind == Kind::attribute) {
                fail(i, "unescaped < inside quoted string");
                return false;
            } else if (c >= 0x80) {
                char32_t cp = 0;
                const std::size_t width = utf8_decode(doc_.substr(0, to), i, cp);
                if (width == 0) {
                    fail(i, "invalid UTF-8");
                    return false;
                }
                if (!xml_char(cp)) {
                    return char_error(i, cp);
                }
                i += width - 1;
            } else if (!xml_char(c)) {
                return char_error(i, c);
            }
        }
        return true;
    }

    /// Go names the entity; the name is body content, so it is left out of the message.
    bool entity_error(std::size_t amp) {
        fail(amp, "invalid character entity");
        return false;
    }

    bool char_error(std::size_t at, char32_t cp) {
        char code[16];
        std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
        fail(at, std::string("illegal character code ") + code);
        return false;
    }

    std::string_view doc_;
    std::string error_;
};

/// The local part of an XML name as Go's decoder splits it ("p:name" -> "name"); nullopt for
/// names with more than one ':' (Go: syntax error).
std::optional<std::string_view> local_name(std::string_view name) {
    const auto colon = name.find(':');
    if (colon == std::string_view::npos) {
        return name;
    }
    if (name.find(':', colon + 1) != std::string_view::npos) {
        return std::nullopt;
    }
    if (colon == 0 || colon + 1 == name.size()) {
        return name;
    }
    return name.substr(colon + 1);
}

/// strings.Trim(text, "\t\r\b\n ").
std::string_view mxj_trim(std::string_view text) {
    constexpr std::string_view kCut = "\t\r\b\n ";
    const auto first = text.find_first_not_of(kCut);
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(kCut);
    return text.substr(first, last - first + 1);
}

/// mxj's xmlToMapParser over a parsed element, without recursion.
std::optional<Json> element_to_map(pugi::xml_node root, std::string& error) {
    struct Frame {
        pugi::xml_node next; // next child to look at
        std::string key;
        Json na = Json::object(); // attributes and child elements
        std::optional<std::string> simple;
    };
    const auto open = [&](pugi::xml_node node, std::vector<Frame>& stack) {
        const auto key = local_name(node.name());
        if (!key) {
            error = "xml.Decoder.Token() - XML syntax error: expected element name after <";
            return false;
        }
        Frame frame;
        frame.next = node.first_child();
        frame.key.assign(*key);
        for (const pugi::xml_attribute attribute : node.attributes()) {
            const auto name = local_name(attribute.name());
            if (!name) {
                error = "xml.Decoder.Token() - XML syntax error: expected attribute name in "
                        "element";
                return false;
            }
            std::string attribute_key = "-";
            attribute_key.append(*name);
            frame.na[attribute_key] = attribute.value();
        }
        stack.push_back(std::move(frame));
        return true;
    };

    std::vector<Frame> stack;
    if (!open(root, stack)) {
        return std::nullopt;
    }
    while (true) {
        Frame& frame = stack.back();
        if (!frame.next) {
            Json value = frame.simple       ? Json(std::move(*frame.simple))
                         : frame.na.empty() ? Json("")
                                            : std::move(frame.na);
            std::string key = std::move(frame.key);
            stack.pop_back();
            if (stack.empty()) {
                Json out = Json::object();
                out[key] = std::move(value);
                return out;
            }
            Json& na = stack.back().na;
            const auto it = na.find(key);
            if (it == na.end()) {
                na[key] = std::move(value);
            } else if (it->is_array()) {
                it->push_back(std::move(value));
            } else {
                Json list = Json::array();
                list.push_back(std::move(*it));
                list.push_back(std::move(value));
                *it = std::move(list);
            }
            continue;
        }
        const pugi::xml_node child = frame.next;
        frame.next = child.next_sibling();
        switch (child.type()) {
        case pugi::node_element:
            if (!open(child, stack)) {
                return std::nullopt;
            }
            break;
        case pugi::node_pcdata:
        case pugi::node_cdata: {
            const std::string_view text = mxj_trim(child.value());
            if (text.empty()) {
                break;
            }
            if (!frame.na.empty()) {
                frame.na["#text"] = std::string(text);
            } else {
                frame.simple.emplace(text);
            }
            break;
        }
        default:
            break; // comments, processing instructions
        }
    }
}

} // namespace

// -------------------------------------------------------------------------------------------------

std::vector<Endpoint<BodyTransform>>
compile_body_transforms(const config::ApiDefinition& api,
                        const config::VersionInfo& version,
                        const MatchOptions& options,
                        std::string_view list,
                        std::vector<config::ConfigError>& errors) {
    const bool response = list == "transform_response";
    return compile_endpoint_list<BodyTransform>(
        api, version, list, errors,
        [&](const config::JsonReader& reader) { return read_entry(reader, options, response); });
}

std::optional<Json> body_root_json(std::string_view body, std::string* error) {
    const auto fail = [&](std::string message) -> std::optional<Json> {
        if (error != nullptr) {
            *error = std::move(message);
        }
        return std::nullopt;
    };
    if (body.empty()) {
        return Json::object();
    }
    if (body.starts_with("\xEF\xBB\xBF")) {
        return fail("invalid character 'ï' looking for beginning of value");
    }
    if (std::all_of(body.begin(), body.end(), json_space)) {
        return fail("unexpected end of JSON input");
    }
    std::string fixed;
    bool changed = false;
    if (std::string message = go_json_prepass(body, fixed, changed); !message.empty()) {
        return fail(std::move(message));
    }
    const std::string_view text = changed ? std::string_view(fixed) : body;
    Json value;
    try {
        value = Json::parse(text.begin(), text.end());
    } catch (const Json::exception& e) {
        return fail(json_error_text(text, e));
    }
    if (value.is_object()) {
        return value;
    }
    Json root = Json::object();
    if (value.is_array()) {
        root["array"] = std::move(value);
    }
    return root;
}

std::optional<Json> xml_to_map(std::string_view body, std::string* error) {
    std::string message;
    const auto fail = [&]() -> std::optional<Json> {
        if (error != nullptr) {
            *error = std::move(message);
        }
        return std::nullopt;
    };
    std::string_view doc = body.empty() ? std::string_view("<_/>") : body;
    std::string transcoded;
    message = apply_declaration(doc, transcoded);
    if (!message.empty()) {
        return fail();
    }
    XmlScanner scanner(doc);
    const std::size_t end = scanner.root_end();
    if (end == XmlScanner::npos) {
        message = scanner.error();
        return fail();
    }
    pugi::xml_document document;
    constexpr unsigned kFlags = pugi::parse_cdata | pugi::parse_escapes | pugi::parse_eol |
                                pugi::parse_comments | pugi::parse_pi;
    const pugi::xml_parse_result parsed =
        document.load_buffer(doc.data(), end, kFlags, pugi::encoding_utf8);
    if (!parsed) {
        const auto line =
            1 + std::count(doc.begin(),
                           doc.begin() + std::min<std::ptrdiff_t>(parsed.offset,
                                                                  static_cast<std::ptrdiff_t>(end)),
                           '\n');
        message = "xml.Decoder.Token() - XML syntax error on line " + std::to_string(line) + ": " +
                  parsed.description();
        return fail();
    }
    const pugi::xml_node root = document.document_element();
    if (!root) {
        message = "EOF";
        return fail();
    }
    auto map = element_to_map(root, message);
    if (!map) {
        return fail();
    }
    return map;
}

void go_numbers(Json& value) {
    std::vector<Json*> stack{&value};
    while (!stack.empty()) {
        Json* v = stack.back();
        stack.pop_back();
        switch (v->type()) {
        case Json::value_t::number_integer:
            *v = static_cast<double>(v->get<std::int64_t>());
            break;
        case Json::value_t::number_unsigned:
            *v = static_cast<double>(v->get<std::uint64_t>());
            break;
        case Json::value_t::object:
            for (auto& [key, child] : v->items()) {
                (void)key;
                stack.push_back(&child);
            }
            break;
        case Json::value_t::array:
            for (auto& child : *v) {
                stack.push_back(&child);
            }
            break;
        default:
            break;
        }
    }
}

std::string render_body_transform(const BodyTransform& transform,
                                  std::string_view body,
                                  const Json* meta,
                                  const Json* context,
                                  std::string& out,
                                  const tmpl::Limits& limits) {
    out.clear();
    std::string problems; // response side: logged, never stops the render
    Json root;
    std::string error;
    switch (transform.input) {
    case BodyTransform::Input::unsupported:
        return "unsupported request input type: " + transform.input_type;
    case BodyTransform::Input::xml:
        if (auto map = xml_to_map(body, &error)) {
            root = std::move(*map);
        } else if (!transform.response) {
            return "error unmarshalling XML: " + error;
        } else {
            problems = "Error unmarshalling XML: " + error;
        }
        break;
    case BodyTransform::Input::json:
        if (auto parsed = body_root_json(body, &error)) {
            root = std::move(*parsed);
            go_numbers(root);
        } else if (!transform.response) {
            return error;
        } else {
            problems = "Error unmarshalling JSON: " + error;
        }
        break;
    }
    if (!root.is_object()) {
        root = Json::object();
    }
    if (transform.enable_session && meta != nullptr) {
        Json copy = meta->is_object() ? *meta : Json::object();
        go_numbers(copy);
        root["_tyk_meta"] = std::move(copy);
    }
    if (context != nullptr) {
        root["_tyk_context"] = *context;
    }
    const std::string failed = transform.tmpl.execute(root, out, limits);
    if (failed.empty()) {
        return problems;
    }
    if (!transform.response) {
        return "failed to apply template to request: " + failed;
    }
    if (!problems.empty()) {
        problems += "; ";
    }
    problems += "Failed to apply template to request: " + failed;
    return problems;
}

// ---------------------------------------------------------------------------------------------
// Content encodings
// ---------------------------------------------------------------------------------------------

namespace {

/// zlib takes at most uInt bytes per call.
constexpr std::size_t kZlibChunk = std::size_t{1} << 30;

std::optional<std::string> inflate_all(std::string_view in, bool gzip, std::size_t max_out) {
    z_stream z{};
    if (inflateInit2(&z, gzip ? 16 + MAX_WBITS : -MAX_WBITS) != Z_OK) {
        return std::nullopt;
    }
    const std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, &inflateEnd);
    std::string out;
    std::size_t pos = 0;
    char buffer[65536];
    while (true) {
        if (z.avail_in == 0 && pos < in.size()) {
            const std::size_t n = std::min(kZlibChunk, in.size() - pos);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
            z.avail_in = static_cast<uInt>(n);
            pos += n;
        }
        z.next_out = reinterpret_cast<Bytef*>(buffer);
        z.avail_out = sizeof buffer;
        const int rc = inflate(&z, Z_NO_FLUSH);
        const std::size_t produced = sizeof buffer - z.avail_out;
        if (produced > max_out - std::min(max_out, out.size())) {
            return std::nullopt; // over the cap
        }
        out.append(buffer, produced);
        if (rc == Z_STREAM_END) {
            if (!gzip || (z.avail_in == 0 && pos >= in.size())) {
                return out; // raw DEFLATE ignores what follows the final block, as Go does
            }
            // Go's gzip.Reader reads concatenated members; anything else after a member is
            // an invalid header.
            if (inflateReset(&z) != Z_OK) {
                return std::nullopt;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && produced == 0) {
            if (z.avail_in == 0 && pos >= in.size()) {
                return std::nullopt; // truncated
            }
            continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return std::nullopt; // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR
        }
    }
}

std::string deflate_all(std::string_view in, bool gzip) {
    z_stream z{};
    const int level = gzip ? Z_DEFAULT_COMPRESSION : 1;
    if (deflateInit2(&z, level, Z_DEFLATED, gzip ? 16 + MAX_WBITS : -MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return std::string(in);
    }
    const std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, &deflateEnd);
    gz_header header{};
    if (gzip) {
        header.os = 255; // Go's gzip.Writer: OS "unknown", no name, mtime 0
        deflateSetHeader(&z, &header);
    }
    std::string out;
    out.reserve(in.size() / 2 + 64);
    std::size_t pos = 0;
    char buffer[65536];
    while (true) {
        if (z.avail_in == 0 && pos < in.size()) {
            const std::size_t n = std::min(kZlibChunk, in.size() - pos);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
            z.avail_in = static_cast<uInt>(n);
            pos += n;
        }
        const int flush = pos >= in.size() ? Z_FINISH : Z_NO_FLUSH;
        z.next_out = reinterpret_cast<Bytef*>(buffer);
        z.avail_out = sizeof buffer;
        const int rc = deflate(&z, flush);
        out.append(buffer, sizeof buffer - z.avail_out);
        if (rc == Z_STREAM_END) {
            return out;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return std::string(in);
        }
    }
}

} // namespace

std::optional<std::string>
decode_content(std::string_view encoding, std::string_view body, std::size_t max_out) {
    if ((encoding == "gzip" || encoding == "deflate") && !body.empty()) {
        return inflate_all(body, encoding == "gzip", max_out);
    }
    if (body.size() > max_out) {
        return std::nullopt;
    }
    return std::string(body);
}

std::string encode_content(std::string_view encoding, std::string_view body) {
    if (encoding == "gzip" || encoding == "deflate") {
        return deflate_all(body, encoding == "gzip");
    }
    return std::string(body);
}

} // namespace portcullis::transform
