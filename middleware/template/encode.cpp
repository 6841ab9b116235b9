#include "middleware/template/encode.hpp"

#include "middleware/template/gotime.hpp"
#include "middleware/template/text.hpp"

#include <cmath>
#include <vector>

namespace portcullis::tmpl::detail {

namespace {

constexpr char kHex[] = "0123456789abcdef";

struct JsonError {
    std::string message;
};

class JsonEncoder {
  public:
    JsonEncoder(std::string& out, std::string_view indent, bool escape_html)
        : out_(out), indent_(indent), escape_html_(escape_html) {}

    void value(const Value& v);
    void node(const nlohmann::json& j);

  private:
    void newline() {
        if (indent_.empty()) {
            return;
        }
        out_.push_back('\n');
        for (int i = 0; i < depth_; ++i) {
            out_.append(indent_);
        }
    }
    void colon() {
        out_.push_back(':');
        if (!indent_.empty()) {
            out_.push_back(' ');
        }
    }
    void number(double f);

    std::string& out_;
    std::string_view indent_;
    bool escape_html_;
    int depth_ = 0;
};

void JsonEncoder::number(double f) {
    if (std::isinf(f) || std::isnan(f)) {
        std::string s;
        append_float(s, f, 'g', -1);
        throw JsonError{"json: unsupported value: " + s};
    }
    const double a = std::fabs(f);
    char fmt = 'f';
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        fmt = 'e';
    }
    const std::size_t start = out_.size();
    append_float(out_, f, fmt, -1);
    if (fmt == 'e') {
        const std::size_t n = out_.size() - start;
        if (n >= 4 && out_[out_.size() - 4] == 'e' && out_[out_.size() - 3] == '-' &&
            out_[out_.size() - 2] == '0') {
            out_[out_.size() - 2] = out_[out_.size() - 1];
            out_.pop_back();
        }
    }
}

void JsonEncoder::node(const nlohmann::json& j) {
    switch (j.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
        out_ += "null";
        return;
    case nlohmann::json::value_t::boolean:
        out_ += j.get<bool>() ? "true" : "false";
        return;
    case nlohmann::json::value_t::number_integer:
        append_int(out_, j.get<std::int64_t>());
        return;
    case nlohmann::json::value_t::number_unsigned:
        value(Value::from_json(j, false));
        return;
    case nlohmann::json::value_t::number_float:
        number(j.get<double>());
        return;
    case nlohmann::json::value_t::string:
        json_quote(out_, j.get_ref<const std::string&>(), escape_html_);
        return;
    case nlohmann::json::value_t::array: {
        if (depth_ >= kMaxValueDepth) {
            throw JsonError{"json: value nested too deeply"};
        }
        out_.push_back('[');
        if (j.empty()) {
            out_.push_back(']');
            return;
        }
        ++depth_;
        bool first = true;
        for (const auto& e : j) {
            if (!first) {
                out_.push_back(',');
            }
            first = false;
            newline();
            node(e);
        }
        --depth_;
        newline();
        out_.push_back(']');
        return;
    }
    case nlohmann::json::value_t::object: {
        if (depth_ >= kMaxValueDepth) {
            throw JsonError{"json: value nested too deeply"};
        }
        out_.push_back('{');
        if (j.empty()) {
            out_.push_back('}');
            return;
        }
        ++depth_;
        bool first = true;
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (!first) {
                out_.push_back(',');
            }
            first = false;
            newline();
            json_quote(out_, it.key(), escape_html_);
            colon();
            node(it.value());
        }
        --depth_;
        newline();
        out_.push_back('}');
        return;
    }
    case nlohmann::json::value_t::binary:
        out_ += "null";
        return;
    }
}

