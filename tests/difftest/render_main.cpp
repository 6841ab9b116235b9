// template-render: renders every case of a differential-test corpus with our Go text/template
// port; the C++ counterpart of gotemplate/main.go (tests/difftest/run_difftest.sh compares the
// two outputs).
//
// Input: JSON lines {"name": "...", "template": "...", "data": <json>} (file argument or stdin).
// Output: one JSON line per case, in input order, flushed after each case so that a crash or a
// hang still leaves the answers given so far:
//
//   {"name": ..., "ok": true, "output": "...", "output_b64": "..."}
//   {"name": ..., "ok": false, "stage": "parse"|"exec", "error": "...",
//    "partial": "...", "partial_b64": "..."}   (partial only for exec errors)
//
// The *_b64 fields carry the exact bytes; the plain fields replace invalid UTF-8. An exception
// escaping the engine is reported as stage "exception". The data is decoded as Go's
// encoding/json decodes into interface{} (Tyk's body transforms): every number is a float64.
#include "middleware/keys/base64.hpp"
#include "middleware/template/template.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

namespace {

using nlohmann::json;

// nlohmann parses the integer `-0` as 0 and loses the sign that encoding/json keeps (-0 as a
// float64 prints `-0`). Rewrites every integer token `-0` outside strings to `-0.0`.
std::string keep_negative_zero(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        out += c;
        if (in_string) {
            if (c == '\\' && i + 1 < text.size()) {
                out += text[++i];
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '0') {
            const std::size_t next = i + 2;
            const bool ends =
                next >= text.size() ||
                std::string_view(".eE0123456789").find(text[next]) == std::string_view::npos;
            if (ends) {
                out += "0.0";
                ++i;
            }
        }
    }
    return out;
}

// encoding/json into interface{}: every number becomes a float64.
void numbers_to_float(json& value) {
    if (value.is_number_unsigned()) { // before is_number_integer, which is true for both
        value = static_cast<double>(value.get<std::uint64_t>());
    } else if (value.is_number_integer()) {
        value = static_cast<double>(value.get<std::int64_t>());
    } else if (value.is_structured()) {
        for (auto& element : value) {
            numbers_to_float(element);
        }
    }
}

std::string dump(const nlohmann::ordered_json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

nlohmann::ordered_json render(const json& test_case) {
    nlohmann::ordered_json result;
    const std::string name = test_case.value("name", "");
    result["name"] = name;
    result["ok"] = false;
    json data = test_case.contains("data") ? test_case.at("data") : json(nullptr);
    numbers_to_float(data);
    try {
        std::string error;
        const auto tmpl =
            portcullis::tmpl::Template::parse(name, test_case.value("template", ""), error);
        if (!tmpl) {
            result["stage"] = "parse";
            result["error"] = error;
            return result;
        }
        std::string out;
        error = tmpl->execute(data, out);
        if (!error.empty()) {
            result["stage"] = "exec";
            result["error"] = error;
            result["partial"] = out;
            result["partial_b64"] = portcullis::keys::base64_encode(out);
            return result;
        }
        result["ok"] = true;
        result["output"] = out;
        result["output_b64"] = portcullis::keys::base64_encode(out);
    } catch (const std::exception& e) {
        result["ok"] = false;
        result["stage"] = "exception";
        result["error"] = e.what();
    }
    return result;
}

int run(std::istream& in) {
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) {
            continue;
        }
        json test_case;
        try {
            test_case = json::parse(keep_negative_zero(line));
        } catch (const std::exception& e) {
            std::cerr << "template-render: corpus line " << line_no << ": " << e.what() << '\n';
            return 2;
        }
        std::cout << dump(render(test_case)) << '\n' << std::flush;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 2) {
        std::cerr << "usage: template-render [corpus.jsonl]\n";
        return 2;
    }
    if (argc == 2) {
        std::ifstream file(argv[1], std::ios::binary);
        if (!file) {
            std::cerr << "template-render: cannot open " << argv[1] << '\n';
            return 2;
        }
        return run(file);
    }
    return run(std::cin);
}
