#include "middleware/proxy/request_checks.hpp"

#include <catch2/catch.hpp>

using namespace portcullis;

TEST_CASE("has_dot_segment finds . and .. segments, plain or percent-encoded", "[unit][proxy]") {
    for (const char* path :
         {"/a/../b", "/a/./b", "/..", "/.", "/a/..", "/a/%2e%2e/b", "/a/%2E%2e", "/a/.%2e/b",
          "/a/%2e/b", "/a/..%2fb", "/a%2f..%2fb", "/a/%2e%2e%2Fb", "..", "/a//../b"}) {
        INFO(path);
        CHECK(proxy::has_dot_segment(path));
    }
    for (const char* path : {"/", "/a/b", "/a..b", "/.well-known/x", "/a/...", "/a/.b.",
                             "/a/%2e%2e%2e", "/a/%2ex", "/a/%2", "/a/%", "/a/b.", ""}) {
        INFO(path);
        CHECK_FALSE(proxy::has_dot_segment(path));
    }
}

TEST_CASE("transfer_encoding_ok accepts exactly one chunked coding", "[unit][proxy]") {
    Fields none;
    CHECK(proxy::transfer_encoding_ok(none, false));
    Fields chunked;
    chunked.insert(http::field::transfer_encoding, " Chunked ");
    CHECK(proxy::transfer_encoding_ok(chunked, true));
    CHECK_FALSE(proxy::transfer_encoding_ok(chunked, false)); // the parser disagreed
    Fields gzip;
    gzip.insert(http::field::transfer_encoding, "gzip, chunked");
    CHECK_FALSE(proxy::transfer_encoding_ok(gzip, true));
    Fields two;
    two.insert(http::field::transfer_encoding, "gzip");
    two.insert(http::field::transfer_encoding, "chunked");
    CHECK_FALSE(proxy::transfer_encoding_ok(two, true));
}
