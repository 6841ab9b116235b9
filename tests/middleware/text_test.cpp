#include "middleware/core/text.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

TEST_CASE("token characters are RFC 9110 tchar, every byte checked", "[unit][text]") {
    const std::string_view specials = "!#$%&'*+-.^_`|~";
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        const bool alnum =
            (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
        CAPTURE(b);
        CHECK(portcullis::is_token_char(c) ==
              (alnum || specials.find(c) != std::string_view::npos));
    }
    CHECK(portcullis::is_token("X-RateLimit-Limit"));
    CHECK_FALSE(portcullis::is_token(""));
    CHECK_FALSE(portcullis::is_token("Bad Name"));
    CHECK_FALSE(portcullis::is_token("caf\xc3\xa9"));
}

TEST_CASE("optional whitespace is trimmed at both ends only", "[unit][text]") {
    CHECK(portcullis::trim_ows(" \t a b \t ") == "a b");
    CHECK(portcullis::trim_ows("\t\t").empty());
    CHECK(portcullis::trim_ows("x\n") == "x\n");
}