void JsonEncoder::value(const Value& v) {
    if (v.json() != nullptr) {
        node(*v.json());
        return;
    }
    if (depth_ >= kMaxValueDepth) {
        throw JsonError{"json: value nested too deeply"};
    }
    switch (v.kind()) {
    case Kind::invalid:
    case Kind::nil:
        out_ += "null";
        return;
    case Kind::boolean:
        out_ += v.as_bool() ? "true" : "false";
        return;
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        append_int(out_, v.as_int());
        return;
    case Kind::float64:
        number(v.as_float());
        return;
    case Kind::complex128:
        throw JsonError{"json: unsupported type: complex128"};
    case Kind::string:
        json_quote(out_, v.as_string(), escape_html_);
        return;
    case Kind::time: {
        std::string s;
        append_time_format(s, v.unix_seconds(), v.nanos(), "2006-01-02T15:04:05.999999999Z07:00");
        json_quote(out_, s, escape_html_);
        return;
    }
    case Kind::list: {
        const std::size_t n = v.size();
        out_.push_back('[');
        if (n == 0) {
            out_.push_back(']');
            return;
        }
        ++depth_;
        for (std::size_t i = 0; i < n; ++i) {
            if (i > 0) {
                out_.push_back(',');
            }
            newline();
            value(v.at(i));
        }
        --depth_;
        newline();
        out_.push_back(']');
        return;
    }
    case Kind::map: {
        out_.push_back('{');
        if (v.size() == 0) {
            out_.push_back('}');
            return;
        }
        ++depth_;
        bool first = true;
        v.for_each_entry([&](std::string_view key, const Value& item) {
            if (!first) {
                out_.push_back(',');
            }
            first = false;
            newline();
            json_quote(out_, key, escape_html_);
            colon();
            value(item);
        });
        --depth_;
        newline();
        out_.push_back('}');
        return;
    }
    }
}

} // namespace

void json_quote(std::string& out, std::string_view s, bool escape_html) {
    out.push_back('"');
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            if (b >= 0x20 && b != '"' && b != '\\' &&
                (!escape_html || (b != '<' && b != '>' && b != '&'))) {
                ++i;
                continue;
            }
            out.append(s.substr(start, i - start));
            out.push_back('\\');
            switch (b) {
            case '\\':
            case '"':
                out.push_back(static_cast<char>(b));
                break;
            case '\n':
                out.push_back('n');
                break;
            case '\r':
                out.push_back('r');
                break;
            case '\t':
                out.push_back('t');
                break;
            default:
                out += "u00";
                out.push_back(kHex[b >> 4]);
                out.push_back(kHex[b & 0xF]);
                break;
            }
            ++i;
            start = i;
            continue;
        }
        Decoded d = decode_rune(s, i);
        if (d.rune == kRuneError && d.size == 1) {
            out.append(s.substr(start, i - start));
            out += "\\ufffd";
            ++i;
            start = i;
            continue;
        }
        if (d.rune == 0x2028 || d.rune == 0x2029) {
            out.append(s.substr(start, i - start));
            out += "\\u202";
            out.push_back(kHex[d.rune & 0xF]);
            i += d.size;
            start = i;
            continue;
        }
        i += d.size;
    }
    out.append(s.substr(start));
    out.push_back('"');
}

bool json_marshal(std::string& out,
                  const Value& v,
                  std::string& error,
                  std::string_view indent,
                  bool escape_html) {
    std::string buf;
    try {
        JsonEncoder enc(buf, indent, escape_html);
        enc.value(v);
    } catch (const JsonError& e) {
        error = e.message;
        return false;
    }
    out += buf;
    return true;
}

namespace {

struct XmlError {
    std::string message;
};

bool in_character_range(char32_t r) {
    return r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) ||
           (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF);
}

// encoding/xml's EscapeString.
void xml_escape_text(std::string& out, std::string_view s) {
    std::size_t last = 0;
    for (std::size_t i = 0; i < s.size();) {
        Decoded d = decode_rune(s, i);
        const std::size_t at = i;
        i += d.size;
        const char* esc = nullptr;
        switch (d.rune) {
        case '"':
            esc = "&#34;";
            break;
        case '\'':
            esc = "&#39;";
            break;
        case '&':
            esc = "&amp;";
            break;
        case '<':
            esc = "&lt;";
            break;
        case '>':
            esc = "&gt;";
            break;
        case '\t':
            esc = "&#x9;";
            break;
        case '\n':
            esc = "&#xA;";
            break;
        case '\r':
            esc = "&#xD;";
            break;
        default:
            if (!in_character_range(d.rune) || (d.rune == kRuneError && d.size == 1)) {
                esc = "\xEF\xBF\xBD";
                break;
            }
            continue;
        }
        out.append(s.substr(last, at - last));
        out += esc;
        last = i;
    }
    out.append(s.substr(last));
}

// mxj's escapeChars.
void mxj_escape(std::string& out, std::string_view s) {
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        default:
            out.push_back(c);
            break;
        }
    }
}

// encoding/xml.MarshalIndent(v, "", "  ") for the value types templates produce.
void go_xml(std::string& out, const Value& v, bool& first, int depth = 0) {
    if (depth > kMaxValueDepth) {
        throw XmlError{"xml: value nested too deeply"};
    }
    if (v.is_nil()) {
        return;
    }
    auto element = [&](std::string_view tag, const std::string& text) {
        if (!first) {
            out.push_back('\n');
        }
        first = false;
        out.push_back('<');
        out.append(tag);
        out.push_back('>');
        xml_escape_text(out, text);
        out += "</";
        out.append(tag);
        out.push_back('>');
    };
    std::string text;
    switch (v.kind()) {
    case Kind::boolean:
        element("bool", v.as_bool() ? "true" : "false");
        return;
    case Kind::int_:
    case Kind::int64:
    case Kind::uint8:
        append_int(text, v.as_int());
        element(dynamic_type_name(v), text);
        return;
    case Kind::float64:
        append_float(text, v.as_float(), 'g', -1);
        element("float64", text);
        return;
    case Kind::string:
        element("string", std::string(v.as_string()));
        return;
    case Kind::time:
        append_time_format(text, v.unix_seconds(), v.nanos(),
                           "2006-01-02T15:04:05.999999999Z07:00");
        element("Time", text);
        return;
    case Kind::list: {
        const std::size_t n = v.size();
        for (std::size_t i = 0; i < n; ++i) {
            go_xml(out, v.at(i).unboxed(), first, depth + 1);
        }
        return;
    }
    case Kind::map:
    case Kind::complex128:
        throw XmlError{"xml: unsupported type: " + std::string(dynamic_type_name(v))};
    default:
        return;
    }
}

void mxj_value_text(std::string& out, const Value& v) {
    // fmt.Sprintf("%v", v) for the scalar kinds mxj formats itself.
    switch (v.kind()) {
    case Kind::boolean:
        out += v.as_bool() ? "true" : "false";
        break;
    case Kind::int_:
    case Kind::int64:
        append_int(out, v.as_int());
        break;
    case Kind::float64:
        append_float(out, v.as_float(), 'g', -1);
        break;
    default:
        break;
    }
}

bool mxj_scalar(const Value& v) {
    return v.kind() == Kind::boolean || v.kind() == Kind::int_ || v.kind() == Kind::int64 ||
           v.kind() == Kind::float64;
}

// mxj's mapToXmlIndent without indentation. Errors of nested elements are ignored, as in mxj.
void mxj_element(std::string& s, std::string_view key, const Value& value, int depth = 0) {
    if (depth > kMaxValueDepth) {
        throw XmlError{"xml: value nested too deeply"};
    }
    const Value v = value.unboxed();
    bool end_tag = false;
    std::size_t elen = 0;
    const bool opens = (v.kind() == Kind::map && v.elem() == Elem::any) ||
                       v.kind() == Kind::string || mxj_scalar(v);
    if (opens) {
        s.push_back('<');
        s.append(key);
    }
    if (v.kind() == Kind::map && v.elem() == Elem::any) {
        const std::size_t lenvv = v.size();
        std::vector<std::pair<std::string, std::string>> attrs;
        bool bad_attr = false;
        std::string bad_key;
        v.for_each_entry([&](std::string_view k, const Value& item) {
            if (k.empty()) {
                throw XmlError{"runtime error: slice bounds out of range [:1] with length 0"};
            }
            if (k[0] != '-') {
                return;
            }
            const Value iv = item.unboxed();
            std::string text;
            if (iv.kind() == Kind::string) {
                mxj_escape(text, iv.as_string());
            } else if (mxj_scalar(iv)) {
                mxj_value_text(text, iv);
            } else {
                if (!bad_attr) {
                    bad_key = std::string(k);
                }
                bad_attr = true;
                return;
            }
            attrs.emplace_back(std::string(k.substr(1)), std::move(text));
        });
        if (bad_attr) {
            throw XmlError{"invalid attribute value for: " + bad_key};
        }
        for (const auto& [name, text] : attrs) {
            s += ' ' + name + "=\"" + text + '"';
        }
        if (attrs.size() != lenvv) {
            Value text_value;
            if (v.find("#text", text_value) && attrs.size() + 1 == lenvv) {
                s.push_back('>');
                std::string text;
                const Value tv = text_value.unboxed();
                if (tv.kind() == Kind::string) {
                    text = std::string(tv.as_string());
                } else if (mxj_scalar(tv)) {
                    mxj_value_text(text, tv);
                } else if (tv.is_nil()) {
                    text = "<nil>";
                }
                s += text;
                end_tag = true;
                elen = 1;
            } else {
                s.push_back('>');
                v.for_each_entry([&](std::string_view k, const Value& item) {
                    if (!k.empty() && k[0] == '-') {
                        return;
                    }
                    try {
                        mxj_element(s, k, item, depth + 1);
                    } catch (const XmlError&) {
                        // mxj drops errors of nested elements.
                    }
                });
                end_tag = true;
                elen = 1;
            }
        }
    } else if (v.kind() == Kind::list && v.elem() == Elem::any) {
        const std::size_t n = v.size();
        for (std::size_t i = 0; i < n; ++i) {
            mxj_element(s, key, v.at(i), depth + 1);
        }
        return;
    } else if (v.is_nil()) {
        s.push_back('<');
        s.append(key);
    } else {
        if (v.kind() == Kind::string) {
            std::string text;
            mxj_escape(text, v.as_string());
            elen = text.size();
            if (elen > 0) {
                s.push_back('>');
                s += text;
            }
        } else if (mxj_scalar(v)) {
            std::string text;
            mxj_value_text(text, v);
            elen = text.size();
            s.push_back('>');
            s += text;
        } else {
            std::string text;
            bool first = true;
            try {
                go_xml(text, v, first);
                elen = text.size();
                s += text;
            } catch (const XmlError&) {
                s += ">UNKNOWN";
            }
        }
        end_tag = true;
    }
    if (end_tag) {
        if (opens) {
            if (elen > 0) {
                s += "</";
                s.append(key);
                s.push_back('>');
            } else {
                s += "/>";
            }
        }
    } else {
        s += "/>";
    }
}

} // namespace

bool xml_marshal(std::string& out, const Value& value, std::string& error) {
    const Value v = value.unboxed();
    std::string s;
    try {
        if (v.kind() == Kind::map && v.elem() == Elem::any) {
            if (v.size() == 1) {
                std::string key;
                Value item;
                v.for_each_entry([&](std::string_view k, const Value& x) {
                    key = std::string(k);
                    item = x;
                });
                bool wrap = false;
                const Value iv = item.unboxed();
                if (iv.kind() == Kind::list && iv.elem() == Elem::any) {
                    const std::size_t n = iv.size();
                    for (std::size_t i = 0; i < n; ++i) {
                        const Value e = iv.at(i).unboxed();
                        if (!(e.kind() == Kind::map && e.elem() == Elem::any)) {
                            wrap = true;
                            break;
                        }
                    }
                }
                if (wrap) {
                    mxj_element(s, "doc", v);
                } else {
                    mxj_element(s, key, item);
                }
            } else {
                mxj_element(s, "doc", v);
            }
        } else {
            bool first = true;
            go_xml(s, v, first);
        }
    } catch (const XmlError& e) {
        out += s;
        error = e.message;
        return false;
    }
    out += s;
    return true;
}

} // namespace portcullis::tmpl::detail
